"""One shape for every API error, and the mapping from service failures to HTTP.

Every error answer is ``{"error": <stable code>, "detail": <sentence>, ...}``:

=====  ==================  ===================================================================
400    ``invalid``         bad input; ``fields`` maps each field to its messages
401    ``not_authenticated`` / ``authentication_failed``
403    ``permission_denied``
404    ``not_found``       also for another customer's customer_uid or merchant_uid
402    ``refused``         i'mport or the card company said no; ``iamport_code``, ``iamport_message``
409    ``idempotency_conflict`` / ``conflict`` (the request contradicts what is recorded)
429    ``throttled``       with a ``Retry-After`` header
503    ``unavailable``     i'mport could not be reached; nothing happened
504    ``outcome_unknown`` i'mport did not answer in time; the record (``customer_uid`` or
                           ``merchant_uid``, ``status: "unknown"``) is being checked
=====  ==================  ===================================================================

Views let the services' errors (``billing.services.BillingError``) and DRF's own exceptions
through; ``exception_handler`` below is the one place either becomes that shape. Never ``str(exc)``
of anything unexpected: an unexpected error stays a plain 500 with no detail.
"""

from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from billing.services import BillingError, IamportCallFailed, PaymentConflict, RefundNotAllowed


def conflict(detail: str) -> Response:
    return Response({"error": "conflict", "detail": detail}, status=HTTPStatus.CONFLICT)


def failed_call_response(error: IamportCallFailed, extra: dict[str, Any] | None = None) -> Response:
    """The API's answer to a failed i'mport call; ``extra`` adds the caller's own records to the body."""
    record = {**error.records(), **(extra or {})}
    if error.outcome_unknown:
        body = {
            "error": "outcome_unknown",
            "detail": _(
                "i'mport did not answer in time. The record is being checked with i'mport; "
                "do not retry with new card data."
            ),
            **record,
            "status": "unknown",
        }
        return Response(body, status=HTTPStatus.GATEWAY_TIMEOUT)
    if error.refused:
        body = {
            "error": "refused",
            "detail": error.message or _("Refused by i'mport."),
            "iamport_code": error.code,
            "iamport_message": error.message,
            **record,
        }
        return Response(body, status=HTTPStatus.PAYMENT_REQUIRED)
    if error.unavailable:
        detail = _("i'mport is unavailable; nothing was done. Try again later.")
        body = {"error": "unavailable", "detail": detail}
        return Response(body, status=HTTPStatus.SERVICE_UNAVAILABLE, headers={"Retry-After": "30"})
    # Our credentials were refused: the merchant's configuration, not the client's fault.
    body = {"error": "unavailable", "detail": _("Payments are unavailable right now.")}
    return Response(body, status=HTTPStatus.SERVICE_UNAVAILABLE)


def _service_error_response(error: BillingError, context: dict[str, Any]) -> Response | None:
    if isinstance(error, IamportCallFailed):
        return failed_call_response(error)
    if isinstance(error, RefundNotAllowed) and error.field:
        return exception_handler(exceptions.ValidationError({error.field: [error.message]}), context)
    if isinstance(error, PaymentConflict | RefundNotAllowed):
        return conflict(error.message)
    return None  # a BillingError nobody mapped: a plain 500, never its text


_CODES = {
    exceptions.ValidationError: "invalid",
    exceptions.ParseError: "invalid",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    Http404: "not_found",
    DjangoPermissionDenied: "permission_denied",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, BillingError):
        return _service_error_response(exc, context)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code = next(
        (name for cls, name in _CODES.items() if isinstance(exc, cls)), getattr(exc, "default_code", "error")
    )
    if code == "invalid":
        if isinstance(exc, exceptions.ParseError):  # the body as a whole: not JSON, too large, too deep
            fields = {"non_field_errors": [str(response.data["detail"])]}
        elif isinstance(response.data, dict):
            fields = response.data
        else:
            fields = {"non_field_errors": response.data}
        response.data = {"error": "invalid", "detail": _("The request has invalid fields."), "fields": fields}
    else:
        detail = response.data.get("detail") if isinstance(response.data, dict) else None
        response.data = {"error": code, "detail": str(detail or HTTPStatus(response.status_code).phrase)}
    return response
