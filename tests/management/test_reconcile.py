"""``manage.py reconcile``: unknown and stale records resolved by reading i'mport."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from billing.models import BillingKey, Payment

pytestmark = pytest.mark.django_db


def reconcile(*args):
    out, err = StringIO(), StringIO()
    call_command("reconcile", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_resolves_unknown_payments_and_keys_and_reports_them(active_key, ledger, user):
    ledger.add_paid("pay_unknown", 5_000)
    Payment.objects.create(
        merchant_uid="pay_unknown",
        billing_key=active_key,
        owner=user,
        amount=5_000,
        name="x",
        status="unknown",
    )
    BillingKey.objects.create(owner=user, customer_uid="cu_unknown", status="unknown")

    out, _ = reconcile()

    assert Payment.objects.get(merchant_uid="pay_unknown").status == "paid"
    assert BillingKey.objects.get(customer_uid="cu_unknown").status == "active"
    assert "payment pay_unknown: unknown -> paid" in out
    assert "billing key cu_unknown: unknown -> active" in out
    assert "2 changed" in out


def test_stale_ready_payments_are_checked_fresh_ones_left_alone(active_key, ledger, user):
    ledger.add_paid("pay_stale", 5_000)
    ledger.add_paid("pay_fresh", 5_000)
    for uid in ("pay_stale", "pay_fresh"):
        Payment.objects.create(merchant_uid=uid, billing_key=active_key, owner=user, amount=5_000, name="x")
    Payment.objects.filter(merchant_uid="pay_stale").update(
        created_at=timezone.now() - datetime.timedelta(minutes=30)
    )

    reconcile("--stale-minutes", "10")

    assert dict(Payment.objects.values_list("merchant_uid", "status")) == {
        "pay_stale": "paid",
        "pay_fresh": "ready",
    }


def test_an_unreadable_record_is_reported_and_kept(active_key, ledger, user):
    from tests.support.iamport import envelope

    ledger.fault("find", status=503, body=envelope(code=-1, message="down"))
    Payment.objects.create(
        merchant_uid="pay_unknown",
        billing_key=active_key,
        owner=user,
        amount=5_000,
        name="x",
        status="unknown",
    )

    out, err = reconcile()

    assert Payment.objects.get().status == "unknown"
    assert "pay_unknown" in err
    assert "1 could not be read" in out


def test_the_pass_is_a_service_a_periodic_task_can_call(active_key, ledger, user):
    from billing import services
    from billing.models import BillingKeyEvent

    ledger.add_paid("pay_unknown", 5_000)
    Payment.objects.create(
        merchant_uid="pay_unknown",
        billing_key=active_key,
        owner=user,
        amount=5_000,
        name="x",
        status="unknown",
    )

    report = services.reconcile(stale_before=timezone.now(), source=BillingKeyEvent.Source.COMMAND)

    assert report.checked == 1
    assert report.changes == ["payment pay_unknown: unknown -> paid"]
    assert report.unreadable == []
    assert Payment.objects.get(merchant_uid="pay_unknown").status == "paid"


def test_the_short_periodic_task_settles_unknown_payments(active_key, ledger, user):
    from billing.tasks import reconcile_short

    ledger.add_paid("pay_task_unknown", 5_000)
    Payment.objects.create(
        merchant_uid="pay_task_unknown",
        billing_key=active_key,
        owner=user,
        amount=5_000,
        name="x",
        status="unknown",
    )

    summary = reconcile_short.apply().get()

    assert Payment.objects.get(merchant_uid="pay_task_unknown").status == "paid"
    assert (summary["mode"], summary["changed"]) == ("short", 1)


def test_the_daily_periodic_task_finds_a_refund_made_elsewhere(active_key, ledger, user):
    from billing.tasks import reconcile_full

    at_iamport = ledger.add_paid("pay_task_drift", 5_000)
    Payment.objects.create(
        merchant_uid="pay_task_drift",
        imp_uid=at_iamport["imp_uid"],
        billing_key=active_key,
        owner=user,
        amount=5_000,
        name="x",
        status="paid",
    )
    # Refunded at i'mport (the console, or a refund whose process died before recording it).
    at_iamport.update(status="cancelled", cancel_amount=5_000, cancelled_at=int(timezone.now().timestamp()))
    at_iamport["cancel_history"].append(
        {
            "pg_tid": "tid_c",
            "amount": 5_000,
            "cancelled_at": at_iamport["cancelled_at"],
            "reason": "console",
            "cancellation_id": "cancel_console",
            "receipt_url": "",
        }
    )

    summary = reconcile_full.apply().get()

    payment = Payment.objects.get(merchant_uid="pay_task_drift")
    assert (payment.status, payment.cancelled_amount, payment.refunds.count()) == ("cancelled", 5_000, 1)
    assert (summary["mode"], summary["changed"]) == ("full", 1)
