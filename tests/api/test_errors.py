"""Every error answer of the billing-key API, in its stable shape; bad and hostile input never a 500."""

import logging
from http import HTTPStatus
from urllib.parse import quote

import pytest
import requests
from django.urls import reverse

from billing.models import BillingKey
from tests.support.cards import CARD_VALUES, GOOD_CARD
from tests.support.iamport import envelope

pytestmark = pytest.mark.django_db

LIST_URL = reverse("billing_api:billing-key-list")


def assert_error(response, status: HTTPStatus, code: str) -> dict:
    assert response.status_code == status
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def assert_card_values_absent(text: str) -> None:
    for value in CARD_VALUES:
        assert value not in text


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("card_number", "4242-4242-4242-4241", "This card number is not valid; check it for a typo."),
        ("card_number", "4242-abcd-4242-4242", "A card number has only digits (dashes and spaces are fine)."),
        ("card_number", "4242", "A card number has 14 to 16 digits."),
        ("card_number", "", "This field may not be blank."),
        ("expiry", "2020-01", "This card has expired."),
        ("expiry", "2030-13", "The expiry month must be between 01 and 12."),
        ("expiry", "12/30", "Enter the expiry as YYYY-MM, for example 2030-07."),
        ("birth", "901301", "This date of birth does not exist; use YYMMDD."),
        ("birth", "12345", "Enter your date of birth as YYMMDD, or a 10-digit business registration number."),
        ("pwd_2digit", "1a", "Enter the first two digits of the card PIN."),
        ("pwd_2digit", "123", "Ensure this field has no more than 2 characters."),
    ],
)
def test_invalid_card_fields_answer_400_naming_the_problem_not_the_value(
    iamport, token_client, field, value, message
):
    response = token_client.post(LIST_URL, {**GOOD_CARD, field: value}, format="json")

    body = assert_error(response, HTTPStatus.BAD_REQUEST, "invalid")
    assert body["fields"] == {field: [message]}
    assert_card_values_absent(response.content.decode())
    if len(value) > 2:
        assert value not in response.content.decode()
    assert iamport.calls_to("POST", "/subscribe/customers/") == []
    assert not BillingKey.objects.exists()


def test_missing_fields_are_all_reported(token_client):
    response = token_client.post(LIST_URL, {}, format="json")

    body = assert_error(response, HTTPStatus.BAD_REQUEST, "invalid")
    assert body["fields"] == {name: ["This field is required."] for name in GOOD_CARD}


@pytest.mark.parametrize(
    "value",
    [4242424242424242, 4.2, True, None, ["4242-4242-4242-4242"], {"n": "4242"}, "4" * 10_000],
    ids=["int", "float", "bool", "null", "list", "object", "huge"],
)
@pytest.mark.parametrize("field", list(GOOD_CARD))
def test_wrong_types_and_huge_values_answer_400(token_client, field, value):
    response = token_client.post(LIST_URL, {**GOOD_CARD, field: value}, format="json")

    body = assert_error(response, HTTPStatus.BAD_REQUEST, "invalid")
    assert list(body["fields"]) == [field]
    assert len(response.content) < 1000


@pytest.mark.parametrize("value", ["maybe", [True], {"a": 1}, None, 2])
def test_a_bad_pay_now_answers_400(token_client, value):
    response = token_client.post(LIST_URL, {**GOOD_CARD, "pay_now": value}, format="json")

    body = assert_error(response, HTTPStatus.BAD_REQUEST, "invalid")
    assert list(body["fields"]) == ["pay_now"]


@pytest.mark.parametrize(
    "raw",
    [
        '{"card_number": ',
        "[1, 2",
        "not json",
        '{"a": NaN}',
        "\x00\xff",
        '"just a string"',
        "[]",
        "null",
        "42",
    ],
)
def test_malformed_or_non_object_json_answers_400(token_client, raw):
    response = token_client.post(LIST_URL, raw, content_type="application/json")

    assert_error(response, HTTPStatus.BAD_REQUEST, "invalid")


@pytest.mark.parametrize("depth", [40, 900, 100_000])
def test_deeply_nested_json_answers_400(token_client, depth):
    raw = '{"card_number": ' + "[" * depth + "]" * depth + "}"

    response = token_client.post(LIST_URL, raw, content_type="application/json")

    assert_error(response, HTTPStatus.BAD_REQUEST, "invalid")


