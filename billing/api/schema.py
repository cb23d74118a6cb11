"""OpenAPI descriptions of the error answers (the shapes built by ``billing.api.errors``).

Output-only serializers, used in ``extend_schema(responses=...)`` so every documented error
has a body schema and an example. Nothing here is used to build an answer.
"""

from http import HTTPStatus

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

from .payment_serializers import PaymentOutputSerializer
from .serializers import BillingKeySerializer


class ErrorSerializer(serializers.Serializer):
    """Every error answer: a stable machine code and a sentence for people."""

    error = serializers.CharField(help_text="Stable code: not_authenticated, not_found, throttled, ...")
    detail = serializers.CharField(help_text="What went wrong, in a sentence. Never contains card data.")


class ValidationErrorSerializer(ErrorSerializer):
    fields = serializers.DictField(  # type: ignore[assignment]  # a declared field: the metaclass pops it
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Each invalid field (or ``non_field_errors``) and its messages. Values are never echoed.",
    )


class RefusedErrorSerializer(ErrorSerializer):
    iamport_code = serializers.IntegerField(
        required=False, allow_null=True, help_text="i'mport's code (e.g. -1, 1), when i'mport refused."
    )
    iamport_message = serializers.CharField(
        required=False, allow_blank=True, allow_null=True, help_text="i'mport's message, as it sent it."
    )
    customer_uid = serializers.CharField(
        required=False, help_text="The record of the attempt (status ``failed``)."
    )
    merchant_uid = serializers.CharField(required=False, help_text="The payment, for ``pay_now``.")
    billing_key = BillingKeySerializer(
        required=False, help_text="``pay_now`` declined by the card company: the key as registered."
    )
    payment = PaymentOutputSerializer(required=False, help_text="``pay_now`` declined: the failed payment.")


class OutcomeUnknownErrorSerializer(ErrorSerializer):
    customer_uid = serializers.CharField(help_text="The record being checked with i'mport: GET it later.")
    merchant_uid = serializers.CharField(required=False, help_text="The payment, for ``pay_now``.")
    status = serializers.ChoiceField(choices=["unknown"], help_text="Always ``unknown``.")


def _error(description: str, code: str, detail: str, serializer=ErrorSerializer, **extra) -> OpenApiResponse:
    return OpenApiResponse(
        response=serializer,
        description=description,
        examples=[OpenApiExample(code, value={"error": code, "detail": detail, **extra})],
    )


INVALID = OpenApiResponse(
    response=ValidationErrorSerializer,
    description="Bad input: `fields` maps each field to its messages (card values are never echoed).",
    examples=[
        OpenApiExample(
            "invalid",
            value={
                "error": "invalid",
                "detail": "The request has invalid fields.",
                "fields": {"card_number": ["This card number is not valid; check it for a typo."]},
            },
        )
    ],
)
NOT_AUTHENTICATED = _error(
    "No or bad credentials: send `Authorization: Token <key>` or a session cookie.",
    "not_authenticated",
    "Authentication credentials were not provided.",
)
PERMISSION_DENIED = _error(
    "Authenticated but not allowed (a session POST without its CSRF token, or a staff-only filter).",
    "permission_denied",
    "You do not have permission to perform this action.",
)
NOT_FOUND = _error(
    "No such billing key among yours. Another customer's customer_uid answers exactly the same.",
    "not_found",
    "No BillingKey matches the given query.",
)
REFUSED = OpenApiResponse(
    response=RefusedErrorSerializer,
    description="i'mport or the card company refused: their code and message.",
    examples=[
        OpenApiExample(
            "refused",
            value={
                "error": "refused",
                "detail": "카드가 거절되었습니다.",
                "iamport_code": -1,
                "iamport_message": "카드가 거절되었습니다.",
                "customer_uid": "cu_3f1c2a9d0b7e4c55a1d2e3f4a5b6c7d8",
            },
        )
    ],
)
UNAVAILABLE = _error(
    "i'mport could not be reached; nothing was done. Retry after `Retry-After` seconds.",
    "unavailable",
    "i'mport is unavailable; nothing was done. Try again later.",
)
OUTCOME_UNKNOWN = OpenApiResponse(
    response=OutcomeUnknownErrorSerializer,
    description="i'mport did not answer in time. The record is `unknown` and being checked: GET it "
    "later; do not register the card again.",
    examples=[
        OpenApiExample(
            "outcome_unknown",
            value={
                "error": "outcome_unknown",
                "detail": "i'mport did not answer in time. The record is being checked with i'mport; "
                "do not retry with new card data.",
                "customer_uid": "cu_3f1c2a9d0b7e4c55a1d2e3f4a5b6c7d8",
                "status": "unknown",
            },
        )
    ],
)
THROTTLED = _error(
    "Too many attempts: wait `Retry-After` seconds.",
    "throttled",
    "Request was throttled. Expected available in 30 seconds.",
)
IDEMPOTENCY_CONFLICT = OpenApiResponse(
    response=ErrorSerializer,
    description="`Idempotency-Key` reused with another body (`idempotency_conflict`: use a new key), or "
    "its first request is still in progress (`conflict`: retry after `Retry-After` seconds).",
    examples=[
        OpenApiExample(
            "idempotency_conflict",
            value={
                "error": "idempotency_conflict",
                "detail": "This Idempotency-Key was used with another request body.",
            },
        ),
        OpenApiExample(
            "conflict",
            value={
                "error": "conflict",
                "detail": "A request with this Idempotency-Key is still in progress.",
            },
        ),
    ],
)
UNSUPPORTED_MEDIA_TYPE = _error(
    "The body must be JSON (`Content-Type: application/json`).",
    "unsupported_media_type",
    'Unsupported media type "text/plain" in request.',
)

# What any authenticated endpoint may answer besides its own outcomes.
AUTHENTICATED_ERRORS = {
    # Any request can be malformed before its view runs (a NUL in the path or query string): 400.
    HTTPStatus.BAD_REQUEST: INVALID,
    HTTPStatus.UNAUTHORIZED: NOT_AUTHENTICATED,
    HTTPStatus.FORBIDDEN: PERMISSION_DENIED,
}

TOKEN_RESPONSE = inline_serializer("Token", fields={"token": serializers.CharField()})
