"""Fixtures of the API tests: a staff caller, throttle rates, the one-time payment answer."""

import json
import time
from collections.abc import Callable
from http import HTTPStatus

import pytest
import responses
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.support.iamport import IamportMock, envelope


@pytest.fixture
def staff_user(django_user_model):
    staff = django_user_model.objects.create_user("support", "support@example.com", "pw-Staff-12345")
    staff.user_permissions.add(Permission.objects.get(codename="view_billingkey"))
    return staff


@pytest.fixture
def staff_client(staff_user) -> APIClient:
    return client_for(staff_user)


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
