"""API views for billing keys. Routes in ``urlpatterns``.

Each HTTP method is one operation with its own serializers: it validates, calls one service
or selector, and serializes. Customers see and change only their own keys (another customer's
customer_uid answers 404); holders of ``billing.view_billingkey`` may list everyone's.
Registration is throttled (see ``throttling``) and accepts an ``Idempotency-Key``.
"""

from http import HTTPStatus

from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from billing import identifiers, selectors, services  # noqa: F401 (identifiers registers the URL converters)
from billing.auth_types import AuthenticatedRequest
from billing.models import BillingKeyEvent, Payment
from billing.throttling import RefusalCooldownThrottle, RegistrationAddressThrottle, RegistrationUserThrottle

from . import idempotency, schema
from .base import BillingAPIView, BillingGenericAPIView
from .pagination import NewestFirstPagination
from .parsers import BoundedJSONParser
from .payment_serializers import PaymentOutputSerializer
from .serializers import (
    BillingKeyCreateSerializer,
    BillingKeyListQuerySerializer,
    BillingKeyRegisteredSerializer,
    BillingKeySerializer,
)

SOURCE = BillingKeyEvent.Source.API
STAFF_PERMISSION = "billing.view_billingkey"
TAG = ["billing-keys"]

KEY_EXAMPLE = {
    "customer_uid": "cu_3f1c2a9d0b7e4c55a1d2e3f4a5b6c7d8",
    "owner": "gildong",
    "status": "active",
    "card_name": "국민KB카드",
    "masked_card_number": "424242******4242",
    "card_type": 0,
    "pg_provider": "nice",
    "last_error_code": None,
    "last_error_message": "",
    "created_at": "2026-11-26T21:00:00+09:00",
    "updated_at": "2026-11-26T21:00:01+09:00",
}
CUSTOMER_UID = OpenApiParameter(
    "customer_uid", OpenApiTypes.STR, OpenApiParameter.PATH, description="The key's id, from the list."
)


class BillingKeyPagination(NewestFirstPagination):
    pass


