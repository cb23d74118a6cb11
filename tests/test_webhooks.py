"""The i'mport notification endpoint: never trusts the body, idempotent, every delivery recorded."""

import datetime
import json
from http import HTTPStatus

import pytest
from django.utils import timezone

from billing.models import Payment, WebhookDelivery
from tests.support.iamport import envelope

pytestmark = pytest.mark.django_db

URL = "/billing/webhooks/iamport/"
Result = WebhookDelivery.Result


def deliver(client, body, *, as_form=False, **extra):
    if as_form:
        return client.post(URL, body, **extra)
    return client.post(URL, json.dumps(body), content_type="application/json", **extra)


@pytest.fixture
def unknown_payment(active_key, ledger) -> Payment:
    """A charge that timed out here but went through at i'mport."""
    ledger.add_paid("pay_timed_out", 9_900)
    return Payment.objects.create(
        merchant_uid="pay_timed_out",
        billing_key=active_key,
        owner=active_key.owner,
        amount=9_900,
        name="order",
        status=Payment.Status.UNKNOWN,
    )


def body_for(ledger, merchant_uid, **overrides):
    at = ledger.payments[merchant_uid]
    return {"imp_uid": at["imp_uid"], "merchant_uid": merchant_uid, "status": at["status"], **overrides}


@pytest.mark.parametrize("as_form", [False, True])
def test_a_notification_resolves_the_payment_from_i_mport(client, unknown_payment, ledger, as_form):
    response = deliver(client, body_for(ledger, "pay_timed_out"), as_form=as_form)

    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"result": "processed"}
    unknown_payment.refresh_from_db()
    assert (unknown_payment.status, unknown_payment.imp_uid) == (
        "paid",
        ledger.payments["pay_timed_out"]["imp_uid"],
    )
    assert ledger.calls("GET", "/payments/imp_") == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.result, delivery.payment, delivery.claimed_status) == (
        Result.PROCESSED,
        unknown_payment,
        "paid",
    )


def test_a_repeated_delivery_is_a_duplicate(client, unknown_payment, ledger):
    body = body_for(ledger, "pay_timed_out")

    results = [deliver(client, body) for _ in range(3)]

    assert [r.status_code for r in results] == [HTTPStatus.OK] * 3
    assert [r.json()["result"] for r in results] == ["processed", "duplicate", "duplicate"]
    assert WebhookDelivery.objects.count() == 3
    assert ledger.calls("GET", "/payments/imp_") == 1  # repeats of one notification are not re-read


def test_a_different_notification_of_the_same_payment_is_read(client, paid_payment, ledger):
    first = body_for(ledger, "pay_paid_1")
    deliver(client, first)
    deliver(client, first)
    deliver(client, {**first, "status": "cancelled"})

    assert ledger.calls("GET", "/payments/imp_") == 2


def test_a_notification_for_a_payment_we_do_not_have_costs_no_read(client, ledger):
    ledger.add_paid("pay_not_ours", 1_000)
    for _ in range(3):
        deliver(client, body_for(ledger, "pay_not_ours"))

    assert ledger.calls("GET", "/payments/") == 0


def test_an_out_of_order_delivery_changes_nothing_wrongly(client, paid_payment, ledger, merchant_client):
    merchant_client.post("/api/v1/payments/pay_paid_1/refund/", {"reason": "x"}, format="json")

    late_paid = deliver(client, body_for(ledger, "pay_paid_1", status="paid"))

    assert late_paid.json()["result"] == "duplicate"
    paid_payment.refresh_from_db()
    assert (paid_payment.status, paid_payment.cancelled_amount) == ("cancelled", 10_000)


def test_a_forged_amount_in_the_body_is_rejected_and_changes_nothing(client, unknown_payment, ledger):
    response = deliver(client, body_for(ledger, "pay_timed_out", amount=100))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["result"] == "rejected"
    unknown_payment.refresh_from_db()
    assert unknown_payment.status == Payment.Status.UNKNOWN
    assert WebhookDelivery.objects.get().result == Result.REJECTED


def test_a_payment_of_another_amount_at_i_mport_is_rejected(client, active_key, ledger):
    ledger.add_paid("pay_cheap", 100)
    Payment.objects.create(
        merchant_uid="pay_cheap", billing_key=active_key, owner=active_key.owner, amount=9_900, name="x"
    )

    response = deliver(client, body_for(ledger, "pay_cheap"))

    assert response.json()["result"] == "rejected"
    assert Payment.objects.get().status == Payment.Status.READY


