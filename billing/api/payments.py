"""API views for payments (one view per operation). Routes in ``urlpatterns``.

``POST /payments/`` charges any customer's active billing key, so it needs ``billing.charge_billingkey``
(a customer cannot charge itself arbitrary amounts); refunds need ``billing.refund_payment``. Reads are
owner-scoped (all payments for staff with ``billing.view_payment``).

A declined charge is recorded as a ``failed`` payment and answered ``402 refused`` with the payment in
``payment``; a timeout ``504 outcome_unknown`` with its ``merchant_uid``: retry with that merchant_uid,
the charge is never sent twice. An ``Idempotency-Key`` header is honoured too (the first answer is replayed).
"""

from http import HTTPStatus
from typing import cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from billing import identifiers, selectors, services  # noqa: F401 (identifiers registers the URL converters)
from billing.auth_types import AuthenticatedRequest
from billing.models import BillingKeyEvent, Payment

from . import idempotency, schema
from .base import BillingAPIView, BillingGenericAPIView
from .pagination import NewestFirstPagination
from .payment_serializers import PaymentOutputSerializer

TAG = ["payments"]
CONFLICT = OpenApiResponse(
    schema.ErrorSerializer,
    description="`conflict`: the merchant_uid was used for another charge, the key is not active, the "
    "payment cannot be refunded now; or an `Idempotency-Key` conflict.",
)
CHARGE_ERRORS = {
    HTTPStatus.BAD_REQUEST: schema.INVALID,
    **schema.AUTHENTICATED_ERRORS,
    HTTPStatus.PAYMENT_REQUIRED: OpenApiResponse(
        schema.ErrorSerializer,
        description="`refused`: i'mport refused the request (`iamport_code`, `iamport_message`), or the card "
        "company declined the charge: then `merchant_uid` and the recorded failed `payment` come with it.",
    ),
    HTTPStatus.NOT_FOUND: schema.NOT_FOUND,
    HTTPStatus.CONFLICT: CONFLICT,
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: schema.UNSUPPORTED_MEDIA_TYPE,
    HTTPStatus.SERVICE_UNAVAILABLE: schema.UNAVAILABLE,
    HTTPStatus.GATEWAY_TIMEOUT: schema.OUTCOME_UNKNOWN,
}


def has_permission(perm: str) -> type[permissions.BasePermission]:
    class HasPermission(permissions.BasePermission):
        def has_permission(self, request, view) -> bool:
            return bool(request.user and request.user.is_authenticated and request.user.has_perm(perm))

    HasPermission.__name__ = f"Has_{perm.replace('.', '_')}"
    return HasPermission


class PaymentPagination(NewestFirstPagination):
    pass


class ChargeInputSerializer(serializers.Serializer):
    customer_uid = serializers.CharField(max_length=80)
    amount = serializers.IntegerField(min_value=1, max_value=100_000_000)
    name = serializers.CharField(max_length=40)
    merchant_uid = serializers.RegexField(
        r"^[A-Za-z0-9_-]{1,40}$",
        required=False,
        help_text="Your id for this charge: send the same one on a retry and it is never charged twice.",
    )


class RefundInputSerializer(serializers.Serializer):
    amount = serializers.IntegerField(
        min_value=1, required=False, help_text="Won to refund; absent refunds all that is left."
    )
    reason = serializers.CharField(max_length=200)


