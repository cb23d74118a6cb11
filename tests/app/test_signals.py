"""billing.signals: the host hears of a registered key, a paid or a failed payment, once committed."""

import pytest
from django.db import transaction

from billing import services, signals
from billing.cards import CardDetails
from billing.models import BillingKey, BillingKeyEvent, Payment

API = BillingKeyEvent.Source.API
GOOD = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")
DECLINED_CHARGES = CardDetails(
    number="4000-0000-0000-9995", expiry="2030-12", birth="900101", pwd_2digit="12"
)


@pytest.fixture
def heard():
    """Every signal billing sends during the test, as (signal name, instance)."""
    received = []
    receivers = {}
    for name in ("billing_key_registered", "payment_paid", "payment_failed"):

        def receiver(sender, instance, _name=name, **kwargs):
            assert isinstance(instance, sender)
            received.append((_name, instance))

        receivers[name] = receiver
        getattr(signals, name).connect(receiver)
    yield received
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


def charge(key):
    return services.charge_billing_key(billing_key=key, amount=5_000, name="May", actor=key.owner, source=API)


@pytest.mark.django_db(transaction=True)
def test_a_registration_and_a_paid_charge(sandbox, user, heard):
    key = services.register_card(owner=user, card=GOOD, source=API)
    payment = charge(key)

    assert [(name, instance.pk) for name, instance in heard] == [
        ("billing_key_registered", key.pk),
        ("payment_paid", payment.pk),
    ]
    assert isinstance(heard[0][1], BillingKey)
    assert heard[1][1].status == Payment.Status.PAID


@pytest.mark.django_db(transaction=True)
def test_a_declined_charge(sandbox, user, heard):
    key = services.register_card(owner=user, card=DECLINED_CHARGES, source=API)
    payment = charge(key)  # a decline is a recorded failed payment

    assert payment.status == Payment.Status.FAILED
    assert [name for name, _ in heard] == ["billing_key_registered", "payment_failed"]
    assert heard[1][1].status == Payment.Status.FAILED


@pytest.mark.django_db(transaction=True)
def test_a_resync_of_an_active_key_says_nothing_new(sandbox, user, heard):
    key = services.register_card(owner=user, card=GOOD, source=API)
    services.sync_billing_key(billing_key=key, actor=user, source=API)

    assert [name for name, _ in heard] == ["billing_key_registered"]


@pytest.mark.django_db(transaction=True)
def test_nothing_is_sent_for_a_change_rolled_back(sandbox, user, heard):
    class Rollback(Exception):
        pass

    with pytest.raises(Rollback), transaction.atomic():
        services.register_card(owner=user, card=GOOD, source=API)
        raise Rollback

    assert heard == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_receiver_does_not_undo_the_payment(sandbox, user, heard):
    def broken(sender, instance, **kwargs):
        raise RuntimeError("the host's mail server is down")

    signals.payment_paid.connect(broken)
    try:
        key = services.register_card(owner=user, card=GOOD, source=API)
        payment = charge(key)
    finally:
        signals.payment_paid.disconnect(broken)

    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert ("payment_paid", payment) in heard
