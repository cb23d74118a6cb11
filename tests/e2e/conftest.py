"""End to end: the site on pytest-django's ``live_server``, the sandbox served over HTTP by its command.

The site sends ``notice_url`` pointing at the live server's webhook endpoint, so the sandbox can
notify it. Every place that speaks the sandbox's control API (``/__sandbox__/...``) is in
``SandboxControl``; the site itself is driven through its JSON API with a DRF token.
"""

from pathlib import Path
from typing import Any

import pytest
import requests
from rest_framework.authtoken.models import Token

from billing.iamport import reset_client
from tests.support.sandbox_process import KEY, SECRET, point_the_site_at, served_sandbox

TIMEOUT = 10  # for the tests' own requests


class SandboxControl:
    """The sandbox's own API (payments as i'mport shows them) and its ``/__sandbox__/`` controls.

    ``state`` and ``log``: its state file and the file its process writes to (its log lines).
    """

    def __init__(self, url: str, *, state: Path, log: Path):
        self.url = url
        self.state, self.log = state, log
        self.http = requests.Session()

    def token(self) -> str:
        answer = self.http.post(
            self.url + "/users/getToken", json={"imp_key": KEY, "imp_secret": SECRET}, timeout=TIMEOUT
        )
        return answer.json()["response"]["access_token"]

    def get(self, path: str, **params: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token()}"}
        return self.http.get(self.url + path, headers=headers, params=params, timeout=TIMEOUT)

    def payment(self, merchant_uid: str) -> dict:
        answer = self.get(f"/payments/find/{merchant_uid}")
        assert answer.status_code == 200, answer.text
        return answer.json()["response"]

    def payments_of(self, customer_uid: str) -> list[dict]:
        """Every payment the sandbox holds for a billing key (all pages)."""
        found, page = [], 1
        while page:
            body = self.get(f"/subscribe/customers/{customer_uid}/payments", page=page).json()["response"]
            found.extend(body["list"])
            page = body.get("next") or 0
            if page and len(found) >= body["total"]:
                break
        return found

    def faults(self, **faults: Any) -> None:
        answer = self.http.post(self.url + "/__sandbox__/faults", json=faults, timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text

    def clear_faults(self) -> None:
        self.faults(latency_ms=0, error_rate=0, hang=None, hang_seconds=0)

    def stats(self) -> dict:
        """Calls per route and the notifications' counts (attempted, delivered, failed, pending)."""
        answer = self.http.get(self.url + "/__sandbox__/stats", timeout=TIMEOUT)
        assert answer.status_code == 200, answer.text
        return answer.json()["response"]


@pytest.fixture
def sandbox_http(settings, tmp_path, live_server) -> SandboxControl:
    """``manage.py iamport_sandbox`` in its own process; the site (on ``live_server``) pointed at it."""
    state, log = tmp_path / "sandbox.sqlite3", tmp_path / "sandbox.log"
    with served_sandbox(state, "--reset", log=log) as url:
        point_the_site_at(settings, url)
        settings.BILLING = {**settings.BILLING, "NOTICE_URL": live_server.url + "/billing/webhooks/iamport/"}
        yield SandboxControl(url, state=state, log=log)
    reset_client()


class Site:
    """The site's JSON API over HTTP, as one account."""

    def __init__(self, base_url: str, user):
        self.base_url = base_url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {Token.objects.create(user=user).key}"

    def post(self, path: str, body: dict | None = None, headers: dict | None = None) -> requests.Response:
        return self.http.post(self.base_url + path, json=body or {}, headers=headers, timeout=TIMEOUT)

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.base_url + path, timeout=TIMEOUT)


@pytest.fixture
def merchant_site(live_server, django_user_model) -> Site:
    from django.contrib.auth.models import Permission

    account = django_user_model.objects.create_user("merchant", "ops@example.com", "pw-Merchant-12345")
    account.user_permissions.add(
        *Permission.objects.filter(codename__in=["charge_billingkey", "refund_payment", "view_payment"])
    )
    return Site(live_server.url, account)


@pytest.fixture
def customer(django_user_model):
    return django_user_model.objects.create_user("gildong", "gildong@example.com", "pw-Test-12345")


@pytest.fixture
def customer_site(live_server, customer) -> Site:
    return Site(live_server.url, customer)
