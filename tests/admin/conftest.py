"""Fixtures of the admin tests: staff accounts, billing keys on file, i'mport answering per customer_uid."""

import json
from http import HTTPStatus

import pytest
import responses
from django.contrib.auth.models import Group, Permission
from django.test import Client

from billing.models import BillingKey, BillingKeyEvent, Payment, WebhookDelivery
from tests.conftest import ENGLISH
from tests.support.iamport import CUSTOMER_PATH, customer_annotation, envelope
from tests.support.ledger import PaymentsAtIamport

KEYS_URL = "/admin/billing/billingkey/"
PAYMENTS_URL = "/admin/billing/payment/"


def logged_in(user) -> Client:
    client = Client(**ENGLISH)  # the admin's texts are asserted in English; the site defaults to Korean
    client.force_login(user)
    return client


@pytest.fixture
def support_user(django_user_model):
    """A member of the "Support" group created by migration 0002, and nothing more."""
    account = django_user_model.objects.create_user("support", "support@example.com", is_staff=True)
    account.groups.add(Group.objects.get(name="Support"))
    return account


@pytest.fixture
def support_client(support_user) -> Client:
    return logged_in(support_user)


@pytest.fixture
def deleter_client(support_user) -> Client:
    """The support user, also granted deletion at i'mport."""
    support_user.user_permissions.add(Permission.objects.get(codename="delete_at_iamport_billingkey"))
    return logged_in(support_user)


@pytest.fixture
def refunder_client(support_user) -> Client:
    """The support user, also granted refunds."""
    support_user.user_permissions.add(Permission.objects.get(codename="refund_payment"))
    return logged_in(support_user)


@pytest.fixture
def failed_key(make_key):
    key = make_key(
        status=BillingKey.Status.FAILED,
        pg_provider="",
        card_name="",
        masked_card_number="",
        last_error_code=-1,
        last_error_message="카드가 거절되었습니다. (card declined)",
    )
    BillingKeyEvent.objects.create(
        billing_key=key,
        actor=key.owner,
        source=BillingKeyEvent.Source.WEB,
        action=BillingKeyEvent.Action.ISSUE,
        outcome=BillingKeyEvent.Outcome.REFUSED,
        iamport_code=-1,
        iamport_message="카드가 거절되었습니다. (card declined)",
        http_status=HTTPStatus.OK,
        duration_ms=120,
    )
    return key


@pytest.fixture
def customers(iamport):
    """i'mport's billing keys, answered per customer_uid: an annotation, or the failure set in ``failing``."""
    failing: dict[str, tuple[int, dict]] = {}

    def answer(request):
        customer_uid = request.path_url.split("?")[0].rsplit("/", 1)[-1]
        if customer_uid in failing:
            status, body = failing[customer_uid]
            return status, {}, json.dumps(body)
        return HTTPStatus.OK, {}, json.dumps(envelope(customer_annotation(customer_uid)))

    for method in ("GET", "DELETE"):
        iamport.mock.upsert(responses.CallbackResponse(method, CUSTOMER_PATH, callback=answer))
    iamport.failing = failing
    return iamport


UNAVAILABLE = (HTTPStatus.SERVICE_UNAVAILABLE, envelope(code=-1, message="maintenance"))
REFUSED = (HTTPStatus.OK, envelope(code=-1, message="삭제할 수 없습니다. (cannot delete)"))


@pytest.fixture
def ledger(iamport) -> PaymentsAtIamport:
    """i'mport's payments; unlike the suite's ``ledger``, billing keys are answered by ``customers``."""
    return PaymentsAtIamport(iamport).install()


@pytest.fixture
def make_payment(make_key, ledger):
    counter = iter(range(1, 10_000))

    def make(billing_key=None, amount=10_000, status=Payment.Status.PAID) -> Payment:
        billing_key = billing_key or make_key()
        merchant_uid = f"pay_admin_{next(counter):04d}"
        imp_uid = None
        if status == Payment.Status.PAID:
            imp_uid = ledger.add_paid(merchant_uid, amount, billing_key.customer_uid)["imp_uid"]
        return Payment.objects.create(
            merchant_uid=merchant_uid,
            imp_uid=imp_uid,
            billing_key=billing_key,
            owner=billing_key.owner,
            amount=amount,
            name="Monthly plan",
            status=status,
        )

    return make


@pytest.fixture
def delivery(make_payment):
    payment = make_payment()
    return WebhookDelivery.objects.create(
        imp_uid=payment.imp_uid,
        merchant_uid=payment.merchant_uid,
        claimed_status="paid",
        source_ip="52.78.100.19",
        body={"imp_uid": payment.imp_uid, "merchant_uid": payment.merchant_uid, "status": "paid"},
        result=WebhookDelivery.Result.PROCESSED,
        payment=payment,
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def selected(*objects) -> list[str]:
    return [str(o.pk) for o in objects]
