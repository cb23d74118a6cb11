"""Registration benchmark: the site under gunicorn (production settings, PostgreSQL, Redis) and the sandbox.

    .venv/bin/python benchmarks/run.py            # the full run: a few minutes, stops by itself
    .venv/bin/python benchmarks/run.py --keep-db  # keep the seeded benchmark database for the next run
    .venv/bin/python benchmarks/run.py --quick    # a small development run (seconds, 20,000 keys)

It creates the database ``billing_bench`` (dropped at the end unless ``--keep-db``; a kept one with its
million keys is reused), uses Redis database 9 (flushed), starts ``manage.py iamport_sandbox`` and
gunicorn on free loopback ports, and then measures, in this order:

1. overhead: registrations offered at a fixed rate (open loop, 100/s) with no injected latency;
2. throughput: ``--in-flight`` registrations kept in flight with 1 s of injected upstream latency;
3. the naive flow of i'mport's guide (token per request, connection per call) at the same concurrency;
4. scale: the card list page and the API list with 1,000,000 billing keys in PostgreSQL.

getToken and billing-key calls are counted at the sandbox (``/__sandbox__/stats``); database queries per
request by a benchmark-only gunicorn hook (``benchmarks/gunicorn_bench.conf.py``); peak memory per worker
from ``/proc/<pid>/status`` (VmHWM). It prints a table of targets and writes JSON to ``bench-results/``.
All traffic goes to 127.0.0.1; every loop is bounded in count and time, the whole run by ``--max-seconds``.
"""

