"""API views for plans and subscriptions (one view per operation). Routes in ``urls``.

Reads are owner-scoped (everyone's for staff with ``subscriptions.view_subscription``); changes are the
owner's only. POSTs accept an ``Idempotency-Key`` as billing keys do. Subscribing charges the first
period at once: a decline answers 402 ``refused`` with the ended subscription and the failed payment.
"""

from http import HTTPStatus
from typing import Any, cast

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from billing import selectors as billing_selectors
from billing.api import idempotency, schema
from billing.api.base import BillingAPIView, BillingGenericAPIView
from billing.api.errors import failed_call_response
from billing.api.pagination import NewestFirstPagination
from billing.api.payment_serializers import PaymentOutputSerializer
from billing.auth_types import AuthenticatedRequest
from billing.models import BillingKeyEvent
from subscriptions import selectors, services
from subscriptions.models import Renewal, Subscription

from .serializers import (
    CancelInputSerializer,
    CardInputSerializer,
    PlanSerializer,
    RenewalSerializer,
    SubscribeInputSerializer,
    SubscriptionSerializer,
)

TAG = ["subscriptions"]
SOURCE = BillingKeyEvent.Source.API
IDEMPOTENCY_KEY = OpenApiParameter(
    idempotency.HEADER,
    str,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (a UUID): a retry with the same key gets the first answer.",
)
CONFLICT = OpenApiResponse(
    schema.ErrorSerializer,
    description="`conflict`: the subscription's state does not allow it (ended, a duplicate, a card that "
    "cannot be charged), or an `Idempotency-Key` conflict.",
)
NOT_FOUND = OpenApiResponse(
    schema.ErrorSerializer, description="No such subscription among yours (or no such card or plan)."
)
REFUSED = OpenApiResponse(
    schema.ErrorSerializer,
    description="`refused`: the first charge was declined or refused; `subscription` (ended) and "
    "`payment` come with it.",
)
CHANGE_ERRORS = {
    HTTPStatus.BAD_REQUEST: schema.INVALID,
    **schema.AUTHENTICATED_ERRORS,
    HTTPStatus.NOT_FOUND: NOT_FOUND,
    HTTPStatus.CONFLICT: CONFLICT,
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE: schema.UNSUPPORTED_MEDIA_TYPE,
}


class SubscriptionPagination(NewestFirstPagination):
    pass


def _with_open_renewals(queryset):
    return queryset.prefetch_related(
        Prefetch(
            "renewals",
            queryset=Renewal.objects.filter(status__in=Renewal.OPEN).order_by("period_start"),
            to_attr="open_renewals",
        )
    )


def _answer(subscription: Subscription, status: int = HTTPStatus.OK) -> Response:
    fresh = _with_open_renewals(Subscription.objects.select_related("plan", "billing_key")).get(
        pk=subscription.pk
    )
    return Response(SubscriptionSerializer(fresh).data, status=status)


def _conflict(detail: str) -> Response:
    return Response({"error": "conflict", "detail": detail}, status=HTTPStatus.CONFLICT)


def _id(pk: str) -> int:
    """A subscription id from the path; anything else is a JSON 404, like an id that does not exist."""
    if not pk.isascii() or not pk.isdigit() or len(pk) > 18:
        raise NotFound(_("No such subscription."))
    return int(pk)


ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="The subscription's id.")


