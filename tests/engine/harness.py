"""A real renewal engine for tests and the benchmark: Celery workers on a Redis broker, the sandbox served
over HTTP, the sweep run as ``renew_due --enqueue`` (what beat runs), and many due subscriptions seeded
in bulk."""

import datetime
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import redis
import requests
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from billing.models import BillingKey, Payment
from subscriptions.models import Plan, Renewal, Subscription

PROJECT_ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
CHARGE_ROUTE = "POST /subscribe/payments/again"


def database_url() -> str:
    db = connection.settings_dict
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{host}:{port}/{db['NAME']}"


def seed_due_subscriptions(
    count: int, billing_key: BillingKey, *, ended_ago: float = 3600, prefix: str = ""
) -> Plan:
    """``count`` active subscriptions whose period ended ``ended_ago`` seconds ago, on one billing key,
    each of its own owner (bulk inserts: no i'mport call, no password hashing)."""
    User = get_user_model()
    plan, _ = Plan.objects.get_or_create(code="engine", defaults={"name": "Engine plan", "amount": 9900})
    end = timezone.now() - datetime.timedelta(seconds=ended_ago)
    start = end - datetime.timedelta(days=30)
    batch = 5000
    for first in range(0, count, batch):
        size = min(batch, count - first)
        owners = User.objects.bulk_create(
            [User(username=f"engine-{prefix}{first + i}", password="!") for i in range(size)]
        )
        Subscription.objects.bulk_create(
            [
                Subscription(
                    owner=owner,
                    plan=plan,
                    billing_key=billing_key,
                    uid=f"{first + i:08x}",
                    status=Subscription.Status.ACTIVE,
                    billing_anchor=start,
                    current_period_start=start,
                    current_period_end=end,
                )
                for i, owner in enumerate(owners)
            ]
        )
    return plan


class Engine:
    """Workers and sweeps as subprocesses of this test, against its database and a served sandbox."""

    def __init__(self, sandbox_url: str, broker_url: str, cache_url: str, logs: Path, **env: str):
        self.sandbox_url = sandbox_url
        self.logs = logs
        self.env = {
            **os.environ,
            "DEBUG": "1",
            "TESTING": "",
            "DATABASE_URL": database_url(),
            "DATABASE_POOL_SIZE": "10",
            "CACHE_URL": cache_url,
            "CELERY_BROKER_URL": broker_url,
            "IAMPORT_API_URL": sandbox_url,
            "IAMPORT_POOL_SIZE": "200",
            "IAMPORT_NOTICE_URL": "",
            **env,
        }
        for name in ("IAMPORT_API_KEY", "IAMPORT_API_SECRET", "DJANGO_SETTINGS_MODULE"):
            self.env.pop(name, None)
        self.workers: list[subprocess.Popen] = []
        self.started: dict[int, tuple] = {}  # pid -> the arguments it was started with (to restart it)

    def start_worker(
        self, concurrency: int = 50, name: str = "w", env: dict[str, str] | None = None
    ) -> subprocess.Popen:
        """A worker with this engine's environment, and ``env`` over it."""
        log = open(self.logs / f"worker-{name}-{len(self.workers)}.log", "wb")  # noqa: SIM115 - kept open
        worker = subprocess.Popen(  # noqa: S603 - our own app with fixed arguments
            [
                CELERY,
                "-A",
                "merchant_site",
                "worker",
                "-P",
                "threads",
                "-c",
                str(concurrency),
                "-n",
                f"{name}{len(self.workers)}@%h",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],
            cwd=PROJECT_ROOT,
            env={**self.env, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.workers.append(worker)
        self.started[worker.pid] = (concurrency, name, env)
        return worker

    def kill(self, worker: subprocess.Popen) -> None:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)

    def stop_all(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)

    def manage(self, *args: str) -> str:
        done = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
            [sys.executable, "manage.py", *args],
            cwd=PROJECT_ROOT,
            env=self.env,
            capture_output=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr.decode()[-3000:]
        return done.stdout.decode()

    def sweep(self) -> str:
        return self.manage("renew_due", "--enqueue")

    def charges_received(self) -> int:
        answer = requests.get(self.sandbox_url + "/__sandbox__/stats", timeout=10)
        return answer.json()["response"]["calls"].get(CHARGE_ROUTE, 0)

    def wait_until_settled(
        self, expected_paid: int, *, limit: float, sweep_every: float = 3.0, supervise: bool = False
    ) -> int:
        """Until every renewal is paid, sweeping every few seconds as beat would (what it re-sends after a
        lapsed claim or lease is how lost work comes back). Returns the workers restarted.

        A worker that exits on its own fails the test, unless ``supervise``: then it is started again, as
        systemd or Kubernetes would (docs/engine.md: a Celery worker can exit when its broker goes away).
        """
        deadline = time.monotonic() + limit
        restarted = 0
        while time.monotonic() < deadline:
            if Renewal.objects.filter(status=Renewal.Status.PAID).count() >= expected_paid:
                return restarted
            for worker in list(self.workers):
                if worker.poll() is None or worker.returncode == -signal.SIGKILL:
                    continue
                assert supervise, f"a worker exited ({worker.returncode})"
                self.workers.remove(worker)
                self.start_worker(*self.started[worker.pid])
                restarted += 1
            self.sweep()
            time.sleep(sweep_every)  # beat's period, shortened
        counts = {s: Renewal.objects.filter(status=s).count() for s in Renewal.Status.values}
        raise AssertionError(f"not settled in {limit} s: {counts}")


def sandbox_payments(state: Path) -> list[tuple[str, str]]:
    """(merchant_uid, status) of every payment the sandbox holds, read from its state file."""
    with sqlite3.connect(state) as db:
        rows = db.execute("SELECT merchant_uid, annotation FROM payments").fetchall()
    import json

    return [(merchant_uid, json.loads(annotation)["status"]) for merchant_uid, annotation in rows]


def assert_each_period_charged_once(state: Path, subscriptions: int) -> None:
    """At the sandbox: one paid payment per subscription's period, none twice; here: the same payments."""
    paid_there = [uid for uid, status in sandbox_payments(state) if status == "paid"]
    per_subscription: dict[str, int] = {}
    for merchant_uid in paid_there:
        key = merchant_uid.rsplit("-", 1)[0]  # sub<id>-<uid>-<day>: the period, whatever the attempt
        per_subscription[key] = per_subscription.get(key, 0) + 1
    assert len(per_subscription) == subscriptions
    assert set(per_subscription.values()) == {1}, {k: v for k, v in per_subscription.items() if v != 1}
    paid_here = set(Payment.objects.filter(status=Payment.Status.PAID).values_list("merchant_uid", flat=True))
    assert paid_here == set(paid_there)
    assert Renewal.objects.filter(status=Renewal.Status.PAID).count() == subscriptions
    assert Renewal.objects.exclude(status=Renewal.Status.PAID).count() == 0


def flush(url: str) -> None:
    redis.Redis.from_url(url).flushdb()
