"""Password guessing and mass sign-ups on the web pages are throttled per address and per account."""

from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LOGIN_URL = reverse("login")
SIGNUP_URL = reverse("signup")


@pytest.fixture
def rates(settings):
    def set_rates(**rates: str | None) -> None:
        settings.BILLING = {**settings.BILLING, "RATES": {**settings.BILLING["RATES"], **rates}}

    return set_rates


def sign_in(client, username, password, address="192.0.2.10"):
    return client.post(LOGIN_URL, {"username": username, "password": password}, REMOTE_ADDR=address)


def assert_throttled(response, noun="sign-in") -> None:
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert f"Too many {noun} attempts. Please try again in" in response.text
    assert 0 < int(response["Retry-After"]) <= 3600


def is_signed_in(client) -> bool:
    return client.get(reverse("billing:card-list")).status_code == HTTPStatus.OK


def test_forty_wrong_passwords_then_the_right_one_is_refused(client, user):
    # The default rates: 10 an hour per account, 20 a minute per address.
    answers = [sign_in(client, user.username, f"guess-{i}") for i in range(40)]

    assert [a.status_code for a in answers[:10]] == [HTTPStatus.OK] * 10
    assert all("Please enter a correct username and password" in a.text for a in answers[:10])
    for answer in answers[10:]:
        assert_throttled(answer)
    assert_throttled(sign_in(client, user.username, PASSWORD))
    assert not is_signed_in(client)


def test_the_account_limit_holds_across_addresses_and_letter_case(client, user, rates):
    rates(login_account="2/hour", login_address=None)
    sign_in(client, user.username, "wrong-1", address="198.51.100.1")
    sign_in(client, user.username.upper(), "wrong-2", address="198.51.100.2")

    assert_throttled(sign_in(client, user.username, PASSWORD, address="198.51.100.3"))
    assert not is_signed_in(client)


def test_the_address_limit_holds_across_accounts(client, user, other_user, rates):
    rates(login_account=None, login_address="2/minute")
    sign_in(client, "someone", "wrong-1")
    sign_in(client, "someone-else", "wrong-2")

    assert_throttled(sign_in(client, other_user.username, PASSWORD))
    assert sign_in(Client(), user.username, PASSWORD, address="192.0.2.99").status_code == HTTPStatus.FOUND


def test_the_right_password_within_the_limits_signs_in(client, user, rates):
    rates(login_account="2/hour", login_address="2/minute")
    sign_in(client, user.username, "wrong")

    assert sign_in(client, user.username, PASSWORD).status_code == HTTPStatus.FOUND
    assert is_signed_in(client)


def test_the_api_token_exchange_shares_the_account_limit(client, user, rates):
    rates(login_account="3/hour", login_address=None, token_address=None)
    for i in range(3):
        sign_in(client, user.username, f"wrong-{i}")

    response = APIClient().post(
        reverse("billing_api:token"), {"username": user.username, "password": PASSWORD}, format="json"
    )

    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json()["error"] == "throttled"


def signup_data(username):
    return {
        "username": username,
        "email": f"{username}@example.com",
        "password1": "Sturdy-pass-987",
        "password2": "Sturdy-pass-987",
    }


def test_sign_ups_per_address_are_limited(rates):
    rates(signup_address="2/hour")
    created = [
        Client(HTTP_ACCEPT_LANGUAGE="en")
        .post(SIGNUP_URL, signup_data(f"newcomer{i}"), REMOTE_ADDR="192.0.2.20")
        .status_code
        for i in range(2)
    ]

    response = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        SIGNUP_URL, signup_data("newcomer9"), REMOTE_ADDR="192.0.2.20"
    )

    assert created == [HTTPStatus.FOUND] * 2
    assert_throttled(response, noun="sign-up")
    assert "Sturdy-pass-987" not in response.text
    assert not get_user_model().objects.filter(username="newcomer9").exists()
    other = Client(HTTP_ACCEPT_LANGUAGE="en").post(
        SIGNUP_URL, signup_data("newcomer9"), REMOTE_ADDR="192.0.2.21"
    )
    assert other.status_code == HTTPStatus.FOUND


def test_password_reset_is_not_offered(client):
    # The site sends no mail: no route that would promise one.
    assert client.get("/accounts/password_reset/").status_code == HTTPStatus.NOT_FOUND
