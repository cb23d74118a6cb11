"""The stress suite: races against the sandbox served over HTTP, on PostgreSQL, then a field-by-field verdict.

Marked ``stress``; skipped unless the database is PostgreSQL (threads need real row locks): run it with
``make stress``. Each test drives the services from several threads at once while the sandbox adds
latency or faults, then settles what is left with the full reconciliation and asserts that
``services.compare_with_iamport()`` finds 0 differences between the local records and the sandbox.
"""

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest
import requests
from django.db import connection

from billing.iamport import reset_client
from tests.support.sandbox_process import point_the_site_at, served_sandbox

TIMEOUT = 10


class Faults:
    """The sandbox's ``/__sandbox__/faults`` switches."""

    def __init__(self, url: str):
        self.url = url

    def set(self, **faults: Any) -> None:
        answer = requests.post(self.url + "/__sandbox__/faults", json=faults, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text

    def calls(self, route: str) -> int:
        """Calls that reached the sandbox on ``route`` ("POST /subscribe/payments/again")."""
        answer = requests.get(self.url + "/__sandbox__/stats", timeout=TIMEOUT)
        return answer.json()["response"]["calls"].get(route, 0)

    def clear(self) -> None:
        self.set(latency_ms=0, error_rate=0, hang=None, hang_seconds=0)


@pytest.fixture
def served(settings, tmp_path) -> Faults:
    """The sandbox in its own process; the site's client pointed at it; no notifications."""
    if connection.vendor != "postgresql":
        pytest.skip("the stress suite runs on PostgreSQL (make stress)")
    with served_sandbox(tmp_path / "sandbox.sqlite3", "--reset") as url:
        point_the_site_at(settings, url)
        settings.BILLING = {**settings.BILLING, "NOTICE_URL": ""}
        yield Faults(url)
    reset_client()


def at_once(*calls: Callable[[], Any]) -> list[Any]:
    """Run ``calls`` in threads released together by a barrier; their results (or the exceptions raised)."""
    barrier = threading.Barrier(len(calls), timeout=30)
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            with contextlib.suppress(Exception):
                connection.close()

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads), "a thread is still running"
    return results
