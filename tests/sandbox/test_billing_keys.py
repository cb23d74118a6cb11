"""Billing keys: issue (JSON or form), the test cards, read, multi-read (207), delete, a key's payments."""

from http import HTTPStatus

import pytest

from . import spec_types
from .conftest import (
    CARD,
    DECLINED_AT_ISSUE,
    DECLINED_ON_CHARGE,
    GOOD_CARD,
    NOT_LUHN,
    OTHER_GOOD_CARD,
)


@pytest.mark.parametrize("body", ["json", "data"])
def test_issuing_a_key_answers_the_customer_with_a_masked_number(api, body):
    extra = {"customer_name": "홍길동", "customer_email": "gildong@example.com", "pg": "nice.nictest04m"}

    response = api.post("/subscribe/customers/cu_1", **{body: {**CARD, **extra}})

    customer = spec_types.answer(response, HTTPStatus.OK, spec_types.CUSTOMER)
    assert customer["customer_uid"] == "cu_1"
    assert customer["card_number"] == "424242******4242"
    assert (customer["pg_provider"], customer["pg_id"]) == ("nice", "nictest04m")
    assert (customer["customer_name"], customer["customer_email"]) == ("홍길동", "gildong@example.com")
    assert customer["inserted"] == customer["updated"] > 0
    assert "4242424242424242" not in response.text and GOOD_CARD not in response.text


@pytest.mark.parametrize(
    ("card", "issued"),
    [
        ({"card_number": GOOD_CARD}, True),
        ({"card_number": OTHER_GOOD_CARD}, True),
        ({"card_number": "4242424242424242"}, True),
        ({"card_number": DECLINED_ON_CHARGE}, True),
        ({"card_number": DECLINED_AT_ISSUE}, False),
        ({"card_number": NOT_LUHN}, False),
        ({"card_number": "1234"}, False),
        ({"expiry": "2020-01"}, False),
        ({"expiry": "2099-13"}, False),
        ({"expiry": "next year"}, False),
        ({"pwd_2digit": "00"}, False),
        ({"pwd_2digit": "1"}, False),
        ({"birth": "19900101"}, False),
        ({"birth": "1234567890"}, True),
    ],
)
def test_each_test_card(api, card, issued):
    response = api.post("/subscribe/customers/cu_card", json={**CARD, **card})

    if issued:
        spec_types.answer(response, HTTPStatus.OK, spec_types.CUSTOMER)
        spec_types.answer(api.get("/subscribe/customers/cu_card"), HTTPStatus.OK, spec_types.CUSTOMER)
    else:
        spec_types.refusal(response, HTTPStatus.OK, -1)
        spec_types.refusal(api.get("/subscribe/customers/cu_card"), HTTPStatus.NOT_FOUND, 1)


def test_reissuing_a_customer_uid_binds_the_new_card_and_keeps_inserted(api):
    first = api.register("cu_again", GOOD_CARD)
    api.control("clock", {"advance": 60})

    second = api.register("cu_again", OTHER_GOOD_CARD)

    assert second["card_number"] == "555555******4444"
    assert (second["inserted"], second["updated"]) == (first["inserted"], first["updated"] + 60)


def test_get_and_delete_a_key(api):
    issued = api.register("cu_del")

    assert (
        spec_types.answer(api.get("/subscribe/customers/cu_del"), HTTPStatus.OK, spec_types.CUSTOMER)
        == issued
    )
    deleted = api.call("DELETE", "/subscribe/customers/cu_del", params={"reason": "customer asked"})
    assert spec_types.answer(deleted, HTTPStatus.OK, spec_types.CUSTOMER) == issued
    spec_types.refusal(api.get("/subscribe/customers/cu_del"), HTTPStatus.NOT_FOUND, 1)
    spec_types.refusal(api.call("DELETE", "/subscribe/customers/cu_del"), HTTPStatus.NOT_FOUND, 1)


@pytest.mark.parametrize(
    ("asked", "status", "found"),
    [
        (["cu_a", "cu_b"], HTTPStatus.OK, {"cu_a", "cu_b"}),
        (["cu_a", "cu_nobody"], HTTPStatus.MULTI_STATUS, {"cu_a"}),
    ],
)
def test_many_keys_at_once(api, asked, status, found):
    api.register("cu_a")
    api.register("cu_b")

    response = api.get("/subscribe/customers", params={"customer_uid[]": asked})

    customers = spec_types.answer(response, status, spec_types.ArrayOf(spec_types.CUSTOMER))
    assert {c["customer_uid"] for c in customers} == found


@pytest.mark.parametrize(
    ("params", "status"),
    [({"customer_uid[]": ["cu_x", "cu_y"]}, HTTPStatus.NOT_FOUND), ({}, HTTPStatus.BAD_REQUEST)],
)
def test_many_keys_none_found_or_none_asked(api, params, status):
    spec_types.refusal(api.get("/subscribe/customers", params=params), status, 1 if status == 404 else -1)


def test_a_keys_payments_come_twenty_a_page_newest_first(api):
    api.register("cu_paged")
    for number in range(21):
        api.pay("cu_paged", f"order_{number}", amount=1_000 + number)

    first = api.get("/subscribe/customers/cu_paged/payments")
    second = api.get("/subscribe/customers/cu_paged/payments", params={"page": 2})

    first = spec_types.answer(first, HTTPStatus.OK, spec_types.PAGED_PAYMENT)
    second = spec_types.answer(second, HTTPStatus.OK, spec_types.PAGED_PAYMENT)
    assert (first["total"], first["previous"], first["next"], len(first["list"])) == (21, 0, 2, 20)
    assert (second["total"], second["previous"], second["next"], len(second["list"])) == (21, 1, 0, 1)
    assert first["list"][0]["merchant_uid"] == "order_20"
    assert second["list"][0]["merchant_uid"] == "order_0"


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/subscribe/customers/cu_nobody/payments", {}, HTTPStatus.NOT_FOUND),
        ("/subscribe/customers/cu_listed/payments", {"page": "two"}, HTTPStatus.BAD_REQUEST),
        ("/subscribe/customers/cu_listed/payments", {"page": 0}, HTTPStatus.BAD_REQUEST),
    ],
)
def test_a_keys_payments_refusals(api, path, params, status):
    api.register("cu_listed")

    spec_types.refusal(api.get(path, params=params), status, 1 if status == 404 else -1)
