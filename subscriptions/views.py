"""The customer's subscription pages: choose a plan and subscribe; see, change card, cancel or resume.

Views validate, call one service or selector, and render. A card registered in the subscribe flow goes
through billing's own form and service; its data exists only in that POST.
"""

import math
from http import HTTPStatus

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_POST

from billing import customer_messages
from billing import selectors as billing_selectors
from billing import services as billing_services
from billing.auth_types import AuthenticatedHttpRequest
from billing.cards import CARD_FIELDS
from billing.forms import CardRegistrationForm
from billing.models import BillingKeyEvent
from billing.throttling import registration_wait

from . import selectors, services
from .api.serializers import next_charge

SOURCE = BillingKeyEvent.Source.WEB


@login_required
@require_GET
def plan_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _plans_page(request)


def _plans_page(request: AuthenticatedHttpRequest, failed=None, status: int = HTTPStatus.OK) -> HttpResponse:
    """Each plan with its own form: one of the customer's cards, or a new card's fields (never prefilled)."""
    offers = []
    for plan in selectors.active_plans():
        form = failed[1] if failed and failed[0] == plan.code else CardRegistrationForm()
        form.auto_id = f"{plan.code}-%s"
        form.use_required_attribute = False  # a registered card may be chosen instead
        offers.append({"plan": plan, "form": form, "failed": bool(failed and failed[0] == plan.code)})
    cards = billing_selectors.billing_keys_of(request.user).filter(status="active")
    return render(request, "subscriptions/plan_list.html", {"offers": offers, "cards": cards}, status=status)


@sensitive_post_parameters(*CARD_FIELDS)
@sensitive_variables("form", "card")
@login_required
@require_POST
def subscribe(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    plan = selectors.active_plan(code)
    customer_uid = request.POST.get("customer_uid", "")
    if customer_uid:
        billing_key = billing_selectors.billing_key_of(request.user, customer_uid)
    else:
        form = CardRegistrationForm(request.POST)
        if not form.is_valid():
            return _plans_page(request, failed=(plan.code, form), status=HTTPStatus.BAD_REQUEST)
        # A new card here is a registration like any other: the same card-testing throttles count it.
        wait = registration_wait(request)
        if wait is not None:
            form.add_error(None, customer_messages.too_many_registrations(wait))
            response = _plans_page(request, failed=(plan.code, form), status=HTTPStatus.TOO_MANY_REQUESTS)
            response["Retry-After"] = str(math.ceil(wait))
            return response
        card = form.card_details()
        try:
            billing_key = billing_services.register_card(owner=request.user, card=card, source=SOURCE)
        except billing_services.BillingKeyError as error:
            # billing's own sentence for the refusal; i'mport's text stays in the audit trail.
            reason = customer_messages.registration_refused(error)
            messages.error(request, _("You were not subscribed: %(reason)s") % {"reason": reason})
            return redirect("subscriptions:plan-list")
    try:
        subscription = services.subscribe(
            owner=request.user, plan=plan, billing_key=billing_key, source=SOURCE
        )
    except services.SubscriptionConflict as error:
        messages.error(request, _("You were not subscribed: %(reason)s") % {"reason": error.message})
        return redirect("subscriptions:plan-list")
    except services.FirstChargeFailed as failure:
        if failure.outcome_unknown:
            messages.warning(
                request,
                _(
                    "The card company did not answer in time. We are checking the first payment with "
                    "i'mport; do not subscribe again."
                ),
            )
            return redirect("subscriptions:subscription-list")
        if failure.cause is not None and failure.cause.unavailable:
            messages.error(
                request,
                _(
                    "Payments are unavailable right now. You were not subscribed and nothing was charged; "
                    "please try again shortly."
                ),
            )
        else:
            messages.error(
                request,
                _("The first payment was declined, so you were not subscribed. Please use another card."),
            )
        return redirect("subscriptions:plan-list")
    if subscription.status == subscription.Status.TRIALING:
        messages.success(request, _("Your free trial of %(plan)s has started.") % {"plan": _(plan.name)})
    else:
        messages.success(request, _("You are subscribed to %(plan)s.") % {"plan": _(plan.name)})
    return redirect("subscriptions:subscription-list")


@login_required
@require_GET
def subscription_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    subscriptions = list(selectors.subscriptions_visible_to(request.user).filter(owner=request.user))  # type: ignore[misc]  # FK to the host's AUTH_USER_MODEL
    rows = []
    for subscription in subscriptions:
        subscription.open_renewals = list(  # type: ignore[attr-defined]  # for the template
            selectors.renewals_of(subscription).filter(status__in=("pending", "unknown"))
        )
        when, amount = next_charge(subscription)
        rows.append(
            {
                "subscription": subscription,
                "next_charge_at": when,
                "next_charge_amount": amount,
                "renewals": selectors.renewals_of(subscription)[:24],
            }
        )
    cards = billing_selectors.billing_keys_of(request.user).filter(status="active")
    return render(request, "subscriptions/subscription_list.html", {"rows": rows, "cards": cards})


@login_required
@require_POST
def cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    subscription = selectors.own_subscription(request.user, pk)
    at_period_end = request.POST.get("at_period_end", "1") != "0"
    try:
        services.cancel(subscription=subscription, at_period_end=at_period_end, actor=request.user)
    except services.SubscriptionConflict as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Your subscription will end at the end of the current period.")
            if at_period_end
            else _("Your subscription is cancelled."),
        )
    return redirect("subscriptions:subscription-list")


@login_required
@require_POST
def resume(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    subscription = selectors.own_subscription(request.user, pk)
    try:
        services.resume(subscription=subscription, actor=request.user)
    except services.SubscriptionConflict as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your subscription will renew as before."))
    return redirect("subscriptions:subscription-list")


@login_required
@require_POST
def change_card(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    subscription = selectors.own_subscription(request.user, pk)
    try:
        billing_key = billing_selectors.billing_key_of(request.user, request.POST.get("customer_uid", ""))
    except Http404:
        messages.error(request, _("Choose one of your cards."))
        return redirect("subscriptions:subscription-list")
    try:
        services.change_card(
            subscription=subscription, billing_key=billing_key, actor=request.user, source=SOURCE
        )
    except services.SubscriptionConflict as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("The subscription now uses %(card)s.") % {"card": billing_key.masked_card_number}
        )
    return redirect("subscriptions:subscription-list")
