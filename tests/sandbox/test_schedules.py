"""Scheduled payments: schedule (JSON or form), read, unschedule, and execution when their time comes."""

from http import HTTPStatus

import pytest

from . import spec_types
from .conftest import CARD, DECLINED_ON_CHARGE

SCHEDULES = spec_types.ArrayOf(spec_types.SCHEDULE_RESULT)


def now(api) -> int:
    return api.control("clock", {"advance": 0})["now"]


def schedule(api, customer_uid: str, *orders: dict, **extra):
    return api.post(
        "/subscribe/payments/schedule",
        json={"customer_uid": customer_uid, "schedules": list(orders), **extra},
    )


def order(api, merchant_uid: str, in_seconds: int = 60, **extra) -> dict:
    return {
        "merchant_uid": merchant_uid,
        "schedule_at": now(api) + in_seconds,
        "amount": 9_900,
        "name": "monthly",
        **extra,
    }


def test_a_schedule_is_registered_read_and_run_when_due(api, receiver):
    api.register("cu_sub", customer_name="홍길동", customer_email="g@example.com")
    registered = spec_types.answer(
        schedule(api, "cu_sub", order(api, "sub_1", notice_url=receiver.url), order(api, "sub_2", 3_600)),
        HTTPStatus.OK,
        SCHEDULES,
    )
    assert [
        (s["merchant_uid"], s["schedule_status"], s["payment_status"], s["imp_uid"]) for s in registered
    ] == [
        ("sub_1", "scheduled", None, None),
        ("sub_2", "scheduled", None, None),
    ]
    assert registered[0]["buyer_name"] == "홍길동"  # buyer_* fall back to the key's customer_*

    assert api.control("run-due") == {"executed": 0}
    api.control("clock", {"advance": 61})
    assert api.control("run-due") == {"executed": 1}

    executed = spec_types.answer(
        api.get("/subscribe/payments/schedule/sub_1"), HTTPStatus.OK, spec_types.SCHEDULE_RESULT
    )
    assert (executed["schedule_status"], executed["payment_status"]) == ("executed", "paid")
    assert executed["executed_at"] >= executed["schedule_at"]
    payment = spec_types.answer(
        api.get(f"/payments/{executed['imp_uid']}"), HTTPStatus.OK, spec_types.PAYMENT
    )
    assert (payment["merchant_uid"], payment["amount"], payment["status"]) == ("sub_1", 9_900, "paid")
    assert (payment["customer_uid"], payment["customer_uid_usage"]) == ("cu_sub", "payment.scheduled")
    assert receiver.next() == (
        HTTPStatus.OK,
        {"imp_uid": payment["imp_uid"], "merchant_uid": "sub_1", "status": "paid"},
    )
    later = spec_types.answer(
        api.get("/subscribe/payments/schedule/sub_2"), HTTPStatus.OK, spec_types.SCHEDULE_RESULT
    )
    assert later["schedule_status"] == "scheduled"


def test_a_scheduled_charge_on_a_failing_card_fails_and_notifies_the_configured_url(api, app, receiver):
    app.webhook_url = receiver.url
    api.register("cu_poor", DECLINED_ON_CHARGE)
    spec_types.answer(schedule(api, "cu_poor", order(api, "sub_poor")), HTTPStatus.OK, SCHEDULES)
    api.control("clock", {"advance": 61})

    api.control("run-due")

    result = spec_types.answer(
        api.get("/subscribe/payments/schedule/sub_poor"), HTTPStatus.OK, spec_types.SCHEDULE_RESULT
    )
    assert (result["schedule_status"], result["payment_status"]) == ("executed", "failed")
    assert result["fail_reason"]
    _, body = receiver.next()
    assert (body["merchant_uid"], body["status"]) == ("sub_poor", "failed")


def test_schedules_as_a_form_body(api):
    api.register("cu_form")
    at = now(api) + 60
    form = {
        "customer_uid": "cu_form",
        "schedules[0][merchant_uid]": "form_1",
        "schedules[0][schedule_at]": str(at),
        "schedules[0][amount]": "1000",
        "schedules[0][name]": "monthly",
        "schedules[1][merchant_uid]": "form_2",
        "schedules[1][schedule_at]": str(at + 60),
        "schedules[1][amount]": "2000",
        "schedules[1][name]": "monthly",
    }

    registered = spec_types.answer(
        api.post("/subscribe/payments/schedule", data=form), HTTPStatus.OK, SCHEDULES
    )

    assert [(s["merchant_uid"], s["amount"], s["schedule_at"]) for s in registered] == [
        ("form_1", 1_000, at),
        ("form_2", 2_000, at + 60),
    ]
    revoked = api.post(
        "/subscribe/payments/unschedule", data={"customer_uid": "cu_form", "merchant_uid[]": ["form_1"]}
    )
    assert [s["merchant_uid"] for s in spec_types.answer(revoked, HTTPStatus.OK, SCHEDULES)] == ["form_1"]


