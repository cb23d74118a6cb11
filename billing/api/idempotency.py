"""``Idempotency-Key`` for API POSTs: a retry gets the first answer instead of a second call to i'mport.

The first request with a key claims a row (unique per owner, endpoint and key) before any work,
so a concurrent duplicate finds it and is told to wait (409 ``conflict``). The row keeps an
HMAC-SHA256 of the body under the site's secret key (card fields are never kept, not even as a
plain hash) and, once answered, the answer's status and body, which carry no card data.

- same key, same body, answered: the stored answer, with ``Idempotent-Replayed: true``;
- same key, another body: 409 ``idempotency_conflict``;
- same key while the first is still running: 409 ``conflict`` with ``Retry-After``.

Only answers that record an outcome are kept (success, refusal, outcome unknown). When nothing
happened (invalid input, i'mport unavailable, an unexpected error) the claim is released and the
key may be used again. Keys are remembered for ``IDEMPOTENCY_RETENTION`` seconds.

A claim is a lease (``locked_until``, ``IDEMPOTENCY_LEASE`` seconds, longer than any request may run).
If the process holding it dies (kill -9, a lost machine), a retry after the lease takes the claim over
instead of answering 409 for a day. What it does then is decided by the records the first request
created (noted on the claim as they are created: ``records``):

- none: the first request died before creating anything, so it never reached i'mport: run it now;
- a billing key and/or a payment: never send again. Settle them by reading i'mport (``sync_*``), then
  answer from them; one still unsettled answers 504 with its ids, as a timeout does.
"""

import contextvars
import datetime
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, cast

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models.signals import post_save
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from billing import services
from billing.conf import billing_settings
from billing.models import BillingKey, BillingKeyEvent, IdempotentRequest, Payment
from billing.services import BillingError

from .errors import exception_handler

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEY_PATTERN = rf"^[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}$"
_VALID_KEY = re.compile(KEY_PATTERN)
# Answers worth replaying: something was recorded. Anything else releases the key.
_KEPT = {HTTPStatus.CREATED, HTTPStatus.OK, HTTPStatus.PAYMENT_REQUIRED, HTTPStatus.GATEWAY_TIMEOUT}
_RETRY_IN_PROGRESS_AFTER = 5
# How long a claim is held before a retry may take it over: beyond any request's life (i'mport's read
# timeout, then a read to settle an unknown outcome).
# The claim of the request this thread is serving: the records it creates are noted on it.
_current_claim: contextvars.ContextVar["IdempotentRequest | None"] = contextvars.ContextVar(
    "idempotency_claim", default=None
)


class IdempotencyConflict(exceptions.APIException):
    status_code = HTTPStatus.CONFLICT
    default_code = "idempotency_conflict"
    default_detail = _("This Idempotency-Key was used with another request body; use a new key.")


class RequestInProgress(exceptions.APIException):
    status_code = HTTPStatus.CONFLICT
    default_code = "conflict"
    default_detail = _("A request with this Idempotency-Key is still in progress; retry shortly.")
    wait = _RETRY_IN_PROGRESS_AFTER


def fingerprint(body: Any) -> str:
    """HMAC-SHA256 of the body's canonical JSON, keyed with SECRET_KEY: no card data can be recovered."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hmac.new(settings.SECRET_KEY.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def key_of(request: Request) -> str | None:
    """The request's Idempotency-Key, ``None`` when absent; 400 when malformed."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not _VALID_KEY.fullmatch(key):
        raise exceptions.ValidationError(
            {HEADER: [_("Use 1 to %(max)d visible ASCII characters, e.g. a UUID.") % {"max": MAX_KEY_LENGTH}]}
        )
    return key


def run_once(request: Request, *, endpoint: str, handle: Callable[[], Response]) -> Response:
    """Answer with ``handle()``, or with the first answer when the request carries a known key."""
    key = key_of(request)
    if key is None:
        return handle()
    claim = _claim(request.user, endpoint, key, fingerprint(request.data))
    if claim.response_status is not None:
        return Response(
            claim.response_body, status=claim.response_status, headers={"Idempotent-Replayed": "true"}
        )
    if claim.records:
        # Taken over from a process that died after creating records: settle them, never send again.
        handle = _recovery(claim, request)
    token = _current_claim.set(claim)
    try:
        response = _respond(handle)
    except BaseException:
        if claim.refresh_records():
            # Records exist and the outcome is not known here: a retry settles them, and may at once.
            IdempotentRequest.objects.filter(pk=claim.pk).update(locked_until=timezone.now())
        else:
            claim.delete()
        raise
    finally:
        _current_claim.reset(token)
    if response.status_code in _KEPT:
        claim.response_status = response.status_code
        claim.response_body = response.data
        claim.locked_until = None
        claim.save(update_fields=["response_status", "response_body", "locked_until"])
    else:
        claim.delete()  # nothing happened at i'mport (refused input, unavailable): the key is free again
    return response


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=billing_settings.IDEMPOTENCY_LEASE)


