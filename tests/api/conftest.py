"""Fixtures of the API tests: clients for each kind of caller, keys on file, throttle rates."""

import json
import time
from collections.abc import Callable
from http import HTTPStatus

import pytest
import responses
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from billing.models import BillingKey
from tests.conftest import ENGLISH
from tests.iamport_mock import IamportMock, envelope

GOOD_CARD = {"card_number": "4242-4242-4242-4242", "expiry": "2030-12", "birth": "900101", "pwd_2digit": "12"}
# Every way a card value could show up in an answer, a log line or a row.
CARD_VALUES = ("4242-4242-4242-4242", "4242424242424242", "2030-12", "900101")


def client_for(user) -> APIClient:
    client = APIClient(**ENGLISH)  # the API's messages are asserted in English; the site defaults to Korean
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def api_client() -> APIClient:
    """Nobody signed in."""
    return APIClient(**ENGLISH)


@pytest.fixture
def token_client(user) -> APIClient:
    return client_for(user)


@pytest.fixture
def other_client(other_user) -> APIClient:
    return client_for(other_user)


@pytest.fixture
def staff_user(django_user_model):
    staff = django_user_model.objects.create_user("support", "support@example.com", "pw-Staff-12345")
    staff.user_permissions.add(Permission.objects.get(codename="view_billingkey"))
    return staff


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    return client_for(staff_user)


@pytest.fixture
def make_key() -> Callable[..., BillingKey]:
    """A billing key on file, as if registered earlier (no call to i'mport)."""
    counter = iter(range(1, 1_000_000))

    def make(owner, *, status: str = BillingKey.Status.ACTIVE, **fields) -> BillingKey:
        described = {
            "card_name": "국민KB카드",
            "masked_card_number": "424242******4242",
            "card_type": BillingKey.CardType.CREDIT,
            "pg_provider": "nice",
        }
        return BillingKey.objects.create(
            owner=owner, customer_uid=f"cu_test{next(counter):08d}", status=status, **{**described, **fields}
        )

    return make


@pytest.fixture
def throttle_rates(settings) -> Callable[..., None]:
    """Set the throttle rates for one test: ``throttle_rates(registration_user="2/hour")``."""

    def set_rates(**rates: str | None) -> None:
        settings.BILLING = {**settings.BILLING, "RATES": {**settings.BILLING["RATES"], **rates}}

    return set_rates


@pytest.fixture
def no_throttles(throttle_rates, settings) -> None:
    throttle_rates(registration_user=None, registration_address=None, token_address=None)
    settings.BILLING = {**settings.BILLING, "REFUSAL_COOLDOWN": 0}


def payment_annotation(body: dict, *, status: str = "paid") -> dict:
    now = int(time.time())
    declined = status == "failed"
    return {
        "imp_uid": "imp_000000000001",
        "merchant_uid": body["merchant_uid"],
        "amount": body["amount"],
        "cancel_amount": 0,
        "currency": "KRW",
        "pay_method": "card",
        "status": status,
        "name": body["name"],
        "customer_uid": body.get("customer_uid", ""),
        "customer_uid_usage": "issue",
        "card_name": "국민KB카드",
        "card_code": "381",
        "card_number": "424242******4242",
        "card_type": 0,
        "pg_provider": "nice",
        "pg_tid": "tid_1",
        "paid_at": 0 if declined else now,
        "failed_at": now if declined else 0,
        "cancelled_at": 0,
        "fail_reason": "잔액부족 (insufficient funds)" if declined else None,
        "cancel_reason": None,
        "receipt_url": "" if declined else "https://receipt.example/1",
        "cancel_history": [],
    }


@pytest.fixture
def onetime(iamport: IamportMock) -> Callable[..., None]:
    """Answer ``/subscribe/payments/onetime`` (issue a key and pay) with a payment in ``status``."""

    def answer(status: str = "paid") -> None:
        def callback(request):
            body = json.loads(request.body)
            return HTTPStatus.OK, {}, json.dumps(envelope(payment_annotation(body, status=status)))

        iamport.mock.upsert(
            responses.CallbackResponse("POST", IamportMock.base_url + "/subscribe/payments/onetime", callback)
        )

    return answer
