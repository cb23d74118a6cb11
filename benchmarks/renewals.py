"""Renewal benchmark (issue 16): due subscriptions on PostgreSQL, Celery workers on Redis, the sandbox with
added latency.

    .venv/bin/python benchmarks/renewals.py                       # 100,000 due, 5 s latency, 1 then 2 workers
    .venv/bin/python benchmarks/renewals.py --count 10000         # a shorter run
    make bench-renewals BENCH_ARGS="--count 10000 --latency 5"

It creates the database ``engine_bench`` (dropped and made again each run), uses Redis db 2 as the broker and
db 4 as the cache (both flushed), serves the sandbox on a free port, seeds the subscriptions in bulk, then for
1 and for 2 worker processes (``-P threads -c --concurrency``): sweeps (``renew_due --enqueue``, timed, peak
memory of the process), starts the workers and waits until every renewal is paid. It reports renewals/s
against the ideal (workers x concurrency / latency), charges and getToken calls at the sandbox per renewal,
and CPU per renewal of the worker, of this database's PostgreSQL backends, of the sandbox and of the Redis
server (the machine's, shared: an upper bound). JSON goes to ``bench-results/renewals-<time>.json``.
"""

import argparse
import datetime
import json
import os
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB = "engine_bench"
PG = "postgres://postgres@127.0.0.1:5432"
BROKER = "redis://127.0.0.1:6379/2"
CACHE = "redis://127.0.0.1:6379/4"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def sandbox_pid(url: str) -> int | None:
    """The served sandbox's process (for its CPU): the one whose command line names its port."""
    port = url.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, PermissionError, NotADirectoryError):
            continue
        if b"iamport_sandbox" in command and port.encode() in command:
            return int(proc.name)
    return None


def setup_django(sandbox_url: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "merchant_site.settings",
            "DEBUG": "1",
            "TESTING": "",
            "DATABASE_URL": f"{PG}/{DB}",
            "CACHE_URL": CACHE,
            "IAMPORT_API_URL": sandbox_url,
            "IAMPORT_NOTICE_URL": "",
        }
    )
    for name in ("IAMPORT_API_KEY", "IAMPORT_API_SECRET", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000, help="due subscriptions per phase")
    parser.add_argument("--latency", type=float, default=5.0, help="seconds the sandbox adds to each answer")
    parser.add_argument("--concurrency", type=int, default=200, help="charges in flight per worker process")
    parser.add_argument("--workers", default="1,2", help="worker processes per phase")
    args = parser.parse_args()

    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", DB], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", DB], check=True)
    import redis

    for url in (BROKER, CACHE):
        redis.Redis.from_url(url).flushdb()
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": f"{PG}/{DB}"}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    from tests.support.sandbox_process import served_sandbox

    state = ROOT / "bench-results" / "renewals-sandbox.sqlite3"
    state.parent.mkdir(exist_ok=True)
    with served_sandbox(state, "--reset") as url:
        setup_django(url)
        results = run(url, args)
    out = ROOT / "bench-results" / f"renewals-{datetime.datetime.now(datetime.UTC):%Y%m%dT%H%M%SZ}.json"
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    print(f"written to {out}")


