"""Signals billing sends, so that apps built on it can follow payments without billing importing them."""

from django.dispatch import Signal

# Sent by ``services.mirrors.mirror_payment`` when a payment's mirrored status changes (a charge's answer, a
# re-sync, a webhook, reconcile), inside its transaction and with the payment's row locked.
# Arguments: ``payment`` (the row as saved) and ``previous_status``. Sent with ``send_robust``: a
# receiver's failure never undoes the mirror; a receiver doing database work wraps it in a savepoint.
payment_status_changed = Signal()
