"""Our rows as mirrors of i'mport's objects: the one place an i'mport answer becomes a row.

i'mport is the source of truth for billing keys and payments. A registration's answer, a re-sync, a
charge, a refund and a webhook all go through these functions, so a row is mirrored the same way
whichever path read it:

- ``mirror_customer``: a ``BillingKey`` from i'mport's customer (``CustomerAnnotation``);
- ``mirror_payment``: a ``Payment`` and its ``PaymentRefund`` rows from i'mport's payment
  (``PaymentAnnotation``), never moving backwards;
- ``mirror_key_from_payment``: the ``BillingKey`` made by a one-time payment, from that payment's answer.

Each ``*_MIRRORED_FIELDS`` names the columns its mirror sets: everything else on the row is ours.
"""

import datetime
import logging

from django.utils import timezone

from billing import signals
from billing.iamport.types import CustomerAnswer, PaymentAnswer
from billing.models import BillingKey, Payment, PaymentRefund, mask_card_number
from billing.signals import payment_status_changed

logger = logging.getLogger(__name__)


def from_unix(seconds: int) -> datetime.datetime | None:
    """i'mport's times are Unix seconds, 0 meaning 'not applicable'; one out of any calendar is dropped."""
    if not seconds or seconds < 0:
        return None
    try:
        return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    except (OverflowError, OSError, ValueError):
        logger.warning("i'mport sent a time out of range; left empty")
        return None


# --- billing keys -----------------------------------------------------------------------------------

BILLING_KEY_MIRRORED_FIELDS = (
    "status",
    "pg_provider",
    "pg_id",
    "card_name",
    "card_code",
    "masked_card_number",
    "card_type",
    "iamport_inserted_at",
    "iamport_updated_at",
    "iamport_data",
    "last_error_code",
    "last_error_message",
    "synced_at",
    "updated_at",
)


def mirror_customer(billing_key: BillingKey, customer: CustomerAnswer) -> BillingKey:
    """Turn i'mport's ``CustomerAnnotation`` into our row: the key is active, as i'mport describes it."""
    _note_activation(billing_key)
    billing_key.status = BillingKey.Status.ACTIVE
    billing_key.pg_provider = customer.pg_provider[:40]
    billing_key.pg_id = customer.pg_id[:80]
    billing_key.card_name = customer.card_name[:80]
    billing_key.card_code = customer.card_code[:10]
    billing_key.masked_card_number = mask_card_number(customer.card_number)[:32]
    billing_key.card_type = customer.card_type if customer.card_type in (0, 1) else None
    billing_key.iamport_inserted_at = from_unix(customer.inserted)
    billing_key.iamport_updated_at = from_unix(customer.updated)
    billing_key.iamport_data = {**customer.raw, "card_number": billing_key.masked_card_number}
    billing_key.last_error_code = None
    billing_key.last_error_message = ""
    billing_key.synced_at = timezone.now()
    # Only what i'mport's answer sets: the owner and the ids never change here, and a narrower UPDATE
    # is also cheaper on a registration's path.
    billing_key.save(update_fields=BILLING_KEY_MIRRORED_FIELDS)
    return billing_key


def mirror_key_from_payment(billing_key: BillingKey, answer: PaymentAnswer) -> None:
    """Mirror the key issued by ``onetime`` from the payment answer: the card as i'mport masked it."""
    _note_activation(billing_key)
    billing_key.status = BillingKey.Status.ACTIVE
    billing_key.pg_provider = answer.pg_provider[:40]
    billing_key.card_name = answer.card_name[:80]
    billing_key.card_code = str(answer.raw.get("card_code") or "")[:10]
    billing_key.masked_card_number = mask_card_number(answer.card_number)[:32]
    card_type = answer.raw.get("card_type")
    billing_key.card_type = card_type if type(card_type) is int and card_type in (0, 1) else None
    billing_key.last_error_code = None
    billing_key.last_error_message = ""
    billing_key.synced_at = timezone.now()
    billing_key.save()


def _note_activation(billing_key: BillingKey) -> None:
    if billing_key.status != BillingKey.Status.ACTIVE:
        signals.send_on_commit(signals.billing_key_registered, billing_key)


# --- payments ---------------------------------------------------------------------------------------

