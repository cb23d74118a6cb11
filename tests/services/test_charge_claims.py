"""Issue 11 items 1 and 9: one intent is sent once; a refusal never overwrites what i'mport holds;
a declined first payment counts toward the refusal cool-down."""

import contextlib
import threading

import pytest
from django.db import connection

from billing import cooldown, services
from billing.cards import CardDetails
from billing.models import BillingKeyEvent, Payment
from tests.support.cards import DECLINING_CARD

API = BillingKeyEvent.Source.API
Outcome = BillingKeyEvent.Outcome


def charge(key, merchant_uid, amount=5_000):
    return services.charge_billing_key(
        billing_key=key, amount=amount, name="May", actor=key.owner, source=API, merchant_uid=merchant_uid
    )


@pytest.mark.django_db
def test_already_paid_refusal_is_resolved_by_reading_i_mport(active_key, ledger):
    # Another attempt of the same intent got through at i'mport; this one is refused as a reuse.
    ledger.add_paid("pay_race_1", 5_000, customer_uid=active_key.customer_uid)

    payment = charge(active_key, "pay_race_1")

    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert payment.imp_uid == ledger.payments["pay_race_1"]["imp_uid"]
    assert ledger.calls("POST", "/subscribe/payments/again") == 1


@pytest.mark.django_db
def test_a_refusal_never_overwrites_a_paid_payment(active_key, ledger):
    ledger.add_paid("pay_race_2", 5_000, customer_uid=active_key.customer_uid)
    Payment.objects.create(
        merchant_uid="pay_race_2",
        billing_key=active_key,
        owner=active_key.owner,
        amount=5_000,
        name="May",
        status=Payment.Status.FAILED,
    )
    ledger.fault("find", status=503, body={"code": -1, "message": "busy"})  # the retry's first read fails

    with pytest.raises(services.PaymentError):
        charge(active_key, "pay_race_2")
    # The second retry reads it as paid; no refusal ever marks it failed afterwards.
    payment = charge(active_key, "pay_race_2")
    assert payment.status == Payment.Status.PAID
    assert ledger.calls("POST", "/subscribe/payments/again") == 0


@pytest.mark.django_db
def test_a_declined_first_payment_counts_toward_the_refusal_cooldown(user, ledger, settings):
    settings.BILLING = {**settings.BILLING, "REFUSALS_FREE": 1}
    card = CardDetails(number=DECLINING_CARD, expiry="2030-12", birth="900101", pwd_2digit="12")

    for _ in range(2):
        _, payment = services.register_card_and_pay(owner=user, card=card, source=API)
        assert payment.status == Payment.Status.FAILED

    refused = BillingKeyEvent.objects.filter(actor=user, action="issue_and_pay", outcome=Outcome.REFUSED)
    assert refused.count() == 2
    assert cooldown.counted_refusals(user) == 2
    assert cooldown.cooldown_left(user) > 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads on PostgreSQL: CI's second pass")
@pytest.mark.django_db(transaction=True)
def test_two_retries_at_once_send_the_charge_once(active_key, ledger):
    """Both retries read i'mport (no trace) at the same moment; only one may then send the charge."""
    Payment.objects.create(
        merchant_uid="pay_twice",
        billing_key=active_key,
        owner=active_key.owner,
        amount=5_000,
        name="May",
        status=Payment.Status.FAILED,
        fail_reason="i'mport failed on its side",
    )
    both_read = threading.Barrier(2, timeout=10)
    find = ledger._find

    def find_then_wait(request):
        answer = find(request)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return answer

    for registered in ledger.mock.mock.registered():
        if "payments/find" in str(getattr(registered.url, "pattern", registered.url)):
            registered.callback = find_then_wait
    outcomes: list = []

    def retry():
        try:
            outcomes.append(charge(active_key, "pay_twice").status)
        except (services.PaymentConflict, services.PaymentError) as error:
            outcomes.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert ledger.calls("POST", "/subscribe/payments/again") == 1
    assert sorted(map(str, outcomes)) == ["PaymentConflict", "paid"]
    assert Payment.objects.get(merchant_uid="pay_twice").status == Payment.Status.PAID


@pytest.mark.django_db
def test_a_retry_whose_read_ends_after_another_claimed_the_attempt_does_not_send(active_key, ledger):
    """The other retry claims the row while this one is reading i'mport: this one must not undo the claim."""
    Payment.objects.create(
        merchant_uid="pay_overtaken",
        billing_key=active_key,
        owner=active_key.owner,
        amount=5_000,
        name="May",
        status=Payment.Status.FAILED,
    )
    find = ledger._find

    def find_while_the_other_claims(request):
        Payment.objects.filter(merchant_uid="pay_overtaken").update(status=Payment.Status.READY)
        return find(request)

    for registered in ledger.mock.mock.registered():
        if "payments/find" in str(getattr(registered.url, "pattern", registered.url)):
            registered.callback = find_while_the_other_claims

    with pytest.raises(services.PaymentConflict):
        charge(active_key, "pay_overtaken")

    assert ledger.calls("POST", "/subscribe/payments/again") == 0
    assert Payment.objects.get(merchant_uid="pay_overtaken").status == Payment.Status.READY
