"""Payments: charge a billing key, register a card and pay at once, refund, re-read from i'mport.

A Payment row is created (``ready``, with a new merchant_uid) before i'mport is called, so every
intended charge has a record even if this process dies mid-call. i'mport's answer is mirrored by
``mirror_payment``; a timeout leaves ``unknown`` and is resolved by reading i'mport by merchant_uid,
never by sending the charge again. Each call leaves a ``BillingKeyEvent`` on the key charged.
"""

import logging
import secrets
from typing import cast

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from billing.cards import CardDetails
from billing.conf import billing_settings
from billing.iamport.errors import IamportError, IamportNotFound, IamportOutcomeUnknown, IamportRefused
from billing.models import BillingKey, BillingKeyEvent, Payment

from .billing_keys import (
    check_key_after_decline,
    for_iamport,
    mark,
    new_customer_uid,
    try_to_resolve_unknown_key,
)
from .calls import IamportCall, release_db_connection
from .errors import PaymentConflict, PaymentError, RefundNotAllowed
from .mirrors import mirror_key_from_payment, mirror_payment, note_payment_outcome

logger = logging.getLogger(__name__)

Action = BillingKeyEvent.Action
Outcome = BillingKeyEvent.Outcome


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
        billing_key = BillingKey.objects.create(owner=owner, customer_uid=new_customer_uid())  # type: ignore[misc]  # FK to the host's AUTH_USER_MODEL
        payment = Payment.objects.create(  # type: ignore[misc]  # FK to the host's AUTH_USER_MODEL
            merchant_uid=new_merchant_uid(),
            billing_key=billing_key,
            owner=owner,
            amount=billing_settings.FIRST_PAYMENT_AMOUNT,
            name=billing_settings.FIRST_PAYMENT_NAME,
        )
    call = IamportCall(billing_key, actor=actor, source=source, action=Action.ISSUE_AND_PAY)
    try:
        answer = call.client.pay_onetime(
            merchant_uid=payment.merchant_uid,
            amount=payment.amount,
            name=payment.name,
            card=for_iamport(card),
            customer_uid=billing_key.customer_uid,
            pg=billing_settings.PG,
            **_payment_extras(),
        )
    except IamportOutcomeUnknown as error:
        _record_payment_failure(payment, error, call, record_event=False)
        mark(billing_key, BillingKey.Status.UNKNOWN)
        call.record(Outcome.UNKNOWN, error)
        try_to_resolve_unknown_key(billing_key, actor=actor, source=source)
        _try_to_resolve_unknown_payment(payment, actor=actor, source=source)
        if payment.status in (Payment.Status.PAID, Payment.Status.FAILED):
            billing_key.refresh_from_db()
            return billing_key, payment
        raise PaymentError(payment, error, registered_key=billing_key) from error
    except IamportError as error:
        billing_key.last_error_code = error.code
        billing_key.last_error_message = error.message[:500]
        billing_key.status = BillingKey.Status.FAILED
        with transaction.atomic():
            call.record(error=error)
            billing_key.save(update_fields=["status", "last_error_code", "last_error_message", "updated_at"])
            _fail_unsent_payment(payment, error)
        call.count_refused_registration(error)
        call.log_failure(payment.merchant_uid, error)
        raise PaymentError(payment, error, registered_key=billing_key) from error

    with transaction.atomic():
        mirror_payment(payment, answer)
        mirror_key_from_payment(billing_key, answer)
        declined = payment.status == Payment.Status.FAILED
        # A declined first payment is a refused registration, as a declined card is to register_card:
        # the audit trail says so and the refusal cool-down counts it (card testers pay first, too).
        refusal = IamportRefused(payment.fail_reason or "declined", code=0) if declined else None
        call.record(Outcome.REFUSED if declined else Outcome.SUCCEEDED, refusal)
    if declined:
        call.count_refused_registration(cast(IamportRefused, refusal))  # set when declined
        logger.info("first payment %s declined: %s", payment.merchant_uid, payment.fail_reason)
        check_key_after_decline(billing_key, actor=actor, source=source)
    return billing_key, payment


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
                # Not a failed, never-received attempt: _resume_payment settles it or raises, never None.
                return cast(Payment, _resume_payment(existing, actor=actor, source=source))
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
    call = IamportCall(payment.billing_key, actor=actor, source=source, action=Action.REFUND)
    try:
        answer = call.client.cancel_payment(
            merchant_uid=payment.merchant_uid,
            amount=amount,
            reason=reason,
            checksum=payment.refundable_amount,
        )
    except IamportError as error:
        call.record(error=error)
        call.log_failure(payment.merchant_uid, error)
        if isinstance(error, IamportRefused | IamportOutcomeUnknown):
            # Our mirror may be stale (checksum refused) or the refund may have happened: re-read.
            try:
                sync_payment(payment=payment, actor=actor, source=source)
            except PaymentError:
                logger.warning("%s could not be re-read after a refund attempt", payment.merchant_uid)
        raise PaymentError(payment, error) from error
    with transaction.atomic():
        call.record()
        mirror_payment(payment, answer)
    return payment


