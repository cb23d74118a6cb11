"""Charging, register-and-pay, refunds and re-syncs, against i'mport faked at the transport."""

import datetime

import pytest
from django.db import transaction
from django.utils import timezone

from billing import services
from billing.cards import CardDetails
from billing.iamport.errors import IamportOutcomeUnknown, IamportRefused, IamportUnavailable
from billing.models import BillingKey, BillingKeyEvent, Payment, PaymentRefund
from tests.support.cards import DECLINING_CARD
from tests.support.iamport import envelope
from tests.support.ledger import DECLINE_REASON, READ_TIMEOUT

pytestmark = pytest.mark.django_db

Outcome = BillingKeyEvent.Outcome
API = BillingKeyEvent.Source.API
CARD = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")


def charge(key, amount=5_000, **kwargs):
    return services.charge_billing_key(
        billing_key=key, amount=amount, name="May", actor=key.owner, source=API, **kwargs
    )


def test_charge_records_the_paid_payment(active_key, ledger):
    payment = charge(active_key)

    payment.refresh_from_db()
    at_iamport = ledger.payments[payment.merchant_uid]
    assert (payment.status, payment.imp_uid, payment.amount) == ("paid", at_iamport["imp_uid"], 5_000)
    assert payment.paid_at is not None
    assert payment.receipt_url == at_iamport["receipt_url"]
    assert payment.merchant_uid.startswith("pay_")
    assert len(payment.merchant_uid) <= 40
    event = active_key.events.get()
    assert (event.action, event.outcome, event.source) == ("charge", Outcome.SUCCEEDED, API)


def test_decline_is_a_recorded_failed_payment_not_an_exception(declining_key, ledger):
    payment = charge(declining_key)

    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert payment.fail_reason == DECLINE_REASON
    assert payment.failed_at is not None
    assert payment.imp_uid


def test_refusal_fails_the_payment_and_raises(user, ledger):
    key = BillingKey.objects.create(owner=user, customer_uid="cu_unknown_at_iamport", status="active")

    with pytest.raises(services.PaymentError) as raised:
        charge(key)

    assert isinstance(raised.value.cause, IamportRefused)
    assert raised.value.payment.status == Payment.Status.FAILED
    # The refusal, then one read of i'mport by merchant_uid (a refusal is never trusted over i'mport).
    assert key.events.get(action="charge").outcome == Outcome.REFUSED
    sync = key.events.get(action="sync")
    assert sync.outcome == Outcome.SUCCEEDED
    assert sync.iamport_message  # i'mport's 404 ("no such payment"), kept for support


def test_unavailable_fails_the_payment_and_a_retry_with_its_merchant_uid_charges_once(active_key, ledger):
    ledger.fault("again", status=503, body=envelope(code=-1, message="maintenance"))
    with pytest.raises(services.PaymentError) as raised:
        charge(active_key)
    assert isinstance(raised.value.cause, IamportUnavailable)
    merchant_uid = raised.value.payment.merchant_uid
    assert Payment.objects.get().status == Payment.Status.FAILED

    payment = charge(active_key, merchant_uid=merchant_uid)

    assert payment.status == Payment.Status.PAID
    assert Payment.objects.count() == 1
    assert list(ledger.payments) == [merchant_uid]


def test_timeout_resolved_by_reading_i_mport(active_key, ledger):
    ledger.fault("again", exc=READ_TIMEOUT, after=True)

    payment = charge(active_key)

    assert payment.status == Payment.Status.PAID
    assert ledger.calls("POST", "/subscribe/payments/again") == 1
    assert list(active_key.events.order_by("id").values_list("action", "outcome")) == [
        ("charge", Outcome.UNKNOWN),
        ("sync", Outcome.SUCCEEDED),
    ]


def test_timeout_stays_unknown_when_i_mport_has_no_trace_yet(active_key, ledger):
    ledger.fault("again", exc=READ_TIMEOUT)

    with pytest.raises(services.PaymentError) as raised:
        charge(active_key)

    assert isinstance(raised.value.cause, IamportOutcomeUnknown)
    assert Payment.objects.get().status == Payment.Status.UNKNOWN


def test_retry_of_an_unknown_payment_reads_and_never_sends_again(active_key, ledger):
    ledger.fault("again", exc=READ_TIMEOUT, after=True)
    ledger.fault("find", status=503, body=envelope(code=-1, message="down"))  # the read fails too
    with pytest.raises(services.PaymentError):
        charge(active_key)
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.UNKNOWN

    retried = charge(active_key, merchant_uid=payment.merchant_uid)

    assert retried.status == Payment.Status.PAID
    assert ledger.calls("POST", "/subscribe/payments/again") == 1