def _valid(serializer_class, request: Request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class PlanListView(BillingAPIView):
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        operation_id="plans_list",
        tags=TAG,
        summary="List plans",
        description="The plans on offer.",
        responses={HTTPStatus.OK: PlanSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return Response(PlanSerializer(selectors.active_plans(), many=True).data)


class SubscriptionListCreateView(BillingGenericAPIView):
    """GET: your subscriptions. POST: subscribe (the first period is charged at once unless a trial)."""

    serializer_class = SubscriptionSerializer
    pagination_class = SubscriptionPagination

    def get_queryset(self):
        return _with_open_renewals(
            selectors.subscriptions_visible_to(cast(AbstractBaseUser, self.request.user))
        )

    @extend_schema(
        operation_id="subscriptions_list",
        tags=TAG,
        summary="List subscriptions",
        description="Your subscriptions, newest first (everyone's for staff with "
        "`subscriptions.view_subscription`).",
        responses={
            HTTPStatus.OK: SubscriptionSerializer(many=True),
            **schema.AUTHENTICATED_ERRORS,
            HTTPStatus.NOT_FOUND: OpenApiResponse(schema.ErrorSerializer, description="Invalid cursor."),
        },
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(SubscriptionSerializer(page, many=True).data)

    @extend_schema(
        operation_id="subscriptions_create",
        tags=TAG,
        summary="Subscribe",
        description="Subscribes you to `plan` with your billing key `customer_uid`. Without a trial "
        "the first period is charged at once: 201 when paid, 402 when declined (the subscription is "
        "ended, nothing is left half-subscribed), 504 while the charge is being checked with i'mport.",
        parameters=[IDEMPOTENCY_KEY],
        request=SubscribeInputSerializer,
        responses={
            HTTPStatus.CREATED: SubscriptionSerializer,
            **CHANGE_ERRORS,
            HTTPStatus.PAYMENT_REQUIRED: REFUSED,
            HTTPStatus.SERVICE_UNAVAILABLE: schema.UNAVAILABLE,
            HTTPStatus.GATEWAY_TIMEOUT: schema.OUTCOME_UNKNOWN,
        },
    )
    def post(self, request: AuthenticatedRequest) -> Response:
        return idempotency.run_once(
            request, endpoint="subscriptions.create", handle=lambda: self._create(request)
        )

    def _create(self, request: AuthenticatedRequest) -> Response:
        data = _valid(SubscribeInputSerializer, request)
        plan = selectors.active_plans().filter(code=data["plan"]).first()
        if plan is None:
            raise serializers.ValidationError({"plan": [_("No plan on offer has this code.")]})
        billing_key = billing_selectors.billing_key_of(request.user, data["customer_uid"])
        try:
            subscription = services.subscribe(
                owner=request.user, plan=plan, billing_key=billing_key, source=SOURCE, actor=request.user
            )
        except services.SubscriptionConflict as error:
            return _conflict(error.message)
        except services.FirstChargeFailed as failure:
            record: dict[str, Any] = {"subscription": SubscriptionSerializer(failure.subscription).data}
            if failure.payment is not None:
                record["merchant_uid"] = failure.payment.merchant_uid
            if failure.cause is not None:
                return failed_call_response(failure.cause, extra=record)
            payment = failure.payment
            body: dict[str, Any] = {
                "error": "refused",
                "detail": (payment.fail_reason if payment else "")
                or _("The card company declined the first charge."),
                **record,
            }
            if payment is not None:  # None: refused before any charge (the card was deleted meanwhile)
                body["payment"] = PaymentOutputSerializer(payment).data
            return Response(body, status=HTTPStatus.PAYMENT_REQUIRED)
        return _answer(subscription, HTTPStatus.CREATED)


class SubscriptionDetailView(BillingAPIView):
    @extend_schema(
        operation_id="subscriptions_retrieve",
        tags=TAG,
        summary="Read a subscription",
        parameters=[ID],
        responses={
            HTTPStatus.OK: SubscriptionSerializer,
            **schema.AUTHENTICATED_ERRORS,
            HTTPStatus.NOT_FOUND: NOT_FOUND,
        },
    )
    def get(self, request: AuthenticatedRequest, pk: str) -> Response:
        return _answer(selectors.subscription_of(request.user, _id(pk)))


class SubscriptionCancelView(BillingAPIView):
    @extend_schema(
        operation_id="subscriptions_cancel",
        tags=TAG,
        summary="Cancel a subscription",
        description="`at_period_end: true` (default): nothing more is charged, it ends with its paid "
        "period; `false`: it ends now and charges not yet sent are void.",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=CancelInputSerializer,
        responses={HTTPStatus.OK: SubscriptionSerializer, **CHANGE_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, pk: str) -> Response:
        return idempotency.run_once(
            request, endpoint=f"subscriptions.{pk}.cancel", handle=lambda: self._cancel(request, pk)
        )

    def _cancel(self, request: AuthenticatedRequest, pk: str) -> Response:
        data = _valid(CancelInputSerializer, request)
        subscription = selectors.own_subscription(request.user, _id(pk))
        try:
            subscription = services.cancel(
                subscription=subscription, at_period_end=data["at_period_end"], actor=request.user
            )
        except services.SubscriptionConflict as error:
            return _conflict(error.message)
        return _answer(subscription)


class SubscriptionResumeView(BillingAPIView):
    @extend_schema(
        operation_id="subscriptions_resume",
        tags=TAG,
        summary="Resume a subscription",
        description="Undoes a cancel at period end, before the period ends.",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=None,
        responses={HTTPStatus.OK: SubscriptionSerializer, **CHANGE_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, pk: str) -> Response:
        return idempotency.run_once(
            request, endpoint=f"subscriptions.{pk}.resume", handle=lambda: self._resume(request, pk)
        )

    def _resume(self, request: AuthenticatedRequest, pk: str) -> Response:
        subscription = selectors.own_subscription(request.user, _id(pk))
        try:
            subscription = services.resume(subscription=subscription, actor=request.user)
        except services.SubscriptionConflict as error:
            return _conflict(error.message)
        return _answer(subscription)


class SubscriptionCardView(BillingAPIView):
    @extend_schema(
        operation_id="subscriptions_change_card",
        tags=TAG,
        summary="Change the card",
        description="Charges `customer_uid` (one of your active keys) from now on; during dunning it is "
        "tried at once.",
        parameters=[ID, IDEMPOTENCY_KEY],
        request=CardInputSerializer,
        responses={HTTPStatus.OK: SubscriptionSerializer, **CHANGE_ERRORS},
    )
    def post(self, request: AuthenticatedRequest, pk: str) -> Response:
        return idempotency.run_once(
            request, endpoint=f"subscriptions.{pk}.card", handle=lambda: self._card(request, pk)
        )

    def _card(self, request: AuthenticatedRequest, pk: str) -> Response:
        data = _valid(CardInputSerializer, request)
        subscription = selectors.own_subscription(request.user, _id(pk))
        billing_key = billing_selectors.billing_key_of(request.user, data["customer_uid"])
        try:
            subscription = services.change_card(
                subscription=subscription, billing_key=billing_key, actor=request.user, source=SOURCE
            )
        except services.SubscriptionConflict as error:
            return _conflict(error.message)
        return _answer(subscription)


class SubscriptionRenewalsView(BillingAPIView):
    @extend_schema(
        operation_id="subscriptions_renewals",
        tags=TAG,
        summary="List a subscription's renewals",
        parameters=[ID],
        description="Its periods, newest first, each with its charge attempts (`payments`).",
        responses={
            HTTPStatus.OK: RenewalSerializer(many=True),
            **schema.AUTHENTICATED_ERRORS,
            HTTPStatus.NOT_FOUND: NOT_FOUND,
        },
    )
    def get(self, request: AuthenticatedRequest, pk: str) -> Response:
        subscription = selectors.subscription_of(request.user, _id(pk))
        return Response(RenewalSerializer(selectors.renewals_of(subscription), many=True).data)
