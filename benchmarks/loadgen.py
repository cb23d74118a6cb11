"""A small load generator: threads, one keep-alive ``http.client`` connection each, bounded in count and time.

Two shapes:
- ``closed_loop``: ``concurrency`` clients, each sending its next request as soon as the last one answered,
  until ``duration`` seconds are up. Keeps that many requests in flight.
- ``open_loop``: requests scheduled at a fixed ``rate`` whatever the answers do (no coordinated omission:
  latency is measured from the scheduled time as well as from the actual send).

Only loopback addresses are accepted as targets.
"""

import http.client
import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Result:
    scheduled: float  # monotonic time it was due (open loop) or sent (closed loop)
    started: float
    ended: float
    status: int  # 0: transport error
    body: bytes = b""
    error: str = ""

    @property
    def latency(self) -> float:
        return self.ended - self.started

    @property
    def latency_from_schedule(self) -> float:
        return self.ended - self.scheduled


class Client:
    """One keep-alive connection; reconnects once when the server closed it."""

    def __init__(self, host: str, port: int, timeout: float = 30.0):
        if host not in LOOPBACK:
            raise ValueError(f"benchmark traffic goes to loopback only, not {host!r}")
        self.host, self.port, self.timeout = host, port, timeout
        self.conn: http.client.HTTPConnection | None = None

    def send(self, req: Request) -> tuple[int, bytes, http.client.HTTPResponse | None]:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                # A bytes body goes out in the same send() as the headers (no Nagle/delayed-ACK stall).
                self.conn.request(req.method, req.path, body=req.body, headers=req.headers)
                response = self.conn.getresponse()
                body = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                return response.status, body, response
            except (http.client.HTTPException, OSError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class InFlight:
    """Counts requests outstanding, sampled by a background thread (mean and peak)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.now = 0
        self.peak = 0
        self.samples: list[tuple[float, int]] = []

    def __enter__(self):
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def __exit__(self, *exc):
        with self._lock:
            self.now -= 1

    def sample(self, stop: threading.Event, every: float = 0.02) -> None:
        while not stop.wait(every):
            self.samples.append((time.monotonic(), self.now))

    def mean_between(self, start: float, end: float) -> float:
        values = [n for t, n in self.samples if start <= t <= end]
        return sum(values) / len(values) if values else 0.0


def _run_one(client: Client, req: Request, scheduled: float, inflight: InFlight) -> Result:
    started = time.monotonic()
    with inflight:
        try:
            status, body, _ = client.send(req)
            error = ""
        except (http.client.HTTPException, OSError) as exc:
            status, body, error = 0, b"", f"{type(exc).__name__}: {exc}"
    return Result(scheduled, started, time.monotonic(), status, body, error)


def closed_loop(
    host: str,
    port: int,
    make_request: Callable[[int], Request],
    *,
    concurrency: int,
    duration: float,
    max_requests: int = 1_000_000,
    timeout: float = 30.0,
    ramp: float = 0.0,
) -> tuple[list[Result], InFlight, float, float]:
    """Keep ``concurrency`` requests in flight for ``duration`` s. Returns results, in-flight, t0, t1.

    With ``ramp``, the clients start evenly spread over that many seconds instead of all at once: with a
    fixed upstream latency, clients started together stay in step and every answer of a round arrives
    in the same few milliseconds, a herd that real customers never form.
    """
    results: list[Result] = []
    counter = itertools.count()
    inflight = InFlight()
    stop_sampling = threading.Event()
    t0 = time.monotonic() + 0.05
    deadline = t0 + duration

    def worker(start: float) -> None:
        client = Client(host, port, timeout)
        time.sleep(max(0.0, start - time.monotonic()))
        while time.monotonic() < deadline:
            index = next(counter)
            if index >= max_requests:
                break
            now = time.monotonic()
            results.append(_run_one(client, make_request(index), now, inflight))
        client.close()

    sampler = threading.Thread(target=inflight.sample, args=(stop_sampling,), daemon=True)
    sampler.start()
    threads = [
        threading.Thread(target=worker, args=(t0 + ramp * i / concurrency,), daemon=True)
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + timeout + 10)
    stop_sampling.set()
    sampler.join(timeout=1)
    return results, inflight, t0, time.monotonic()


def open_loop(
    host: str,
    port: int,
    make_request: Callable[[int], Request],
    *,
    rate: float,
    duration: float,
    workers: int = 32,
    timeout: float = 30.0,
) -> tuple[list[Result], InFlight, float, float]:
    """``rate`` requests/s for ``duration`` s, on their schedule. Returns results, in-flight, t0, t1."""
    total = int(rate * duration)
    t0 = time.monotonic() + 0.2
    schedule = [t0 + i / rate for i in range(total)]
    counter = itertools.count()
    results: list[Result] = []
    inflight = InFlight()
    stop_sampling = threading.Event()

    def worker() -> None:
        client = Client(host, port, timeout)
        while True:
            index = next(counter)
            if index >= total:
                break
            due = schedule[index]
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            results.append(_run_one(client, make_request(index), due, inflight))
        client.close()

    sampler = threading.Thread(target=inflight.sample, args=(stop_sampling,), daemon=True)
    sampler.start()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + timeout + 10)
    stop_sampling.set()
    sampler.join(timeout=1)
    return results, inflight, t0, time.monotonic()


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary_ms(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of seconds, in milliseconds."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": percentile(values, 50) * 1000,
        "p95": percentile(values, 95) * 1000,
        "p99": percentile(values, 99) * 1000,
        "max": max(values) * 1000,
        "mean": sum(values) / len(values) * 1000,
    }