def test_retry_of_an_unknown_payment_i_mport_never_saw_does_not_send_within_the_grace(active_key, ledger):
    ledger.fault("again", exc=READ_TIMEOUT)
    with pytest.raises(services.PaymentError):
        charge(active_key)
    merchant_uid = Payment.objects.get().merchant_uid

    with pytest.raises(services.PaymentError) as raised:
        charge(active_key, merchant_uid=merchant_uid)

    assert raised.value.outcome_unknown
    assert ledger.calls("POST", "/subscribe/payments/again") == 1


def test_retry_of_a_paid_payment_answers_it_without_calling_i_mport(active_key, ledger):
    first = charge(active_key)
    calls = len(ledger.mock.mock.calls)

    again = charge(active_key, merchant_uid=first.merchant_uid)

    assert again.pk == first.pk
    assert len(ledger.mock.mock.calls) == calls


def test_a_merchant_uid_cannot_be_reused_for_another_charge(active_key, ledger):
    first = charge(active_key)

    with pytest.raises(services.PaymentConflict):
        charge(active_key, amount=first.amount + 1, merchant_uid=first.merchant_uid)


@pytest.mark.parametrize(
    "status", [BillingKey.Status.DELETED, BillingKey.Status.PENDING, BillingKey.Status.FAILED]
)
def test_only_an_active_key_is_charged(active_key, ledger, status):
    active_key.status = status
    active_key.save()

    with pytest.raises(services.PaymentConflict):
        charge(active_key)

    assert not Payment.objects.exists()
    assert ledger.calls("POST", "/subscribe/payments/again") == 0


@pytest.mark.parametrize("amount", [0, -1, True, 1.5])
def test_amount_must_be_positive_whole_won(active_key, ledger, amount):
    with pytest.raises(ValueError):
        charge(active_key, amount=amount)


# --- register and pay -------------------------------------------------------------------------


def test_register_and_pay_records_key_and_payment_from_the_one_answer(user, ledger, settings):
    settings.BILLING = {**settings.BILLING, "FIRST_PAYMENT_AMOUNT": 12_900}
    settings.BILLING = {**settings.BILLING, "FIRST_PAYMENT_NAME": "Pro plan"}

    key, payment = services.register_card_and_pay(owner=user, card=CARD, source=API)

    key.refresh_from_db()
    payment.refresh_from_db()
    assert (key.status, key.card_name, key.masked_card_number) == ("active", "국민KB카드", "424242******4242")
    assert (payment.status, payment.amount, payment.name, payment.billing_key) == (
        "paid",
        12_900,
        "Pro plan",
        key,
    )
    assert ledger.payments[payment.merchant_uid]["customer_uid"] == key.customer_uid
    assert ledger.calls("POST", "/subscribe/payments/onetime") == 1
    assert key.events.get().action == "issue_and_pay"


@pytest.mark.parametrize(("kept", "key_status"), [(True, "active"), (False, "failed")])
def test_register_and_pay_decline_reads_whether_the_key_was_kept(user, ledger, iamport, kept, key_status):
    if not kept:
        iamport.on_customer("GET", status=404, body=envelope(code=1, message="존재하지 않습니다."))
    card = CardDetails(number=DECLINING_CARD, expiry="2030-12", birth="900101", pwd_2digit="12")

    key, payment = services.register_card_and_pay(owner=user, card=card, source=API)

    assert (payment.status, payment.fail_reason) == ("failed", DECLINE_REASON)
    key.refresh_from_db()
    assert key.status == key_status
    assert ledger.calls("POST", "/subscribe/payments/onetime") == 1


def test_register_and_pay_refusal_fails_both(user, ledger):
    ledger.fault("onetime", body=envelope(code=-1, message="유효하지 않은 카드번호입니다."))

    with pytest.raises(services.PaymentError) as raised:
        services.register_card_and_pay(owner=user, card=CARD, source=API)

    assert raised.value.payment.status == Payment.Status.FAILED
    assert raised.value.payment.billing_key.status == BillingKey.Status.FAILED


def test_register_and_pay_timeout_is_resolved_by_reading(user, ledger):
    ledger.fault("onetime", exc=READ_TIMEOUT, after=True)

    key, payment = services.register_card_and_pay(owner=user, card=CARD, source=API)

    assert payment.status == Payment.Status.PAID
    assert key.status == BillingKey.Status.ACTIVE
    assert ledger.calls("POST", "/subscribe/payments/onetime") == 1


