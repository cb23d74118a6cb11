"""Issue 11 items 2 and 11 on payments: odd answers from i'mport, and reconcile going on past a bad one."""

import json

import pytest

from billing import services
from billing.models import BillingKey, BillingKeyEvent, Payment
from tests.support.iamport import customer_annotation, envelope

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


@pytest.mark.parametrize(
    ("odd", "http_status", "status"),
    [
        ({"paid_at": "abc", "amount": "5000", "new_field": [1, 2]}, 201, "paid"),
        ({"cancel_amount": -3, "receipt_url": {"a": 1}, "card_type": "credit", "pg_tid": 12}, 201, "paid"),
        # A status we do not understand: unknown until a read says more (here, at once: paid).
        ({"cancel_history": [{"amount": "x"}, "junk"], "status": "weird", "paid_at": 10**30}, 201, "paid"),
    ],
)
def test_the_api_records_a_charge_whose_answer_is_odd_without_a_500(
    merchant_client, active_key, ledger, odd, http_status, status
):
    original = ledger._charge

    def charge_with_odd_answer(endpoint, body, *, usage):
        status, headers, _ = original(endpoint, body, usage=usage)
        return status, headers, json.dumps(envelope({**ledger.payments[body["merchant_uid"]], **odd}))

    ledger._charge = charge_with_odd_answer

    response = merchant_client.post(
        "/api/v1/payments/", {"customer_uid": "cu_1", "amount": 5_000, "name": "June"}, format="json"
    )

    assert response.status_code == http_status, response.content
    payment = Payment.objects.get()
    assert (payment.status, payment.imp_uid) == (status, next(iter(ledger.payments.values()))["imp_uid"])
    assert "4242424242424242" not in response.content.decode()
    assert not payment.refunds.exists()  # a cancellation entry with no amount is no refund


def test_a_charge_answer_with_a_status_we_do_not_understand_stays_unknown(active_key, ledger):
    original = ledger._charge

    def weird_status(endpoint, body, *, usage):
        status, headers, _ = original(endpoint, body, usage=usage)
        ledger.payments[body["merchant_uid"]]["status"] = "weird"  # and so says every read
        return status, headers, json.dumps(envelope(ledger.payments[body["merchant_uid"]]))

    ledger._charge = weird_status

    with pytest.raises(services.PaymentError) as raised:
        services.charge_billing_key(billing_key=active_key, amount=5_000, name="May", actor=None, source=API)

    assert raised.value.outcome_unknown
    assert Payment.objects.get().status == Payment.Status.UNKNOWN
