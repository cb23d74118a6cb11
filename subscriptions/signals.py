"""Signals a host project connects to, to provision or email on a subscription's life.

Sent once the change is committed (``billing.signals.send_on_commit``), with the instance as
``instance`` and its class as ``sender``; a receiver that raises is logged and undoes nothing:

- ``subscription_renewed``: a ``Renewal`` was paid (the first period included), whoever learnt it
  first (the engine, a webhook, ``reconcile``). ``instance.subscription`` is the subscription.
- ``subscription_past_due``: a ``Subscription`` became ``past_due`` (a renewal's charge failed and is
  being retried, or its first charge is being checked).
"""

from django.dispatch import Signal

subscription_renewed = Signal()
subscription_past_due = Signal()