def test_no_card_data_is_stored(user, ledger):
    services.register_card_and_pay(owner=user, card=CARD, source=API)

    stored = repr(list(BillingKey.objects.values())) + repr(list(Payment.objects.values()))
    for value in ("4242-4242-4242-4242", "4242424242424242", "900101", "2030-12"):
        assert value not in stored


# --- refunds ----------------------------------------------------------------------------------


def refund(payment, amount=None):
    return services.refund_payment(
        payment=payment, amount=amount, reason="customer asked", actor=None, source=API
    )


def test_partial_then_full_refund(paid_payment, ledger):
    refund(paid_payment, 3_000)
    paid_payment.refresh_from_db()
    assert (paid_payment.status, paid_payment.cancelled_amount, paid_payment.refundable_amount) == (
        "paid",
        3_000,
        7_000,
    )

    refund(paid_payment)

    paid_payment.refresh_from_db()
    assert (paid_payment.status, paid_payment.cancelled_amount) == ("cancelled", 10_000)
    assert list(paid_payment.refunds.values_list("amount", flat=True)) == [3_000, 7_000]
    bodies = [c.request.body for c in ledger.mock.calls_to("POST", "/payments/cancel")]
    assert [b'"checksum": 10000' in bodies[0], b'"checksum": 7000' in bodies[1]] == [True, True]


def test_refund_from_a_stale_mirror_is_refused_by_the_checksum_and_resyncs(paid_payment, ledger):
    refund(paid_payment, 4_000)
    stale = Payment.objects.get(pk=paid_payment.pk)
    Payment.objects.filter(pk=paid_payment.pk).update(cancelled_amount=0)  # another process's view
    stale.cancelled_amount = 0

    with pytest.raises(services.PaymentError) as raised:
        refund(stale, 4_000)

    assert isinstance(raised.value.cause, IamportRefused)
    assert ledger.payments["pay_paid_1"]["cancel_amount"] == 4_000
    stale.refresh_from_db()
    assert stale.cancelled_amount == 4_000, "re-read from i'mport"


@pytest.mark.parametrize("amount", [10_001, 0, -5])
def test_over_refund_is_refused_locally(paid_payment, ledger, amount):
    with pytest.raises(services.RefundNotAllowed):
        refund(paid_payment, amount)

    assert ledger.calls("POST", "/payments/cancel") == 0


@pytest.mark.parametrize("status", [Payment.Status.FAILED, Payment.Status.UNKNOWN, Payment.Status.CANCELLED])
def test_only_a_paid_payment_is_refunded(paid_payment, ledger, status):
    paid_payment.status = status
    with pytest.raises(services.RefundNotAllowed):
        refund(paid_payment)


def test_refund_timeout_is_resolved_by_reading_and_cannot_double_refund(paid_payment, ledger):
    ledger.fault("cancel", exc=READ_TIMEOUT, after=True)
    stale = Payment.objects.get(pk=paid_payment.pk)

    with pytest.raises(services.PaymentError):
        refund(paid_payment, 2_000)

    paid_payment.refresh_from_db()
    assert paid_payment.cancelled_amount == 2_000
    with pytest.raises(services.PaymentError):
        refund(stale, 2_000)  # a retry computed before the re-read
    assert ledger.payments["pay_paid_1"]["cancel_amount"] == 2_000


# --- sync -------------------------------------------------------------------------------------


def test_sync_is_idempotent_and_mirrors_refunds_once(paid_payment, ledger):
    refund(paid_payment, 1_000)

    for _ in range(2):
        services.sync_payment(payment=paid_payment, source=API)

    assert PaymentRefund.objects.count() == 1


def test_an_older_answer_never_moves_the_mirror_backwards(paid_payment, ledger):
    from billing.iamport.types import PaymentAnswer as Answer

    old = Answer.from_annotation(dict(ledger.payments["pay_paid_1"], cancel_history=[]))
    refund(paid_payment)

    with transaction.atomic():
        assert services.sync_from_payment(paid_payment, old) is False

    paid_payment.refresh_from_db()
    assert (paid_payment.status, paid_payment.cancelled_amount) == ("cancelled", 10_000)


def test_unknown_payment_i_mport_never_saw_fails_after_the_grace_period(active_key, ledger, settings):
    payment = Payment.objects.create(
        merchant_uid="pay_lost",
        billing_key=active_key,
        owner=active_key.owner,
        amount=1,
        name="x",
        status="unknown",
    )
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - datetime.timedelta(seconds=settings.BILLING["UNKNOWN_GRACE_SECONDS"] + 1)
    )
    payment.refresh_from_db()

    services.sync_payment(payment=payment, source=API)

    assert payment.status == Payment.Status.FAILED
