"""Sweep benchmark (issue 16, item 2): the memory and time of enqueueing N due renewals, for growing N.

    .venv/bin/python benchmarks/sweep_memory.py                            # 10,000, 100,000, 1,000,000
    .venv/bin/python benchmarks/sweep_memory.py --counts 10000,100000      # shorter
    make bench-sweep BENCH_ARGS="--counts 10000,100000"

For each N it seeds N subscriptions whose period has ended (bulk inserts into the database
``sweep_bench``, dropped and made again each run), then runs the sweep as beat's task would
(``renew_due --enqueue`` in a process of its own, DEBUG off as in production, on the Redis broker at db 6,
flushed before and after each N) and reports its wall time, its peak resident memory and the tasks it left
in the broker. The sweep opens each period and sends one task per due renewal, a batch of
``SUBSCRIPTION_SWEEP_BATCH`` ids at a time: its memory should not grow with N. No worker runs and no
i'mport call is made. JSON goes to ``bench-results/sweep-<time>.json``.
"""

import argparse
import datetime
import json
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB = "sweep_bench"
PG = "postgres://postgres@127.0.0.1:5432"
BROKER = "redis://127.0.0.1:6379/6"
CACHE = "redis://127.0.0.1:6379/5"
ENV = {
    **os.environ,
    "DJANGO_SETTINGS_MODULE": "merchant_site.settings",
    "DEBUG": "1",
    "TESTING": "",
    "DATABASE_URL": f"{PG}/{DB}",
    "CACHE_URL": CACHE,
    "CELERY_BROKER_URL": BROKER,
}

# The sweep runs as in production: DEBUG off (with it on, Django keeps the text of the last 9,000 queries of
# the process, bulk inserts of 1,000 rows included: hundreds of MB that production never holds). The key
# and secret are never used: the sweep calls no i'mport endpoint.
SWEEP_ENV = {
    **ENV,
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "localhost",
    "IAMPORT_API_KEY": "unused-by-the-sweep",
    "IAMPORT_API_SECRET": "unused-by-the-sweep",
}

SWEEP = (
    "import resource, sys; sys.argv = ['manage.py', 'renew_due', '--enqueue'];"
    "from django.core.management import execute_from_command_line as run; run(sys.argv);"
    "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", default="10000,100000,1000000", help="due subscriptions per phase")
    args = parser.parse_args()

    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB], check=True)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=ENV, check=True)
    os.environ.update(ENV)
    import django

    django.setup()
    import redis

    broker = redis.Redis.from_url(BROKER)
    redis.Redis.from_url(CACHE).flushdb()
    key = billing_key()
    phases = []
    for count in [int(n) for n in args.counts.split(",")]:
        broker.flushdb()
        started = time.monotonic()
        seed(count, key)
        seeded = time.monotonic() - started
        started = time.monotonic()
        sweep = subprocess.run(
            [sys.executable, "-c", SWEEP],
            cwd=ROOT,
            env=SWEEP_ENV,
            capture_output=True,
            check=True,
            timeout=7200,
        )
        elapsed = time.monotonic() - started
        phases.append(
            {
                "due": count,
                "seed_seconds": round(seeded, 1),
                "sweep_seconds": round(elapsed, 1),
                "renewals_enqueued_per_second": round(count / elapsed),
                "sweep_peak_rss_mb": round(int(sweep.stdout.decode().rsplit("maxrss_kb", 1)[1]) / 1024, 1),
                "tasks_in_broker": broker.llen("celery"),
                "broker_memory_mb": round(broker.info("memory")["used_memory"] / 2**20),
            }
        )
        print(json.dumps(phases[-1]), flush=True)
        broker.flushdb()
    results = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["benchmarks/sweep_memory.py", *sys.argv[1:]]),
        "batch": django.conf.settings.SUBSCRIPTION_SWEEP_BATCH,
        "phases": phases,
    }
    out = ROOT / "bench-results" / f"sweep-{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"written to {out}")


def billing_key():
    """One active key for every subscription (the sweep never calls i'mport)."""
    from django.contrib.auth import get_user_model

    from billing.models import BillingKey

    owner = get_user_model().objects.create_user("sweep-owner", "sweep@example.com", "pw-Sweep-12345")
    return BillingKey.objects.create(
        owner=owner, customer_uid="cu_sweep_bench", status=BillingKey.Status.ACTIVE
    )


def seed(count: int, key) -> None:
    from subscriptions.models import Subscription
    from tests.engine.harness import seed_due_subscriptions

    seed_due_subscriptions(count, key, prefix=f"n{Subscription.objects.count()}-")


if __name__ == "__main__":
    main()
