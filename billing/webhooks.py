"""i'mport's payment notifications: ``POST /billing/webhooks/iamport/``.

i'mport does not sign them, so the body only says which payment to look at: the service reads it
from i'mport and checks it against our record before changing anything. Every delivery is recorded
(``WebhookDelivery``). Answers: 200 once handled (processed, duplicate, ignored or rejected: i'mport
need not send it again), 400 for a body without the ids or with ids not in their formats (no call to
i'mport is made for them), or with a NUL or a lone surrogate in it, 403 from an address outside
``IAMPORT_WEBHOOK_ALLOWED_IPS`` (when set), 503 when i'mport could not be read (so it retries).
"""

import json
import logging
from http import HTTPStatus

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.conf import billing_settings
from billing.throttling import client_address

from . import identifiers, services
from .models import WebhookDelivery

logger = logging.getLogger(__name__)

# The only fields kept from a body: whatever else arrives is never stored.
CLAIMED_FIELDS = ("imp_uid", "merchant_uid", "status", "cancellation_id", "amount")
MAX_BODY_BYTES = 10_000


@csrf_exempt
@require_POST
def iamport_webhook(request: HttpRequest) -> JsonResponse:
    source_ip = _source_address(request)
    try:
        claimed = _claimed(request)
    except UnstorableText:
        _record({}, source_ip, WebhookDelivery.Result.REJECTED, "Body has a NUL or a lone surrogate.")
        return JsonResponse({"result": "rejected"}, status=HTTPStatus.BAD_REQUEST)
    imp_uid, merchant_uid = str(claimed.get("imp_uid") or ""), str(claimed.get("merchant_uid") or "")
    allowed = billing_settings.WEBHOOK_ALLOWED_IPS
    if allowed and source_ip not in allowed:
        logger.warning("webhook from %s refused: not an allowed address", source_ip)
        _record(claimed, source_ip, WebhookDelivery.Result.REJECTED, "Source address not allowed.")
        return JsonResponse({"result": "rejected"}, status=HTTPStatus.FORBIDDEN)
    if not imp_uid or not merchant_uid:
        _record(claimed, source_ip, WebhookDelivery.Result.REJECTED, "imp_uid or merchant_uid missing.")
        return JsonResponse({"result": "rejected"}, status=HTTPStatus.BAD_REQUEST)
    if not identifiers.is_imp_uid(imp_uid) or not identifiers.is_merchant_uid(merchant_uid):
        # Checked before any look-up: an id is pasted into i'mport's URL and into our queries.
        logger.warning("webhook from %s refused: malformed imp_uid or merchant_uid", source_ip)
        _record({}, source_ip, WebhookDelivery.Result.REJECTED, "imp_uid or merchant_uid malformed.")
        return JsonResponse({"result": "rejected"}, status=HTTPStatus.BAD_REQUEST)
    delivery = services.handle_payment_notification(
        imp_uid=imp_uid, merchant_uid=merchant_uid, claimed=claimed, source_ip=source_ip
    )
    status = (
        HTTPStatus.SERVICE_UNAVAILABLE if delivery.result == WebhookDelivery.Result.FAILED else HTTPStatus.OK
    )
    return JsonResponse({"result": delivery.result}, status=status)


def _source_address(request: HttpRequest) -> str | None:
    """The sender's address, as the throttles read it (``billing.throttling.client_address``).

    With no proxy configured the header is ignored, so a sender cannot claim one of i'mport's addresses.
    """
    return client_address(request) or None


def _claimed(request: HttpRequest) -> dict[str, str]:
    """The body's named fields, as strings, from JSON or a form; anything unreadable is empty."""
    if len(request.body) > MAX_BODY_BYTES:
        return {}
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body)
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
    else:
        data = request.POST
    claimed = {name: str(data[name])[:100] for name in CLAIMED_FIELDS if data.get(name) not in (None, "")}
    if any(_unstorable(value) for value in claimed.values()):
        raise UnstorableText
    return claimed


class UnstorableText(ValueError):
    """A NUL (PostgreSQL refuses it in text and jsonb) or a lone surrogate (not encodable at all)."""


def _unstorable(text: str) -> bool:
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _record(claimed: dict, source_ip: str | None, result: str, detail: str) -> None:
    WebhookDelivery.objects.create(
        imp_uid=claimed.get("imp_uid", "")[:40],
        merchant_uid=claimed.get("merchant_uid", "")[:40],
        claimed_status=claimed.get("status", "")[:16],
        source_ip=source_ip,
        body=claimed,
        result=result,
        detail=detail,
    )
