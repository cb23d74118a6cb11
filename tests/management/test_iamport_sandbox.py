"""``manage.py iamport_sandbox`` as a process: CLI faults, state kept across a restart, ``--reset``."""

from collections.abc import Iterator
from contextlib import contextmanager
from http import HTTPStatus
from pathlib import Path

import requests

from tests.sandbox import spec_types
from tests.sandbox.conftest import Api
from tests.support.sandbox_process import served_sandbox


@contextmanager
def sandbox_process(tmp_path: Path, *options: str) -> Iterator[Api]:
    with served_sandbox(tmp_path / "sandbox.sqlite3", *options) as url:
        yield Api(url, requests.Session())


def test_cli_faults_restart_keeps_state_and_reset_clears_it(tmp_path):
    cli_faults = ["--latency-ms", "1", "--error-rate", "0", "--hang-seconds", "2", "--token-ttl", "600"]
    with sandbox_process(tmp_path, "--reset", *cli_faults) as sandbox:
        assert sandbox.control("faults") == {
            "latency_ms": 1,
            "error_rate": 0.0,
            "hang": None,
            "hang_seconds": 2.0,
            "token_ttl": 600,
        }
        issued = sandbox.register("cu_kept")
        paid = sandbox.pay("cu_kept", "order_kept")

    with sandbox_process(tmp_path) as sandbox:
        kept = spec_types.answer(
            sandbox.get("/subscribe/customers/cu_kept"), HTTPStatus.OK, spec_types.CUSTOMER
        )
        payment = spec_types.answer(
            sandbox.get("/payments/find/order_kept"), HTTPStatus.OK, spec_types.PAYMENT
        )
        assert (kept, payment) == (issued, paid)
        assert sandbox.control("faults")["token_ttl"] == 1800  # faults are per process, not state

    with sandbox_process(tmp_path, "--reset") as sandbox:
        spec_types.refusal(sandbox.get("/subscribe/customers/cu_kept"), HTTPStatus.NOT_FOUND, 1)


def test_cli_hang_and_error_rate(tmp_path):
    with sandbox_process(
        tmp_path, "--error-rate", "1", "--hang", "after", "--hang-seconds", "0.1"
    ) as sandbox:
        assert sandbox.control("faults")["hang"] == "after"
        response = sandbox.http.post(sandbox.base_url + "/users/getToken", json={}, timeout=5)
        spec_types.refusal(response, HTTPStatus.SERVICE_UNAVAILABLE, -1)