import argparse
import contextlib
import datetime
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import loadgen
import naive_flow
import psycopg
import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
HOST = "127.0.0.1"
PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
SANDBOX_KEY, SANDBOX_SECRET = "sandbox_key", "sandbox_secret"
REGISTER_PATH = "/api/v1/billing-keys/"
REGISTERED = f"POST {REGISTER_PATH} 201"
CARD = {
    "card_number": "4242-4242-4242-4242",
    "expiry": f"{datetime.date.today().year + 5}-12",
    "birth": "900101",
    "pwd_2digit": "12",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --- processes -----------------------------------------------------------------------------------


class Processes:
    """Child processes in their own process groups, all ended (TERM, then KILL) on the way out."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.children: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        out = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children.append((name, process))
        return process

    def stop(self, process: subprocess.Popen) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)

    def stop_all(self) -> None:
        for _, process in reversed(self.children):
            with contextlib.suppress(ProcessLookupError):
                self.stop(process)

    def tail(self, name: str, chars: int = 3000) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def run_checked(command: list[str], env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[:4])} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout


def wait_for(
    url: str, process: subprocess.Popen, processes: Processes, name: str, limit: float = 60.0
) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{processes.tail(name)}")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)  # the port is not open yet; bounded by the deadline
    raise RuntimeError(f"{name} did not answer within {limit:.0f} s:\n{processes.tail(name)}")


# --- the sandbox's control API ---------------------------------------------------------------------


class Sandbox:
    def __init__(self, url: str):
        self.url = url
        self.http = requests.Session()

    def faults(self, **faults: Any) -> None:
        answer = self.http.post(self.url + "/__sandbox__/faults", json=faults, timeout=10)
        answer.raise_for_status()

    def stats(self) -> dict:
        answer = self.http.get(self.url + "/__sandbox__/stats", timeout=10)
        answer.raise_for_status()
        return answer.json()

    def reset(self) -> None:
        self.http.post(self.url + "/__sandbox__/reset", timeout=10).raise_for_status()


def _leaf_counts(stats: Any) -> dict[str, int]:
    """Every integer in the stats, by its key, however the sandbox nests them."""
    found: dict[str, int] = {}
    if isinstance(stats, dict):
        for key, value in stats.items():
            if isinstance(value, int) and not isinstance(value, bool):
                found[str(key)] = found.get(str(key), 0) + value
            elif isinstance(value, dict):
                for inner, count in _leaf_counts(value).items():
                    found[inner] = found.get(inner, 0) + count
    return found


def _is_billing_key_issue(name: str) -> bool:
    """``issueBillingKey``, or ``POST /subscribe/customers/{customer_uid}`` (not its payments)."""
    if name == "issueBillingKey":
        return True
    method, _, path = name.partition(" ")
    return method == "POST" and path.startswith("/subscribe/customers/") and path.count("/") == 3


def upstream_counts(stats: dict) -> dict[str, int]:
    """getToken and billing-key calls, from the sandbox's per-endpoint call counts."""
    counts = _leaf_counts(stats.get("response", stats) if isinstance(stats, dict) else {})
    return {
        "getToken": sum(n for name, n in counts.items() if "getToken" in name),
        "billing_key_issue": sum(n for name, n in counts.items() if _is_billing_key_issue(name)),
    }


# --- measurements ----------------------------------------------------------------------------------


def worker_pids(master_pid: int) -> list[int]:
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def peak_memory_mib(pids: list[int]) -> dict[str, float]:
    """VmHWM (peak resident set) per worker, MiB."""
    peaks = {}
    for pid in pids:
        status = Path(f"/proc/{pid}/status")
        if status.exists():
            match = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
            if match:
                peaks[str(pid)] = round(int(match.group(1)) / 1024, 1)
    return peaks


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (threads included)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def machine_busy_seconds() -> float:
    """CPU time spent by everything on this machine so far (all cores, /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU used by each part during a phase: site workers, sandbox, PostgreSQL, the load generator."""

    def __init__(self, parts: dict[str, Any]):
        self.parts = parts  # name -> callable returning pids, or "self"

    def _now(self) -> dict[str, float]:
        now = {}
        for name, pids in self.parts.items():
            if pids == "self":
                usage = os.times()
                now[name] = usage.user + usage.system
            else:
                now[name] = cpu_seconds(pids())
        return now

    def __enter__(self):
        self.machine_before = machine_busy_seconds()
        self.before = self._now()
        self.wall = time.monotonic()
        return self

    def __exit__(self, *exc):
        after = self._now()
        self.used = {name: after[name] - self.before[name] for name in after}
        self.wall = time.monotonic() - self.wall
        self.machine = machine_busy_seconds() - self.machine_before

    def per_request_ms(self, count: int) -> dict[str, float]:
        ms = {name: round(used / count * 1000, 2) for name, used in self.used.items()} if count else {}
        ms["cores busy (all parts)"] = round(sum(self.used.values()) / self.wall, 2)
        ms["cores busy (other processes on the machine)"] = round(
            max(0.0, self.machine - sum(self.used.values())) / self.wall, 2
        )
        return ms


def served_stats(stats_redis: redis.Redis) -> dict[str, Any]:
    requests_by_kind = {k.decode(): int(v) for k, v in stats_redis.hgetall("bench:requests").items()}
    queries_by_kind = {k.decode(): int(v) for k, v in stats_redis.hgetall("bench:queries").items()}
    histogram = {
        int(k): int(v) for k, v in stats_redis.hgetall(f"bench:query-histogram:{REGISTERED}").items()
    }
    peaks = {k.decode(): int(v) for k, v in stats_redis.hgetall("bench:peak-in-progress").items()}
    per_worker = {k.decode(): int(v) for k, v in stats_redis.hgetall("bench:requests-per-worker").items()}
    return {
        "requests": requests_by_kind,
        "queries": queries_by_kind,
        "registration_query_histogram": dict(sorted(histogram.items())),
        "peak_in_progress_per_worker": peaks,
        "requests_per_worker": per_worker,
    }


def registration_requests(tokens: list[str]):
    body = json.dumps(CARD).encode()

    def make(index: int) -> loadgen.Request:
        return loadgen.Request(
            "POST",
            REGISTER_PATH,
            body,
            {"Authorization": f"Token {tokens[index % len(tokens)]}", "Content-Type": "application/json"},
        )

    return make


def steady_window(t0: float, duration: float, round_trip: float, ramp: float = 0.0) -> tuple[float, float]:
    """Steady state of a closed loop: from the last client's first answer until the clients stop sending."""
    return t0 + ramp + round_trip, t0 + duration


def upstream_ms_of(database_url: str, results: list[loadgen.Result]) -> dict[str, float]:
    """The i'mport call's duration as the service recorded it (BillingKeyEvent.duration_ms), by uid."""
    uids = []
    for result in results:
        if result.status == 201:
            uids.append(json.loads(result.body)["customer_uid"])
    if not uids:
        return {}
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT k.customer_uid, e.duration_ms FROM billing_billingkeyevent e "
            "JOIN billing_billingkey k ON k.id = e.billing_key_id WHERE k.customer_uid = ANY(%s)",
            [uids],
        ).fetchall()
    return {uid: float(ms) for uid, ms in rows}


