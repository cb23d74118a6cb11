"""The writes: every change to a billing key goes through here.

Each service calls i'mport *outside* any database transaction (a card company can take
seconds), then records the outcome in one short ``transaction.atomic`` block: the key's
new state and a ``BillingKeyEvent``, written whether the call succeeded or not.
Card data arrives as ``CardDetails`` and goes only to the client.
"""

import datetime
import logging
import secrets
import time

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from .iamport import get_client
from .iamport.errors import (
    IamportAuthError,
    IamportError,
    IamportNotFound,
    IamportOutcomeUnknown,
    IamportRefused,
    IamportUnavailable,
)
from .iamport.types import CardDetails, Customer
from .iamport.types import Payment as IamportPayment
from .models import BillingKey, BillingKeyEvent, Payment, PaymentRefund, WebhookDelivery, mask_card_number
from .signals import payment_status_changed
from .throttling import note_refusal

logger = logging.getLogger(__name__)

Source = BillingKeyEvent.Source
Action = BillingKeyEvent.Action
Outcome = BillingKeyEvent.Outcome


class IamportCallFailed(Exception):
    """A service could not do what was asked because of i'mport; ``cause`` says why."""

    def __init__(self, cause: IamportError):
        super().__init__(cause.message)
        self.cause = cause

    @property
    def outcome_unknown(self) -> bool:
        return isinstance(self.cause, IamportOutcomeUnknown)


class BillingKeyError(IamportCallFailed):
    """A billing-key service failed; ``billing_key`` is the row as recorded."""

    def __init__(self, billing_key: BillingKey, cause: IamportError):
        super().__init__(cause)
        self.billing_key = billing_key


def new_customer_uid() -> str:
    """A customer_uid with no personal data in it: 'cu_' and 128 random bits."""
    return f"cu_{secrets.token_hex(16)}"


def register_card(
    *, owner: AbstractBaseUser, card: CardDetails, source: str, actor: AbstractBaseUser | None = None
) -> BillingKey:
    """Ask i'mport for a billing key for ``card`` and record it under a new customer_uid owned by ``owner``.

    Returns the active key. Raises ``BillingKeyError`` when i'mport refused (status ``failed``),
    was unavailable (``failed``), or did not answer in time (``unknown``, resolved by reading i'mport).
    """
    billing_key = BillingKey.objects.create(owner=owner, customer_uid=new_customer_uid())
    actor = actor or owner
    _release_db_connection()
    started = time.monotonic()
    try:
        customer = get_client().issue_billing_key(
            billing_key.customer_uid, card, pg=settings.IAMPORT_PG, channel_key=settings.IAMPORT_CHANNEL_KEY
        )
    except IamportOutcomeUnknown as error:
        _record_failure(billing_key, error, actor=actor, source=source, action=Action.ISSUE, started=started)
        # Never send the card again: read i'mport to learn whether the key was made.
        _try_to_resolve_unknown(billing_key, actor=actor, source=source)
        raise BillingKeyError(billing_key, error) from error
    except IamportError as error:
        _record_failure(billing_key, error, actor=actor, source=source, action=Action.ISSUE, started=started)
        raise BillingKeyError(billing_key, error) from error
    _record_success(billing_key, customer, actor=actor, source=source, action=Action.ISSUE, started=started)
    return billing_key


def delete_billing_key(
    *, billing_key: BillingKey, actor: AbstractBaseUser | None, source: str, reason: str = ""
) -> BillingKey:
    """Delete the key at i'mport (not undoable) and mark it deleted here."""
    started = time.monotonic()
    try:
        get_client().delete_billing_key(billing_key.customer_uid, reason=reason or "deleted by the customer")
    except IamportNotFound as error:
        # Already gone at i'mport (or never made): the outcome the caller wanted.
        _record_event(billing_key, actor, source, Action.DELETE, Outcome.SUCCEEDED, started, error)
        _mark(billing_key, BillingKey.Status.DELETED)
        return billing_key
    except IamportError as error:
        _record_event(billing_key, actor, source, Action.DELETE, _outcome_of(error), started, error)
        raise BillingKeyError(billing_key, error) from error
    with transaction.atomic():
        _record_event(billing_key, actor, source, Action.DELETE, Outcome.SUCCEEDED, started)
        _mark(billing_key, BillingKey.Status.DELETED)
    return billing_key


