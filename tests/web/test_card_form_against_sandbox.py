"""End to end: the real card form, through Django's test client, against the sandbox served over HTTP."""

import os
import signal
import socket
import subprocess
import sys
import time
from http import HTTPStatus
from pathlib import Path

import pytest
import requests
from django.urls import reverse

from billing.iamport import get_client, reset_client
from billing.iamport.errors import IamportNotFound
from billing.models import BillingKey

pytestmark = [pytest.mark.django_db, pytest.mark.e2e]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sandbox_over_http(settings, tmp_path):
    """``manage.py iamport_sandbox`` in its own process, and the site pointed at it by URL and keys."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}"}
    process = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
        [
            sys.executable,
            "manage.py",
            "iamport_sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--state",
            str(tmp_path / "sandbox.sqlite3"),
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_until_answering(url, process)
        settings.IAMPORT_USE_BUILTIN_SANDBOX = False
        settings.IAMPORT_API_URL = url
        settings.IAMPORT_API_KEY = "sandbox_key"
        settings.IAMPORT_API_SECRET = "sandbox_secret"
        reset_client()
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def wait_until_answering(url: str, process: subprocess.Popen, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the sandbox exited: {process.stderr.read().decode()[-2000:]}")
        try:
            requests.post(url + "/users/getToken", json={}, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)  # polling a port that is not open yet; bounded by the deadline
    raise AssertionError("the sandbox did not start answering in time")


def test_register_refuse_and_remove_a_card(sandbox_over_http, customer_client, user):
    form = customer_client.get(reverse("billing:card-new"))
    assert form.status_code == HTTPStatus.OK

    good = {"card_number": "4242-4242-4242-4242", "expiry": "2031-01", "birth": "900101", "pwd_2digit": "12"}
    listed = customer_client.post(reverse("billing:card-new"), good, follow=True)

    key = BillingKey.objects.get(owner=user, status=BillingKey.Status.ACTIVE)
    assert key.masked_card_number in listed.text
    assert "4242-4242-4242-4242" not in listed.text
    assert "*" in key.masked_card_number
    assert get_client().get_billing_key(key.customer_uid).card_number == key.masked_card_number

    refused = customer_client.post(
        reverse("billing:card-new"), {**good, "card_number": "4000-0000-0000-0002"}
    )

    assert refused.status_code == HTTPStatus.BAD_REQUEST
    failed = BillingKey.objects.get(owner=user, status=BillingKey.Status.FAILED)
    assert failed.last_error_message
    assert failed.last_error_message in refused.text
    assert "4000-0000-0000-0002" not in refused.text

    customer_client.post(reverse("billing:card-delete", args=[key.customer_uid]))

    key.refresh_from_db()
    assert key.status == BillingKey.Status.DELETED
    with pytest.raises(IamportNotFound):
        get_client().get_billing_key(key.customer_uid)
