"""Getting a token, and the two ways to authenticate: token and session (with CSRF)."""

import json
from http import HTTPStatus
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import PASSWORD
from tests.support.cards import GOOD_CARD

pytestmark = pytest.mark.django_db

TOKEN_URL = reverse("billing_api:token")
LIST_URL = reverse("billing_api:billing-key-list")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (json.dumps({"username": "gildong", "password": PASSWORD}), "application/json"),
        (urlencode({"username": "gildong", "password": PASSWORD}), "application/x-www-form-urlencoded"),
    ],
    ids=["json", "form"],
)
def test_a_login_is_exchanged_for_a_token_that_works(api_client, user, body, content_type):
    response = api_client.post(TOKEN_URL, body, content_type=content_type)

    assert response.status_code == HTTPStatus.OK
    token = response.json()["token"]
    assert token == Token.objects.get(user=user).key
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api_client.get(LIST_URL).status_code == HTTPStatus.OK


def test_asking_again_returns_the_same_token(api_client, user):
    login = {"username": "gildong", "password": PASSWORD}

    first = api_client.post(TOKEN_URL, login, format="json").json()["token"]
    second = api_client.post(TOKEN_URL, login, format="json").json()["token"]

    assert first == second


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "gildong", "password": "wrong"}, "non_field_errors"),
        ({"username": "nobody", "password": PASSWORD}, "non_field_errors"),
        ({"username": "gildong"}, "password"),
        ({"password": PASSWORD}, "username"),
        ({"username": ["gildong"], "password": PASSWORD}, "username"),
    ],
)
def test_a_bad_login_answers_400_without_a_token(api_client, user, body, field):
    response = api_client.post(TOKEN_URL, body, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "invalid"
    assert field in response.json()["fields"]
    assert not Token.objects.exists()


def test_an_inactive_user_gets_no_token(api_client, user):
    user.is_active = False
    user.save()

    response = api_client.post(TOKEN_URL, {"username": "gildong", "password": PASSWORD}, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_the_token_endpoint_ignores_a_stale_token(api_client, user):
    api_client.credentials(HTTP_AUTHORIZATION="Token stale")

    response = api_client.post(TOKEN_URL, {"username": "gildong", "password": PASSWORD}, format="json")

    assert response.status_code == HTTPStatus.OK


def test_the_management_command_makes_a_token(user, capsys):
    call_command("drf_create_token", "gildong")

    assert Token.objects.get(user=user).key in capsys.readouterr().out


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", LIST_URL),
        ("post", LIST_URL),
        ("get", reverse("billing_api:billing-key-detail", args=["cu_x"])),
        ("delete", reverse("billing_api:billing-key-detail", args=["cu_x"])),
        ("post", reverse("billing_api:billing-key-sync", args=["cu_x"])),
    ],
)
def test_unauthenticated_calls_answer_401_in_the_error_shape(api_client, method, url):
    response = getattr(api_client, method)(url)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json() == {
        "error": "not_authenticated",
        "detail": "Authentication credentials were not provided.",
    }
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("header", ["Token nope", "Token ", "Bearer abc", "Token a b"])
def test_a_bad_token_answers_401(api_client, user, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)

    response = api_client.get(LIST_URL)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error"] in {"authentication_failed", "not_authenticated"}


def test_session_authentication_reads(user):
    client = APIClient()
    client.force_login(user)

    assert client.get(LIST_URL).status_code == HTTPStatus.OK


def test_a_session_post_without_its_csrf_token_answers_403(iamport, user):
    iamport.on_customer("POST")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(LIST_URL, GOOD_CARD, format="json")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error"] == "permission_denied"
    assert "CSRF" in response.json()["detail"]
    assert iamport.calls_to("POST", "/subscribe/customers/") == []


def test_a_session_post_with_its_csrf_token_registers(iamport, user):
    iamport.on_customer("POST")
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)
    client.get(reverse("billing:card-new"))  # the page that sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value

    response = client.post(LIST_URL, GOOD_CARD, format="json", HTTP_X_CSRFTOKEN=csrf)

    assert response.status_code == HTTPStatus.CREATED