def sync_payment(*, payment: Payment, actor: AbstractBaseUser | None = None, source: str) -> Payment:
    """Re-read the payment from i'mport (by imp_uid when known, else by merchant_uid) and mirror it."""
    call = IamportCall(payment.billing_key, actor=actor, source=source, action=Action.SYNC)
    client = call.client
    try:
        answer = (
            client.get_payment(payment.imp_uid)
            if payment.imp_uid
            else client.find_payment(payment.merchant_uid)
        )
    except IamportNotFound as error:
        with transaction.atomic():
            call.record(Outcome.SUCCEEDED, error)
            _apply_payment_not_found(payment)
        return payment
    except IamportError as error:
        call.record(error=error)
        raise PaymentError(payment, error) from error
    if answer.merchant_uid != payment.merchant_uid:
        # Never mirror another payment onto this row.
        mismatch = IamportRefused("i'mport answered with another merchant_uid")
        call.record(Outcome.REFUSED, mismatch)
        raise PaymentError(payment, mismatch)
    with transaction.atomic():
        call.record()
        mirror_payment(payment, answer)
    return payment


def _new_payment(billing_key: BillingKey, amount: int, name: str, merchant_uid: str) -> Payment:
    try:
        with transaction.atomic():
            return Payment.objects.create(
                merchant_uid=merchant_uid,
                billing_key=billing_key,
                owner_id=billing_key.owner_id,  # the id is enough: no query for the user's row
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
        _claim_failed_attempt(payment)
        return None
    # Sent earlier and i'mport has no trace yet: it may still be in flight. Never send it again.
    raise PaymentError(
        payment, IamportOutcomeUnknown("The charge is still being checked with i'mport; try again later.")
    )


def _claim_failed_attempt(payment: Payment) -> None:
    """Take a failed, never-received attempt back to ``ready`` so that this caller, and only it, sends it.

    A conditional UPDATE is the claim: of two retries of one intent arriving at once, one moves the row
    and sends the charge; the other finds it already moved and is told the charge is in progress.
    """
    claimed = Payment.objects.filter(
        pk=payment.pk, status=Payment.Status.FAILED, imp_uid__isnull=True
    ).update(status=Payment.Status.READY, fail_reason="", failed_at=None, updated_at=timezone.now())
    payment.refresh_from_db()
    if not claimed:
        raise PaymentConflict(
            "A charge with this merchant_uid is in progress; retry shortly.", payment=payment
        )


def _send_charge(payment: Payment, *, actor, source: str) -> Payment:
    call = IamportCall(payment.billing_key, actor=actor, source=source, action=Action.CHARGE)
    release_db_connection()  # a worker's 200 charges in flight hold a few pooled connections, not 200
    try:
        answer = call.client.pay_again(
            customer_uid=payment.billing_key.customer_uid,
            merchant_uid=payment.merchant_uid,
            amount=payment.amount,
            name=payment.name,
            **_payment_extras(),
        )
    except IamportOutcomeUnknown as error:
        _record_payment_failure(payment, error, call)
        _try_to_resolve_unknown_payment(payment, actor=actor, source=source)
        if payment.status in (Payment.Status.PAID, Payment.Status.FAILED):
            return payment
        raise PaymentError(payment, error) from error
    except IamportRefused as error:
        call.record(error=error)
        call.log_failure(payment.merchant_uid, error)
        # "merchant_uid already paid" and its kin: i'mport may hold a payment for this intent (another
        # attempt got through). Read it rather than trust the refusal; a refusal never overwrites it.
        _settle_after_refusal(payment, error, actor=actor, source=source)
        if payment.status in (Payment.Status.PAID, Payment.Status.CANCELLED):
            return payment
        raise PaymentError(payment, error) from error
    except IamportError as error:
        _record_payment_failure(payment, error, call)
        raise PaymentError(payment, error) from error
    with transaction.atomic():
        call.record()
        mirror_payment(payment, answer)
    if payment.status == Payment.Status.READY:
        # i'mport answered with a status we do not understand: the outcome is unknown until it is read.
        unknown = IamportOutcomeUnknown("i'mport's answer did not say whether the charge was paid")
        _record_payment_failure(payment, unknown, call, record_event=False)
        _try_to_resolve_unknown_payment(payment, actor=actor, source=source)
        if payment.status in (Payment.Status.PAID, Payment.Status.FAILED, Payment.Status.CANCELLED):
            return payment
        raise PaymentError(payment, unknown)
    if payment.status == Payment.Status.FAILED:
        logger.info("charge %s declined: %s", payment.merchant_uid, payment.fail_reason)
    return payment


def _settle_after_refusal(payment: Payment, error: IamportError, *, actor, source: str) -> None:
    """A charge i'mport refused: what i'mport holds for the merchant_uid decides, not the refusal."""
    read = IamportCall(payment.billing_key, actor=actor, source=source, action=Action.SYNC)
    try:
        answer = read.client.find_payment(payment.merchant_uid)
    except IamportNotFound as not_found:
        read.record(Outcome.SUCCEEDED, not_found)
        answer = None
    except IamportError as read_error:
        # Unreadable now: record the refusal on a row still waiting for it; reconcile re-reads it later.
        read.record(error=read_error)
        answer = None
    if answer is not None and answer.merchant_uid == payment.merchant_uid:
        with transaction.atomic():
            read.record()
            mirror_payment(payment, answer)
        if payment.status != Payment.Status.READY:
            return
    with transaction.atomic():
        _fail_unsent_payment(payment, error)


def _payment_extras() -> dict[str, str]:
    return {"notice_url": billing_settings.NOTICE_URL} if billing_settings.NOTICE_URL else {}


def _record_payment_failure(
    payment: Payment, error: IamportError, call: IamportCall, *, record_event: bool = True
) -> None:
    with transaction.atomic():
        if record_event:
            call.record(error=error)
        if isinstance(error, IamportOutcomeUnknown):
            # Only a payment still waiting for its answer: a notification may already have settled it.
            Payment.objects.filter(pk=payment.pk, status=Payment.Status.READY).update(
                status=Payment.Status.UNKNOWN, updated_at=timezone.now()
            )
            payment.refresh_from_db()
        else:
            _fail_unsent_payment(payment, error)
    call.log_failure(payment.merchant_uid, error)


def _fail_unsent_payment(payment: Payment, error: IamportError) -> None:
    """i'mport refused the request or could not be reached: nothing was charged by this attempt.

    Only a row still waiting for this attempt's answer (``ready``) is failed: a refusal never overwrites
    what is better known (paid, cancelled, or a failure i'mport itself recorded).
    """
    now = timezone.now()
    failed = Payment.objects.filter(pk=payment.pk, status=Payment.Status.READY).update(
        status=Payment.Status.FAILED,
        fail_reason=(error.message or "i'mport could not be reached; nothing was charged.")[:500],
        failed_at=now,
        updated_at=now,
    )
    payment.refresh_from_db()
    if failed:
        note_payment_outcome(payment)


def _try_to_resolve_unknown_payment(payment: Payment, *, actor, source: str) -> None:
    try:
        sync_payment(payment=payment, actor=actor, source=source)
    except PaymentError:
        logger.warning("%s stays unknown: i'mport could not be read yet", payment.merchant_uid)


def _apply_payment_not_found(payment: Payment) -> None:
    """i'mport has no payment with this merchant_uid. Call it inside ``transaction.atomic``.

    Decided on the row as stored (locked), never on this caller's copy: a retry that claimed the row
    meanwhile (``ready``) must not be written back to the ``failed`` this caller read earlier.
    """
    stored = Payment.objects.select_for_update().get(pk=payment.pk)
    for name in ("status", "imp_uid", "fail_reason", "failed_at", "synced_at"):
        setattr(payment, name, getattr(stored, name))
    was = payment.status
    now = timezone.now()
    if payment.status in (Payment.Status.UNKNOWN, Payment.Status.READY):
        # A charge that timed out may still be in flight at i'mport: wait out the grace period.
        age = (now - payment.created_at).total_seconds()
        if age < billing_settings.UNKNOWN_GRACE_SECONDS:
            return
        payment.status = Payment.Status.FAILED
        payment.fail_reason = "i'mport never received this charge; nothing was charged."
        payment.failed_at = now
    elif payment.status in (Payment.Status.PAID, Payment.Status.CANCELLED):
        logger.error("i'mport has no payment %s that we recorded as %s", payment.merchant_uid, payment.status)
        return
    payment.synced_at = now
    payment.save(update_fields=["status", "fail_reason", "failed_at", "synced_at", "updated_at"])
    if payment.status != was:
        note_payment_outcome(payment)
