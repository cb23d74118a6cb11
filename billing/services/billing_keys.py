"""Billing keys: register a card, delete a key, re-read one from i'mport.

Each service calls i'mport *outside* any database transaction (a card company can take seconds),
then records the outcome in one short ``transaction.atomic`` block: the key's new state and a
``BillingKeyEvent``, written whether the call succeeded or not. Card data arrives as billing's
``CardDetails`` and goes only to the client.
"""

import logging
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from billing.cards import CardDetails
from billing.conf import billing_settings
from billing.iamport.errors import IamportError, IamportNotFound, IamportOutcomeUnknown
from billing.iamport.types import CardDetails as IamportCardDetails
from billing.iamport.types import CustomerAnswer
from billing.models import BillingKey, BillingKeyEvent

from .calls import IamportCall, release_db_connection
from .errors import BillingKeyError
from .mirrors import mirror_customer

logger = logging.getLogger(__name__)

Action = BillingKeyEvent.Action
Outcome = BillingKeyEvent.Outcome


def new_customer_uid() -> str:
    """A customer_uid with no personal data in it: 'cu_' and 128 random bits."""
    return f"cu_{secrets.token_hex(16)}"


def for_iamport(card: CardDetails) -> IamportCardDetails:
    """The card as the client sends it (the only place billing's card meets i'mport's)."""
    return IamportCardDetails(
        number=card.number, expiry=card.expiry, birth=card.birth, pwd_2digit=card.pwd_2digit
    )


def register_card(
    *, owner: AbstractBaseUser, card: CardDetails, source: str, actor: AbstractBaseUser | None = None
) -> BillingKey:
    """Ask i'mport for a billing key for ``card`` and record it under a new customer_uid owned by ``owner``.

    Returns the active key. Raises ``BillingKeyError`` when i'mport refused (status ``failed``),
    was unavailable (``failed``), or did not answer in time (``unknown``, resolved by reading i'mport).
    """
    billing_key = BillingKey.objects.create(owner=owner, customer_uid=new_customer_uid())  # type: ignore[misc]  # FK to the host's AUTH_USER_MODEL
    actor = actor or owner
    release_db_connection()
    call = IamportCall(billing_key, actor=actor, source=source, action=Action.ISSUE)
    try:
        customer = call.client.issue_billing_key(
            billing_key.customer_uid,
            for_iamport(card),
            pg=billing_settings.PG,
            channel_key=billing_settings.CHANNEL_KEY,
        )
    except IamportOutcomeUnknown as error:
        _record_failure(billing_key, error, call)
        # Never send the card again: read i'mport to learn whether the key was made.
        try_to_resolve_unknown_key(billing_key, actor=actor, source=source)
        raise BillingKeyError(billing_key, error) from error
    except IamportError as error:
        _record_failure(billing_key, error, call)
        raise BillingKeyError(billing_key, error) from error
    _record_success(billing_key, customer, call)
    return billing_key


def delete_billing_key(
    *, billing_key: BillingKey, actor: AbstractBaseUser | None, source: str, reason: str = ""
) -> BillingKey:
    """Delete the key at i'mport (not undoable) and mark it deleted here."""
    call = IamportCall(billing_key, actor=actor, source=source, action=Action.DELETE)
    try:
        call.client.delete_billing_key(billing_key.customer_uid, reason=reason or "deleted by the customer")
    except IamportNotFound as error:
        # Already gone at i'mport (or never made): the outcome the caller wanted.
        call.record(Outcome.SUCCEEDED, error)
        mark(billing_key, BillingKey.Status.DELETED)
        return billing_key
    except IamportOutcomeUnknown as error:
        # The delete may have happened (or its answer could not be read): i'mport says which.
        call.record(error=error)
        try_to_resolve_unknown_key(billing_key, actor=actor, source=source)
        if billing_key.status == BillingKey.Status.DELETED:
            return billing_key
        raise BillingKeyError(billing_key, error) from error
    except IamportError as error:
        call.record(error=error)
        raise BillingKeyError(billing_key, error) from error
    with transaction.atomic():
        call.record()
        mark(billing_key, BillingKey.Status.DELETED)
    return billing_key


def sync_billing_key(*, billing_key: BillingKey, actor: AbstractBaseUser | None, source: str) -> BillingKey:
    """Re-read the key from i'mport, the source of truth, and mirror what it says."""
    # What we believe as the read leaves: a 404 answers for that state only (see apply_not_found).
    billing_key.refresh_from_db(fields=["status"])
    believed = billing_key.status
    call = IamportCall(billing_key, actor=actor, source=source, action=Action.SYNC)
    try:
        customer = call.client.get_billing_key(billing_key.customer_uid)
    except IamportNotFound as error:
        with transaction.atomic():
            call.record(Outcome.SUCCEEDED, error)
            apply_not_found(billing_key, believed=believed)
        return billing_key
    except IamportError as error:
        call.record(error=error)
        raise BillingKeyError(billing_key, error) from error
    _record_success(billing_key, customer, call)
    return billing_key


