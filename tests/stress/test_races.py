"""Issue 11's races, repeated on PostgreSQL against the sandbox over HTTP; then local state equals i'mport."""

import datetime

import pytest
from django.utils import timezone

from billing import services
from billing.cards import CardDetails
from billing.iamport import get_client, reset_client
from billing.models import BillingKey, BillingKeyEvent, Payment

from .conftest import at_once

pytestmark = [pytest.mark.stress, pytest.mark.django_db(transaction=True)]

API = BillingKeyEvent.Source.API
CARD = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")
DECLINED_ON_CHARGE = CardDetails(
    number="4000-0000-0000-9995", expiry="2030-12", birth="900101", pwd_2digit="12"
)


@pytest.fixture
def owners(django_user_model):
    return [
        django_user_model.objects.create_user(f"stress{i}", f"s{i}@example.com", "pw-Stress-123")
        for i in range(4)
    ]


def settle_and_compare(settings) -> list[str]:
    """Past the grace period, with i'mport healthy: one full pass, then the verdict."""
    settings.BILLING = {**settings.BILLING, "UNKNOWN_GRACE_SECONDS": 0}
    services.reconcile(mode="full", batch_size=7)
    return services.compare_with_iamport(batch_size=5)


def test_retries_of_a_failed_charge_at_once_charge_it_once(served, owners, settings):
    """Item 1: a charge got 503; two retries with its merchant_uid at once, latency 800 ms (8 intents)."""
    keys = [services.register_card(owner=owners[i % 4], card=CARD, source=API) for i in range(8)]
    served.set(error_rate=1)
    uids = []
    for key in keys:
        with pytest.raises(services.PaymentError):
            services.charge_billing_key(billing_key=key, amount=1_000, name="plan", actor=None, source=API)
        uids.append(Payment.objects.filter(billing_key=key).get().merchant_uid)
    served.set(error_rate=0, latency_ms=800)

    def retry(key, uid):
        return lambda: services.charge_billing_key(
            billing_key=key, amount=1_000, name="plan", actor=None, source=API, merchant_uid=uid
        )

    calls = [retry(key, uid) for key, uid in zip(keys, uids, strict=True) for _ in range(2)]
    sent_before = served.calls("POST /subscribe/payments/again")
    outcomes = at_once(*calls)
    served.clear()

    assert served.calls("POST /subscribe/payments/again") - sent_before == len(keys)  # one send per intent

    assert not [o for o in outcomes if not isinstance(o, Payment | services.BillingError)], outcomes
    assert set(Payment.objects.values_list("status", flat=True)) == {Payment.Status.PAID}
    assert settle_and_compare(settings) == []


def test_deletes_racing_syncs_leave_every_key_deleted(served, owners, settings):
    """Item 2: a delete and a sync of the same key at once (12 keys), sandbox latency 300 ms."""
    keys = [services.register_card(owner=owners[i % 4], card=CARD, source=API) for i in range(12)]
    served.set(latency_ms=300)

    def delete(key):
        return lambda: services.delete_billing_key(
            billing_key=BillingKey.objects.get(pk=key.pk), actor=None, source=API
        )

    def sync(key):
        return lambda: services.sync_billing_key(
            billing_key=BillingKey.objects.get(pk=key.pk), actor=None, source=API
        )

    outcomes = at_once(*[call(key) for key in keys for call in (delete, sync)])
    served.clear()

    assert not [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, services.BillingError)]
    assert set(BillingKey.objects.values_list("status", flat=True)) == {BillingKey.Status.DELETED}
    assert services.compare_with_iamport() == []
    assert settle_and_compare(settings) == []


def test_syncs_of_registrations_in_flight_never_delete_them(served, owners, settings):
    """Item 2: a sync while the registration is still at i'mport (its 404 within the grace period)."""
    served.set(latency_ms=600)
    BillingKey.objects.create(owner=owners[0], customer_uid="cu_placeholder", status=BillingKey.Status.FAILED)

    def register(owner):
        return lambda: services.register_card(owner=owner, card=CARD, source=API)

    def sync_pending():
        synced = 0
        for key in BillingKey.objects.filter(status=BillingKey.Status.PENDING):
            services.sync_billing_key(billing_key=key, actor=None, source=API)
            synced += 1
        return synced

    outcomes = at_once(*[register(owner) for owner in owners], sync_pending, sync_pending)
    served.clear()

    assert all(isinstance(o, BillingKey | int) for o in outcomes), outcomes
    assert BillingKey.objects.filter(status=BillingKey.Status.DELETED).count() == 0
    assert BillingKey.objects.filter(status=BillingKey.Status.ACTIVE).count() == 4
    assert settle_and_compare(settings) == []


def test_chaos_then_full_reconcile_leaves_zero_differences(served, owners, settings):
    """Faults, timeouts with the write applied, and writes whose process 'died' (done behind our back)."""
    served.set(latency_ms=50, error_rate=0.3)

    def customer_life(owner, card):
        def run():
            for _ in range(3):
                try:
                    key = services.register_card(owner=owner, card=card, source=API)
                except services.BillingError:
                    continue
                try:
                    payment = services.charge_billing_key(
                        billing_key=key, amount=5_000, name="plan", actor=None, source=API
                    )
                    if payment.status == Payment.Status.PAID:
                        services.refund_payment(
                            payment=payment, amount=2_000, reason="part", actor=None, source=API
                        )
                except services.BillingError:
                    pass
            return True

        return run

    cards = [CARD, DECLINED_ON_CHARGE, CARD, CARD]
    at_once(*[customer_life(owner, card) for owner, card in zip(owners, cards, strict=True)])

    # Timeouts whose writes landed at i'mport: the client gives up at 1 s, the sandbox answers after 2 s.
    served.set(latency_ms=0, error_rate=0)
    active = list(BillingKey.objects.filter(status=BillingKey.Status.ACTIVE)[:4])
    settings.BILLING = {**settings.BILLING, "READ_TIMEOUT": 1}
    reset_client()
    served.set(hang="after", hang_seconds=2)
    at_once(
        *[
            (
                lambda key=key: services.charge_billing_key(
                    billing_key=key, amount=3_000, name="x", actor=None, source=API
                )
            )
            for key in active
        ]
    )
    served.clear()
    settings.BILLING = {**settings.BILLING, "READ_TIMEOUT": 10}
    reset_client()

    # Writes whose process died before recording them: a delete and a refund done at i'mport only.
    client = get_client()
    if active:
        client.delete_billing_key(active[0].customer_uid)
    paid = Payment.objects.filter(status=Payment.Status.PAID).first()
    if paid is not None:
        client.cancel_payment(
            merchant_uid=paid.merchant_uid, amount=1_000, reason="lost", checksum=paid.refundable_amount
        )

    before = services.compare_with_iamport()
    assert before, "the chaos left nothing to reconcile: the test would prove nothing"
    assert settle_and_compare(settings) == []
    assert Payment.objects.filter(created_at__lt=timezone.now() - datetime.timedelta(days=1)).count() == 0
