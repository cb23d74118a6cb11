"""The backstop: make every local billing key and payment say what i'mport says.

Two passes, one function (``reconcile``), run by ``manage.py reconcile`` or a periodic task:

- **short** (every few minutes): ``unknown`` records (a call timed out) and ``pending``/``ready`` ones
  older than ``stale_before`` (the process died mid-call) are re-read.
- **full** (daily): every key and payment changed since ``changed_since`` (or all of them) is compared
  with i'mport, in keyset-paginated batches: keys through i'mport's multi-get
  (``GET /subscribe/customers?customer_uid[]=...``), payments one by one (by imp_uid or merchant_uid,
  with their refunds). It finds what the short pass cannot see: a key deleted at i'mport by a delete whose
  process died, a refund whose answer was lost, a sync that raced a delete.

Whatever differs is fixed through the same mirrors as everywhere else and reported, one line per record.
A record that cannot be read or mirrored is reported and skipped; every other record is still checked.
"""

import datetime
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet

from billing import selectors
from billing.iamport import get_client
from billing.iamport.errors import IamportError, IamportNotFound, IamportOutcomeUnknown, IamportRefused
from billing.models import BillingKey, BillingKeyEvent, Payment, mask_card_number

from .billing_keys import apply_customer, apply_not_found, delete_billing_key, sync_billing_key
from .calls import IamportCall
from .errors import BillingError, BillingKeyError, PaymentError
from .mirrors import PAYMENT_MIRRORED_FIELDS, from_unix
from .payments import sync_payment

logger = logging.getLogger(__name__)

SHORT, FULL = "short", "full"
DEFAULT_BATCH_SIZE = 100


@dataclass
class ReconciliationReport:
    """What one pass did: each line names the record (``billing key cu_...`` or ``payment pay_...``)."""

    mode: str = SHORT
    checked: int = 0
    changes: list[str] = field(default_factory=list)  # "billing key cu_...: unknown -> active"
    unreadable: list[str] = field(default_factory=list)  # "payment pay_...: i'mport unreadable (...)"


def reconcile(
    *,
    stale_before: datetime.datetime | None = None,
    mode: str = SHORT,
    changed_since: datetime.datetime | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actor: AbstractBaseUser | None = None,
    source: str = BillingKeyEvent.Source.COMMAND,
) -> ReconciliationReport:
    """One pass (``mode`` ``short`` or ``full``); see the module's docstring.

    ``stale_before`` is the short pass's limit for ``pending``/``ready`` records; ``changed_since`` the
    full pass's window (``None``: every record). Only an error in the pass itself raises.
    """
    if mode not in (SHORT, FULL):
        raise ValueError(f"mode must be {SHORT!r} or {FULL!r}")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    report = ReconciliationReport(mode=mode)
    if mode == FULL:
        _full_keys(report, changed_since, batch_size, actor, source)
        payments = _batches(selectors.payments_changed_since(changed_since), batch_size)
    else:
        if stale_before is None:
            raise ValueError("the short pass needs stale_before")
        for billing_key in selectors.billing_keys_to_reconcile(stale_before):
            _check_key(report, billing_key, actor, source)
        payments = iter(selectors.payments_to_reconcile(stale_before))
    for payment in payments:
        _check_payment(report, payment, actor, source)
    return report


# --- billing keys -----------------------------------------------------------------------------------


def _check_key(report: ReconciliationReport, billing_key: BillingKey, actor, source: str) -> None:
    """Re-read one key through ``sync_billing_key``; report what changed or why it could not be read."""
    report.checked += 1
    before = billing_key.status
    try:
        sync_billing_key(billing_key=billing_key, actor=actor, source=source)
    except BillingError as error:
        uid = billing_key.customer_uid
        report.unreadable.append(f"billing key {uid}: i'mport unreadable ({_why(error)})")
        return
    except Exception:
        logger.exception("billing key %s could not be mirrored", billing_key.customer_uid)
        report.unreadable.append(f"billing key {billing_key.customer_uid}: could not be mirrored")
        return
    if billing_key.status != before:
        report.changes.append(f"billing key {billing_key.customer_uid}: {before} -> {billing_key.status}")


def _full_keys(report, changed_since, batch_size: int, actor, source: str) -> None:
    keys = selectors.billing_keys_changed_since(changed_since)
    for batch in _pages(keys, batch_size):
        try:
            answers = _read_keys([key.customer_uid for key in batch])
        except IamportError as error:
            # The batch could not be read (or one answer in it could not be parsed): key by key instead.
            logger.warning("multi-get of %s keys failed (%r); reading them one by one", len(batch), error)
            for billing_key in batch:
                _check_key(report, billing_key, actor, source)
            continue
        for billing_key in batch:
            _compare_key(report, billing_key, answers.get(billing_key.customer_uid), actor, source)


