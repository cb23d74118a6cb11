"""Charging end to end: the site on a live server, the sandbox over HTTP, faults injected between.

After each scenario every local payment must equal what the sandbox says: no double charge, no
lost payment.
"""

import time
from http import HTTPStatus

import pytest
import requests
from django.core.management import call_command

from billing import services
from billing.cards import CardDetails
from billing.iamport import reset_client
from billing.models import BillingKey, BillingKeyEvent, Payment, WebhookDelivery

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]

GOOD_CARD = "4242-4242-4242-4242"
DECLINING_CARD = "4000-0000-0000-9995"  # issued; every charge fails


def card(number: str) -> CardDetails:
    return CardDetails(number=number, expiry="2030-12", birth="900101", pwd_2digit="12")


def register(owner, number: str = GOOD_CARD) -> BillingKey:
    return services.register_card(owner=owner, card=card(number), source=BillingKeyEvent.Source.WEB)


def charge(site, billing_key, amount=9_900, **extra) -> requests.Response:
    return site.post(
        "/api/v1/payments/",
        {"customer_uid": billing_key.customer_uid, "amount": amount, "name": "June", **extra},
    )


def assert_mirrors_sandbox(sandbox) -> None:
    """Every local payment is what the sandbox says, and each intent was charged at most once."""
    for payment in Payment.objects.select_related("billing_key"):
        at_sandbox = [
            p
            for p in sandbox.payments_of(payment.billing_key.customer_uid)
            if p["merchant_uid"] == payment.merchant_uid
        ]
        assert len(at_sandbox) <= 1, f"{payment.merchant_uid} charged {len(at_sandbox)} times"
        theirs = sandbox.payment(payment.merchant_uid)
        ours = (payment.imp_uid, payment.status, payment.amount, payment.cancelled_amount)
        assert ours == (theirs["imp_uid"], theirs["status"], theirs["amount"], theirs["cancel_amount"])
        assert payment.refunds.count() == len(theirs.get("cancel_history") or [])


def test_charge_then_partial_and_full_refund_and_a_double_refund(sandbox_http, merchant_site, customer):
    key = register(customer)

    charged = charge(merchant_site, key, amount=10_000)
    assert charged.status_code == HTTPStatus.CREATED, charged.text
    merchant_uid = charged.json()["merchant_uid"]
    refund = f"/api/v1/payments/{merchant_uid}/refund/"

    partial = merchant_site.post(refund, {"amount": 3_000, "reason": "damaged"})
    full = merchant_site.post(refund, {"reason": "returned"})
    again = merchant_site.post(refund, {"reason": "twice"})

    assert (partial.status_code, partial.json()["cancelled_amount"]) == (HTTPStatus.OK, 3_000)
    assert (full.status_code, full.json()["status"]) == (HTTPStatus.OK, "cancelled")
    assert again.status_code == HTTPStatus.CONFLICT
    assert sandbox_http.payment(merchant_uid)["cancel_amount"] == 10_000
    assert_mirrors_sandbox(sandbox_http)


def test_a_refund_from_a_stale_mirror_is_refused_by_i_mport(sandbox_http, merchant_site, customer):
    key = register(customer)
    merchant_uid = charge(merchant_site, key, amount=10_000).json()["merchant_uid"]
    refund = f"/api/v1/payments/{merchant_uid}/refund/"
    merchant_site.post(refund, {"amount": 4_000, "reason": "first"})
    # Another process's view, from before the first refund: it would refund 10,000 again.
    Payment.objects.filter(merchant_uid=merchant_uid).update(cancelled_amount=0)

    double = merchant_site.post(refund, {"amount": 4_000, "reason": "double"})

    assert double.status_code == HTTPStatus.PAYMENT_REQUIRED, double.text
    assert sandbox_http.payment(merchant_uid)["cancel_amount"] == 4_000
    assert_mirrors_sandbox(sandbox_http)


