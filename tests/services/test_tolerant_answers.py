"""Issue 11 item 11: an odd answer from i'mport never turns a write that happened into a lost record."""

import logging

import pytest

from billing.iamport.errors import IamportOutcomeUnknown
from billing.iamport.types import CustomerAnswer, PaymentAnswer
from billing.models import BillingKeyEvent
from tests.support.iamport import customer_annotation

API = BillingKeyEvent.Source.API


def payment_annotation(**overrides):
    base = {
        "imp_uid": "imp_1",
        "merchant_uid": "pay_1",
        "amount": 1000,
        "cancel_amount": 0,
        "status": "paid",
        "paid_at": 1_700_000_000,
        "cancel_history": [],
    }
    return {**base, **overrides}


def test_odd_optional_fields_are_read_as_far_as_they_can_be(caplog):
    caplog.set_level(logging.WARNING)
    answer = PaymentAnswer.from_annotation(
        payment_annotation(
            amount="1000",
            paid_at="abc",
            cancel_amount=None,
            card_name=12,
            fail_reason=["x"],
            cancel_history="none",
            brand_new_field={"nested": True},
        )
    )

    assert (answer.amount, answer.paid_at, answer.cancel_amount) == (1000, 0, 0)
    assert (answer.card_name, answer.fail_reason, answer.cancel_history) == ("12", "", ())
    assert set(answer.deviations) == {"amount", "paid_at", "card_name", "fail_reason", "cancel_history"}
    assert answer.raw["brand_new_field"] == {"nested": True}
    assert "paid_at" in caplog.text
    assert "abc" not in caplog.text  # names the field, never its value


def test_odd_customer_fields_are_read_as_far_as_they_can_be():
    answer = CustomerAnswer.from_annotation(
        customer_annotation("cu_1", card_type="credit", inserted="1700000000", updated="soon", card_code=381)
    )

    assert (answer.card_type, answer.inserted, answer.updated, answer.card_code) == (
        None,
        1_700_000_000,
        0,
        "381",
    )


@pytest.mark.parametrize(
    "data",
    [
        payment_annotation(imp_uid=None),
        payment_annotation(merchant_uid=""),
        payment_annotation(imp_uid="imp_" + "9" * 40),  # longer than any id i'mport makes
        None,
        ["a list"],
    ],
)
def test_an_answer_without_its_ids_is_an_unknown_outcome(data):
    with pytest.raises(IamportOutcomeUnknown):
        PaymentAnswer.from_annotation(data)


def test_amounts_and_times_out_of_range_are_dropped():
    answer = PaymentAnswer.from_annotation(
        payment_annotation(amount=-5, cancel_amount=10**30, paid_at=-1, failed_at=float("nan"))
    )

    assert (answer.amount, answer.cancel_amount, answer.paid_at, answer.failed_at) == (0, 0, 0, 0)
    assert set(answer.deviations) == {"amount", "cancel_amount", "paid_at", "failed_at"}
