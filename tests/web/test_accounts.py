"""Sign-up, sign-in, sign-out, the demo login and the health check."""

from http import HTTPStatus

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_has_username_and_password(client):
    text = client.get(reverse("login")).text

    assert 'name="username"' in text
    assert 'name="password"' in text


def test_login_then_logout(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == reverse("billing:card-list")
    assert client.get(reverse("billing:card-list")).status_code == HTTPStatus.OK

    client.post(reverse("logout"))

    assert client.get(reverse("billing:card-list")).status_code == HTTPStatus.FOUND


def test_wrong_password_is_refused(client, user):
    response = client.post(reverse("login"), {"username": user.username, "password": "wrong"})

    assert response.status_code == HTTPStatus.OK
    assert "Please enter a correct username and password" in response.text


def test_signup_creates_the_customer_and_signs_in(client):
    response = client.post(
        reverse("signup"),
        {
            "username": "newcomer",
            "email": "new@example.com",
            "password1": "Sturdy-pass-987",
            "password2": "Sturdy-pass-987",
        },
    )

    assert response.status_code == HTTPStatus.FOUND
    assert get_user_model().objects.get(username="newcomer").email == "new@example.com"
    assert client.get(reverse("billing:card-list")).status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "username": "x",
                "email": "x@example.com",
                "password1": "Sturdy-pass-987",
                "password2": "other-pass-987",
            },
            "didn’t match",
        ),
        (
            {
                "username": "x",
                "email": "not-an-email",
                "password1": "Sturdy-pass-987",
                "password2": "Sturdy-pass-987",
            },
            "valid email",
        ),
        ({"username": "x", "email": "x@example.com", "password1": "123", "password2": "123"}, "too short"),
    ],
)
def test_signup_refuses_bad_input(client, data, message):
    response = client.post(reverse("signup"), data)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.text
    assert not get_user_model().objects.filter(username="x").exists()


def test_healthz(client):
    response = client.get("/healthz")

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"status": "ok", "database": "ok"}


def test_demo_user_is_created_and_printed(settings, capsys):
    settings.DEBUG = True

    call_command("create_demo_user")
    call_command("create_demo_user")  # twice: running the site again must not fail

    out = capsys.readouterr().out
    assert "username 'demo'" in out
    user = get_user_model().objects.get(username="demo")
    assert user.check_password("demo-pass-1234")


def test_demo_user_is_refused_outside_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError):
        call_command("create_demo_user")