def sync_billing_key(*, billing_key: BillingKey, actor: AbstractBaseUser | None, source: str) -> BillingKey:
    """Re-read the key from i'mport, the source of truth, and mirror what it says."""
    started = time.monotonic()
    try:
        customer = get_client().get_billing_key(billing_key.customer_uid)
    except IamportNotFound as error:
        with transaction.atomic():
            _record_event(billing_key, actor, source, Action.SYNC, Outcome.SUCCEEDED, started, error)
            _apply_not_found(billing_key)
        return billing_key
    except IamportError as error:
        _record_event(billing_key, actor, source, Action.SYNC, _outcome_of(error), started, error)
        raise BillingKeyError(billing_key, error) from error
    _record_success(billing_key, customer, actor=actor, source=source, action=Action.SYNC, started=started)
    return billing_key


MIRRORED_FIELDS = (
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


def sync_from_customer(billing_key: BillingKey, customer: Customer) -> BillingKey:
    """The one function that turns i'mport's ``CustomerAnnotation`` into our row."""
    billing_key.status = BillingKey.Status.ACTIVE
    billing_key.pg_provider = customer.pg_provider
    billing_key.pg_id = customer.pg_id
    billing_key.card_name = customer.card_name
    billing_key.card_code = customer.card_code
    billing_key.masked_card_number = mask_card_number(customer.card_number)
    billing_key.card_type = customer.card_type
    billing_key.iamport_inserted_at = from_unix(customer.inserted)
    billing_key.iamport_updated_at = from_unix(customer.updated)
    billing_key.iamport_data = {**customer.raw, "card_number": billing_key.masked_card_number}
    billing_key.last_error_code = None
    billing_key.last_error_message = ""
    billing_key.synced_at = timezone.now()
    # Only what i'mport's answer sets: the owner and the ids never change here, and a narrower UPDATE
    # is also cheaper on a registration's path.
    billing_key.save(update_fields=MIRRORED_FIELDS)
    return billing_key


def _release_db_connection() -> None:
    """Hand a pooled database connection back while i'mport answers (seconds, at times).

    Only with a pool (``DATABASE_POOL_SIZE``) and outside a transaction; the next query takes one again.
    So a hundred registrations waiting on card companies hold a few connections, not a hundred.
    """
    if getattr(connection, "pool", None) is not None and not connection.in_atomic_block:
        connection.close()


def from_unix(seconds: int) -> datetime.datetime | None:
    """i'mport's times are Unix seconds, 0 meaning 'not applicable'."""
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC) if seconds else None


# --- recording ------------------------------------------------------------------------------------


def _record_success(
    billing_key: BillingKey, customer: Customer, *, actor, source: str, action: str, started: float
) -> None:
    with transaction.atomic():
        _record_event(billing_key, actor, source, action, Outcome.SUCCEEDED, started)
        sync_from_customer(billing_key, customer)


def _record_failure(billing_key: BillingKey, error: IamportError, *, actor, source, action, started) -> None:
    unknown = isinstance(error, IamportOutcomeUnknown)
    billing_key.status = BillingKey.Status.UNKNOWN if unknown else BillingKey.Status.FAILED
    billing_key.last_error_code = error.code
    billing_key.last_error_message = error.message[:500]
    with transaction.atomic():
        _record_event(billing_key, actor, source, action, _outcome_of(error), started, error)
        billing_key.save(update_fields=["status", "last_error_code", "last_error_message", "updated_at"])
    _count_refused_registration(actor, error)
    _log_failure(action, billing_key.customer_uid, error)