def check_key_after_decline(billing_key: BillingKey, *, actor, source: str) -> None:
    """Whether i'mport kept the key after a declined first payment is its call: read it, never guess."""
    call = IamportCall(billing_key, actor=actor, source=source, action=Action.SYNC)
    try:
        customer = call.client.get_billing_key(billing_key.customer_uid)
    except IamportNotFound as error:
        with transaction.atomic():
            call.record(Outcome.SUCCEEDED, error)
            billing_key.status = BillingKey.Status.FAILED
            billing_key.last_error_message = "The first payment was declined; i'mport did not keep the card."
            billing_key.save(update_fields=["status", "last_error_message", "updated_at"])
    except IamportError as error:
        # Left for ``reconcile``: an unknown key is re-read, never used until then.
        call.record(error=error)
        mark(billing_key, BillingKey.Status.UNKNOWN)
    else:
        _record_success(billing_key, customer, call)


def try_to_resolve_unknown_key(billing_key: BillingKey, *, actor, source: str) -> None:
    """Read i'mport once to settle a key whose registration timed out; it stays unknown if unreadable."""
    try:
        sync_billing_key(billing_key=billing_key, actor=actor, source=source)
    except BillingKeyError:
        logger.warning("%s stays unknown: i'mport could not be read yet", billing_key.customer_uid)


def mark(billing_key: BillingKey, status: str) -> None:
    billing_key.status = status
    billing_key.save(update_fields=["status", "updated_at"])


def _record_success(billing_key: BillingKey, customer: CustomerAnswer, call: IamportCall) -> None:
    with transaction.atomic():
        call.record()
        apply_customer(billing_key, customer)


def apply_customer(billing_key: BillingKey, customer: CustomerAnswer) -> bool:
    """Mirror i'mport's answer onto the key, under its row lock; whether anything changed.

    A deleted key is never brought back by an answer: a read that left i'mport before a delete landed
    (a sync racing a delete) must not resurrect it. Call it inside ``transaction.atomic``.
    """
    stored = BillingKey.objects.select_for_update().get(pk=billing_key.pk)
    if stored.status == BillingKey.Status.DELETED:
        billing_key.status = stored.status
        logger.warning("%s is deleted here; an answer read before the delete is not mirrored", stored)
        return False
    before = _mirrored_state(stored)
    mirror_customer(billing_key, customer)
    return before != _mirrored_state(billing_key)


def _mirrored_state(billing_key: BillingKey) -> tuple:
    return (
        billing_key.status,
        billing_key.pg_provider,
        billing_key.pg_id,
        billing_key.card_name,
        billing_key.card_code,
        billing_key.masked_card_number,
        billing_key.card_type,
    )


def _record_failure(billing_key: BillingKey, error: IamportError, call: IamportCall) -> None:
    unknown = isinstance(error, IamportOutcomeUnknown)
    billing_key.status = BillingKey.Status.UNKNOWN if unknown else BillingKey.Status.FAILED
    billing_key.last_error_code = error.code
    billing_key.last_error_message = error.message[:500]
    with transaction.atomic():
        call.record(error=error)
        billing_key.save(update_fields=["status", "last_error_code", "last_error_message", "updated_at"])
    call.count_refused_registration(error)
    call.log_failure(billing_key.customer_uid, error)


def apply_not_found(billing_key: BillingKey, *, believed: str) -> bool:
    """i'mport has no such key. What that means depends on what we believed; whether it changed.

    ``believed`` is the status read here before i'mport was asked. If the row has moved since (a
    registration answered while the read was out), the 404 describes a moment that is over: the key
    is left as it now is, and the next reconcile reads it again. Without this, a sync of a registration
    in flight deleted the key that the registration had just made active.

    A registration still in flight (``pending`` or ``unknown``, younger than the grace period) is left
    alone: i'mport's 404 may only mean the key is not made yet. Past it, the card was never registered
    (``failed``). An active key i'mport no longer has was deleted there (``deleted``).
    Call it inside ``transaction.atomic``.
    """
    stored = BillingKey.objects.select_for_update().get(pk=billing_key.pk)
    billing_key.status = stored.status
    if stored.status != believed:
        logger.info("%s became %s while i'mport was read; its 404 is not applied", stored, stored.status)
        return False
    if billing_key.status in (BillingKey.Status.UNKNOWN, BillingKey.Status.PENDING):
        # A request that timed out may still be in flight at i'mport: wait out the grace period.
        age = (timezone.now() - billing_key.created_at).total_seconds()
        if age < billing_settings.UNKNOWN_GRACE_SECONDS:
            return False
        billing_key.status = BillingKey.Status.FAILED
        billing_key.last_error_message = "i'mport never registered this card."
    elif billing_key.status == BillingKey.Status.ACTIVE:
        billing_key.status = BillingKey.Status.DELETED
    else:
        return False
    billing_key.synced_at = timezone.now()
    billing_key.save(update_fields=["status", "last_error_message", "synced_at", "updated_at"])
    return True