def phase_overhead(
    args, tokens, site_port, sandbox: Sandbox, database_url: str, cpu: CpuMeter
) -> dict[str, Any]:
    sandbox.faults(latency_ms=0)
    log("overhead floor: 200 registrations one at a time, no added latency")
    alone, _, _, _ = loadgen.closed_loop(
        HOST, site_port, registration_requests(tokens), concurrency=1, duration=60, max_requests=200
    )
    log(f"overhead: {args.rate:g} registrations/s offered for {args.overhead_seconds:g} s, no added latency")
    with cpu:
        results, inflight, t0, _ = loadgen.open_loop(
            HOST,
            site_port,
            registration_requests(tokens),
            rate=args.rate,
            duration=args.overhead_seconds,
            workers=args.open_loop_workers,
        )
    ok = [r for r in results if r.status == 201]
    upstream = upstream_ms_of(database_url, ok)
    own = [
        r.latency - upstream[json.loads(r.body)["customer_uid"]] / 1000
        for r in ok
        if json.loads(r.body)["customer_uid"] in upstream
    ]
    late = [r.started - r.scheduled for r in results]
    floor_alone, floor_at_rate = framework_floor(args, site_port)
    return {
        "offered_rate": args.rate,
        "duration_s": args.overhead_seconds,
        "sent": len(results),
        "registered": len(ok),
        "errors": _errors(results),
        "achieved_rate": len(ok) / max(1e-9, (max(r.ended for r in results) - t0)) if results else 0,
        "injected_latency_ms": 0,
        "latency_ms": loadgen.summary_ms([r.latency for r in ok]),
        "latency_from_schedule_ms": loadgen.summary_ms([r.latency_from_schedule for r in ok]),
        "overhead_ms": loadgen.summary_ms([r.latency for r in ok]),
        "one_at_a_time_ms": loadgen.summary_ms([r.latency for r in alone if r.status == 201]),
        "own_time_ms_excluding_recorded_upstream_call": loadgen.summary_ms(own),
        "recorded_upstream_call_ms": loadgen.summary_ms([v / 1000 for v in upstream.values()]),
        "send_lateness_ms": loadgen.summary_ms(late),
        "floor_healthz_one_at_a_time_ms": floor_alone,
        "floor_healthz_at_rate_ms": floor_at_rate,
        "peak_in_flight": inflight.peak,
        "cpu_ms_per_registration": cpu.per_request_ms(len(ok)),
    }


def framework_floor(args, site_port) -> tuple[dict[str, float], dict[str, float]]:
    """What any request costs here: ``GET /healthz`` (Django, middleware, one query) on the same server.

    Measured one at a time and at the overhead phase's rate; for reading the overhead figures, no target.
    """
    log(f"floor: GET /healthz one at a time, then {args.rate:g}/s for {args.overhead_seconds:g} s")
    healthz = loadgen.Request("GET", "/healthz")
    alone, _, _, _ = loadgen.closed_loop(
        HOST, site_port, lambda _: healthz, concurrency=1, duration=30, max_requests=200
    )
    at_rate, _, _, _ = loadgen.open_loop(
        HOST,
        site_port,
        lambda _: healthz,
        rate=args.rate,
        duration=args.overhead_seconds,
        workers=args.open_loop_workers,
    )
    return (
        loadgen.summary_ms([r.latency for r in alone if r.status == 200]),
        loadgen.summary_ms([r.latency for r in at_rate if r.status == 200]),
    )


def phase_throughput(args, tokens, site_port, sandbox: Sandbox, cpu: CpuMeter) -> dict[str, Any]:
    latency = args.latency_ms / 1000
    sandbox.faults(latency_ms=args.latency_ms)
    log(
        f"throughput: {args.in_flight} in flight, {args.latency_ms} ms upstream, "
        f"{args.throughput_seconds:g} s"
    )
    with cpu:
        results, inflight, t0, _ = loadgen.closed_loop(
            HOST,
            site_port,
            registration_requests(tokens),
            concurrency=args.in_flight,
            duration=args.throughput_seconds,
            ramp=latency,  # customers arrive spread out, not all in the same millisecond
        )
    start, end = steady_window(t0, args.throughput_seconds, latency, ramp=latency)
    ok = [r for r in results if r.status == 201]
    in_window = [r for r in ok if start <= r.ended <= end]
    mean_in_flight = inflight.mean_between(start, end)
    throughput = len(in_window) / (end - start)
    ideal = mean_in_flight / latency
    latencies = [r.latency for r in ok]
    return {
        "clients": args.in_flight,
        "injected_latency_ms": args.latency_ms,
        "duration_s": args.throughput_seconds,
        "window_s": round(end - start, 2),
        "sent": len(results),
        "registered": len(ok),
        "errors": _errors(results),
        "mean_in_flight": mean_in_flight,
        "peak_in_flight": inflight.peak,
        "throughput_per_s": throughput,
        "ideal_per_s": ideal,
        "throughput_vs_ideal": throughput / ideal if ideal else 0,
        "latency_ms": loadgen.summary_ms(latencies),
        "overhead_ms": loadgen.summary_ms([x - latency for x in latencies]),
        "cpu_ms_per_registration": cpu.per_request_ms(len(ok)),
    }


