"""Signals a host project connects to, to send its own emails or provision what was paid for.

Each is sent once the change is committed (never for a change that is rolled back), with the
model instance as ``instance`` and its class as ``sender``:

- ``billing_key_registered``: a ``BillingKey`` became active (a card registered, or a key whose
  registration timed out found at i'mport by a re-read).
- ``payment_paid``: a ``Payment`` became paid (a charge, a re-read, a webhook).
- ``payment_failed``: a ``Payment`` became failed (declined, refused, or never received by i'mport).
- ``payment_status_changed``: sent inside the mirroring transaction, with the payment's row locked, whenever
  ``services.mirrors.mirror_payment`` changes a payment's status (``payment``, ``previous_status``): for
  apps built on billing (``subscriptions`` moves renewals with it) that must act in the same transaction.

A receiver that raises is logged and does not undo the payment nor stop the other receivers.
The ``subscriptions`` app sends its own (``subscription_renewed``, ``subscription_past_due``).
"""

import logging

from django.db import transaction
from django.dispatch import Signal

logger = logging.getLogger(__name__)

billing_key_registered = Signal()
payment_paid = Signal()
payment_failed = Signal()
payment_status_changed = Signal()


def send_on_commit(signal: Signal, instance) -> None:
    """Send ``signal`` for ``instance`` when the current transaction commits (at once outside one)."""

    def send() -> None:
        for receiver, result in signal.send_robust(sender=type(instance), instance=instance):
            if isinstance(result, Exception):
                logger.error("%r failed on %s", receiver, instance, exc_info=result)

    transaction.on_commit(send)
