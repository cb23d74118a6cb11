"""The baseline: the flow i'mport's guide shows, a new token per registration and a connection per call.

    token = POST /users/getToken {imp_key, imp_secret}             (requests.post: its own connection)
    POST /subscribe/customers/{customer_uid} {card...}  Authorization: token   (another connection)

It talks to the sandbox directly, with no web framework, database or cache in front of it, so it has
none of the service's own costs: the comparison flatters the baseline, not the service.
"""

import secrets
import threading
import time

import requests
from loadgen import LOOPBACK, InFlight


def register_naively(base_url: str, key: str, secret: str, card: dict, timeout: float = 30.0) -> int:
    """One registration as the guide writes it. Returns the HTTP status of the billing-key call."""
    answer = requests.post(
        f"{base_url}/users/getToken", json={"imp_key": key, "imp_secret": secret}, timeout=timeout
    )
    token = answer.json()["response"]["access_token"]
    customer_uid = f"naive_{secrets.token_hex(12)}"
    response = requests.post(
        f"{base_url}/subscribe/customers/{customer_uid}",
        json=card,
        headers={"Authorization": token},
        timeout=timeout,
    )
    ok = response.status_code == 200 and response.json().get("code") == 0
    return response.status_code if ok else -response.status_code


def run(
    base_url: str,
    key: str,
    secret: str,
    card: dict,
    *,
    concurrency: int,
    duration: float,
    timeout: float = 30.0,
    ramp: float = 0.0,
) -> tuple[list[tuple[float, float, int]], InFlight, float, float]:
    """Closed loop: ``concurrency`` threads registering until ``duration`` is up; (start, end, status).

    ``ramp``: the threads start spread over that many seconds, as ``loadgen.closed_loop``'s clients do.
    """
    host = base_url.split("//", 1)[1].split(":", 1)[0]
    if host not in LOOPBACK:
        raise ValueError(f"benchmark traffic goes to loopback only, not {host!r}")
    results: list[tuple[float, float, int]] = []
    inflight = InFlight()
    stop = threading.Event()
    t0 = time.monotonic() + 0.05
    deadline = t0 + duration

    def worker(start: float) -> None:
        time.sleep(max(0.0, start - time.monotonic()))
        while time.monotonic() < deadline:
            started = time.monotonic()
            with inflight:
                try:
                    status = register_naively(base_url, key, secret, card, timeout)
                except (requests.RequestException, ValueError, KeyError, TypeError):
                    status = 0
            results.append((started, time.monotonic(), status))

    sampler = threading.Thread(target=inflight.sample, args=(stop,), daemon=True)
    sampler.start()
    threads = [
        threading.Thread(target=worker, args=(t0 + ramp * i / concurrency,), daemon=True)
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 2 * timeout + 10)
    stop.set()
    sampler.join(timeout=1)
    return results, inflight, t0, time.monotonic()
