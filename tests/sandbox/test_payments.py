"""Charges: again, onetime (with and without issuing a key), reads, merchant_uid uniqueness."""

from http import HTTPStatus

import pytest

from . import spec_types
from .conftest import CARD, DECLINED_AT_ISSUE, DECLINED_ON_CHARGE


def test_again_charges_a_key(api):
    api.register("cu_pay")

    payment = api.pay(
        "cu_pay", "order_1", amount=9_900, buyer_name="홍길동", notice_url="http://127.0.0.1:9/x"
    )

    assert payment["status"] == "paid"
    assert (payment["amount"], payment["cancel_amount"], payment["currency"]) == (9_900, 0, "KRW")
    assert (payment["customer_uid"], payment["customer_uid_usage"]) == ("cu_pay", "payment")
    assert payment["paid_at"] == payment["started_at"] > 0
    assert (payment["failed_at"], payment["cancelled_at"], payment["fail_reason"]) == (0, 0, None)
    assert payment["card_number"] == "424242******4242"
    assert payment["cancel_history"] == [] and payment["receipt_url"]
    assert payment["buyer_name"] == "홍길동"


def test_again_on_the_card_that_fails_every_charge_answers_code_0_and_a_failed_payment(api):
    api.register("cu_poor", DECLINED_ON_CHARGE)

    payment = api.pay("cu_poor", "order_poor")

    assert payment["status"] == "failed"
    assert payment["failed_at"] == payment["started_at"] > 0
    assert (payment["paid_at"], payment["receipt_url"]) == (0, None)
    assert payment["fail_reason"]


@pytest.mark.parametrize("body", ["json", "data"])
def test_again_accepts_json_and_form_bodies(api, body):
    api.register("cu_form")
    fields = {"customer_uid": "cu_form", "merchant_uid": "order_form", "amount": "1000", "name": "June"}

    payment = spec_types.answer(
        api.post("/subscribe/payments/again", **{body: fields}), HTTPStatus.OK, spec_types.PAYMENT
    )

    assert (payment["amount"], payment["status"]) == (1_000, "paid")


def test_again_with_an_unknown_key_is_refused_with_200(api):
    response = api.post(
        "/subscribe/payments/again",
        json={"customer_uid": "cu_nobody", "merchant_uid": "o", "amount": 1000, "name": "June"},
    )

    spec_types.refusal(response, HTTPStatus.OK, 1)


def test_onetime_without_a_customer_uid_pays_and_keeps_no_key(api):
    response = api.post(
        "/subscribe/payments/onetime", json={**CARD, "merchant_uid": "order_once", "amount": 5_000}
    )

    payment = spec_types.answer(response, HTTPStatus.OK, spec_types.PAYMENT)
    assert payment["status"] == "paid"
    assert (payment["customer_uid"], payment["customer_uid_usage"]) == (None, None)


def test_onetime_with_a_customer_uid_issues_the_key_from_the_buyer(api):
    body = {**CARD, "merchant_uid": "order_issue", "amount": 5_000, "name": "first", "customer_uid": "cu_new"}

    response = api.post(
        "/subscribe/payments/onetime", json={**body, "buyer_name": "홍길동", "buyer_tel": "010"}
    )

    payment = spec_types.answer(response, HTTPStatus.OK, spec_types.PAYMENT)
    assert (payment["customer_uid"], payment["customer_uid_usage"]) == ("cu_new", "issue")
    customer = spec_types.answer(api.get("/subscribe/customers/cu_new"), HTTPStatus.OK, spec_types.CUSTOMER)
    assert (customer["customer_name"], customer["customer_tel"]) == ("홍길동", "010")
    assert customer["card_number"] == payment["card_number"]


def test_onetime_with_a_card_declined_at_issue_keeps_nothing(api):
    body = {
        **CARD,
        "card_number": DECLINED_AT_ISSUE,
        "merchant_uid": "o",
        "amount": 5_000,
        "customer_uid": "cu_x",
    }

    spec_types.refusal(api.post("/subscribe/payments/onetime", json=body), HTTPStatus.OK, -1)

    spec_types.refusal(api.get("/payments/find/o"), HTTPStatus.NOT_FOUND, 1)
    spec_types.refusal(api.get("/subscribe/customers/cu_x"), HTTPStatus.NOT_FOUND, 1)


@pytest.mark.parametrize("endpoint", ["again", "onetime"])
def test_a_paid_merchant_uid_cannot_be_paid_again(api, endpoint):
    api.register("cu_once")
    body = {"merchant_uid": "order_dup", "amount": 1_000, "name": "June"}
    body |= {"customer_uid": "cu_once"} if endpoint == "again" else CARD
    spec_types.answer(
        api.post(f"/subscribe/payments/{endpoint}", json=body), HTTPStatus.OK, spec_types.PAYMENT
    )

    spec_types.refusal(api.post(f"/subscribe/payments/{endpoint}", json=body), HTTPStatus.OK, 1)

    listed = spec_types.answer(
        api.get("/subscribe/customers/cu_once/payments"), HTTPStatus.OK, spec_types.PAGED_PAYMENT
    )
    assert listed["total"] == (1 if endpoint == "again" else 0)


def test_a_failed_merchant_uid_may_be_tried_again(api):
    api.register("cu_poor", DECLINED_ON_CHARGE)
    api.register("cu_rich")

    failed = api.pay("cu_poor", "order_retry")
    paid = api.pay("cu_rich", "order_retry")

    assert (failed["status"], paid["status"]) == ("failed", "paid")
    found = spec_types.answer(api.get("/payments/find/order_retry"), HTTPStatus.OK, spec_types.PAYMENT)
    assert found["imp_uid"] == paid["imp_uid"]
    by_status = spec_types.answer(
        api.get("/payments/find/order_retry/failed"), HTTPStatus.OK, spec_types.PAYMENT
    )
    assert by_status["imp_uid"] == failed["imp_uid"]


def test_a_payment_is_read_by_imp_uid_and_by_merchant_uid(api):
    api.register("cu_read")
    payment = api.pay("cu_read", "order_read")

    by_imp_uid = spec_types.answer(
        api.get(f"/payments/{payment['imp_uid']}"), HTTPStatus.OK, spec_types.PAYMENT
    )
    by_merchant_uid = spec_types.answer(
        api.get("/payments/find/order_read"), HTTPStatus.OK, spec_types.PAYMENT
    )
    with_status = spec_types.answer(
        api.get("/payments/find/order_read/paid"), HTTPStatus.OK, spec_types.PAYMENT
    )

    assert by_imp_uid == by_merchant_uid == with_status == payment


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/payments/imps_999999999999", HTTPStatus.NOT_FOUND, 1),
        ("/payments/find/order_nobody", HTTPStatus.NOT_FOUND, 1),
        ("/payments/find/order_known/cancelled", HTTPStatus.NOT_FOUND, 1),
        ("/payments/find/order_known/refunded", HTTPStatus.BAD_REQUEST, -1),
    ],
)
def test_unknown_payments_are_404(api, path, status, code):
    api.register("cu_known")
    api.pay("cu_known", "order_known")

    spec_types.refusal(api.get(path), status, code)