def run(url: str, args) -> dict:
    import requests
    from django.contrib.auth import get_user_model
    from django.db import connection

    from billing import services as billing_services
    from billing.models import BillingKeyEvent
    from subscriptions.models import Renewal
    from tests.engine.harness import Engine, seed_due_subscriptions
    from tests.subscriptions.conftest import GOOD_CARD, card
    from tests.support.sandbox_process import KEY, SECRET

    owner = get_user_model().objects.create_user("bench-owner", "bench@example.com", "pw-Bench-12345")
    key = billing_services.register_card(owner=owner, card=card(GOOD_CARD), source=BillingKeyEvent.Source.WEB)
    requests.post(url + "/__sandbox__/faults", json={"latency_ms": int(args.latency * 1000)}, timeout=10)
    logs = ROOT / "bench-results" / "renewal-logs"
    logs.mkdir(exist_ok=True)
    engine = Engine(
        url,
        BROKER,
        CACHE,
        logs,
        DATABASE_POOL_SIZE="20",
        IAMPORT_POOL_SIZE=str(args.concurrency),
        IAMPORT_READ_TIMEOUT=str(args.latency * 4 + 10),
    )
    # Workers as production runs them: DEBUG off (Django then keeps no copy of each query, which cost the
    # DEBUG workers measured before a few ms of CPU per renewal), the sandbox's credentials as real keys.
    # (Workers run no system checks; the sweep, a management command, keeps DEBUG on: with it off, the
    # check that refuses a plain-http API_URL would stop it, and the sandbox is served over http.)
    as_in_production = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "localhost",
        "IAMPORT_API_KEY": KEY,
        "IAMPORT_API_SECRET": SECRET,
    }
    stats = lambda: requests.get(url + "/__sandbox__/stats", timeout=30).json()["response"]["calls"]  # noqa: E731
    redis_client = __import__("redis").Redis.from_url(BROKER)
    phases = []
    seeded = 0
    for workers in [int(n) for n in args.workers.split(",")]:
        seeded_before = Renewal.objects.filter(status=Renewal.Status.PAID).count()
        started = time.monotonic()
        seed_due_subscriptions(args.count, key, prefix=f"p{workers}-")
        seed_seconds = time.monotonic() - started
        seeded += args.count
        calls_before = stats()

        started = time.monotonic()
        sweep = subprocess.run(
            [
                sys.executable,
                "-c",
                "import resource, sys, django; sys.argv=['manage.py','renew_due','--enqueue'];"
                "from django.core.management import execute_from_command_line as run; run(sys.argv);"
                "print('maxrss_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)",
            ],
            cwd=ROOT,
            env={**engine.env, "DJANGO_SETTINGS_MODULE": "merchant_site.settings"},
            capture_output=True,
            check=True,
            timeout=3600,
        )
        enqueue_seconds = time.monotonic() - started
        sweep_out = sweep.stdout.decode()
        maxrss_kb = int(sweep_out.rsplit("maxrss_kb", 1)[1])
        queued = redis_client.llen("celery")

        redis_cpu_before = redis_cpu(redis_client)
        sandbox = sandbox_pid(url)
        sandbox_cpu_before = cpu_seconds(sandbox) if sandbox else 0.0
        pg_cpu: dict[int, float] = {}
        procs = [
            engine.start_worker(concurrency=args.concurrency, name=f"bench{workers}-", env=as_in_production)
            for _ in range(workers)
        ]
        started = time.monotonic()
        samples = []
        target = seeded_before + args.count
        while True:
            paid = Renewal.objects.filter(status=Renewal.Status.PAID).count()
            samples.append((time.monotonic() - started, paid - seeded_before))
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [DB]
                )
                for (pid,) in cursor.fetchall():
                    pg_cpu[pid] = max(pg_cpu.get(pid, 0.0), cpu_seconds(pid))
            if paid >= target:
                break
            if (
                time.monotonic() - started
                > args.count / (workers * args.concurrency / args.latency) * 3 + 120
            ):
                raise SystemExit(
                    f"phase with {workers} worker(s) did not finish: {paid - seeded_before} paid"
                )
            time.sleep(1.0)  # sampling period
        elapsed = time.monotonic() - started
        worker_cpu = sum(cpu_seconds(p.pid) for p in procs)
        redis_used = redis_cpu(redis_client) - redis_cpu_before
        sandbox_used = (cpu_seconds(sandbox) - sandbox_cpu_before) if sandbox else float("nan")
        engine.stop_all()
        engine.workers.clear()
        calls_after = stats()

        def delta(route: str, after=calls_after, before=calls_before) -> int:
            return after.get(route, 0) - before.get(route, 0)

        ideal = workers * args.concurrency / args.latency
        steady = steady_rate(samples, args.count)
        phases.append(
            {
                "workers": workers,
                "concurrency": args.concurrency,
                "latency_s": args.latency,
                "renewals": args.count,
                "seed_seconds": round(seed_seconds, 1),
                "enqueue_seconds": round(enqueue_seconds, 1),
                "enqueue_peak_rss_mb": round(maxrss_kb / 1024, 1),
                "tasks_in_broker_after_sweep": queued,
                "elapsed_seconds": round(elapsed, 1),
                "renewals_per_second_overall": round(args.count / elapsed, 2),
                "renewals_per_second_steady": round(steady, 2),
                "ideal_per_second": ideal,
                "ratio_to_ideal_steady": round(steady / ideal, 3),
                "ratio_to_ideal_overall": round(args.count / elapsed / ideal, 3),
                "charges_per_renewal": round(delta("POST /subscribe/payments/again") / args.count, 4),
                "upstream_calls_per_renewal": round(
                    sum(
                        delta(route) for route in calls_after if not route.startswith(("GET /__", "POST /__"))
                    )
                    / args.count,
                    4,
                ),
                "get_token_calls": delta("POST /users/getToken"),
                "cpu_ms_per_renewal": {
                    "worker": round(worker_cpu / args.count * 1000, 3),
                    "postgresql": round(sum(pg_cpu.values()) / args.count * 1000, 3),
                    "redis_server_shared": round(redis_used / args.count * 1000, 3),
                    # i'mport's stand-in, on the same 2 cores: what it costs is not the engine's, but it is
                    # CPU the workers could not have.
                    "sandbox": round(sandbox_used / args.count * 1000, 3),
                },
            }
        )
        print(json.dumps(phases[-1], indent=2), flush=True)
    if len(phases) >= 2:
        one, two = phases[0], phases[1]
        speedup = two["renewals_per_second_steady"] / one["renewals_per_second_steady"]
    else:
        speedup = None
    per_renewal = phases[0]["cpu_ms_per_renewal"]
    cpu_ms = per_renewal["worker"] + per_renewal["postgresql"] + per_renewal["redis_server_shared"]
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["benchmarks/renewals.py", *sys.argv[1:]]),
        "phases": phases,
        "two_workers_over_one": round(speedup, 3) if speedup else None,
        # A million renewals in an hour: 278/s; CPU-seconds per second = cores, from the measured CPU.
        "cores_for_a_million_an_hour": round(1_000_000 / 3600 * cpu_ms / 1000, 2),
        "in_flight_for_a_million_an_hour_at_1s": round(1_000_000 / 3600 * 1.0),
    }


def steady_rate(samples: list[tuple[float, int]], count: int) -> float:
    """Renewals/s between 10% and 90% paid: the run without its start (the first answers take one
    latency) and its tail (the last charges in flight)."""
    low = next(t for t, paid in samples if paid >= count * 0.1)
    high = next(t for t, paid in samples if paid >= count * 0.9)
    low_paid = next(paid for t, paid in samples if t == low)
    high_paid = next(paid for t, paid in samples if t == high)
    return (high_paid - low_paid) / (high - low) if high > low else float("nan")


def redis_cpu(client) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


if __name__ == "__main__":
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    main()