def _read_keys(customer_uids: list[str]) -> dict:
    try:
        answers = get_client().get_billing_keys(customer_uids)
    except IamportNotFound:
        return {}  # i'mport answers 404 when none of them exists
    return {answer.customer_uid: answer for answer in answers}


def _compare_key(report: ReconciliationReport, billing_key: BillingKey, answer, actor, source: str) -> None:
    report.checked += 1
    before = billing_key.status  # as loaded with its batch, before the multi-get left
    call = IamportCall(billing_key, actor=actor, source=source, action=BillingKeyEvent.Action.SYNC)
    try:
        with transaction.atomic():
            if answer:
                changed = apply_customer(billing_key, answer)
            else:
                changed = apply_not_found(billing_key, believed=before)
            if changed:
                call.record()
    except Exception:
        logger.exception("billing key %s could not be mirrored", billing_key.customer_uid)
        report.unreadable.append(f"billing key {billing_key.customer_uid}: could not be mirrored")
        return
    if answer is not None and billing_key.status == BillingKey.Status.DELETED:
        # Deleted here, still registered at i'mport (a delete whose answer was lost, or that raced a
        # registration): the customer asked for it to go, so it goes there too.
        try:
            delete_billing_key(billing_key=billing_key, actor=actor, source=source, reason="reconcile")
        except BillingError as error:
            report.unreadable.append(
                f"billing key {billing_key.customer_uid}: deleted here, still at i'mport ({_why(error)})"
            )
            return
        report.changes.append(f"billing key {billing_key.customer_uid}: deleted at i'mport too")
        return
    if changed:
        report.changes.append(f"billing key {billing_key.customer_uid}: {before} -> {billing_key.status}")


# --- payments ---------------------------------------------------------------------------------------


def _check_payment(report: ReconciliationReport, payment: Payment, actor, source: str) -> None:
    report.checked += 1
    before = _payment_state(payment)
    try:
        sync_payment(payment=payment, actor=actor, source=source)
    except BillingError as error:
        report.unreadable.append(f"payment {payment.merchant_uid}: i'mport unreadable ({_why(error)})")
        return
    except Exception:
        logger.exception("payment %s could not be mirrored", payment.merchant_uid)
        report.unreadable.append(f"payment {payment.merchant_uid}: could not be mirrored")
        return
    after = _payment_state(payment)
    if after[0] != before[0]:
        report.changes.append(f"payment {payment.merchant_uid}: {before[0]} -> {after[0]}")
    elif after != before:
        what = [name for name, old, new in zip(_STATE_NAMES, before, after, strict=True) if old != new]
        report.changes.append(f"payment {payment.merchant_uid}: {after[0]}, corrected {', '.join(what)}")


_STATE_NAMES = ("status", *(name for name in PAYMENT_MIRRORED_FIELDS if name != "status"), "refunds")


def _payment_state(payment: Payment) -> tuple:
    fields = [getattr(payment, name) for name in PAYMENT_MIRRORED_FIELDS if name != "status"]
    return (payment.status, *fields, payment.refunds.count())


# --- helpers ----------------------------------------------------------------------------------------


def _pages(queryset: QuerySet, batch_size: int) -> Iterator[list]:
    """``queryset`` in pages of ``batch_size`` by primary key (keyset pagination: never all at once)."""
    last = 0
    while True:
        page = list(queryset.filter(pk__gt=last).order_by("pk")[:batch_size])
        if not page:
            return
        yield page
        last = page[-1].pk


def _batches(queryset: QuerySet, batch_size: int) -> Iterator:
    for page in _pages(queryset, batch_size):
        yield from page


def _why(error: BillingError) -> str:
    cause = getattr(error, "cause", None)
    return repr(cause) if cause is not None else type(error).__name__


