"""i'mport's payment notifications (webhooks): hints to re-read a payment, never facts to trust."""

import datetime
import logging

from django.db import transaction
from django.utils import timezone

from billing.iamport.errors import IamportError, IamportNotFound
from billing.iamport.types import PaymentAnswer
from billing.models import BillingKeyEvent, Payment, WebhookDelivery

from .calls import IamportCall
from .mirrors import mirror_payment

logger = logging.getLogger(__name__)

# i'mport repeats a notification until it is answered 200, and senders retry: an identical one already
# acted on within this window is not read again (a read per repeat would let anyone who can reach the
# endpoint spend our i'mport quota). A different body (another status, another cancellation) is read.
REPEAT_WINDOW = datetime.timedelta(minutes=10)


def handle_payment_notification(
    *, imp_uid: str, merchant_uid: str, claimed: dict, source_ip: str | None
) -> WebhookDelivery:
    """Act on one i'mport notification, trusting nothing in it but the ids to look up.

    Reads the payment from i'mport and checks its merchant_uid and amount against our record (and
    against anything the body claims) before changing anything; then mirrors it through
    ``mirror_payment``. Every delivery is recorded with its result.
    """
    Result = WebhookDelivery.Result
    delivery = WebhookDelivery(
        imp_uid=imp_uid[:40],
        merchant_uid=merchant_uid[:40],
        claimed_status=str(claimed.get("status") or "")[:16],
        source_ip=source_ip,
        body=claimed,
    )

    def done(result: str, detail: str, payment: Payment | None = None) -> WebhookDelivery:
        delivery.result = result
        delivery.detail = detail[:500]
        delivery.payment = payment
        delivery.save()
        return delivery

    payment = Payment.objects.select_related("billing_key").filter(merchant_uid=merchant_uid).first()
    if payment is None:
        return done(Result.IGNORED, "No local payment has this merchant_uid.")
    if payment.imp_uid and payment.imp_uid != imp_uid:
        logger.warning("webhook for %s names another imp_uid", merchant_uid)
        return done(Result.REJECTED, "The imp_uid is not this payment's.", payment)
    if _already_acted_on(payment, delivery):
        return done(
            Result.DUPLICATE, f"An identical notification was already read: {payment.status}.", payment
        )
    call = IamportCall(
        payment.billing_key,
        actor=None,
        source=BillingKeyEvent.Source.WEBHOOK,
        action=BillingKeyEvent.Action.SYNC,
    )
    try:
        answer = call.client.get_payment(imp_uid)
    except IamportNotFound:
        logger.warning("webhook for %s names an imp_uid i'mport does not know", merchant_uid)
        return done(Result.REJECTED, "i'mport has no payment with this imp_uid.", payment)
    except IamportError as error:
        call.record(error=error)
        return done(Result.FAILED, f"i'mport could not be read ({type(error).__name__}).", payment)
    mismatch = _notification_mismatch(payment, answer, claimed)
    if mismatch:
        logger.warning("webhook for %s rejected: %s", merchant_uid, mismatch)
        return done(Result.REJECTED, mismatch, payment)
    with transaction.atomic():
        locked = Payment.objects.select_for_update().select_related("billing_key").get(pk=payment.pk)
        if mirror_payment(locked, answer):
            call.record()
            return done(Result.PROCESSED, f"Now {locked.status}.", locked)
        return done(Result.DUPLICATE, f"Nothing new: still {locked.status}.", locked)


def _notification_mismatch(payment: Payment, answer: PaymentAnswer, claimed: dict) -> str:
    """Why i'mport's answer (or the body's claims) does not fit our record; empty when all agree."""
    if answer.merchant_uid != payment.merchant_uid:
        return "i'mport says this imp_uid belongs to another merchant_uid."
    if answer.amount != payment.amount:
        return f"i'mport says {answer.amount} won; we intended {payment.amount} won."
    claimed_amount = claimed.get("amount")
    if claimed_amount not in (None, "") and str(claimed_amount) != str(answer.amount):
        return f"The body claims {claimed_amount} won; i'mport says {answer.amount} won."
    return ""


def _already_acted_on(payment: Payment, delivery: WebhookDelivery) -> bool:
    """An identical notification for this settled payment was read from i'mport moments ago."""
    if payment.imp_uid != delivery.imp_uid or payment.status in (
        Payment.Status.READY,
        Payment.Status.UNKNOWN,
    ):
        return False
    recent = WebhookDelivery.objects.filter(
        payment=payment,
        imp_uid=delivery.imp_uid,
        result__in=(WebhookDelivery.Result.PROCESSED, WebhookDelivery.Result.DUPLICATE),
        received_at__gte=timezone.now() - REPEAT_WINDOW,
    ).values_list("body", flat=True)[:20]
    return any(body == delivery.body for body in recent)