def _try_to_resolve_unknown(billing_key: BillingKey, *, actor, source: str) -> None:
    try:
        sync_billing_key(billing_key=billing_key, actor=actor, source=source)
    except BillingKeyError:
        logger.warning("%s stays unknown: i'mport could not be read yet", billing_key.customer_uid)


def _apply_not_found(billing_key: BillingKey) -> None:
    """i'mport has no such key. What that means depends on what we believed."""
    if billing_key.status == BillingKey.Status.UNKNOWN:
        # A request that timed out may still be in flight at i'mport: wait out the grace period.
        age = (timezone.now() - billing_key.created_at).total_seconds()
        if age < settings.IAMPORT_UNKNOWN_GRACE_SECONDS:
            return
        billing_key.status = BillingKey.Status.FAILED
        billing_key.last_error_message = "i'mport never registered this card."
    elif billing_key.status in (BillingKey.Status.ACTIVE, BillingKey.Status.PENDING):
        billing_key.status = BillingKey.Status.DELETED
    billing_key.synced_at = timezone.now()
    billing_key.save(update_fields=["status", "last_error_message", "synced_at", "updated_at"])


def _mark(billing_key: BillingKey, status: str) -> None:
    billing_key.status = status
    billing_key.save(update_fields=["status", "updated_at"])


def _outcome_of(error: IamportError) -> str:
    if isinstance(error, IamportOutcomeUnknown):
        return Outcome.UNKNOWN
    if isinstance(error, IamportAuthError):
        return Outcome.AUTH_ERROR
    if isinstance(error, IamportUnavailable):
        return Outcome.UNAVAILABLE
    return Outcome.REFUSED


def _record_event(
    billing_key: BillingKey,
    actor,
    source: str,
    action: str,
    outcome: str,
    started: float,
    error: IamportError | None = None,
) -> BillingKeyEvent:
    return BillingKeyEvent.objects.create(
        billing_key=billing_key,
        actor=actor if actor is not None and actor.is_authenticated else None,
        source=source,
        action=action,
        outcome=outcome,
        iamport_code=error.code if error else 0,
        iamport_message=(error.message if error else "")[:500],
        http_status=error.http_status if error else 200,
        duration_ms=round((time.monotonic() - started) * 1000),
    )


def _count_refused_registration(actor, error: IamportError) -> None:
    """Feed the refusal cool-down's counter (``throttling.note_refusal``) once the refusal is recorded.

    Called after the recording transaction, so that a cache failure cannot undo the audit event.
    """
    if actor is not None and actor.is_authenticated and _outcome_of(error) == Outcome.REFUSED:
        note_refusal(actor)


# --- payments -------------------------------------------------------------------------------------
#
# A Payment row is created (``ready``, with a new merchant_uid) before i'mport is called, so every
# intended charge has a record even if this process dies mid-call. i'mport's answer is mirrored by
# ``sync_from_payment``; a timeout leaves ``unknown`` and is resolved by reading i'mport by merchant_uid,
# never by sending the charge again. Each call leaves a ``BillingKeyEvent`` on the key charged.


class PaymentError(IamportCallFailed):
    """A payment service failed; ``payment`` is the row as recorded."""

    def __init__(self, payment: Payment, cause: IamportError):
        super().__init__(cause)
        self.payment = payment


class PaymentConflict(Exception):
    """The request contradicts what is recorded (merchant_uid reused for another charge, charge in flight)."""

    def __init__(self, message: str, payment: Payment | None = None):
        super().__init__(message)
        self.message = message
        self.payment = payment