def settle_created_records(
    *, owner, customer_uid: str | None, merchant_uid: str | None, actor, source: str
) -> tuple[BillingKey | None, Payment | None]:
    """The key and payment a request created before its process died, settled by reading i'mport.

    For a request taken over after a crash (an API ``Idempotency-Key`` whose lease ran out): nothing is
    sent again. Returns them when settled; raises ``PaymentError``/``BillingKeyError`` as the first
    request would have: refused (the key failed), or outcome unknown while i'mport has not settled them.
    """
    key = payment = None
    if merchant_uid:
        payment = Payment.objects.select_related("billing_key").get(merchant_uid=merchant_uid)
        if payment.status in (Payment.Status.READY, Payment.Status.UNKNOWN):
            sync_payment(payment=payment, actor=actor, source=source)
    if customer_uid:
        key = BillingKey.objects.get(customer_uid=customer_uid, owner=owner)
        if key.status in (BillingKey.Status.PENDING, BillingKey.Status.UNKNOWN):
            sync_billing_key(billing_key=key, actor=actor, source=source)
    checking = IamportOutcomeUnknown("The first request's outcome is still being checked with i'mport.")
    if payment is not None and payment.status in (Payment.Status.READY, Payment.Status.UNKNOWN):
        raise PaymentError(payment, checking, registered_key=key)
    if key is not None and key.status in (BillingKey.Status.PENDING, BillingKey.Status.UNKNOWN):
        raise BillingKeyError(key, checking)
    if key is not None and payment is None and key.status != BillingKey.Status.ACTIVE:
        refused = IamportRefused(
            key.last_error_message or "i'mport refused the card.", code=key.last_error_code
        )
        raise BillingKeyError(key, refused)
    return key, payment


# --- comparison -------------------------------------------------------------------------------------


def compare_with_iamport(*, batch_size: int = DEFAULT_BATCH_SIZE) -> list[str]:
    """Every difference between the local keys, payments and refunds and what i'mport says, field by field.

    Read-only (an audit, and the stress suite's verdict): ``[]`` means every record mirrors i'mport.
    Raises ``IamportError`` when i'mport cannot be read: a comparison that could not be made is no verdict.
    """
    differences: list[str] = []
    for batch in _pages(BillingKey.objects.all(), batch_size):
        answers = _read_keys([key.customer_uid for key in batch])
        for billing_key in batch:
            differences += _key_differences(billing_key, answers.get(billing_key.customer_uid))
    client = get_client()
    for batch in _pages(Payment.objects.all(), batch_size):
        for payment in batch:
            try:
                answer = client.find_payment(payment.merchant_uid)
            except IamportNotFound:
                answer = None
            differences += _payment_differences(payment, answer)
    return differences


def _key_differences(billing_key: BillingKey, answer) -> list[str]:
    name = f"billing key {billing_key.customer_uid}"
    if answer is None:
        if billing_key.status in (BillingKey.Status.FAILED, BillingKey.Status.DELETED):
            return []
        return [f"{name}: status is {billing_key.status} here, i'mport has no such key"]
    if billing_key.status != BillingKey.Status.ACTIVE:
        return [f"{name}: status is {billing_key.status} here, the key is registered at i'mport"]
    expected = {
        "pg_provider": answer.pg_provider[:40],
        "pg_id": answer.pg_id[:80],
        "card_name": answer.card_name[:80],
        "card_code": answer.card_code[:10],
        "masked_card_number": mask_card_number(answer.card_number)[:32],
        "card_type": answer.card_type,
    }
    return _field_differences(name, billing_key, expected)


def _payment_differences(payment: Payment, answer) -> list[str]:
    name = f"payment {payment.merchant_uid}"
    if answer is None:
        if payment.status == Payment.Status.FAILED and not payment.imp_uid:
            return []  # never received by i'mport: failed here, nothing there
        return [f"{name}: status is {payment.status} here, i'mport has no such payment"]
    expected = {
        "status": answer.status,
        "imp_uid": answer.imp_uid,
        "amount": answer.amount,
        "cancelled_amount": answer.cancel_amount,
        "paid_at": from_unix(answer.paid_at),
        "failed_at": from_unix(answer.failed_at),
        "cancelled_at": from_unix(answer.cancelled_at),
        "fail_reason": answer.fail_reason[:500],
        "receipt_url": answer.receipt_url[:500],
        "pg_tid": answer.pg_tid[:80],
    }
    differences = _field_differences(name, payment, expected)
    here = {
        (refund.cancellation_id, refund.amount, refund.reason, refund.pg_tid, refund.cancelled_at)
        for refund in payment.refunds.all()
    }
    there = {
        (c.cancellation_id, c.amount, c.reason[:500], c.pg_tid[:80], from_unix(c.cancelled_at))
        for c in answer.cancel_history
        if c.amount > 0
    }
    if here != there:
        differences.append(f"{name}: refunds differ ({len(here)} here, {len(there)} at i'mport)")
    return differences


def _field_differences(name: str, record, expected: dict) -> list[str]:
    return [
        f"{name}: {field_name} is {getattr(record, field_name)!r} here, {value!r} at i'mport"
        for field_name, value in expected.items()
        if getattr(record, field_name) != value
    ]