def test_the_decline_card_is_issued_and_every_charge_fails(sandbox_http, merchant_site, customer):
    key = register(customer, DECLINING_CARD)
    assert key.status == BillingKey.Status.ACTIVE

    responses = [charge(merchant_site, key) for _ in range(2)]

    assert [r.status_code for r in responses] == [HTTPStatus.PAYMENT_REQUIRED] * 2
    assert {r.json()["payment"]["status"] for r in responses} == {"failed"}
    assert all(r.json()["detail"] for r in responses)
    assert_mirrors_sandbox(sandbox_http)


@pytest.mark.parametrize(("number", "status"), [(GOOD_CARD, "paid"), (DECLINING_CARD, "failed")])
def test_register_and_pay(sandbox_http, live_server, customer, number, status):
    key, payment = services.register_card_and_pay(
        owner=customer, card=card(number), source=BillingKeyEvent.Source.API
    )

    assert payment.status == status
    key.refresh_from_db()
    assert key.status == BillingKey.Status.ACTIVE
    assert key.masked_card_number and GOOD_CARD not in key.masked_card_number
    assert_mirrors_sandbox(sandbox_http)


def test_timeout_during_a_charge_then_webhooks_and_reconcile(sandbox_http, merchant_site, customer, settings):
    key = register(customer)
    settings.BILLING = {**settings.BILLING, "READ_TIMEOUT": 0.5}
    reset_client()
    sandbox_http.faults(hang="after", hang_seconds=2)

    timed_out = charge(merchant_site, key, merchant_uid="order-e2e-0001")

    assert timed_out.status_code == HTTPStatus.GATEWAY_TIMEOUT, timed_out.text
    assert Payment.objects.get().status == Payment.Status.UNKNOWN
    sandbox_http.clear_faults()
    settings.BILLING = {**settings.BILLING, "READ_TIMEOUT": 30.0}
    reset_client()

    call_command("reconcile")

    payment = Payment.objects.get()
    assert payment.status == Payment.Status.PAID
    assert (
        len([p for p in sandbox_http.payments_of(key.customer_uid) if p["merchant_uid"] == "order-e2e-0001"])
        == 1
    )
    retry = charge(merchant_site, key, merchant_uid="order-e2e-0001")
    assert (retry.status_code, retry.json()["imp_uid"]) == (HTTPStatus.CREATED, payment.imp_uid)
    assert_mirrors_sandbox(sandbox_http)


def test_the_sandbox_notifies_the_site_of_a_charge(sandbox_http, merchant_site, customer):
    key = register(customer)

    merchant_uid = charge(merchant_site, key).json()["merchant_uid"]

    deliveries = WebhookDelivery.objects.filter(merchant_uid=merchant_uid)
    deadline = time.monotonic() + 10
    while not deliveries.exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # polling for a condition, bounded by the deadline
    assert deliveries.exists(), "no notification arrived"
    assert set(deliveries.values_list("result", flat=True)) <= {"processed", "duplicate"}
    assert_mirrors_sandbox(sandbox_http)


def test_duplicated_and_forged_webhooks(sandbox_http, merchant_site, customer, live_server, settings):
    settings.BILLING = {**settings.BILLING, "NOTICE_URL": ""}  # only the deliveries this test sends
    key = register(customer)
    paid = charge(merchant_site, key).json()
    # As if the charge's answer had been lost: the notification is what resolves it.
    Payment.objects.filter(merchant_uid=paid["merchant_uid"]).update(
        status=Payment.Status.UNKNOWN, imp_uid=None
    )
    url = live_server.url + "/billing/webhooks/iamport/"
    body = {"imp_uid": paid["imp_uid"], "merchant_uid": paid["merchant_uid"], "status": "paid"}

    forged = requests.post(url, json={**body, "amount": 1}, timeout=10)
    first = requests.post(url, json=body, timeout=10)
    duplicate = requests.post(url, data=body, timeout=10)  # form-encoded, as i'mport may send

    assert [r.status_code for r in (forged, first, duplicate)] == [HTTPStatus.OK] * 3
    assert [r.json()["result"] for r in (forged, first, duplicate)] == ["rejected", "processed", "duplicate"]
    assert WebhookDelivery.objects.filter(result="rejected", merchant_uid=paid["merchant_uid"]).count() >= 1
    assert_mirrors_sandbox(sandbox_http)