def test_a_schedule_for_a_new_customer_uid_issues_the_key_from_card_data(api):
    response = schedule(api, "cu_fresh", order(api, "fresh_1"), **CARD)

    spec_types.answer(response, HTTPStatus.OK, SCHEDULES)
    spec_types.answer(api.get("/subscribe/customers/cu_fresh"), HTTPStatus.OK, spec_types.CUSTOMER)


def test_unschedule_revokes_and_a_revoked_schedule_never_runs(api):
    api.register("cu_rev")
    spec_types.answer(
        schedule(api, "cu_rev", order(api, "rev_1"), order(api, "rev_2")), HTTPStatus.OK, SCHEDULES
    )

    revoked = api.post(
        "/subscribe/payments/unschedule", json={"customer_uid": "cu_rev", "merchant_uid": ["rev_1"]}
    )
    revoked = spec_types.answer(revoked, HTTPStatus.OK, SCHEDULES)
    again = api.post(
        "/subscribe/payments/unschedule", json={"customer_uid": "cu_rev", "merchant_uid": ["rev_1"]}
    )
    spec_types.refusal(again, HTTPStatus.OK, 1)
    api.control("clock", {"advance": 61})
    assert api.control("run-due") == {"executed": 1}

    assert [(s["merchant_uid"], s["schedule_status"]) for s in revoked] == [("rev_1", "revoked")]
    assert revoked[0]["revoked_at"] > 0
    first = spec_types.answer(
        api.get("/subscribe/payments/schedule/rev_1"), HTTPStatus.OK, spec_types.SCHEDULE_RESULT
    )
    assert (first["schedule_status"], first["imp_uid"], first["payment_status"]) == ("revoked", None, None)
    spec_types.refusal(api.get("/payments/find/rev_1"), HTTPStatus.NOT_FOUND, 1)


def test_unschedule_without_merchant_uid_revokes_all_of_the_customers(api):
    api.register("cu_all")
    spec_types.answer(
        schedule(api, "cu_all", order(api, "all_1"), order(api, "all_2")), HTTPStatus.OK, SCHEDULES
    )

    revoked = spec_types.answer(
        api.post("/subscribe/payments/unschedule", json={"customer_uid": "cu_all"}), HTTPStatus.OK, SCHEDULES
    )

    assert {s["merchant_uid"] for s in revoked} == {"all_1", "all_2"}
    spec_types.refusal(
        api.post("/subscribe/payments/unschedule", json={"customer_uid": "cu_all"}), HTTPStatus.OK, 1
    )


def test_a_refunded_scheduled_payment_shows_cancelled(api):
    api.register("cu_refund")
    spec_types.answer(schedule(api, "cu_refund", order(api, "sub_refund")), HTTPStatus.OK, SCHEDULES)
    api.control("clock", {"advance": 61})
    api.control("run-due")

    spec_types.answer(
        api.post("/payments/cancel", json={"merchant_uid": "sub_refund"}), HTTPStatus.OK, spec_types.PAYMENT
    )

    result = spec_types.answer(
        api.get("/subscribe/payments/schedule/sub_refund"), HTTPStatus.OK, spec_types.SCHEDULE_RESULT
    )
    assert result["payment_status"] == "cancelled"


