"""Forged cursors and digit-like owners are a 4xx, never a 500; ids outside their format match no route."""

import base64
from http import HTTPStatus
from urllib.parse import urlencode

import pytest


def cursor(**tokens: str) -> str:
    return base64.b64encode(urlencode(tokens).encode()).decode()


FORGED = [
    cursor(o="0", r="0", p="not-a-date"),
    cursor(o="0", r="0", p="2026-02-31 00:00:00"),
    cursor(o="0", r="0", p="' OR 1=1 --"),
    cursor(o="0", r="1", p="2026-01-01\x00"),
    cursor(o="-1"),
    "²",
]


@pytest.mark.parametrize("url", ["/api/v1/billing-keys/", "/api/v1/payments/"])
@pytest.mark.parametrize("forged", FORGED)
def test_a_forged_cursor_is_a_404(token_client, url, forged):
    response = token_client.get(url, {"cursor": forged})

    assert response.status_code == HTTPStatus.NOT_FOUND


def test_a_genuine_cursor_still_pages(token_client, make_key, user):
    for _ in range(51):
        make_key(user)
    first = token_client.get("/api/v1/billing-keys/").json()

    second = token_client.get(first["next"])

    assert second.status_code == HTTPStatus.OK
    assert len(second.json()["results"]) == 1


@pytest.mark.parametrize("owner", ["²", "٤٢", "４２", "1²", "x\u200b", "99999999999999999999999"])
def test_a_digit_like_or_malformed_owner_is_a_400_or_found_nothing(staff_client, owner):
    response = staff_client.get("/api/v1/billing-keys/", {"all": "true", "owner": owner})

    assert response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.OK)
    if owner != "99999999999999999999999":
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert "owner" in response.json()["fields"]
    else:
        assert response.json()["results"] == []


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/billing-keys/cu_1%20x/",
        "/api/v1/billing-keys/..%2Fx/sync/",
        "/api/v1/billing-keys/" + "x" * 81 + "/",
        "/api/v1/payments/" + "x" * 41 + "/",
        "/api/v1/payments/%C2%B2/refund/",
    ],
)
def test_an_id_outside_its_format_is_the_apis_404(token_client, url):
    response = token_client.post(url, {}, format="json")

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize(
    "raw",
    [
        '{"card_number": "4242\\u0000", "expiry": "2030-12", "birth": "900101", "pwd_2digit": "12"}',
        '{"card_number": "\\ud800", "expiry": "2030-12", "birth": "900101", "pwd_2digit": "12"}',
        '{"\\udfff": 1}',
        '{"customer_uid": "cu_1\\u0000", "amount": 1, "name": "x"}',
    ],
)
@pytest.mark.parametrize("url", ["/api/v1/billing-keys/", "/api/v1/payments/", "/api/v1/auth/token/"])
def test_nul_or_lone_surrogates_in_a_json_body_are_a_400(token_client, raw, url):
    response = token_client.post(url, raw, content_type="application/json")

    assert response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.FORBIDDEN)
    if response.status_code == HTTPStatus.BAD_REQUEST:
        assert "\\u0000" not in response.content.decode() and "4242" not in response.content.decode()