class BillingKeysView(BillingGenericAPIView):
    """``GET``: list billing keys. ``POST``: register a card (throttled, idempotent with a key)."""

    parser_classes = [BoundedJSONParser]
    pagination_class = BillingKeyPagination
    serializer_class = BillingKeySerializer

    def get_throttles(self):
        if self.request.method == "POST":
            return [RegistrationUserThrottle(), RegistrationAddressThrottle(), RefusalCooldownThrottle()]
        return []

    @extend_schema(
        operation_id="billing_keys_list",
        tags=TAG,
        summary="List billing keys",
        description="Your registered cards (pending, active, or being checked), newest first, 50 a page "
        "(follow `next`). Staff with `billing.view_billingkey` may pass `all=true` for every customer's "
        "keys in any status, and filter by `owner` and `status`.",
        parameters=[BillingKeyListQuerySerializer],
        responses={
            HTTPStatus.OK: BillingKeySerializer(many=True),
            HTTPStatus.BAD_REQUEST: schema.INVALID,
            **schema.AUTHENTICATED_ERRORS,
            HTTPStatus.NOT_FOUND: OpenApiResponse(schema.ErrorSerializer, description="Invalid cursor."),
        },
    )
    def get(self, request: AuthenticatedRequest) -> Response:
        query = BillingKeyListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        owner, status = query.validated_data.get("owner"), query.validated_data.get("status")
        if query.validated_data["all"] or owner is not None:
            if not request.user.has_perm(STAFF_PERMISSION):  # type: ignore[attr-defined]  # host user models have it (admin needs it)
                raise exceptions.PermissionDenied(_("Only staff may list other customers' billing keys."))
            keys = selectors.billing_keys_for_staff(owner=owner, status=status)
        else:
            keys = selectors.billing_keys_of(request.user).select_related("owner")
            if status is not None:
                keys = keys.filter(status=status)
        page = self.paginate_queryset(keys)
        return self.get_paginated_response(BillingKeySerializer(page, many=True).data)

    @extend_schema(
        operation_id="billing_keys_create",
        tags=TAG,
        summary="Register a card",
        description="Sends the card to i'mport for a billing key and answers with the key (masked). "
        "The card fields are write-only and never stored, logged or echoed. `pay_now: true` also takes "
        "the merchant's first payment. Send an `Idempotency-Key` to retry safely.",
        parameters=[
            OpenApiParameter(
                idempotency.HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Any unique string (a UUID) per intended registration, 1-255 visible ASCII "
                "characters. A retry with the same key and body gets the first answer "
                "(`Idempotent-Replayed: true`) without a second call to i'mport. Kept 24 hours.",
                pattern=idempotency.KEY_PATTERN,
            )
        ],
        request=BillingKeyCreateSerializer,
        responses={
            HTTPStatus.CREATED: BillingKeyRegisteredSerializer,
            HTTPStatus.BAD_REQUEST: schema.INVALID,
            **schema.AUTHENTICATED_ERRORS,
            HTTPStatus.PAYMENT_REQUIRED: schema.REFUSED,
            HTTPStatus.CONFLICT: schema.IDEMPOTENCY_CONFLICT,
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE: schema.UNSUPPORTED_MEDIA_TYPE,
            HTTPStatus.TOO_MANY_REQUESTS: schema.THROTTLED,
            HTTPStatus.SERVICE_UNAVAILABLE: schema.UNAVAILABLE,
            HTTPStatus.GATEWAY_TIMEOUT: schema.OUTCOME_UNKNOWN,
        },
        examples=[
            OpenApiExample(
                "A test card",
                request_only=True,
                value={
                    "card_number": "4242-4242-4242-4242",
                    "expiry": "2030-12",
                    "birth": "900101",
                    "pwd_2digit": "12",
                },
            ),
            OpenApiExample(
                "Registered", response_only=True, status_codes=["201"], value={**KEY_EXAMPLE, "payment": None}
            ),
        ],
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        return idempotency.run_once(
            request, endpoint="billing_keys.create", handle=lambda: self._register(request)
        )

    @sensitive_variables("serializer", "data")
    def _register(self, request: AuthenticatedRequest) -> Response:
        serializer = BillingKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if data["pay_now"]:
            return _register_and_pay(request, data)
        billing_key = services.register_card(
            owner=request.user, card=data["card"], source=SOURCE, actor=request.user
        )
        body = {**BillingKeySerializer(billing_key).data, "payment": None}
        return Response(body, status=HTTPStatus.CREATED)


@sensitive_variables("data")
def _register_and_pay(request: AuthenticatedRequest, data: dict) -> Response:
    billing_key, payment = services.register_card_and_pay(
        owner=request.user, card=data["card"], source=SOURCE, actor=request.user
    )
    key_body = BillingKeySerializer(billing_key).data
    payment_body = PaymentOutputSerializer(payment).data
    if payment.status == Payment.Status.FAILED:
        body = {
            "error": "refused",
            "detail": payment.fail_reason or _("The card company declined the payment."),
            "customer_uid": billing_key.customer_uid,
            "merchant_uid": payment.merchant_uid,
            "billing_key": key_body,
            "payment": payment_body,
        }
        return Response(body, status=HTTPStatus.PAYMENT_REQUIRED)
    return Response({**key_body, "payment": payment_body}, status=HTTPStatus.CREATED)


class BillingKeyView(BillingAPIView):
    """``GET``: one of your billing keys. ``DELETE``: remove it at i'mport."""

    @extend_schema(
        operation_id="billing_keys_retrieve",
        tags=TAG,
        summary="Get a billing key",
        parameters=[CUSTOMER_UID],
        responses={
            HTTPStatus.OK: OpenApiResponse(
                BillingKeySerializer, examples=[OpenApiExample("Active", value=KEY_EXAMPLE)]
            ),
            **schema.AUTHENTICATED_ERRORS,
            HTTPStatus.NOT_FOUND: schema.NOT_FOUND,
        },
    )
    def get(self, request: AuthenticatedRequest, customer_uid: str) -> Response:
        billing_key = selectors.billing_key_of(request.user, customer_uid)
        return Response(BillingKeySerializer(billing_key).data)

    @extend_schema(
        operation_id="billing_keys_destroy",
        tags=TAG,
        summary="Delete a billing key",
        description="Deletes the key at i'mport (not undoable) and answers with it, status `deleted`. "
        "It then disappears from your list; a second DELETE answers 404.",
        parameters=[CUSTOMER_UID],
        responses={
            HTTPStatus.OK: OpenApiResponse(
                BillingKeySerializer,
                examples=[OpenApiExample("Deleted", value={**KEY_EXAMPLE, "status": "deleted"})],
            ),
            **schema.AUTHENTICATED_ERRORS,
            HTTPStatus.NOT_FOUND: schema.NOT_FOUND,
            HTTPStatus.PAYMENT_REQUIRED: schema.REFUSED,
            HTTPStatus.SERVICE_UNAVAILABLE: schema.UNAVAILABLE,
            HTTPStatus.GATEWAY_TIMEOUT: schema.OUTCOME_UNKNOWN,
        },
    )
    def delete(self, request: AuthenticatedRequest, customer_uid: str) -> Response:
        billing_key = selectors.billing_key_of(request.user, customer_uid)
        billing_key = services.delete_billing_key(billing_key=billing_key, actor=request.user, source=SOURCE)
        return Response(BillingKeySerializer(billing_key).data)


class BillingKeySyncView(BillingAPIView):
    """``POST``: re-read one of your billing keys from i'mport, the source of truth."""

    @extend_schema(
        operation_id="billing_keys_sync",
        tags=TAG,
        summary="Re-read a billing key from i'mport",
        description="Mirrors what i'mport says now: e.g. an `unknown` key becomes `active`, or `deleted` "
        "when i'mport no longer has it. No body. Safe to repeat.",
        parameters=[CUSTOMER_UID],
        request=None,
        responses={
            HTTPStatus.OK: BillingKeySerializer,
            **schema.AUTHENTICATED_ERRORS,
            HTTPStatus.NOT_FOUND: schema.NOT_FOUND,
            HTTPStatus.PAYMENT_REQUIRED: schema.REFUSED,
            HTTPStatus.SERVICE_UNAVAILABLE: schema.UNAVAILABLE,
            HTTPStatus.GATEWAY_TIMEOUT: schema.OUTCOME_UNKNOWN,
        },
    )
    def post(self, request: AuthenticatedRequest, customer_uid: str) -> Response:
        billing_key = selectors.billing_key_of(request.user, customer_uid)
        billing_key = services.sync_billing_key(billing_key=billing_key, actor=request.user, source=SOURCE)
        return Response(BillingKeySerializer(billing_key).data)


KEY = "billing-keys/<customer_uid:customer_uid>/"  # an id outside the format matches no route: 404
urlpatterns = [
    path("billing-keys/", BillingKeysView.as_view(), name="billing-key-list"),
    path(KEY, BillingKeyView.as_view(), name="billing-key-detail"),
    path(KEY + "sync/", BillingKeySyncView.as_view(), name="billing-key-sync"),
]
