"""The customer's web pages: list cards, register one, remove one, payment history. Sign-up and health too.

Views validate, call one service or selector, and render. Card data exists only in the
POST that carries it: ``sensitive_post_parameters`` keeps it out of error reports,
``sensitive_variables`` out of tracebacks, and the form never renders it back.
"""

import math
from http import HTTPStatus

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import customer_messages, selectors, services
from .auth_types import AuthenticatedHttpRequest
from .cards import CARD_FIELDS, CardDetails
from .display import card_company, format_won
from .forms import CardRegistrationForm, SignUpForm
from .models import BillingKey, BillingKeyEvent, Payment
from .throttling import registration_wait

PAYMENT_HISTORY_LENGTH = 100


@login_required
@require_GET
def card_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    cards = selectors.billing_keys_of(request.user)
    return render(request, "billing/card_list.html", {"cards": cards})


@login_required
@require_GET
def payment_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    payments = selectors.payments_of(request.user)[:PAYMENT_HISTORY_LENGTH]
    return render(request, "billing/payment_list.html", {"payments": payments})


@sensitive_post_parameters(*CARD_FIELDS)
@sensitive_variables("form", "card")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def card_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    # Anything else posted (a customer_uid in a hidden field, say) is ignored: the server makes the uid.
    form = CardRegistrationForm(request.POST if request.method == "POST" else None)
    if request.method == "GET" or not form.is_valid():
        status = HTTPStatus.OK if request.method == "GET" else HTTPStatus.BAD_REQUEST
        return render(request, "billing/card_form.html", {"form": form}, status=status)

    # Card testers try many cards: each attempt that would reach i'mport is counted, per user and address.
    wait = registration_wait(request)
    if wait is not None:
        form.add_error(None, customer_messages.too_many_registrations(wait))
        response = render(
            request, "billing/card_form.html", {"form": form}, status=HTTPStatus.TOO_MANY_REQUESTS
        )
        response["Retry-After"] = str(math.ceil(wait))
        return response

    card = form.card_details()
    if form.cleaned_data.get("pay_now"):
        return _register_and_pay(request, form, card)
    try:
        billing_key = services.register_card(owner=request.user, card=card, source=BillingKeyEvent.Source.WEB)
    except services.BillingKeyError as error:
        if error.outcome_unknown:
            messages.warning(
                request,
                _(
                    "The card company did not answer in time. We are checking with i'mport whether "
                    "your card was registered; it is listed below as being checked. Do not register it again."
                ),
            )
            return redirect("billing:card-list")
        form.add_error(None, customer_messages.registration_refused(error))
        return render(request, "billing/card_form.html", {"form": form}, status=HTTPStatus.BAD_REQUEST)

    messages.success(
        request,
        _("Card registered: %(card)s %(number)s")
        % {"card": card_company(billing_key), "number": billing_key.masked_card_number},
    )
    return redirect("billing:card-list")


@sensitive_variables("form", "card")
def _register_and_pay(
    request: AuthenticatedHttpRequest, form: CardRegistrationForm, card: CardDetails
) -> HttpResponse:
    try:
        billing_key, payment = services.register_card_and_pay(
            owner=request.user, card=card, source=BillingKeyEvent.Source.WEB
        )
    except services.PaymentError as error:
        if error.outcome_unknown:
            messages.warning(
                request,
                _(
                    "The card company did not answer in time. We are checking with i'mport whether your "
                    "card was registered and paid; do not pay again."
                ),
            )
            return redirect("billing:card-list")
        form.add_error(None, customer_messages.registration_and_payment_refused(error))
        return render(request, "billing/card_form.html", {"form": form}, status=HTTPStatus.BAD_REQUEST)

    if payment.status == Payment.Status.PAID:
        messages.success(
            request,
            _("Card registered and paid: %(amount)s for %(name)s (%(card)s %(number)s)")
            % {
                "amount": format_won(payment.amount),
                "name": _(payment.name),
                "card": card_company(billing_key),
                "number": billing_key.masked_card_number,
            },
        )
        return redirect("billing:card-list")
    # i'mport's reason (payment.fail_reason) stays for support staff; the customer reads our sentence.
    card_kept = {BillingKey.Status.ACTIVE: True, BillingKey.Status.FAILED: False}.get(billing_key.status)  # type: ignore[call-overload]  # status: the str value
    form.add_error(None, customer_messages.payment_declined(card_kept=card_kept))
    return render(request, "billing/card_form.html", {"form": form}, status=HTTPStatus.BAD_REQUEST)


@login_required
@require_POST
def card_delete(request: AuthenticatedHttpRequest, customer_uid: str) -> HttpResponse:
    billing_key = selectors.billing_key_of(request.user, customer_uid)
    try:
        services.delete_billing_key(
            billing_key=billing_key, actor=request.user, source=BillingKeyEvent.Source.WEB
        )
    except services.BillingKeyError as error:
        messages.error(request, customer_messages.removal_failed(error))
    else:
        messages.success(request, _("Card removed: %(card)s") % {"card": billing_key.masked_card_number})
    return redirect("billing:card-list")


@sensitive_post_parameters("password1", "password2")
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("billing:card-list")
    form = SignUpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("billing:card-list")
    status = HTTPStatus.BAD_REQUEST if request.method == "POST" else HTTPStatus.OK
    return render(request, "registration/signup.html", {"form": form}, status=status)


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        return JsonResponse(
            {"status": "error", "database": "unavailable"}, status=HTTPStatus.SERVICE_UNAVAILABLE
        )
    return JsonResponse({"status": "ok", "database": "ok"})
