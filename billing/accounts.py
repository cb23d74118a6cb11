"""Sign-in and sign-up pages with their throttles (``billing.throttling``): password guessing and mass
sign-ups are answered 429 with a message that says how long to wait, like the API's token exchange.
"""

import math
from http import HTTPStatus
from typing import cast

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import ngettext
from django.views.decorators.debug import sensitive_post_parameters

from . import views
from .forms import SignUpForm
from .throttling import sign_in_wait, sign_up_wait


def _minutes(wait: float) -> int:
    return max(1, math.ceil(wait / 60))


def _throttled(response: HttpResponse, wait: float) -> HttpResponse:
    response.status_code = HTTPStatus.TOO_MANY_REQUESTS
    response["Retry-After"] = str(max(1, math.ceil(wait)))
    return response


class ThrottledAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, refusing without checking the password while its sender is throttled."""

    throttled_message: str | None = None

    def clean(self):
        if self.throttled_message:
            raise ValidationError(self.throttled_message, code="throttled")
        return super().clean()


class LoginView(auth_views.LoginView):
    """Django's login view; every POST counts against the address's and the account's sign-in limits."""

    form_class = ThrottledAuthenticationForm
    wait: float | None = None

    def post(self, request, *args, **kwargs):
        self.wait = sign_in_wait(request)
        return super().post(request, *args, **kwargs)

    def get_form(self, form_class=None):
        form = cast(ThrottledAuthenticationForm, super().get_form(form_class))  # form_class is one
        if self.wait is not None:
            # ngettext with literal strings, so that makemessages finds them.
            minutes = _minutes(self.wait)
            form.throttled_message = ngettext(
                "Too many sign-in attempts. Please try again in %(minutes)d minute.",
                "Too many sign-in attempts. Please try again in %(minutes)d minutes.",
                minutes,
            ) % {"minutes": minutes}
        return form

    def form_invalid(self, form):
        response = super().form_invalid(form)
        return response if self.wait is None else _throttled(response, self.wait)


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    """``billing.views.signup``, behind the sign-up limit per address."""
    if request.method != "POST" or request.user.is_authenticated:
        return views.signup(request)
    wait = sign_up_wait(request)
    if wait is None:
        return views.signup(request)
    form = SignUpForm(request.POST)
    minutes = _minutes(wait)
    message = ngettext(
        "Too many sign-up attempts. Please try again in %(minutes)d minute.",
        "Too many sign-up attempts. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    form.add_error(None, message)
    return _throttled(render(request, "registration/signup.html", {"form": form}), wait)
