"""Bad requests get the real API's kind of answer (400/401/404/405, or 200 with a code), never a 500."""

from http import HTTPStatus

import pytest

from . import spec_types
from .conftest import CARD

ORDER = {"customer_uid": "cu_bad", "merchant_uid": "order_bad", "amount": 1000, "name": "June"}


@pytest.fixture
def key(api):
    return api.register("cu_bad")


@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("/subscribe/customers/cu_new", {"expiry": "2099-12"}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/customers/cu_new", {"card_number": "4242424242424242"}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/customers/cu_new", {**CARD, "card_number": ["4242"]}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/customers/cu_new", {**CARD, "expiry": True}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/customers/cu_new", {**CARD, "customer_name": {"a": 1}}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/customers/" + "u" * 81, CARD, HTTPStatus.BAD_REQUEST, -1),
        (
            "/subscribe/payments/again",
            {k: v for k, v in ORDER.items() if k != "amount"},
            HTTPStatus.BAD_REQUEST,
            -1,
        ),
        (
            "/subscribe/payments/again",
            {k: v for k, v in ORDER.items() if k != "name"},
            HTTPStatus.BAD_REQUEST,
            -1,
        ),
        (
            "/subscribe/payments/again",
            {k: v for k, v in ORDER.items() if k != "merchant_uid"},
            HTTPStatus.BAD_REQUEST,
            -1,
        ),
        (
            "/subscribe/payments/again",
            {k: v for k, v in ORDER.items() if k != "customer_uid"},
            HTTPStatus.BAD_REQUEST,
            -1,
        ),
        ("/subscribe/payments/again", {**ORDER, "amount": "a lot"}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/payments/again", {**ORDER, "amount": [1000]}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/payments/again", {**ORDER, "amount": True}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/payments/again", {**ORDER, "amount": 1e300}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/payments/again", {**ORDER, "amount": 0}, HTTPStatus.OK, 1),
        ("/subscribe/payments/again", {**ORDER, "amount": -100}, HTTPStatus.OK, 1),
        ("/subscribe/payments/again", {**ORDER, "merchant_uid": "m" * 41}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/payments/again", {**ORDER, "name": "n" * 41}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/payments/again", {**ORDER, "card_quota": "three"}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/payments/again", {**ORDER, "customer_uid": 12.5}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/payments/onetime", {"merchant_uid": "o", "amount": 1000}, HTTPStatus.BAD_REQUEST, -1),
        ("/subscribe/payments/onetime", {**CARD, "amount": 1000}, HTTPStatus.BAD_REQUEST, -1),
        (
            "/subscribe/payments/onetime",
            {**CARD, "merchant_uid": "o", "amount": 1, "customer_uid": "c" * 81},
            400,
            -1,
        ),
    ],
)
def test_missing_and_wrong_typed_fields(api, key, path, body, status, code):
    spec_types.refusal(api.post(path, json=body), status, code)

    listed = spec_types.answer(
        api.get("/subscribe/customers/cu_bad/payments"), HTTPStatus.OK, spec_types.PAGED_PAYMENT
    )
    assert listed["total"] == 0


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"customer_uid": "cu_bad",',
        b"[1, 2, 3]",
        b'"just a string"',
        b'{"amount": Infinity, "merchant_uid": "o", "customer_uid": "cu_bad", "name": "x"}',
        b'{"amount": NaN, "merchant_uid": "o", "customer_uid": "cu_bad", "name": "x"}',
        b'{"customer_uid": "\\ud800", "merchant_uid": "o", "amount": 1, "name": "x"}',
        b"[" * 100_000,
        b"\xff\xfe\x00garbage",
    ],
)
@pytest.mark.parametrize(
    "path", ["/subscribe/payments/again", "/subscribe/customers/cu_raw", "/payments/cancel"]
)
def test_malformed_bodies(api, key, raw, path):
    response = api.post(path, data=raw, headers={"Content-Type": "application/json"})

    spec_types.refusal(response, HTTPStatus.BAD_REQUEST, -1)


@pytest.mark.parametrize(
    "form",
    [
        "customer_uid=cu_bad&customer_uid[x]=1&merchant_uid=o&amount=1&name=x",
        "customer_uid[x]=1&customer_uid=cu_bad&merchant_uid=o&amount=1&name=x",
        "customer_uid[]=a&customer_uid[]=b&merchant_uid=o&amount=1&name=x",
        "%ff%fe=1",
        "&&&===",
    ],
)
def test_odd_form_bodies(api, key, form):
    response = api.post(
        "/subscribe/payments/again", data=form, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )

    spec_types.refusal(response, HTTPStatus.BAD_REQUEST, -1)


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/nowhere", HTTPStatus.NOT_FOUND),
        ("POST", "/users/getToken/extra", HTTPStatus.NOT_FOUND),
        ("GET", "/", HTTPStatus.NOT_FOUND),
        ("GET", "/users/getToken", HTTPStatus.METHOD_NOT_ALLOWED),
        ("PUT", "/subscribe/customers/cu_bad", HTTPStatus.METHOD_NOT_ALLOWED),
        ("DELETE", "/subscribe/payments/again", HTTPStatus.METHOD_NOT_ALLOWED),
        ("PATCH", "/payments/cancel", HTTPStatus.METHOD_NOT_ALLOWED),
        ("POST", "/payments/imps_1", HTTPStatus.METHOD_NOT_ALLOWED),
    ],
)
def test_unknown_paths_and_methods(api, method, path, status):
    spec_types.refusal(api.call(method, path), status, -1)


def test_an_unexpected_error_answers_the_envelope_with_500_and_no_traceback(api, app, key, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(app.store, "get_customer", broken)

    response = api.get("/subscribe/customers/cu_bad")

    message = spec_types.refusal(response, HTTPStatus.INTERNAL_SERVER_ERROR, -1)
    assert "secret internals" not in message and "RuntimeError" not in response.text


def test_a_percent_encoded_unicode_customer_uid_round_trips(api):
    response = api.post("/subscribe/customers/%EA%B3%A0%EA%B0%9D_1", json=CARD)

    assert spec_types.answer(response, HTTPStatus.OK, spec_types.CUSTOMER)["customer_uid"] == "고객_1"
    read = api.get("/subscribe/customers/고객_1")
    assert spec_types.answer(read, HTTPStatus.OK, spec_types.CUSTOMER)["customer_uid"] == "고객_1"
