"""POST /payments/cancel: partial then full, cancel_history, the checksum guard, over-refunds."""

from http import HTTPStatus

import pytest

from . import spec_types
from .conftest import DECLINED_ON_CHARGE


@pytest.fixture
def paid(api) -> dict:
    api.register("cu_refund")
    return api.pay("cu_refund", "order_refund", amount=10_000)


def cancel(api, **body):
    return api.post("/payments/cancel", json=body)


def test_a_partial_then_a_full_refund(api, paid):
    partial = spec_types.answer(
        cancel(api, merchant_uid="order_refund", amount=3_000, reason="damaged", checksum=10_000),
        HTTPStatus.OK,
        spec_types.PAYMENT,
    )
    api.control("clock", {"advance": 10})
    full = spec_types.answer(
        cancel(api, imp_uid=paid["imp_uid"], reason="returned"), HTTPStatus.OK, spec_types.PAYMENT
    )

    assert (partial["status"], partial["cancel_amount"]) == ("paid", 3_000)
    assert [c["amount"] for c in partial["cancel_history"]] == [3_000]
    assert partial["cancelled_at"] >= partial["paid_at"] > 0
    assert (full["status"], full["cancel_amount"], full["cancel_reason"]) == ("cancelled", 10_000, "returned")
    assert [(c["amount"], c["reason"]) for c in full["cancel_history"]] == [
        (3_000, "damaged"),
        (7_000, "returned"),
    ]
    assert full["cancelled_at"] == full["cancel_history"][1]["cancelled_at"] == partial["cancelled_at"] + 10
    assert len({c["cancellation_id"] for c in full["cancel_history"]}) == 2
    assert len(full["cancel_receipt_urls"]) == 2
    assert full["paid_at"] == paid["paid_at"]


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 1_000, "checksum": 9_000},
        {"checksum": 0},
        {"amount": 10_001},
        {"amount": -5},
    ],
    ids=["checksum-mismatch", "checksum-zero", "over-refund", "negative"],
)
def test_a_refused_refund_changes_nothing(api, paid, body):
    spec_types.refusal(cancel(api, merchant_uid="order_refund", reason="x", **body), HTTPStatus.OK, 1)

    after = spec_types.answer(api.get(f"/payments/{paid['imp_uid']}"), HTTPStatus.OK, spec_types.PAYMENT)
    assert after == paid


def test_after_a_partial_refund_the_checksum_is_what_is_left(api, paid):
    cancel(api, merchant_uid="order_refund", amount=4_000, reason="first")

    spec_types.refusal(
        cancel(api, merchant_uid="order_refund", amount=4_000, checksum=10_000), HTTPStatus.OK, 1
    )
    again = cancel(api, merchant_uid="order_refund", amount=4_000, checksum=6_000, reason="second")

    assert spec_types.answer(again, HTTPStatus.OK, spec_types.PAYMENT)["cancel_amount"] == 8_000


def test_a_fully_refunded_or_failed_payment_cannot_be_refunded(api, paid):
    cancel(api, merchant_uid="order_refund", reason="all")
    api.register("cu_poor", DECLINED_ON_CHARGE)
    api.pay("cu_poor", "order_failed")

    spec_types.refusal(cancel(api, merchant_uid="order_refund"), HTTPStatus.OK, 1)
    spec_types.refusal(cancel(api, merchant_uid="order_failed"), HTTPStatus.OK, 1)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"merchant_uid": "order_nobody"}, HTTPStatus.OK, 1),
        ({"imp_uid": "imps_nobody"}, HTTPStatus.OK, 1),
        ({"imp_uid": "__paid__", "merchant_uid": "someone_else"}, HTTPStatus.OK, 1),
        ({}, HTTPStatus.BAD_REQUEST, -1),
        ({"merchant_uid": "order_refund", "amount": "lots"}, HTTPStatus.BAD_REQUEST, -1),
        ({"merchant_uid": "order_refund", "checksum": [1]}, HTTPStatus.BAD_REQUEST, -1),
        ({"merchant_uid": "order_refund", "amount": 10.5}, HTTPStatus.OK, 1),
    ],
)
def test_refund_refusals(api, paid, body, status, code):
    if body.get("imp_uid") == "__paid__":
        body["imp_uid"] = paid["imp_uid"]

    spec_types.refusal(cancel(api, **body), status, code)


def test_a_refund_by_form_body(api, paid):
    response = api.post(
        "/payments/cancel", data={"merchant_uid": "order_refund", "amount": "2500", "checksum": "10000"}
    )

    assert spec_types.answer(response, HTTPStatus.OK, spec_types.PAYMENT)["cancel_amount"] == 2_500