class PaymentListCreateView(BillingGenericAPIView):
    """GET: your payments, newest first. POST: charge a billing key (needs ``billing.charge_billingkey``)."""

    serializer_class = PaymentOutputSerializer
    pagination_class = PaymentPagination

    def get_permissions(self):
        if self.request.method == "POST":
            return [permissions.IsAuthenticated(), has_permission("billing.charge_billingkey")()]
        return super().get_permissions()

    def get_queryset(self):
        return selectors.payments_visible_to(cast(AbstractBaseUser, self.request.user))  # IsAuthenticated

    @extend_schema(
        operation_id="payments_list",
        tags=TAG,
        summary="List payments",
        description="Your payments, newest first (staff with `billing.view_payment`: everyone's).",
        responses={
            HTTPStatus.OK: PaymentOutputSerializer(many=True),
            **schema.AUTHENTICATED_ERRORS,
            HTTPStatus.NOT_FOUND: OpenApiResponse(schema.ErrorSerializer, description="Invalid cursor."),
        },
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(PaymentOutputSerializer(page, many=True).data)

    @extend_schema(
        operation_id="payments_create",
        tags=TAG,
        summary="Charge a billing key",
        description="Charges `amount` won to an active billing key (`/subscribe/payments/again`). Needs "
        "`billing.charge_billingkey`. Send the same `merchant_uid` (or `Idempotency-Key`) to retry safely: "
        "one intent is never charged twice.",
        request=ChargeInputSerializer,
        responses={HTTPStatus.CREATED: PaymentOutputSerializer, **CHARGE_ERRORS},
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        return idempotency.run_once(request, endpoint="payments.charge", handle=lambda: self._charge(request))

    def _charge(self, request: AuthenticatedRequest) -> Response:
        data = _valid(ChargeInputSerializer, request)
        billing_key = selectors.chargeable_billing_key(data["customer_uid"])
        payment = services.charge_billing_key(
            billing_key=billing_key,
            amount=data["amount"],
            name=data["name"],
            merchant_uid=data.get("merchant_uid"),
            actor=request.user,
            source=BillingKeyEvent.Source.API,
        )
        return payment_answer(payment, created=HTTPStatus.CREATED)


class PaymentDetailView(BillingAPIView):
    """One of your payments (404 for another customer's)."""

    @extend_schema(
        operation_id="payments_retrieve",
        tags=TAG,
        summary="Read a payment",
        responses={
            HTTPStatus.OK: PaymentOutputSerializer,
            **schema.AUTHENTICATED_ERRORS,
            HTTPStatus.NOT_FOUND: schema.NOT_FOUND,
        },
    )
    def get(self, request: AuthenticatedRequest, merchant_uid: str) -> Response:
        payment = selectors.payment_of(request.user, merchant_uid)
        return Response(PaymentOutputSerializer(payment).data)


class PaymentRefundView(BillingAPIView):
    """Refund a payment, in full or in part (needs ``billing.refund_payment``)."""

    permission_classes = [permissions.IsAuthenticated, has_permission("billing.refund_payment")]

    @extend_schema(
        operation_id="payments_refund",
        tags=TAG,
        summary="Refund a payment",
        description="Refunds `amount` won (absent: all that is left) through `/payments/cancel`, always with "
        "i'mport's `checksum`, so a refund computed from a stale record is refused. Needs "
        "`billing.refund_payment`.",
        request=RefundInputSerializer,
        responses={HTTPStatus.OK: PaymentOutputSerializer, **CHARGE_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, merchant_uid: str) -> Response:
        data = _valid(RefundInputSerializer, request)
        payment = selectors.payment_for_refund(merchant_uid)
        payment = services.refund_payment(
            payment=payment,
            amount=data.get("amount"),
            reason=data["reason"],
            actor=request.user,
            source=BillingKeyEvent.Source.API,
        )
        return Response(PaymentOutputSerializer(_fresh(payment)).data)


def payment_answer(payment: Payment, *, created: HTTPStatus) -> Response:
    """``paid``: the payment. ``failed`` (declined): 402 with the reason and the payment."""
    body = PaymentOutputSerializer(_fresh(payment)).data
    if payment.status == Payment.Status.FAILED:
        return Response(
            {
                "error": "refused",
                "detail": payment.fail_reason or _("The card company declined the charge."),
                "merchant_uid": payment.merchant_uid,
                "payment": body,
            },
            status=HTTPStatus.PAYMENT_REQUIRED,
        )
    return Response(body, status=created)


def _fresh(payment: Payment) -> Payment:
    return Payment.objects.select_related("billing_key").prefetch_related("refunds").get(pk=payment.pk)


def _valid(serializer_class: type[serializers.Serializer], request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


urlpatterns = [
    path("payments/", PaymentListCreateView.as_view(), name="payment-list"),
    path("payments/<merchant_uid:merchant_uid>/", PaymentDetailView.as_view(), name="payment-detail"),
    path("payments/<merchant_uid:merchant_uid>/refund/", PaymentRefundView.as_view(), name="payment-refund"),
]
