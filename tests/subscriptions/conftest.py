"""Subscriptions against the built-in sandbox, in-process: plans, cards, and the sandbox's own ledger."""

import datetime

import pytest
import requests

from billing import services as billing_services
from billing.iamport import get_client
from billing.iamport.types import CardDetails
from billing.models import BillingKeyEvent
from subscriptions.calendar import SEOUL
from subscriptions.models import Plan

GOOD_CARD = "4242-4242-4242-4242"
FAILING_CARD = "4000-0000-0000-9995"  # issued; every charge fails (insufficient funds)


def card(number: str) -> CardDetails:
    return CardDetails(number=number, expiry="2031-12", birth="900101", pwd_2digit="12")


def seoul(*args: int) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SEOUL)


class SandboxLedger:
    """What the in-process sandbox holds: calls per route and payments by merchant_uid."""

    def _control(self, method: str, path: str, **kwargs) -> dict:
        client = get_client()
        answer = client.session.request(method, client.base_url + path, timeout=5, **kwargs)
        return answer.json()["response"]

    def charges(self) -> int:
        """Payments the sandbox holds (paid or failed) for all our billing keys: charges, not calls."""
        from billing.models import BillingKey

        return sum(len(self.payments_of(key.customer_uid)) for key in BillingKey.objects.all())

    def payments_of(self, customer_uid: str) -> list[dict]:
        client = get_client()
        found, page = [], 1
        while page:
            answer = client._call(
                "GET", f"/subscribe/customers/{customer_uid}/payments", params={"page": page}
            )
            found.extend(answer["list"])
            page = answer.get("next") or 0
        return found

    def advance_clock(self, *, days: float) -> None:
        self._control("POST", "/__sandbox__/clock", json={"advance": days * 86400})

    def payment(self, merchant_uid: str):
        return get_client().find_payment(merchant_uid)


@pytest.fixture
def ledger(sandbox) -> SandboxLedger:
    return SandboxLedger()


@pytest.fixture
def plan(db) -> Plan:
    return Plan.objects.create(code="basic-monthly", name="Basic (monthly)", amount=9900)


@pytest.fixture
def register(sandbox):
    def register(owner, number: str = GOOD_CARD):
        return billing_services.register_card(
            owner=owner, card=card(number), source=BillingKeyEvent.Source.WEB
        )

    return register


@pytest.fixture
def good_key(register, user):
    return register(user)


@pytest.fixture
def failing_key(register, user):
    return register(user, FAILING_CARD)


class Crash(BaseException):
    """A process dying: not an Exception, so nothing on the way up handles it."""


class CrashAfterCharge(requests.adapters.BaseAdapter):
    """The transport to i'mport, dying once right after i'mport has carried out a charge (or, with
    ``before_sending``, right before the charge leaves: i'mport never hears of it)."""

    def __init__(self, inner, *, before_sending: bool = False):
        super().__init__()
        self.inner = inner
        self.armed = True
        self.before_sending = before_sending

    def send(self, request, **kwargs):
        is_charge = request.path_url.startswith("/subscribe/payments/again")
        if self.armed and is_charge and self.before_sending:
            self.armed = False
            raise Crash()
        response = self.inner.send(request, **kwargs)
        if self.armed and is_charge:
            self.armed = False
            raise Crash()
        return response

    def close(self):
        self.inner.close()


@pytest.fixture
def crash_after_next_charge(sandbox):
    client = get_client()
    client.session.mount(client.base_url, CrashAfterCharge(client.session.get_adapter(client.base_url)))


@pytest.fixture
def crash_before_next_charge(sandbox):
    client = get_client()
    inner = client.session.get_adapter(client.base_url)
    client.session.mount(client.base_url, CrashAfterCharge(inner, before_sending=True))


class AfterCharge(requests.adapters.BaseAdapter):
    """The transport to i'mport, running ``then()`` once, right after i'mport has answered a charge: what
    another request (the customer changing the card) does while the engine waits for i'mport."""

    def __init__(self, inner, then):
        super().__init__()
        self.inner, self.then = inner, then

    def send(self, request, **kwargs):
        response = self.inner.send(request, **kwargs)
        if self.then is not None and request.path_url.startswith("/subscribe/payments/again"):
            then, self.then = self.then, None
            then()
        return response

    def close(self):
        self.inner.close()


@pytest.fixture
def after_next_charge(sandbox):
    def install(then):
        client = get_client()
        client.session.mount(client.base_url, AfterCharge(client.session.get_adapter(client.base_url), then))

    return install