def test_a_body_over_the_upload_limit_answers_400(token_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = token_client.post(LIST_URL, {**GOOD_CARD, "padding": "x" * 2000}, format="json")

    assert_error(response, HTTPStatus.BAD_REQUEST, "invalid")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("card_number=4242", "application/x-www-form-urlencoded"), ("x", "text/plain")],
)
def test_bodies_that_are_not_json_answer_415(token_client, body, content_type):
    response = token_client.post(LIST_URL, body, content_type=content_type)

    assert_error(response, HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")


@pytest.mark.parametrize(
    ("method", "url"),
    [("put", LIST_URL), ("patch", LIST_URL), ("delete", LIST_URL)],
)
def test_other_methods_answer_405(token_client, method, url):
    response = getattr(token_client, method)(url)

    assert_error(response, HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed")


@pytest.mark.parametrize("customer_uid", ["..", "x" * 5000, "cu_%00", "' OR 1=1 --", "\u202e"], ids=range(5))
def test_hostile_customer_uids_answer_404(token_client, customer_uid):
    # Built by hand: no such id can be reversed, it is outside the route's format (billing.identifiers).
    response = token_client.get(LIST_URL + quote(customer_uid, safe="") + "/")

    assert_error(response, HTTPStatus.NOT_FOUND, "not_found")


# --- i'mport said no, or could not say -------------------------------------------------------------


def test_a_refusal_answers_402_with_iamports_code_and_message(iamport, token_client):
    iamport.on_customer("POST", body=envelope(code=-1, message="카드가 거절되었습니다."))

    response = token_client.post(LIST_URL, GOOD_CARD, format="json")

    body = assert_error(response, HTTPStatus.PAYMENT_REQUIRED, "refused")
    assert (body["iamport_code"], body["iamport_message"]) == (-1, "카드가 거절되었습니다.")
    key = BillingKey.objects.get()
    assert body["customer_uid"] == key.customer_uid
    assert key.status == BillingKey.Status.FAILED
    assert_card_values_absent(response.content.decode())


@pytest.mark.parametrize(
    "fail",
    [
        {"status": HTTPStatus.SERVICE_UNAVAILABLE, "body": envelope(code=-1, message="maintenance")},
        {"exc": requests.ConnectTimeout("could not connect")},
    ],
    ids=["5xx", "connect-timeout"],
)
def test_iamport_unavailable_answers_503(iamport, token_client, fail):
    iamport.on_customer("POST", **fail)

    response = token_client.post(LIST_URL, GOOD_CARD, format="json")

    body = assert_error(response, HTTPStatus.SERVICE_UNAVAILABLE, "unavailable")
    assert response["Retry-After"] == "30"
    assert "maintenance" not in body["detail"]


def test_iamport_refusing_our_keys_answers_503_without_blaming_the_client(iamport, token_client):
    iamport.token(status=HTTPStatus.UNAUTHORIZED)

    response = token_client.post(LIST_URL, GOOD_CARD, format="json")

    assert_error(response, HTTPStatus.SERVICE_UNAVAILABLE, "unavailable")


def test_a_timeout_answers_504_with_the_unknown_record(iamport, token_client):
    iamport.on_customer("POST", exc=requests.ReadTimeout("read timed out"))
    iamport.on_customer("GET", exc=requests.ReadTimeout("read timed out"))

    response = token_client.post(LIST_URL, GOOD_CARD, format="json")

    body = assert_error(response, HTTPStatus.GATEWAY_TIMEOUT, "outcome_unknown")
    key = BillingKey.objects.get()
    assert (body["customer_uid"], body["status"]) == (key.customer_uid, "unknown")
    assert key.status == BillingKey.Status.UNKNOWN
    # The client can follow the record it was given.
    assert token_client.get(reverse("billing_api:billing-key-detail", args=[key.customer_uid])).json()[
        "status"
    ] == ("unknown")


@pytest.mark.parametrize("operation", ["delete", "sync"])
@pytest.mark.parametrize(
    ("fail", "status", "code"),
    [
        ({"body": envelope(code=-1, message="삭제할 수 없습니다.")}, HTTPStatus.PAYMENT_REQUIRED, "refused"),
        (
            {"exc": requests.ConnectTimeout("could not connect")},
            HTTPStatus.SERVICE_UNAVAILABLE,
            "unavailable",
        ),
        ({"exc": requests.ReadTimeout("timed out")}, HTTPStatus.GATEWAY_TIMEOUT, "outcome_unknown"),
    ],
    ids=["refused", "unavailable", "timeout"],
)
def test_delete_and_sync_failures_answer_in_the_error_shape(
    iamport, token_client, user, make_key, operation, fail, status, code
):
    if operation == "sync" and code == "outcome_unknown":
        # A sync only reads: a read that timed out changed nothing, so it is "unavailable".
        status, code = HTTPStatus.SERVICE_UNAVAILABLE, "unavailable"
    key = make_key(user)
    if operation == "delete":
        iamport.on_customer("DELETE", **fail)
        response = token_client.delete(reverse("billing_api:billing-key-detail", args=[key.customer_uid]))
    else:
        iamport.on_customer("GET", **fail)
        response = token_client.post(reverse("billing_api:billing-key-sync", args=[key.customer_uid]))

    body = assert_error(response, status, code)
    if code != "unavailable":
        assert body["customer_uid"] == key.customer_uid


def test_errors_never_log_card_data(iamport, token_client, caplog):
    iamport.on_customer("POST", body=envelope(code=-1, message="카드가 거절되었습니다."))

    with caplog.at_level(logging.DEBUG):
        token_client.post(LIST_URL, {**GOOD_CARD, "expiry": "2020-01"}, format="json")
        token_client.post(LIST_URL, GOOD_CARD, format="json")

    assert_card_values_absent(caplog.text)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/nothing-here/"),
        ("post", "/api/v1/billing-keys"),
        ("delete", "/api/v1/billing-keys/a/b/"),
    ],
)
def test_an_unknown_api_path_answers_the_error_shape(client, method, path):
    response = getattr(client, method)(path)

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["error"] == "not_found"