# Where a status stands in a payment's life: a mirror never moves backwards (out-of-order reads).
_PAYMENT_RANK: dict[str, int] = {
    Payment.Status.READY: 0,
    Payment.Status.UNKNOWN: 0,
    Payment.Status.FAILED: 1,
    Payment.Status.PAID: 1,
    Payment.Status.CANCELLED: 2,
}
PAYMENT_MIRRORED_FIELDS = (
    "imp_uid",
    "status",
    "cancelled_amount",
    "fail_reason",
    "cancel_reason",
    "paid_at",
    "failed_at",
    "cancelled_at",
    "receipt_url",
    "pg_tid",
)


def mirror_payment(payment: Payment, answer: PaymentAnswer) -> bool:
    """Turn i'mport's ``PaymentAnnotation`` into our row and its refunds.

    Idempotent, and safe against answers read out of order: an answer older than what is recorded
    (fewer refunds, an earlier status) changes nothing. Returns whether anything changed.
    Call it inside ``transaction.atomic``.
    """
    if answer.merchant_uid != payment.merchant_uid:
        raise ValueError("an answer for another merchant_uid")
    if answer.amount != payment.amount:
        logger.error(
            "i'mport says %s is %s won, we intended %s", payment.merchant_uid, answer.amount, payment.amount
        )
    # Start from the row as stored (locked): a webhook may have mirrored a newer answer meanwhile.
    stored = Payment.objects.select_for_update().get(pk=payment.pk)
    for name in PAYMENT_MIRRORED_FIELDS:
        setattr(payment, name, getattr(stored, name))
    status = answer.status if answer.status in _PAYMENT_RANK else None
    stale = answer.cancel_amount < payment.cancelled_amount or (
        status is not None and _PAYMENT_RANK[status] < _PAYMENT_RANK[payment.status]
    )
    created = _mirror_refunds(payment, answer)
    if stale:
        return created
    before = tuple(getattr(payment, name) for name in PAYMENT_MIRRORED_FIELDS)
    previous_status = payment.status
    payment.imp_uid = answer.imp_uid or payment.imp_uid
    if status is not None:
        payment.status = status
    payment.cancelled_amount = answer.cancel_amount
    payment.fail_reason = answer.fail_reason[:500]
    payment.cancel_reason = answer.cancel_reason[:500]
    payment.paid_at = from_unix(answer.paid_at)
    payment.failed_at = from_unix(answer.failed_at)
    payment.cancelled_at = from_unix(answer.cancelled_at)
    payment.receipt_url = answer.receipt_url[:500]
    payment.pg_tid = answer.pg_tid[:80]
    changed = before != tuple(getattr(payment, name) for name in PAYMENT_MIRRORED_FIELDS)
    payment.iamport_data = _masked_payment_data(answer)
    payment.synced_at = timezone.now()
    payment.save(update_fields=[*PAYMENT_MIRRORED_FIELDS, "iamport_data", "synced_at", "updated_at"])
    if payment.status != previous_status:
        payment_status_changed.send_robust(sender=Payment, payment=payment, previous_status=previous_status)
        note_payment_outcome(payment)
    return changed or created


def note_payment_outcome(payment: Payment) -> None:
    """Tell the host (billing.signals) that a payment became paid or failed, once committed."""
    if payment.status == Payment.Status.PAID:
        signals.send_on_commit(signals.payment_paid, payment)
    elif payment.status == Payment.Status.FAILED:
        signals.send_on_commit(signals.payment_failed, payment)


def _mirror_refunds(payment: Payment, answer: PaymentAnswer) -> bool:
    created_any = False
    for cancellation in answer.cancel_history:
        if cancellation.amount <= 0:
            logger.warning("%s: a cancellation without an amount in i'mport's answer; not a refund", payment)
            continue
        cancellation_id = cancellation.cancellation_id or (
            f"{answer.imp_uid}:{cancellation.cancelled_at}:{cancellation.amount}"
        )
        _, created = PaymentRefund.objects.get_or_create(
            cancellation_id=cancellation_id[:80],
            defaults={
                "payment": payment,
                "amount": cancellation.amount,
                "reason": cancellation.reason[:500],
                "pg_tid": cancellation.pg_tid[:80],
                "receipt_url": cancellation.receipt_url[:500],
                "cancelled_at": from_unix(cancellation.cancelled_at) or timezone.now(),
            },
        )
        created_any = created_any or created
    return created_any


def _masked_payment_data(answer: PaymentAnswer) -> dict:
    data = dict(answer.raw)
    if data.get("card_number"):
        data["card_number"] = mask_card_number(str(data["card_number"]))
    return data
