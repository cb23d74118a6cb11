"""Issue 11 items 2 and 11 on payments: odd answers from i'mport, and reconcile going on past a bad one."""

import json

import pytest

from billing import services
from billing.models import BillingKey, BillingKeyEvent, Payment
from tests.iamport_mock import customer_annotation, envelope

pytestmark = pytest.mark.django_db

API = BillingKeyEvent.Source.API


def test_a_paid_charge_with_odd_fields_is_recorded_paid(active_key, ledger):
    payment = services.charge_billing_key(
        billing_key=active_key, amount=5_000, name="May", actor=None, source=API
    )
    assert payment.status == Payment.Status.PAID
    # The same payment read again with odd fields: mirrored as far as understood, raw kept for support.
    odd = {**ledger.payments[payment.merchant_uid], "paid_at": "abc", "amount": "5000", "receipt_url": 7}
    ledger.fault("get", body=envelope(odd))

    services.sync_payment(payment=payment, source=API)

    payment.refresh_from_db()
    assert (payment.status, payment.paid_at, payment.receipt_url) == (Payment.Status.PAID, None, "7")
    assert payment.iamport_data["paid_at"] == "abc"


def test_a_charge_answer_without_its_id_leaves_the_payment_unknown_then_read(active_key, ledger):
    def lose_the_id(merchant_uid):
        broken = dict(ledger.payments[merchant_uid])
        del broken["imp_uid"]
        return broken

    original = ledger._charge

    def charge_with_broken_answer(endpoint, body, *, usage):
        status, headers, _ = original(endpoint, body, usage=usage)
        return status, headers, json.dumps(envelope(lose_the_id(body["merchant_uid"])))

    ledger._charge = charge_with_broken_answer  # _again calls self._charge at request time

    payment = services.charge_billing_key(
        billing_key=active_key, amount=5_000, name="May", actor=None, source=API
    )

    # The charge happened at i'mport: its unreadable answer made the row unknown, and the read settled it.
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.imp_uid == ledger.payments[payment.merchant_uid]["imp_uid"]
    assert ledger.calls("POST", "/subscribe/payments/again") == 1


def test_a_registration_with_odd_fields_is_an_active_key(iamport, user):
    iamport.on_customer("POST", body=envelope(customer_annotation("cu_x", card_type="?", inserted="abc")))
    from billing.cards import CardDetails

    card = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")
    key = services.register_card(owner=user, card=card, source=API)

    key.refresh_from_db()
    assert (key.status, key.card_type, key.iamport_inserted_at) == (BillingKey.Status.ACTIVE, None, None)


def test_one_unreadable_payment_is_reported_and_the_rest_reconciled(active_key, ledger, user):
    for uid in ("pay_broken", "pay_fine"):
        ledger.add_paid(uid, 5_000)
        Payment.objects.create(
            merchant_uid=uid, billing_key=active_key, owner=user, amount=5_000, name="x", status="unknown"
        )
    broken = dict(ledger.payments["pay_broken"])
    del broken["imp_uid"]
    ledger.fault("find", body=envelope(broken))  # the first read (pay_broken, oldest first) lacks its id

    report = services.reconcile(mode="full")

    statuses = dict(Payment.objects.values_list("merchant_uid", "status"))
    assert statuses == {"pay_broken": "unknown", "pay_fine": "paid"}
    assert [line.split(":")[0] for line in report.unreadable] == ["payment pay_broken"]
