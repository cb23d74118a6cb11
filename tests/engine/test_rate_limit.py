"""Issue 16, item 3: at most IAMPORT_MAX_CALLS_PER_SECOND calls to i'mport from every process together; a
call over the limit waits its turn and is never dropped."""

import os
import subprocess
import sys
import threading
import time

import pytest
from django.conf import settings as django_settings

from billing.iamport import get_client, ratelimit
from billing.iamport.errors import IamportNotFound
from tests.engine.conftest import needs_postgres_and_redis
from tests.engine.harness import PROJECT_ROOT
from tests.engine.proxy import counting_proxy
from tests.support.sandbox_process import point_the_site_at, served_sandbox

LIMIT = 50
FIND = "/payments/find/"


def test_no_limit_when_the_setting_is_empty(settings):
    settings.BILLING = {**settings.BILLING, "MAX_CALLS_PER_SECOND": None}
    assert ratelimit.max_calls_per_second() is None
    started = time.monotonic()
    assert [ratelimit.wait_turn() for _ in range(100)] == [0.0] * 100
    assert time.monotonic() - started < 1.0


@pytest.mark.e2e
def test_threads_of_one_process_keep_to_the_limit_and_none_is_dropped(settings, tmp_path):
    """Without Redis (the SQLite pass): the limiter is the process's own."""
    settings.BILLING = {**settings.BILLING, "MAX_CALLS_PER_SECOND": str(LIMIT)}
    with (
        served_sandbox(tmp_path / "sandbox.sqlite3", "--reset") as sandbox,
        counting_proxy(sandbox) as (url, proxy),
    ):
        point_the_site_at(settings, url)
        client = get_client()
        client.access_token()

        def read():
            for _ in range(10):
                with pytest.raises(IamportNotFound):
                    client.find_payment("rate-limit-probe")

        threads = [threading.Thread(target=read) for _ in range(12)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started

    windows = proxy.per_second(FIND)
    assert len(windows) == 120  # every call made, none dropped
    assert max(windows) <= LIMIT
    assert elapsed >= (120 - 1) / LIMIT  # they waited their turn


@pytest.mark.engine
def test_two_processes_share_one_limit_through_redis(settings, tmp_path):
    needs_postgres_and_redis()
    with (
        served_sandbox(tmp_path / "sandbox.sqlite3", "--reset") as sandbox,
        counting_proxy(sandbox) as (url, proxy),
    ):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "merchant_site.settings",
            "DEBUG": "1",
            "TESTING": "",
            "IAMPORT_API_URL": url,
            "IAMPORT_MAX_CALLS_PER_SECOND": str(LIMIT),
            "CACHE_URL": django_settings.CACHES["default"]["LOCATION"],
            "IAMPORT_POOL_SIZE": "50",
        }
        for name in ("IAMPORT_API_KEY", "IAMPORT_API_SECRET"):
            env.pop(name, None)
        command = [sys.executable, "-m", "tests.engine.rate_client", "10", "10"]
        started = time.monotonic()
        processes = [
            subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stderr=subprocess.PIPE)  # noqa: S603
            for _ in range(2)
        ]
        for process in processes:
            _out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err.decode()[-3000:]
        elapsed = time.monotonic() - started

    windows = proxy.per_second(FIND)
    assert len(windows) == 2 * 10 * 10  # none dropped
    assert max(windows) <= LIMIT  # across both processes
    assert elapsed >= (200 - 1) / LIMIT