class RefundNotAllowed(Exception):
    """Refused locally, before asking i'mport: nothing (or less than asked) is left to refund."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def new_merchant_uid() -> str:
    """One per intended charge: 'pay_' and 96 random bits (28 characters; i'mport allows 40)."""
    return f"pay_{secrets.token_hex(12)}"


def register_card_and_pay(
    *, owner: AbstractBaseUser, card: CardDetails, source: str, actor: AbstractBaseUser | None = None
) -> tuple[BillingKey, Payment]:
    """Register ``card`` and take the merchant's first payment in one call (``/subscribe/payments/onetime``).

    The amount and order name are the merchant's plan (``BILLING_FIRST_PAYMENT_AMOUNT``/``_NAME``), never
    the customer's. The key and the payment are both recorded from the one answer. A decline returns a
    ``failed`` payment; refusals, unavailability and timeouts raise ``PaymentError`` (``payment.billing_key``
    is the key as recorded).
    """
    actor = actor or owner
    with transaction.atomic():
        billing_key = BillingKey.objects.create(owner=owner, customer_uid=new_customer_uid())
        payment = Payment.objects.create(
            merchant_uid=new_merchant_uid(),
            billing_key=billing_key,
            owner=owner,
            amount=settings.BILLING_FIRST_PAYMENT_AMOUNT,
            name=settings.BILLING_FIRST_PAYMENT_NAME,
        )
    started = time.monotonic()
    try:
        answer = get_client().pay_onetime(
            merchant_uid=payment.merchant_uid,
            amount=payment.amount,
            name=payment.name,
            card=card,
            customer_uid=billing_key.customer_uid,
            pg=settings.IAMPORT_PG,
            **_payment_extras(),
        )
    except IamportOutcomeUnknown as error:
        _record_payment_failure(payment, error, actor=actor, source=source, action=Action.ISSUE_AND_PAY)
        _mark(billing_key, BillingKey.Status.UNKNOWN)
        _record_event(billing_key, actor, source, Action.ISSUE_AND_PAY, Outcome.UNKNOWN, started, error)
        _try_to_resolve_unknown(billing_key, actor=actor, source=source)
        _try_to_resolve_unknown_payment(payment, actor=actor, source=source)
        if payment.status in (Payment.Status.PAID, Payment.Status.FAILED):
            billing_key.refresh_from_db()
            return billing_key, payment
        raise PaymentError(payment, error) from error
    except IamportError as error:
        billing_key.last_error_code = error.code
        billing_key.last_error_message = error.message[:500]
        billing_key.status = BillingKey.Status.FAILED
        with transaction.atomic():
            _record_event(
                billing_key, actor, source, Action.ISSUE_AND_PAY, _outcome_of(error), started, error
            )
            billing_key.save(update_fields=["status", "last_error_code", "last_error_message", "updated_at"])
            _fail_unsent_payment(payment, error)
        _count_refused_registration(actor, error)
        _log_failure(Action.ISSUE_AND_PAY, payment.merchant_uid, error)
        raise PaymentError(payment, error) from error

    with transaction.atomic():
        _record_event(billing_key, actor, source, Action.ISSUE_AND_PAY, Outcome.SUCCEEDED, started)
        sync_from_payment(payment, answer)
        _key_from_payment_answer(billing_key, answer)
    if payment.status == Payment.Status.FAILED:
        logger.info("first payment %s declined: %s", payment.merchant_uid, payment.fail_reason)
        _check_key_after_decline(billing_key, actor=actor, source=source)
    return billing_key, payment


def _check_key_after_decline(billing_key: BillingKey, *, actor, source: str) -> None:
    """Whether i'mport kept the key after a declined first payment is its call: read it, never guess."""
    started = time.monotonic()
    try:
        customer = get_client().get_billing_key(billing_key.customer_uid)
    except IamportNotFound as error:
        with transaction.atomic():
            _record_event(billing_key, actor, source, Action.SYNC, Outcome.SUCCEEDED, started, error)
            billing_key.status = BillingKey.Status.FAILED
            billing_key.last_error_message = "The first payment was declined; i'mport did not keep the card."
            billing_key.save(update_fields=["status", "last_error_message", "updated_at"])
    except IamportError as error:
        # Left for ``reconcile``: an unknown key is re-read, never used until then.
        _record_event(billing_key, actor, source, Action.SYNC, _outcome_of(error), started, error)
        _mark(billing_key, BillingKey.Status.UNKNOWN)
    else:
        _record_success(
            billing_key, customer, actor=actor, source=source, action=Action.SYNC, started=started
        )


def charge_billing_key(
    *,
    billing_key: BillingKey,
    amount: int,
    name: str,
    actor: AbstractBaseUser | None,
    source: str,
    merchant_uid: str | None = None,
) -> Payment:
    """Charge ``amount`` won to ``billing_key`` (``/subscribe/payments/again``).

    Returns the payment: ``paid``, or ``failed`` when the card company declined (a decline is a
    recorded outcome, not an exception). Raises ``PaymentError`` when i'mport refused the request,
    was unavailable, or did not answer in time (the payment is then ``unknown``, resolved by reading
    i'mport). With ``merchant_uid`` of an earlier attempt, that attempt is resumed, never charged twice.
    """
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValueError("amount must be a positive whole number of won")
    existing = None
    if merchant_uid:
        existing = Payment.objects.select_related("billing_key").filter(merchant_uid=merchant_uid).first()
        if existing is not None:
            _check_same_intent(existing, billing_key, amount, name)
            if existing.status != Payment.Status.FAILED or existing.imp_uid:
                return _resume_payment(existing, actor=actor, source=source)
    if not billing_key.is_usable:
        raise PaymentConflict("The billing key is not active.")
    if existing is not None:
        # Failed before reaching i'mport: send it again, unless i'mport turns out to have it after all.
        resumed = _resume_payment(existing, actor=actor, source=source)
        if resumed is not None:
            return resumed
        payment = existing
    else:
        payment = _new_payment(billing_key, amount, name, merchant_uid or new_merchant_uid())
    return _send_charge(payment, actor=actor, source=source)


def refund_payment(
    *, payment: Payment, amount: int | None, reason: str, actor: AbstractBaseUser | None, source: str
) -> Payment:
    """Refund ``amount`` won of ``payment`` (``None``: all that is left), through ``/payments/cancel``.

    Sends ``checksum`` (the refundable balance we believe is left) so that i'mport refuses a refund
    computed from a stale mirror: a double refund is impossible. Over-refunds are refused here with
    ``RefundNotAllowed``; i'mport's refusals raise ``PaymentError`` after the payment is re-read.
    """
    if payment.status != Payment.Status.PAID or payment.refundable_amount <= 0:
        raise RefundNotAllowed(f"Only a paid payment can be refunded; this one is {payment.status}.")
    if amount is not None:
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise RefundNotAllowed("The amount must be a positive whole number of won.", field="amount")
        if amount > payment.refundable_amount:
            raise RefundNotAllowed(
                f"At most {payment.refundable_amount} won is left to refund.", field="amount"
            )
    started = time.monotonic()
    try:
        answer = get_client().cancel_payment(
            merchant_uid=payment.merchant_uid,
            amount=amount,
            reason=reason,
            checksum=payment.refundable_amount,
        )
    except IamportError as error:
        _record_event(payment.billing_key, actor, source, Action.REFUND, _outcome_of(error), started, error)
        _log_failure(Action.REFUND, payment.merchant_uid, error)
        if isinstance(error, IamportRefused | IamportOutcomeUnknown):
            # Our mirror may be stale (checksum refused) or the refund may have happened: re-read.
            try:
                sync_payment(payment=payment, actor=actor, source=source)
            except PaymentError:
                logger.warning("%s could not be re-read after a refund attempt", payment.merchant_uid)
        raise PaymentError(payment, error) from error
    with transaction.atomic():
        _record_event(payment.billing_key, actor, source, Action.REFUND, Outcome.SUCCEEDED, started)
        sync_from_payment(payment, answer)
    return payment


def sync_payment(*, payment: Payment, actor: AbstractBaseUser | None = None, source: str) -> Payment:
    """Re-read the payment from i'mport (by imp_uid when known, else by merchant_uid) and mirror it."""
    started = time.monotonic()
    client = get_client()
    try:
        answer = (
            client.get_payment(payment.imp_uid)
            if payment.imp_uid
            else client.find_payment(payment.merchant_uid)
        )
    except IamportNotFound as error:
        with transaction.atomic():
            _record_event(payment.billing_key, actor, source, Action.SYNC, Outcome.SUCCEEDED, started, error)
            _apply_payment_not_found(payment)
        return payment
    except IamportError as error:
        _record_event(payment.billing_key, actor, source, Action.SYNC, _outcome_of(error), started, error)
        raise PaymentError(payment, error) from error
    if answer.merchant_uid != payment.merchant_uid:
        # Never mirror another payment onto this row.
        error = IamportRefused("i'mport answered with another merchant_uid")
        _record_event(payment.billing_key, actor, source, Action.SYNC, Outcome.REFUSED, started, error)
        raise PaymentError(payment, error)
    with transaction.atomic():
        _record_event(payment.billing_key, actor, source, Action.SYNC, Outcome.SUCCEEDED, started)
        sync_from_payment(payment, answer)
    return payment


# Where a status stands in a payment's life: a mirror never moves backwards (out-of-order reads).
_PAYMENT_RANK = {
    Payment.Status.READY: 0,
    Payment.Status.UNKNOWN: 0,
    Payment.Status.FAILED: 1,
    Payment.Status.PAID: 1,
    Payment.Status.CANCELLED: 2,
}
_MIRRORED_FIELDS = (
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


def sync_from_payment(payment: Payment, answer: IamportPayment) -> bool:
    """The one function that turns i'mport's ``PaymentAnnotation`` into our row and its refunds.

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
    for name in _MIRRORED_FIELDS:
        setattr(payment, name, getattr(stored, name))
    previous_status = payment.status
    status = answer.status if answer.status in _PAYMENT_RANK else None
    stale = answer.cancel_amount < payment.cancelled_amount or (
        status is not None and _PAYMENT_RANK[status] < _PAYMENT_RANK[payment.status]
    )
    created = _mirror_refunds(payment, answer)
    if stale:
        return created
    before = tuple(getattr(payment, name) for name in _MIRRORED_FIELDS)
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
    changed = before != tuple(getattr(payment, name) for name in _MIRRORED_FIELDS)
    payment.iamport_data = _masked_payment_data(answer)
    payment.synced_at = timezone.now()
    payment.save()
    if payment.status != previous_status:
        payment_status_changed.send_robust(sender=Payment, payment=payment, previous_status=previous_status)
    return changed or created


def _mirror_refunds(payment: Payment, answer: IamportPayment) -> bool:
    created_any = False
    for cancellation in answer.cancel_history:
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


def _masked_payment_data(answer: IamportPayment) -> dict:
    data = dict(answer.raw)
    if data.get("card_number"):
        data["card_number"] = mask_card_number(str(data["card_number"]))
    return data


def _key_from_payment_answer(billing_key: BillingKey, answer: IamportPayment) -> None:
    """Mirror the key issued by ``onetime`` from the payment answer: the card as i'mport masked it."""
    billing_key.status = BillingKey.Status.ACTIVE
    billing_key.pg_provider = answer.pg_provider[:40]
    billing_key.card_name = answer.card_name[:80]
    billing_key.card_code = str(answer.raw.get("card_code") or "")[:10]
    billing_key.masked_card_number = mask_card_number(answer.card_number)[:32]
    card_type = answer.raw.get("card_type")
    billing_key.card_type = card_type if card_type in (0, 1) else None
    billing_key.last_error_code = None
    billing_key.last_error_message = ""
    billing_key.synced_at = timezone.now()
    billing_key.save()


def _new_payment(billing_key: BillingKey, amount: int, name: str, merchant_uid: str) -> Payment:
    try:
        with transaction.atomic():
            return Payment.objects.create(
                merchant_uid=merchant_uid,
                billing_key=billing_key,
                owner=billing_key.owner,
                amount=amount,
                name=name,
            )
    except IntegrityError:
        # The same merchant_uid sent twice at once: the other request is charging it.
        raise PaymentConflict("A charge with this merchant_uid is in progress; retry shortly.") from None


def _check_same_intent(payment: Payment, billing_key: BillingKey, amount: int, name: str) -> None:
    if payment.billing_key_id != billing_key.pk or payment.amount != amount or payment.name != name:
        raise PaymentConflict("This merchant_uid was used for another charge.", payment=payment)


def _resume_payment(payment: Payment, *, actor, source: str) -> Payment | None:
    """A retry with the merchant_uid of an earlier attempt: answer from what i'mport knows of it.

    Returns the payment when its outcome is settled; ``None`` when i'mport has no trace of a payment
    that we know never reached it (``failed`` with no imp_uid), so the charge may be sent again.
    """
    if payment.status in (Payment.Status.PAID, Payment.Status.CANCELLED):
        return payment
    if payment.status == Payment.Status.FAILED and payment.imp_uid:
        return payment
    settled_before = payment.status == Payment.Status.FAILED
    try:
        sync_payment(payment=payment, actor=actor, source=source)
    except PaymentError:
        if settled_before:
            raise
        raise PaymentError(
            payment, IamportOutcomeUnknown("i'mport could not be read; the charge is still being checked")
        ) from None
    if payment.imp_uid:
        return payment
    if payment.status == Payment.Status.FAILED and not settled_before:
        return payment  # i'mport never received it, and the grace period is over
    if settled_before:
        payment.status = Payment.Status.READY
        payment.fail_reason = ""
        payment.failed_at = None
        payment.save(update_fields=["status", "fail_reason", "failed_at", "updated_at"])
        return None
    # Sent earlier and i'mport has no trace yet: it may still be in flight. Never send it again.
    raise PaymentError(
        payment, IamportOutcomeUnknown("The charge is still being checked with i'mport; try again later.")
    )


def _send_charge(payment: Payment, *, actor, source: str) -> Payment:
    started = time.monotonic()
    try:
        answer = get_client().pay_again(
            customer_uid=payment.billing_key.customer_uid,
            merchant_uid=payment.merchant_uid,
            amount=payment.amount,
            name=payment.name,
            **_payment_extras(),
        )
    except IamportOutcomeUnknown as error:
        _record_payment_failure(
            payment, error, actor=actor, source=source, action=Action.CHARGE, started=started
        )
        _try_to_resolve_unknown_payment(payment, actor=actor, source=source)
        if payment.status in (Payment.Status.PAID, Payment.Status.FAILED):
            return payment
        raise PaymentError(payment, error) from error
    except IamportError as error:
        _record_payment_failure(
            payment, error, actor=actor, source=source, action=Action.CHARGE, started=started
        )
        raise PaymentError(payment, error) from error
    with transaction.atomic():
        _record_event(payment.billing_key, actor, source, Action.CHARGE, Outcome.SUCCEEDED, started)
        sync_from_payment(payment, answer)
    if payment.status == Payment.Status.FAILED:
        logger.info("charge %s declined: %s", payment.merchant_uid, payment.fail_reason)
    return payment


def _payment_extras() -> dict[str, str]:
    return {"notice_url": settings.IAMPORT_NOTICE_URL} if settings.IAMPORT_NOTICE_URL else {}


def _record_payment_failure(
    payment: Payment, error: IamportError, *, actor, source: str, action: str, started: float | None = None
) -> None:
    with transaction.atomic():
        if started is not None:
            _record_event(payment.billing_key, actor, source, action, _outcome_of(error), started, error)
        if isinstance(error, IamportOutcomeUnknown):
            # Only a payment still waiting for its answer: a notification may already have settled it.
            Payment.objects.filter(pk=payment.pk, status=Payment.Status.READY).update(
                status=Payment.Status.UNKNOWN, updated_at=timezone.now()
            )
            payment.refresh_from_db()
        else:
            _fail_unsent_payment(payment, error)
    _log_failure(action, payment.merchant_uid, error)


def _fail_unsent_payment(payment: Payment, error: IamportError) -> None:
    """i'mport refused the request or could not be reached: nothing was charged."""
    payment.status = Payment.Status.FAILED
    payment.fail_reason = (error.message or "i'mport could not be reached; nothing was charged.")[:500]
    payment.failed_at = timezone.now()
    payment.save(update_fields=["status", "fail_reason", "failed_at", "updated_at"])


def _log_failure(action: str, record: str, error: IamportError) -> None:
    """One line per failed call, naming our record (customer_uid or merchant_uid); never card data."""
    log = logger.warning if isinstance(error, IamportRefused) else logger.error
    log("i'mport %s for %s: %s (code %s)", action, record, type(error).__name__, error.code)


def _try_to_resolve_unknown_payment(payment: Payment, *, actor, source: str) -> None:
    try:
        sync_payment(payment=payment, actor=actor, source=source)
    except PaymentError:
        logger.warning("%s stays unknown: i'mport could not be read yet", payment.merchant_uid)


def _apply_payment_not_found(payment: Payment) -> None:
    """i'mport has no payment with this merchant_uid."""
    if payment.status in (Payment.Status.UNKNOWN, Payment.Status.READY):
        # A charge that timed out may still be in flight at i'mport: wait out the grace period.
        age = (timezone.now() - payment.created_at).total_seconds()
        if age < settings.IAMPORT_UNKNOWN_GRACE_SECONDS:
            return
        payment.status = Payment.Status.FAILED
        payment.fail_reason = "i'mport never received this charge; nothing was charged."
        payment.failed_at = timezone.now()
    elif payment.status in (Payment.Status.PAID, Payment.Status.CANCELLED):
        logger.error("i'mport has no payment %s that we recorded as %s", payment.merchant_uid, payment.status)
        return
    payment.synced_at = timezone.now()
    payment.save(update_fields=["status", "fail_reason", "failed_at", "synced_at", "updated_at"])


# --- webhooks -------------------------------------------------------------------------------------


def handle_payment_notification(
    *, imp_uid: str, merchant_uid: str, claimed: dict, source_ip: str | None
) -> WebhookDelivery:
    """Act on one i'mport notification, trusting nothing in it but the ids to look up.

    Reads the payment from i'mport and checks its merchant_uid and amount against our record (and
    against anything the body claims) before changing anything; then mirrors it through
    ``sync_from_payment``. Every delivery is recorded with its result.
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
    started = time.monotonic()
    try:
        answer = get_client().get_payment(imp_uid)
    except IamportNotFound:
        logger.warning("webhook for %s names an imp_uid i'mport does not know", merchant_uid)
        return done(Result.REJECTED, "i'mport has no payment with this imp_uid.", payment)
    except IamportError as error:
        _record_event(
            payment.billing_key, None, Source.WEBHOOK, Action.SYNC, _outcome_of(error), started, error
        )
        return done(Result.FAILED, f"i'mport could not be read ({type(error).__name__}).", payment)
    mismatch = _notification_mismatch(payment, answer, claimed)
    if mismatch:
        logger.warning("webhook for %s rejected: %s", merchant_uid, mismatch)
        return done(Result.REJECTED, mismatch, payment)
    with transaction.atomic():
        locked = Payment.objects.select_for_update().select_related("billing_key").get(pk=payment.pk)
        if sync_from_payment(locked, answer):
            _record_event(locked.billing_key, None, Source.WEBHOOK, Action.SYNC, Outcome.SUCCEEDED, started)
            return done(Result.PROCESSED, f"Now {locked.status}.", locked)
        return done(Result.DUPLICATE, f"Nothing new: still {locked.status}.", locked)


def _notification_mismatch(payment: Payment, answer: IamportPayment, claimed: dict) -> str:
    """Why i'mport's answer (or the body's claims) does not fit our record; empty when all agree."""
    if answer.merchant_uid != payment.merchant_uid:
        return "i'mport says this imp_uid belongs to another merchant_uid."
    if answer.amount != payment.amount:
        return f"i'mport says {answer.amount} won; we intended {payment.amount} won."
    claimed_amount = claimed.get("amount")
    if claimed_amount not in (None, "") and str(claimed_amount) != str(answer.amount):
        return f"The body claims {claimed_amount} won; i'mport says {answer.amount} won."
    return ""