def test_an_imp_uid_of_another_payment_is_rejected(client, unknown_payment, paid_payment, ledger):
    forged = {"imp_uid": paid_payment.imp_uid, "merchant_uid": "pay_timed_out", "status": "paid"}

    response = deliver(client, forged)

    assert response.json()["result"] == "rejected"
    unknown_payment.refresh_from_db()
    assert unknown_payment.status == Payment.Status.UNKNOWN


def test_an_unknown_merchant_uid_is_ignored(client, ledger):
    response = deliver(client, {"imp_uid": "imp_1", "merchant_uid": "pay_not_ours", "status": "paid"})

    assert (response.status_code, response.json()["result"]) == (HTTPStatus.OK, "ignored")
    assert ledger.calls("GET", "/payments/") == 0


def test_i_mport_unavailable_answers_503_so_it_retries(client, unknown_payment, ledger):
    ledger.fault("get", status=503, body=envelope(code=-1, message="down"))

    response = deliver(client, body_for(ledger, "pay_timed_out"))

    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert WebhookDelivery.objects.get().result == Result.FAILED


def test_a_body_without_ids_is_400(client, ledger):
    response = deliver(client, {"status": "paid"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert WebhookDelivery.objects.get().result == Result.REJECTED


@pytest.mark.parametrize(
    ("remote", "expected"), [("52.78.100.19", HTTPStatus.OK), ("10.0.0.9", HTTPStatus.FORBIDDEN)]
)
def test_allow_list(client, unknown_payment, ledger, settings, remote, expected):
    settings.BILLING = {**settings.BILLING, "WEBHOOK_ALLOWED_IPS": ["52.78.100.19", "52.78.48.223"]}

    response = deliver(client, body_for(ledger, "pay_timed_out"), REMOTE_ADDR=remote)

    assert response.status_code == expected
    assert WebhookDelivery.objects.get().source_ip == remote


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (0, "52.78.100.19", HTTPStatus.FORBIDDEN),  # no proxy configured: a claimed address is ignored
        (1, "52.78.100.19", HTTPStatus.OK),  # our proxy says i'mport sent it
        (1, "52.78.100.19, 10.0.0.9", HTTPStatus.FORBIDDEN),  # the proxy saw 10.0.0.9 claim i'mport's address
    ],
)
def test_allow_list_behind_a_proxy(
    client, unknown_payment, ledger, settings, proxies, forwarded_for, expected
):
    settings.BILLING = {**settings.BILLING, "WEBHOOK_ALLOWED_IPS": ["52.78.100.19"]}
    settings.BILLING = {**settings.BILLING, "NUM_PROXIES": proxies}

    response = deliver(
        client, body_for(ledger, "pay_timed_out"), REMOTE_ADDR="10.1.1.1", HTTP_X_FORWARDED_FOR=forwarded_for
    )

    assert response.status_code == expected


def test_only_post(client):
    assert client.get(URL).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_nothing_but_the_named_fields_is_kept(client, unknown_payment, ledger):
    deliver(client, body_for(ledger, "pay_timed_out", card_number="4242-4242-4242-4242"))

    assert "card_number" not in WebhookDelivery.objects.get().body


def test_a_rejected_delivery_is_recorded_with_what_it_claimed(client, unknown_payment, ledger, settings):
    settings.BILLING = {**settings.BILLING, "WEBHOOK_ALLOWED_IPS": ["52.78.100.19"]}
    body = body_for(ledger, "pay_timed_out")

    response = deliver(client, body, REMOTE_ADDR="10.0.0.9")

    assert response.status_code == HTTPStatus.FORBIDDEN
    delivery = WebhookDelivery.objects.get()
    assert (delivery.imp_uid, delivery.merchant_uid, delivery.claimed_status) == (
        body["imp_uid"],
        "pay_timed_out",
        "paid",
    )
    assert (delivery.source_ip, delivery.result) == ("10.0.0.9", Result.REJECTED)
    assert delivery.body == body
    assert delivery.detail == "Source address not allowed."
    assert delivery.payment is None
    assert Payment.objects.get().status == Payment.Status.UNKNOWN  # nothing was read or changed


def test_a_delivery_without_ids_is_recorded_with_its_reason(client, ledger):
    deliver(client, {"status": "paid", "imp_uid": ""})

    delivery = WebhookDelivery.objects.get()
    assert (delivery.imp_uid, delivery.merchant_uid, delivery.claimed_status) == ("", "", "paid")
    assert delivery.detail == "imp_uid or merchant_uid missing."


@pytest.mark.parametrize("amount", [9_900, "9900"])
def test_a_body_claiming_the_true_amount_is_processed(client, unknown_payment, ledger, amount):
    response = deliver(client, body_for(ledger, "pay_timed_out", amount=amount))

    assert response.json()["result"] == "processed"
    unknown_payment.refresh_from_db()
    assert unknown_payment.status == Payment.Status.PAID


