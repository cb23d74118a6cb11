"""End to end: the sandbox served over HTTP, and ``manage.py renew_due --now`` run as two processes at once.

The processes use this test's database (committed rows: ``transaction=True``). Every period must be charged
exactly once, a failing card must walk the dunning path, and the local attempts must equal the payments
the sandbox holds.
"""

import os
import subprocess
import sys

import pytest
from django.db import connection

from billing import services as billing_services
from billing.iamport import get_client
from billing.models import BillingKey, BillingKeyEvent
from subscriptions import services
from subscriptions.models import Plan, Renewal, RenewalAttempt, Subscription
from tests.subscriptions.conftest import FAILING_CARD, GOOD_CARD, card, seoul
from tests.support.sandbox_process import PROJECT_ROOT, point_the_site_at, served_sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{host}:{port}/{db['NAME']}"


def passes_at_once(url: str, now: str, count: int = 2) -> list[str]:
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": database_url(), "IAMPORT_API_URL": url, "TESTING": ""}
    env.pop("IAMPORT_API_KEY", None)
    env.pop("IAMPORT_API_SECRET", None)
    processes = [
        subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, "manage.py", "renew_due", "--now", now],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(count)
    ]
    outputs = []
    for process in processes:
        out, err = process.communicate(timeout=90)
        assert process.returncode == 0, err.decode()[-3000:]
        outputs.append(out.decode())
    return outputs


def test_two_renew_due_processes_charge_each_period_once(settings, tmp_path, django_user_model):
    with served_sandbox(tmp_path / "sandbox.sqlite3", "--reset") as url:
        point_the_site_at(settings, url)
        plan = Plan.objects.create(code="basic-monthly", name="Basic (monthly)", amount=9900)
        owners = [
            django_user_model.objects.create_user(f"c{i}", f"c{i}@example.com", "pw-Test-1234")
            for i in range(4)
        ]
        for owner in owners:
            key = billing_services.register_card(
                owner=owner, card=card(GOOD_CARD), source=BillingKeyEvent.Source.WEB
            )
            services.subscribe(
                owner=owner, plan=plan, billing_key=key, source="web", now=seoul(2027, 1, 31, 10)
            )
        failing = billing_services.register_card(
            owner=owners[0], card=card(FAILING_CARD), source=BillingKeyEvent.Source.WEB
        )
        dunned = Subscription.objects.get(owner=owners[0])
        services.change_card(subscription=dunned, billing_key=failing, actor=owners[0], source="web")

        for now in (
            "2027-02-28T10:00:00+09:00",
            "2027-03-01T10:00:00+09:00",
            "2027-03-03T10:00:00+09:00",
            "2027-03-05T10:00:00+09:00",
            "2027-03-31T10:00:00+09:00",
        ):
            outputs = passes_at_once(url, now)
            assert all("Done at" in out for out in outputs)

        assert Renewal.objects.filter(status=Renewal.Status.PAID).count() == 4 + 3 + 3
        dunned.refresh_from_db()
        assert dunned.status == Subscription.Status.CANCELLED
        assert dunned.renewals.get(period_start=seoul(2027, 2, 28, 10)).attempts == 4
        client = get_client()
        at_sandbox = {
            payment["merchant_uid"]: payment["status"]
            for key in BillingKey.objects.all()
            for payment in client._call("GET", f"/subscribe/customers/{key.customer_uid}/payments")["list"]
        }
        local = {a.merchant_uid: a.payment.status for a in RenewalAttempt.objects.select_related("payment")}
        assert local == at_sandbox
        assert len(local) == 4 + 4 + 3 + 3


def test_many_passes_at_once_wait_for_each_other_instead_of_failing(settings, tmp_path, django_user_model):
    """On SQLite too: a pass that finds the database being written waits for it ("database is locked" never
    ends a pass), and the periods of a clock moved over three months are each charged once."""
    with served_sandbox(tmp_path / "sandbox.sqlite3", "--reset") as url:
        point_the_site_at(settings, url)
        plan = Plan.objects.create(code="basic-monthly", name="Basic (monthly)", amount=9900)
        for i in range(12):
            owner = django_user_model.objects.create_user(f"m{i}", f"m{i}@example.com", "pw-Test-1234")
            key = billing_services.register_card(
                owner=owner, card=card(GOOD_CARD), source=BillingKeyEvent.Source.WEB
            )
            services.subscribe(
                owner=owner, plan=plan, billing_key=key, source="web", now=seoul(2027, 1, 31, 10)
            )

        passes_at_once(url, "2027-04-30T10:00:00+09:00", count=4)

        assert Renewal.objects.filter(status=Renewal.Status.PAID).count() == 12 * 4
        assert RenewalAttempt.objects.count() == 12 * 4
