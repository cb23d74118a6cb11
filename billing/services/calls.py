"""The one way a service calls i'mport and leaves its trace.

Every call to i'mport is timed from just before it leaves, and recorded as a ``BillingKeyEvent``
(who, what, outcome, i'mport's code and message, duration) whether it succeeded or not; a failed
call that changed or may have changed something is also logged, naming our record and never card data::

    call = IamportCall(billing_key, actor=actor, source=source, action=Action.SYNC)
    try:
        answer = call.client.get_billing_key(billing_key.customer_uid)
    except IamportError as error:
        call.record(error=error)
        raise BillingKeyError(billing_key, error) from error
    with transaction.atomic():
        call.record()
        mirror_customer(billing_key, answer)
"""

import logging
import time

from django.db import connection

from billing import cooldown
from billing.iamport import get_client
from billing.iamport.client import IamportClient
from billing.iamport.errors import (
    IamportAuthError,
    IamportError,
    IamportOutcomeUnknown,
    IamportRefused,
    IamportUnavailable,
)
from billing.models import BillingKey, BillingKeyEvent

logger = logging.getLogger("billing.services")

Outcome = BillingKeyEvent.Outcome


class IamportCall:
    """One call to i'mport on behalf of ``billing_key`` (the key itself, or the key a payment charges).

    The clock starts when the object is made; ``record`` writes the audit event with the time since.
    """

    def __init__(self, billing_key: BillingKey, *, actor, source: str, action: str):
        self.billing_key = billing_key
        self.actor = actor
        self.source = source
        self.action = action
        self.started = time.monotonic()

    @property
    def client(self) -> IamportClient:
        return get_client()

    def record(
        self, outcome: str | None = None, error: IamportError | None = None, *, action: str | None = None
    ) -> BillingKeyEvent:
        """The audit event: ``outcome`` defaults to what ``error`` means (success when there is none)."""
        if outcome is None:
            outcome = outcome_of(error) if error is not None else Outcome.SUCCEEDED
        actor = self.actor
        return BillingKeyEvent.objects.create(
            billing_key=self.billing_key,
            actor=actor if actor is not None and actor.is_authenticated else None,
            source=self.source,
            action=action or self.action,
            outcome=outcome,
            iamport_code=error.code if error else 0,
            iamport_message=(error.message if error else "")[:500],
            http_status=error.http_status if error else 200,
            duration_ms=round((time.monotonic() - self.started) * 1000),
        )

    def log_failure(self, record: str, error: IamportError) -> None:
        """One line per failed call, naming our record (customer_uid or merchant_uid); never card data."""
        log = logger.warning if isinstance(error, IamportRefused) else logger.error
        log("i'mport %s for %s: %s (code %s)", self.action, record, type(error).__name__, error.code)

    def count_refused_registration(self, error: IamportError) -> None:
        """Feed the refusal cool-down's counter (``cooldown.note_refusal``) once the refusal is recorded.

        Called after the recording transaction, so that a cache failure cannot undo the audit event.
        """
        actor = self.actor
        if actor is not None and actor.is_authenticated and outcome_of(error) == Outcome.REFUSED:
            cooldown.note_refusal(actor)


def outcome_of(error: IamportError) -> str:
    """The audit outcome an i'mport error stands for."""
    if isinstance(error, IamportOutcomeUnknown):
        return Outcome.UNKNOWN
    if isinstance(error, IamportAuthError):
        return Outcome.AUTH_ERROR
    if isinstance(error, IamportUnavailable):
        return Outcome.UNAVAILABLE
    return Outcome.REFUSED


def release_db_connection() -> None:
    """Hand a pooled database connection back while i'mport answers (seconds, at times).

    Only with a pool (``DATABASE_POOL_SIZE``) and outside a transaction; the next query takes one again.
    So a hundred registrations waiting on card companies hold a few connections, not a hundred.
    """
    if getattr(connection, "pool", None) is not None and not connection.in_atomic_block:
        connection.close()
