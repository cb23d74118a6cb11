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
from django.db import transaction
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
from .models import BillingKey, BillingKeyEvent, mask_card_number

logger = logging.getLogger(__name__)

Source = BillingKeyEvent.Source
Action = BillingKeyEvent.Action
Outcome = BillingKeyEvent.Outcome


class BillingKeyError(Exception):
    """A service could not do what was asked; ``cause`` says why, ``billing_key`` is the row as recorded."""

    def __init__(self, billing_key: BillingKey, cause: IamportError):
        super().__init__(cause.message)
        self.billing_key = billing_key
        self.cause = cause

    @property
    def outcome_unknown(self) -> bool:
        return isinstance(self.cause, IamportOutcomeUnknown)


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
    billing_key.save()
    return billing_key


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
    log = logger.warning if isinstance(error, IamportRefused) else logger.error
    log("i'mport %s for %s: %s (code %s)", action, billing_key.customer_uid, type(error).__name__, error.code)


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
