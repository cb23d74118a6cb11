"""Races, with real commits: two workers on one renewal, two passes at once, a webhook against the sweep.

Threads are released together by a ``threading.Barrier``. Row locks and ``SKIP LOCKED`` need PostgreSQL
(CI's second pass); the webhook race also runs on SQLite, where the conditional UPDATE claim decides.
"""

import threading

import pytest
from django.db import connection

from billing import services as billing_services
from subscriptions import services
from subscriptions.models import Renewal, RenewalAttempt
from tests.subscriptions.conftest import Crash, seoul

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks and SKIP LOCKED: CI's PostgreSQL pass"
)


def run_together(*calls):
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return results


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_same_renewal_run_twice_at_once_is_charged_once(user, plan, good_key, ledger):
    subscription = services.subscribe(owner=user, plan=plan, billing_key=good_key, source="web")
    due = subscription.current_period_end
    renewal = services.roll_over(subscription_id=subscription.pk, now=due)

    results = run_together(
        lambda: services.attempt_renewal(renewal_id=renewal.pk, now=due),
        lambda: services.attempt_renewal(renewal_id=renewal.pk, now=due),
    )

    assert sorted(r.action if r else "skipped" for r in results) == ["paid", "skipped"]
    renewal.refresh_from_db()
    assert (renewal.status, renewal.attempts) == (Renewal.Status.PAID, 1)
    assert ledger.charges() == 2


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_charge_every_period_once(django_user_model, plan, register, ledger):
    owners = [
        django_user_model.objects.create_user(f"c{i}", f"c{i}@example.com", "pw-Test-12345") for i in range(6)
    ]
    for owner in owners:
        services.subscribe(
            owner=owner, plan=plan, billing_key=register(owner), source="web", now=seoul(2027, 1, 5)
        )

    run_together(
        lambda: services.renew_due(now=seoul(2027, 3, 6)),
        lambda: services.renew_due(now=seoul(2027, 3, 6)),
    )

    assert Renewal.objects.filter(status=Renewal.Status.PAID).count() == 6 * 3
    assert RenewalAttempt.objects.count() == 6 * 3
    assert ledger.charges() == 6 * 3


@pytest.mark.django_db(transaction=True)
def test_a_webhook_and_the_sweep_racing_for_one_renewal(
    user, plan, good_key, ledger, crash_after_next_charge, settings
):
    settings.SUBSCRIPTION_CLAIM_SECONDS = 0  # the crashed process's claim has lapsed
    with pytest.raises(Crash):
        services.subscribe(owner=user, plan=plan, billing_key=good_key, source="web", now=seoul(2027, 1, 5))
    attempt = RenewalAttempt.objects.get()
    at_iamport = ledger.payment(attempt.merchant_uid)
    settings.SUBSCRIPTION_CLAIM_SECONDS = 120

    run_together(
        lambda: services.renew_due(now=seoul(2027, 1, 5, 0, 1)),
        lambda: billing_services.handle_payment_notification(
            imp_uid=at_iamport.imp_uid,
            merchant_uid=attempt.merchant_uid,
            claimed={"status": "paid"},
            source_ip=None,
        ),
    )

    renewal = Renewal.objects.get()
    assert (renewal.status, renewal.attempts, renewal.claimed_until) == (Renewal.Status.PAID, 1, None)
    assert renewal.subscription.status == "active"
    assert ledger.charges() == 1


@pytest.mark.django_db
def test_a_webhook_alone_marks_an_unknown_renewal_paid(
    user, plan, good_key, ledger, crash_after_next_charge, settings
):
    settings.SUBSCRIPTION_CLAIM_SECONDS = 0
    with pytest.raises(Crash):
        services.subscribe(owner=user, plan=plan, billing_key=good_key, source="web", now=seoul(2027, 1, 5))
    attempt = RenewalAttempt.objects.get()

    delivery = billing_services.handle_payment_notification(
        imp_uid=ledger.payment(attempt.merchant_uid).imp_uid,
        merchant_uid=attempt.merchant_uid,
        claimed={"status": "paid"},
        source_ip=None,
    )

    assert delivery.result == "processed"
    renewal = Renewal.objects.get()
    assert renewal.status == Renewal.Status.PAID
    assert services.renew_due(now=seoul(2027, 1, 6)).results == []
    assert ledger.charges() == 1