def test_a_rejection_says_why(client, unknown_payment, paid_payment, ledger):
    forged = {"imp_uid": paid_payment.imp_uid, "merchant_uid": "pay_timed_out", "status": "paid"}

    deliver(client, forged)

    assert (
        WebhookDelivery.objects.get().detail == "i'mport says this imp_uid belongs to another merchant_uid."
    )


# --- every delivery is recorded with its result, its reason and the payment it concerned ----------


def test_each_outcome_is_recorded_with_its_reason_and_payment(client, unknown_payment, paid_payment, ledger):
    """What support reads in the admin: one row per delivery, saying what was done and why."""
    timed_out = body_for(ledger, "pay_timed_out")
    deliveries = [
        (
            {"imp_uid": "imp_999999999999", "merchant_uid": "pay_timed_out", "status": "paid"},
            "i'mport has no payment with this imp_uid.",
        ),
        ({**timed_out, "amount": 100}, "The body claims 100 won; i'mport says 9900 won."),
        (timed_out, "Now paid."),
        (timed_out, "An identical notification was already read: paid."),
        ({**timed_out, "imp_uid": paid_payment.imp_uid}, "The imp_uid is not this payment's."),
        (
            {"imp_uid": "imp_1", "merchant_uid": "pay_not_ours", "status": "paid"},
            "No local payment has this merchant_uid.",
        ),
    ]

    for body, _ in deliveries:
        deliver(client, body)

    recorded = list(
        WebhookDelivery.objects.order_by("id").values_list("result", "detail", "payment__merchant_uid")
    )
    assert [(result, merchant_uid) for result, _, merchant_uid in recorded] == [
        (Result.REJECTED, "pay_timed_out"),
        (Result.REJECTED, "pay_timed_out"),
        (Result.PROCESSED, "pay_timed_out"),
        (Result.DUPLICATE, "pay_timed_out"),
        (Result.REJECTED, "pay_timed_out"),
        (Result.IGNORED, None),
    ]
    assert [detail for _, detail, _ in recorded] == [expected for _, expected in deliveries]


def test_a_delivery_i_mport_could_not_be_read_for_names_the_error_and_the_payment(
    client, unknown_payment, ledger
):
    ledger.fault("get", status=503, body=envelope(code=-1, message="down"))

    deliver(client, body_for(ledger, "pay_timed_out"))

    delivery = WebhookDelivery.objects.get()
    assert (delivery.result, delivery.payment) == (Result.FAILED, unknown_payment)
    assert delivery.detail == "i'mport could not be read (IamportUnavailable)."
    event = unknown_payment.billing_key.events.get()
    assert (event.source, event.iamport_message) == ("webhook", "down")


def earlier_delivery(payment, body, result, *, minutes_ago=0):
    delivery = WebhookDelivery.objects.create(
        imp_uid=body["imp_uid"], merchant_uid=payment.merchant_uid, payment=payment, body=body, result=result
    )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        received_at=timezone.now() - datetime.timedelta(minutes=minutes_ago)
    )


def test_a_repeat_for_a_payment_still_unsettled_is_read_not_skipped(client, unknown_payment, ledger):
    body = body_for(ledger, "pay_timed_out")
    Payment.objects.filter(pk=unknown_payment.pk).update(imp_uid=body["imp_uid"])  # known, not yet settled
    earlier_delivery(unknown_payment, body, Result.DUPLICATE)

    assert deliver(client, body).json()["result"] == "processed"
    unknown_payment.refresh_from_db()
    assert unknown_payment.status == Payment.Status.PAID


@pytest.mark.parametrize(
    ("result", "minutes_ago"),
    [(Result.REJECTED, 0), (Result.FAILED, 0), (Result.PROCESSED, 11)],
    ids=["after a rejected one", "after a failed read", "after the repeat window"],
)
def test_an_identical_delivery_is_read_again_unless_one_was_just_acted_on(
    client, paid_payment, ledger, result, minutes_ago
):
    body = {"imp_uid": paid_payment.imp_uid, "merchant_uid": paid_payment.merchant_uid, "status": "paid"}
    earlier_delivery(paid_payment, body, result, minutes_ago=minutes_ago)
    reads = ledger.calls("GET", "/payments/")

    deliver(client, body)

    assert ledger.calls("GET", "/payments/") == reads + 1  # read again: not skipped as a repeat
    assert WebhookDelivery.objects.latest("id").detail != "An identical notification was already read: paid."
