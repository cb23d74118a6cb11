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
"""

import datetime
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from billing.conf import billing_settings
from billing.models import IdempotentRequest
from billing.services import BillingError

from .errors import exception_handler

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEY_PATTERN = rf"^[\x21-\x7e]{{1,{MAX_KEY_LENGTH}}}$"
_VALID_KEY = re.compile(KEY_PATTERN)
# Answers worth replaying: something was recorded. Anything else releases the key.
_KEPT = {HTTPStatus.CREATED, HTTPStatus.OK, HTTPStatus.PAYMENT_REQUIRED, HTTPStatus.GATEWAY_TIMEOUT}
_RETRY_IN_PROGRESS_AFTER = 5


class IdempotencyConflict(exceptions.APIException):
    status_code = HTTPStatus.CONFLICT
    default_code = "idempotency_conflict"
    default_detail = "This Idempotency-Key was used with another request body; use a new key."


class RequestInProgress(exceptions.APIException):
    status_code = HTTPStatus.CONFLICT
    default_code = "conflict"
    default_detail = "A request with this Idempotency-Key is still in progress; retry shortly."
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
            {HEADER: [f"Use 1 to {MAX_KEY_LENGTH} visible ASCII characters, e.g. a UUID."]}
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
    try:
        response = _respond(handle)
    except BaseException:
        claim.delete()
        raise
    if response.status_code in _KEPT:
        claim.response_status = response.status_code
        claim.response_body = response.data
        claim.save(update_fields=["response_status", "response_body"])
    else:
        claim.delete()
    return response


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
    try:
        with transaction.atomic():
            return IdempotentRequest.objects.create(
                owner=owner, endpoint=endpoint, key=key, request_fingerprint=request_fingerprint
            )
    except IntegrityError:
        pass
    earlier = IdempotentRequest.objects.filter(owner=owner, endpoint=endpoint, key=key).first()
    if earlier is None:  # released by the first request between our insert and this read
        raise RequestInProgress()
    if not hmac.compare_digest(earlier.request_fingerprint, request_fingerprint):
        raise IdempotencyConflict()
    if earlier.response_status is None:
        raise RequestInProgress()
    return earlier