def test_a_key_with_pending_schedules_cannot_be_deleted(api):
    api.register("cu_keep")
    spec_types.answer(schedule(api, "cu_keep", order(api, "keep_1")), HTTPStatus.OK, SCHEDULES)

    spec_types.refusal(api.call("DELETE", "/subscribe/customers/cu_keep"), HTTPStatus.OK, 1)
    spec_types.answer(api.get("/subscribe/customers/cu_keep"), HTTPStatus.OK, spec_types.CUSTOMER)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"customer_uid": "cu_v"}, HTTPStatus.BAD_REQUEST, -1),
        ({"schedules": "__order__"}, HTTPStatus.BAD_REQUEST, -1),
        ({"customer_uid": "cu_v", "schedules": []}, HTTPStatus.BAD_REQUEST, -1),
        ({"customer_uid": "cu_v", "schedules": ["x"]}, HTTPStatus.BAD_REQUEST, -1),
        ({"customer_uid": "cu_v", "schedules": "not json"}, HTTPStatus.BAD_REQUEST, -1),
        (
            {"customer_uid": "cu_v", "schedules": "__order__", "drop": "schedule_at"},
            HTTPStatus.BAD_REQUEST,
            -1,
        ),
        ({"customer_uid": "cu_v", "schedules": "__order__", "drop": "amount"}, HTTPStatus.BAD_REQUEST, -1),
        ({"customer_uid": "cu_v", "schedules": "__order__", "drop": "name"}, HTTPStatus.BAD_REQUEST, -1),
        (
            {"customer_uid": "cu_v", "schedules": "__order__", "set": {"schedule_at": "soon"}},
            HTTPStatus.BAD_REQUEST,
            -1,
        ),
        (
            {"customer_uid": "cu_v", "schedules": "__order__", "set": {"schedule_at": 1}},
            HTTPStatus.BAD_REQUEST,
            -1,
        ),
        (
            {"customer_uid": "cu_v", "schedules": "__order__", "set": {"amount": True}},
            HTTPStatus.BAD_REQUEST,
            -1,
        ),
        (
            {"customer_uid": "cu_v", "schedules": "__order__", "set": {"merchant_uid": "m" * 41}},
            HTTPStatus.BAD_REQUEST,
            -1,
        ),
        ({"customer_uid": "cu_v", "schedules": "__twice__"}, HTTPStatus.OK, 1),
        (
            {"customer_uid": "cu_v", "schedules": "__order__", "set": {"merchant_uid": "taken"}},
            HTTPStatus.OK,
            1,
        ),
        (
            {"customer_uid": "cu_v", "schedules": "__order__", "set": {"merchant_uid": "paid_one"}},
            HTTPStatus.OK,
            1,
        ),
        ({"customer_uid": "cu_nobody", "schedules": "__order__"}, HTTPStatus.OK, 1),
    ],
)
def test_schedule_refusals(api, body, status, code):
    api.register("cu_v")
    api.pay("cu_v", "paid_one")
    spec_types.answer(schedule(api, "cu_v", order(api, "taken")), HTTPStatus.OK, SCHEDULES)
    one = order(api, "v_1")
    body = dict(body)
    one.pop(body.pop("drop", None), None)
    one |= body.pop("set", {})
    if body.get("schedules") == "__order__":
        body["schedules"] = [one]
    elif body.get("schedules") == "__twice__":
        body["schedules"] = [one, one]

    spec_types.refusal(api.post("/subscribe/payments/schedule", json=body), status, code)

    spec_types.refusal(api.get("/subscribe/payments/schedule/v_1"), HTTPStatus.NOT_FOUND, 1)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, HTTPStatus.BAD_REQUEST, -1),
        ({"customer_uid": "cu_u", "merchant_uid": {"a": 1}}, HTTPStatus.BAD_REQUEST, -1),
        ({"customer_uid": "cu_u", "merchant_uid": ["nothing_here"]}, HTTPStatus.OK, 1),
        ({"customer_uid": "cu_other", "merchant_uid": "u_1"}, HTTPStatus.OK, 1),
    ],
)
def test_unschedule_refusals(api, body, status, code):
    api.register("cu_u")
    spec_types.answer(schedule(api, "cu_u", order(api, "u_1")), HTTPStatus.OK, SCHEDULES)

    spec_types.refusal(api.post("/subscribe/payments/unschedule", json=body), status, code)

    still = spec_types.answer(
        api.get("/subscribe/payments/schedule/u_1"), HTTPStatus.OK, spec_types.SCHEDULE_RESULT
    )
    assert still["schedule_status"] == "scheduled"


def test_a_scheduled_merchant_uid_cannot_be_charged_directly(api):
    api.register("cu_hold")
    spec_types.answer(schedule(api, "cu_hold", order(api, "held")), HTTPStatus.OK, SCHEDULES)

    body = {"customer_uid": "cu_hold", "merchant_uid": "held", "amount": 100, "name": "x"}
    spec_types.refusal(api.post("/subscribe/payments/again", json=body), HTTPStatus.OK, 1)


def test_the_served_clock_runs_due_schedules_on_its_own(served, receiver):
    served.register("cu_clock")
    spec_types.answer(
        schedule(served, "cu_clock", order(served, "clock_1", 1, notice_url=receiver.url)),
        HTTPStatus.OK,
        SCHEDULES,
    )
    served.control("clock", {"advance": 5})

    _, body = receiver.next(timeout=10)  # the server's clock ticks once a second

    assert (body["merchant_uid"], body["status"]) == ("clock_1", "paid")