def phase_naive(args, sandbox: Sandbox, cpu: CpuMeter) -> dict[str, Any]:
    latency = args.latency_ms / 1000
    sandbox.faults(latency_ms=args.latency_ms)
    before = upstream_counts(sandbox.stats())
    log(f"naive flow (i'mport's guide): {args.in_flight} in flight, {args.throughput_seconds:g} s")
    with cpu:
        results, inflight, t0, _ = naive_flow.run(
            sandbox.url,
            SANDBOX_KEY,
            SANDBOX_SECRET,
            CARD,
            concurrency=args.in_flight,
            duration=args.throughput_seconds,
            ramp=latency,  # as the service's clients
        )
    after = upstream_counts(sandbox.stats())
    # Each naive registration is two calls, each with the injected latency (when the sandbox adds it to both).
    start, end = steady_window(t0, args.throughput_seconds, 2 * latency, ramp=latency)
    ok = [r for r in results if r[2] > 0]
    in_window = [r for r in ok if start <= r[1] <= end]
    calls = {k: after[k] - before[k] for k in after}
    return {
        "clients": args.in_flight,
        "injected_latency_ms": args.latency_ms,
        "window_s": round(end - start, 2),
        "sent": len(results),
        "registered": len(ok),
        "errors": len(results) - len(ok),
        "mean_in_flight": inflight.mean_between(start, end),
        "throughput_per_s": len(in_window) / (end - start) if end > start else 0,
        "latency_ms": loadgen.summary_ms([r[1] - r[0] for r in ok]),
        "upstream_calls": calls,
        "upstream_calls_per_registration": sum(calls.values()) / len(ok) if ok else 0,
        "getToken_per_1000": calls["getToken"] / len(ok) * 1000 if ok else 0,
        "cpu_ms_per_registration": cpu.per_request_ms(len(ok)),
    }


def _errors(results: list[loadgen.Result]) -> dict[str, int]:
    errors: dict[str, int] = {}
    for r in results:
        if r.status != 201:
            key = str(r.status) if r.status else r.error[:60]
            errors[key] = errors.get(key, 0) + 1
    return errors


def login_session(port: int, username: str, password: str) -> str:
    """Sign in through the login form, as a browser does; returns the Cookie header for the session."""
    client = loadgen.Client(HOST, port)
    status, body, response = client.send(loadgen.Request("GET", "/accounts/login/"))
    cookies = _cookies(response)
    csrf = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    form = f"username={username}&password={password}&csrfmiddlewaretoken={csrf}".encode()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        "Referer": f"http://{HOST}:{port}/accounts/login/",
    }
    status, body, response = client.send(loadgen.Request("POST", "/accounts/login/", form, headers))
    cookies.update(_cookies(response))
    client.close()
    if status != 302 or "sessionid" not in cookies:
        raise RuntimeError(f"login as {username} failed: HTTP {status}")
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def _cookies(response) -> dict[str, str]:
    found = {}
    for name, value in response.getheaders():
        if name.lower() == "set-cookie":
            pair = value.split(";", 1)[0]
            key, _, val = pair.partition("=")
            found[key.strip()] = val.strip()
    return found


def phase_scale(args, site_port, seeded: dict, password: str) -> dict[str, Any]:
    cookie = login_session(site_port, seeded["list_user"], password)
    staff_cookie = login_session(site_port, seeded["staff_user"], password)
    probes = {
        "card list page /billing/cards/ (session)": loadgen.Request(
            "GET", "/billing/cards/", headers={"Cookie": cookie}
        ),
        "API list GET /api/v1/billing-keys/ (token)": loadgen.Request(
            "GET", REGISTER_PATH, headers={"Authorization": f"Token {seeded['list_user_token']}"}
        ),
        f"API list, owner with {seeded['heavy_owner_keys']} keys": loadgen.Request(
            "GET", REGISTER_PATH, headers={"Authorization": f"Token {seeded['heavy_owner_token']}"}
        ),
        "API list, staff ?all=true (every key)": loadgen.Request(
            "GET", REGISTER_PATH + "?all=true", headers={"Authorization": f"Token {seeded['staff_token']}"}
        ),
        "admin changelist /admin/billing/billingkey/ (staff)": loadgen.Request(
            "GET", "/admin/billing/billingkey/", headers={"Cookie": staff_cookie}
        ),
    }
    measured = {}
    for name, request in probes.items():
        log(f"scale: {name}, {args.list_requests} requests, {args.list_concurrency} at a time")
        loadgen.closed_loop(HOST, site_port, lambda i, r=request: r, concurrency=2, duration=1.0)  # warm
        results, _, _, _ = loadgen.closed_loop(
            HOST,
            site_port,
            lambda i, r=request: r,
            concurrency=args.list_concurrency,
            duration=60,
            max_requests=args.list_requests,
        )
        ok = [r for r in results if r.status == 200]
        measured[name] = {
            "ok": len(ok),
            "errors": len(results) - len(ok),
            "latency_ms": loadgen.summary_ms([r.latency for r in ok]),
            "bytes": len(ok[0].body) if ok else 0,
        }
    return measured