def _note_created(sender, instance, created: bool, **kwargs) -> None:
    """A billing key or payment created while serving a claimed request: note its id on the claim."""
    claim = _current_claim.get()
    if not created or claim is None:
        return
    name = "customer_uid" if isinstance(instance, BillingKey) else "merchant_uid"
    claim.records = {**claim.records, name: getattr(instance, name)}
    IdempotentRequest.objects.filter(pk=claim.pk).update(records=claim.records)


post_save.connect(_note_created, sender=BillingKey, dispatch_uid="idempotency_note_key")
post_save.connect(_note_created, sender=Payment, dispatch_uid="idempotency_note_payment")


def _recovery(claim: IdempotentRequest, request: Request) -> Callable[[], Response]:
    """The answer to a taken-over claim, from its records as i'mport now describes them."""

    def recover() -> Response:
        from .payments import payment_answer
        from .serializers import BillingKeySerializer, PaymentOutputSerializer

        key, payment = services.settle_created_records(
            owner=request.user,
            customer_uid=claim.records.get("customer_uid"),
            merchant_uid=claim.records.get("merchant_uid"),
            actor=request.user,
            source=BillingKeyEvent.Source.API,
        )
        if key is None:  # the records hold a key, a payment or both
            return payment_answer(cast(Payment, payment), created=HTTPStatus.CREATED)
        key_body = BillingKeySerializer(key).data
        if payment is None:
            return Response({**key_body, "payment": None}, status=HTTPStatus.CREATED)
        payment_body = PaymentOutputSerializer(payment).data
        if payment.status == Payment.Status.FAILED:
            body = {
                "error": "refused",
                "detail": payment.fail_reason or "The card company declined the payment.",
                "customer_uid": key.customer_uid,
                "merchant_uid": payment.merchant_uid,
                "billing_key": key_body,
                "payment": payment_body,
            }
            return Response(body, status=HTTPStatus.PAYMENT_REQUIRED)
        return Response({**key_body, "payment": payment_body}, status=HTTPStatus.CREATED)

    return recover


def _respond(handle: Callable[[], Response]) -> Response:
    try:
        return handle()
    except (exceptions.APIException, BillingError) as exc:
        # Turned into the error shape now, so an answer worth keeping (402, 504) can be stored.
        response = exception_handler(exc, {})
        if response is None:
            raise
        return response


def _claim(owner, endpoint: str, key: str, request_fingerprint: str) -> IdempotentRequest:
    """This request's row: new (unanswered), or the earlier one when it matches. Raises on conflict."""
    expired = timezone.now() - datetime.timedelta(seconds=billing_settings.IDEMPOTENCY_RETENTION)
    IdempotentRequest.objects.filter(owner=owner, created_at__lt=expired).delete()
    now = timezone.now()
    try:
        with transaction.atomic():
            return IdempotentRequest.objects.create(
                owner=owner,
                endpoint=endpoint,
                key=key,
                request_fingerprint=request_fingerprint,
                locked_until=now + _lease(),
            )
    except IntegrityError:
        pass
    earlier = IdempotentRequest.objects.filter(owner=owner, endpoint=endpoint, key=key).first()
    if earlier is None:  # released by the first request between our insert and this read
        raise RequestInProgress()
    if not hmac.compare_digest(earlier.request_fingerprint, request_fingerprint):
        raise IdempotencyConflict()
    if earlier.response_status is not None:
        return earlier
    lease_end = earlier.locked_until or earlier.created_at + _lease()
    if lease_end > now:
        raise RequestInProgress()
    # The lease is over: the process that held it is dead. Take the claim over, one retry only.
    taken = IdempotentRequest.objects.filter(
        pk=earlier.pk, response_status__isnull=True, locked_until=earlier.locked_until
    ).update(locked_until=now + _lease())
    if not taken:
        raise RequestInProgress()
    earlier.refresh_from_db()
    return earlier