# --- set-up ----------------------------------------------------------------------------------------


def prepare_database(name: str, keep: bool) -> bool:
    """Create the benchmark database; with ``keep``, reuse one that exists. Returns whether it existed."""
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None
        if exists and keep:
            return True
        if exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return False


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def backend_pids(database: str) -> list[int]:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [database]
        )
        return [pid for (pid,) in rows.fetchall()]


def checkpoint() -> None:
    """Write out what the set-up dirtied (a seeding writes gigabytes of WAL) before measuring.

    Otherwise PostgreSQL's next checkpoint, caused by the set-up or by an earlier run's seeding, runs
    during the measurement and every commit's WAL flush waits behind its writes.
    """
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def billing_key_rows(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM billing_billingkey").fetchone()[0]


def site_env(args, database_url: str, cache_url: str, sandbox_url: str, site_port: int) -> dict[str, str]:
    """Production settings (DEBUG off), pointed at the benchmark database, Redis db and the sandbox."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "merchant_site.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",  # plain HTTP straight to gunicorn, no TLS proxy in front
        "DATABASE_URL": database_url,
        "DATABASE_POOL_SIZE": str(args.db_pool),
        "CACHE_URL": cache_url,
        "IAMPORT_API_URL": sandbox_url,
        "IAMPORT_API_KEY": SANDBOX_KEY,
        "IAMPORT_API_SECRET": SANDBOX_SECRET,
        "IAMPORT_POOL_SIZE": str(args.threads),
        "IAMPORT_NOTICE_URL": "",
        "REGISTRATION_RATE_PER_USER": "",
        "REGISTRATION_RATE_PER_ADDRESS": "",
        "LOG_LEVEL": "WARNING",
        "GUNICORN_BIND": f"{HOST}:{site_port}",
        "GUNICORN_WORKERS": str(args.workers),
        "GUNICORN_THREADS": str(args.threads),
        "GUNICORN_LOGLEVEL": "warning",
        "BENCH_STATS_URL": cache_url,
    }


# --- report ----------------------------------------------------------------------------------------


def verdicts(report: dict) -> list[tuple[str, str, str, bool]]:
    overhead = report["overhead"]["overhead_ms"]
    throughput = report["throughput"]
    scale = report.get("scale") or {}
    server_peak = "+".join(str(n) for n in report["server_peak_in_progress_per_worker"].values())
    rows = [
        (
            "in flight at once with 1 s upstream latency",
            ">= 100",
            f"{throughput['mean_in_flight']:.1f} (server, per worker at peak: {server_peak})",
            throughput["mean_in_flight"] >= 100,
        ),
        (
            "throughput vs in-flight / latency",
            ">= 90%",
            f"{throughput['throughput_per_s']:.1f}/s of {throughput['ideal_per_s']:.1f}/s "
            f"= {throughput['throughput_vs_ideal']:.1%}",
            throughput["throughput_vs_ideal"] >= 0.9,
        ),
        (
            f"overhead p50 at {report['overhead']['offered_rate']:g}/s, no added latency",
            "< 5 ms",
            f"{overhead.get('p50', float('nan')):.2f} ms",
            overhead.get("p50", 1e9) < 5,
        ),
        (
            f"overhead p99 at {report['overhead']['offered_rate']:g}/s, no added latency",
            "< 25 ms",
            f"{overhead.get('p99', float('nan')):.2f} ms",
            overhead.get("p99", 1e9) < 25,
        ),
        (
            "getToken calls, whole deployment, whole run",
            f"1 per token lifetime ({report['workers']} workers)",
            f"{report['tokens']['getToken_calls']} for {report['tokens']['registrations']:,} registrations "
            f"({report['tokens']['getToken_per_1000']:.3f} per 1,000)",
            report["tokens"]["getToken_calls"] <= report["tokens"]["token_lifetimes_spanned"],
        ),
        (
            "database queries per registration",
            "<= 5",
            f"{report['queries']['per_registration']:.2f} (max {report['queries']['max']})",
            report["queries"]["max"] <= 5,
        ),
    ]
    for name, values in scale.items():
        if name.startswith(("card list page", "API list GET")):
            p95 = values["latency_ms"].get("p95", float("nan"))
            keys = report["seed"]["billing_keys"]
            rows.append(
                (
                    f"{name} p95, {keys:,} keys",
                    "< 50 ms, >= 1,000,000 keys",
                    f"{p95:.1f} ms",
                    p95 < 50 and keys >= 10**6,
                )
            )
    return rows


def print_report(report: dict) -> None:
    rows = verdicts(report)
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'target':<{width}}  {'goal':<34}  {'measured':<48}  result")
    print("-" * (width + 96))
    for name, goal, measured, passed in rows:
        print(f"{name:<{width}}  {goal:<34}  {measured:<48}  {'PASS' if passed else 'FAIL'}")
    t, o, n = report["throughput"], report["overhead"], report["naive"]
    print()
    print("registrations/s (1 s upstream):", f"{t['throughput_per_s']:.1f}")
    print(
        "latency at 1 s upstream, ms:",
        _fmt(t["latency_ms"]),
        f"| sandbox added {t['injected_latency_ms']} ms | overhead",
        _fmt(t["overhead_ms"]),
    )
    print(
        f"latency at no added latency, {o['offered_rate']:g}/s offered, ms:",
        _fmt(o["latency_ms"]),
        "| sandbox added 0 ms (= overhead)",
    )
    print("  the same, one registration at a time, ms:", _fmt(o["one_at_a_time_ms"]))
    print(
        "  of which the service's own time (minus the i'mport call it recorded):",
        _fmt(o["own_time_ms_excluding_recorded_upstream_call"]),
    )
    print(
        "  floor, GET /healthz on the same server (Django + one query), ms: one at a time",
        _fmt(o["floor_healthz_one_at_a_time_ms"]),
        f"| {o['offered_rate']:g}/s",
        _fmt(o["floor_healthz_at_rate_ms"]),
    )
    print(
        f"getToken per 1,000 registrations: {report['tokens']['getToken_per_1000']:.3f} "
        f"(naive flow: {n['getToken_per_1000']:.0f})"
    )
    print(f"database queries per registration: {report['queries']['per_registration']:.2f}")
    print(f"peak memory per worker (VmHWM), MiB: {report['memory']['peak_rss_mib_per_worker']}")
    for phase in ("overhead", "throughput", "naive"):
        print(f"CPU ms per registration, {phase}: {report[phase]['cpu_ms_per_registration']}")
    print()
    print(
        f"naive flow (same sandbox, same {n['clients']} in flight): "
        f"{n['throughput_per_s']:.1f} registrations/s, "
        f"{n['upstream_calls_per_registration']:.2f} upstream calls per registration"
    )
    r = report["ratios"]
    print(
        f"ratio service/naive: throughput x{r['throughput']:.2f}; "
        f"upstream calls naive/service x{r['upstream_calls']:.2f}; "
        f"getToken naive/service x{r['getToken']:.0f}"
    )
    for name, values in (report.get("scale") or {}).items():
        print(f"scale: {name}: {_fmt(values['latency_ms'])} ms, {values['errors']} errors")


def _fmt(summary: dict) -> str:
    if not summary.get("n"):
        return "n/a"
    return f"p50 {summary['p50']:.1f} / p95 {summary['p95']:.1f} / p99 {summary['p99']:.1f}"


# --- main ------------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * len(os.sched_getaffinity(0)),
        help="gunicorn processes (the production default: 2 per usable core)",
    )
    parser.add_argument("--threads", type=int, default=48, help="gunicorn threads per process")
    parser.add_argument("--db-pool", type=int, default=4, help="database connections per process (pool)")
    parser.add_argument("--in-flight", type=int, default=110, help="registrations kept in flight")
    parser.add_argument("--latency-ms", type=int, default=1000, help="upstream latency for throughput")
    parser.add_argument("--throughput-seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=100, help="offered registrations/s for overhead")
    parser.add_argument("--overhead-seconds", type=float, default=15)
    parser.add_argument("--open-loop-workers", type=int, default=32)
    parser.add_argument("--users", type=int, default=200, help="API users the registrations are spread over")
    parser.add_argument("--rows", type=int, default=1_000_000, help="billing keys seeded for the scale test")
    parser.add_argument("--owners", type=int, default=5000)
    parser.add_argument("--list-user-cards", type=int, default=20, help="keys of the customer measured")
    parser.add_argument("--list-requests", type=int, default=400)
    parser.add_argument("--list-concurrency", type=int, default=2)
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--keep-db", action="store_true", help="keep billing_bench (and reuse a seeded one)")
    parser.add_argument("--db-name", default="billing_bench")
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--sandbox-url", help="use a sandbox already running there instead of starting one")
    parser.add_argument("--max-seconds", type=float, default=900, help="the whole run is stopped after this")
    parser.add_argument("--quick", action="store_true", help="a small development run")
    args = parser.parse_args()
    if args.quick:
        args.throughput_seconds, args.overhead_seconds, args.rows, args.owners = 6, 4, 20_000, 100
        args.list_requests, args.users = 100, 50
    return args


def main() -> int:
    args = parse_args()
    started_at = time.time()
    load_before = os.getloadavg()

    def give_up(*_):
        raise SystemExit(f"stopped: the run took longer than --max-seconds={args.max_seconds:g}")

    signal.signal(signal.SIGTERM, give_up)
    watchdog = threading.Timer(args.max_seconds, lambda: os.kill(os.getpid(), signal.SIGTERM))
    watchdog.daemon = True
    watchdog.start()

    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = ROOT / "bench-results"
    log_dir = out_dir / f"logs-{stamp}"
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = Processes(log_dir)
    database_url = f"postgres://postgres@127.0.0.1:5432/{args.db_name}"
    cache_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    stats_redis = redis.Redis.from_url(cache_url)
    password = "bench-" + secrets.token_urlsafe(12)
    site_port = free_port()
    report: dict[str, Any] = {
        "command": " ".join([Path(PYTHON).name, *sys.argv]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": {"cpus": os.cpu_count(), "loadavg_before": load_before},
        "workers": args.workers,
        "threads": args.threads,
        "db_pool_per_worker": args.db_pool,
    }
    try:
        reused = prepare_database(args.db_name, args.keep_db)
        stats_redis.flushdb()
        log(
            f"database {args.db_name} ({'reused' if reused else 'created'}), Redis db {args.redis_db} flushed"
        )

        sandbox_process = None
        if args.sandbox_url:
            sandbox_url = args.sandbox_url.rstrip("/")
        else:
            sandbox_port = free_port()
            sandbox_url = f"http://{HOST}:{sandbox_port}"
            sandbox_env = {
                **{k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")},
                "DEBUG": "1",
                "DATABASE_URL": f"sqlite:///{log_dir / 'unused.sqlite3'}",
            }
            command = [PYTHON, "manage.py", "iamport_sandbox", "--host", HOST, "--port", str(sandbox_port)]
            command += ["--state", str(log_dir / "sandbox-state.sqlite3"), "--reset", "--latency-ms", "0"]
            sandbox_process = processes.start("sandbox", command, sandbox_env)
            wait_for(sandbox_url + "/__sandbox__/stats", sandbox_process, processes, "sandbox")
        sandbox = Sandbox(sandbox_url)
        sandbox.reset()
        sandbox.faults(latency_ms=0, error_rate=0, hang=None, hang_seconds=0)

        env = site_env(args, database_url, cache_url, sandbox_url, site_port)
        log("migrating")
        run_checked([PYTHON, "manage.py", "migrate", "--noinput"], env, timeout=300)
        users = json.loads(
            run_checked(
                [
                    PYTHON,
                    "benchmarks/django_tasks.py",
                    "users",
                    "--count",
                    str(args.users),
                    "--password",
                    password,
                ],
                env,
                timeout=300,
            )
        )
        tokens = list(users["users"].values())

        gunicorn = processes.start(
            "gunicorn",
            [
                PYTHON,
                "-m",
                "gunicorn",
                "-c",
                "benchmarks/gunicorn_bench.conf.py",
                "merchant_site.wsgi:application",
            ],
            env,
        )
        wait_for(f"http://{HOST}:{site_port}/healthz", gunicorn, processes, "gunicorn")
        # One worker answering is not all of them started: CPU and memory are counted per worker pid.
        deadline = time.monotonic() + 30
        while len(workers := worker_pids(gunicorn.pid)) < args.workers and time.monotonic() < deadline:
            time.sleep(0.1)
        if len(workers) != args.workers:
            raise RuntimeError(f"gunicorn started {len(workers)} of {args.workers} workers")
        log(
            f"gunicorn: {args.workers} workers x {args.threads} threads (pids {workers}); "
            f"sandbox {sandbox_url}"
        )
        # Warm-up: every thread's first request, the pools' first connections.
        loadgen.closed_loop(HOST, site_port, registration_requests(tokens), concurrency=32, duration=2.0)
        checkpoint()

        sandbox_pids = [sandbox_process.pid] if sandbox_process else []
        cpu = CpuMeter(
            {
                "site workers": lambda: workers,
                "sandbox": lambda: sandbox_pids,
                "postgres": lambda: backend_pids(args.db_name),
                "load generator": "self",
            }
        )
        report["overhead"] = phase_overhead(args, tokens, site_port, sandbox, database_url, cpu)
        report["throughput"] = phase_throughput(args, tokens, site_port, sandbox, cpu)
        service_calls = upstream_counts(sandbox.stats())
        time.sleep(1.0)  # the workers send their counters to Redis twice a second
        served = served_stats(stats_redis)
        registrations = served["requests"].get(REGISTERED, 0)
        service_span = time.time() - started_at
        report["tokens"] = {
            "getToken_calls": service_calls["getToken"],
            "billing_key_calls": service_calls["billing_key_issue"],
            "registrations": registrations,
            "getToken_per_1000": service_calls["getToken"] / registrations * 1000 if registrations else 0,
            "token_lifetimes_spanned": 1 + int(service_span // (30 * 60)),
            "sandbox_stats": sandbox.stats(),
        }
        histogram = served["registration_query_histogram"]
        report["queries"] = {
            "per_registration": served["queries"].get(REGISTERED, 0) / registrations if registrations else 0,
            "max": max(histogram) if histogram else 0,
            "histogram": histogram,
            "by_request_kind": {
                k: round(served["queries"][k] / n, 2) for k, n in served["requests"].items() if n
            },
        }
        report["server_peak_in_progress_per_worker"] = served["peak_in_progress_per_worker"]
        report["server_requests_per_worker"] = served["requests_per_worker"]
        report["naive"] = phase_naive(args, sandbox, cpu)
        naive, throughput = report["naive"], report["throughput"]
        service_calls_per_reg = (
            (service_calls["getToken"] + service_calls["billing_key_issue"]) / registrations
            if registrations
            else 0
        )
        report["ratios"] = {
            "throughput": throughput["throughput_per_s"] / naive["throughput_per_s"]
            if naive["throughput_per_s"]
            else 0,
            "upstream_calls": naive["upstream_calls_per_registration"] / service_calls_per_reg
            if service_calls_per_reg
            else 0,
            "getToken": naive["getToken_per_1000"] / report["tokens"]["getToken_per_1000"]
            if report["tokens"]["getToken_per_1000"]
            else float("inf"),
            "service_upstream_calls_per_registration": service_calls_per_reg,
        }
        sandbox.faults(latency_ms=0)

        if not args.skip_scale:
            have = billing_key_rows(database_url)
            seed_started = time.monotonic()
            if have < args.rows:
                log(f"seeding {args.rows - have:,} billing keys with seed_billing_keys (kept with --keep-db)")
                command = [PYTHON, "manage.py", "seed_billing_keys", "--count", str(args.rows - have)]
                command += ["--owners", str(args.owners), "--seed", "1"]
                run_checked(
                    command, env, timeout=max(60.0, args.max_seconds - (time.time() - started_at) - 60)
                )
            seeded = json.loads(
                run_checked(
                    [
                        *(PYTHON, "benchmarks/django_tasks.py", "list-user", "--username", "bench_list"),
                        *("--cards", str(args.list_user_cards), "--password", password),
                    ],
                    env,
                    timeout=120,
                )
            )
            seeded["staff_user"], seeded["staff_token"] = next(iter(users["staff"].items()))
            report["seed"] = {
                "billing_keys": billing_key_rows(database_url),
                "reused": have >= args.rows,
                "seconds": round(time.monotonic() - seed_started, 1),
                "list_user_keys": args.list_user_cards,
                "heavy_owner_keys": seeded["heavy_owner_keys"],
            }
            checkpoint()
            report["scale"] = phase_scale(args, site_port, seeded, password)
        report["memory"] = {"peak_rss_mib_per_worker": peak_memory_mib(workers)}
        report["machine"]["loadavg_after"] = os.getloadavg()
        report["seconds"] = round(time.time() - started_at, 1)
    finally:
        watchdog.cancel()
        processes.stop_all()
        if not args.keep_db:
            try:
                drop_database(args.db_name)
            except psycopg.Error as exc:
                log(f"could not drop {args.db_name}: {exc}")
        stats_redis.flushdb()

    path = out_dir / f"bench-{stamp}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    print_report(report)
    print(f"\nJSON: {path.relative_to(ROOT)}   logs: {log_dir.relative_to(ROOT)}/   ({report['seconds']} s)")
    return 0 if all(r[3] for r in verdicts(report)) else 1


if __name__ == "__main__":
    sys.exit(main())
