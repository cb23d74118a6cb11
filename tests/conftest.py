"""Fixtures shared by the whole suite: users, clients, i'mport (faked or sandboxed), keys and payments.

One name, one meaning, everywhere:

- ``user`` / ``other_user``: two customers; ``customer_client``: ``user`` signed in to the pages.
- ``api_client``: nobody signed in; ``token_client`` / ``other_client``: ``user`` / ``other_user``
  with an API token; ``merchant`` / ``merchant_client``: a back-office account allowed to charge and
  refund.
- ``iamport``: i'mport faked at the transport (``tests.support.iamport.IamportMock``); ``ledger``: its
  payment endpoints (``tests.support.ledger.PaymentsAtIamport``) on top of it; ``sandbox``: the
  built-in sandbox in-process.
- ``make_key``: a billing key on file (no call to i'mport); ``active_key`` / ``declining_key`` /
  ``paid_payment``: a key and a payment i'mport knows of, in the ``ledger``.
"""

import os
from collections.abc import Callable

import pytest
import responses
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from billing.iamport import reset_client
from billing.models import BillingKey, Payment
from tests.support.iamport import IamportMock
from tests.support.ledger import DECLINING_CUSTOMERS_PREFIX, PaymentsAtIamport

PASSWORD = "pw-Test-12345"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """Under ``make mutation`` several pytest runs share one directory: each its own SQLite test file."""
    if "MUTANT_UNDER_TEST" in os.environ:
        test = settings.DATABASES["default"].setdefault("TEST", {})
        if test.get("NAME"):
            test["NAME"] = f"{test['NAME']}.{os.getpid()}"


@pytest.fixture(autouse=True)
def _isolated_iamport(settings, tmp_path):
    """Each test gets its own sandbox state, an empty token cache and a freshly built client."""
    settings.BILLING = {**settings.BILLING, "SANDBOX_STATE": str(tmp_path / "iamport_sandbox.sqlite3")}
    cache.clear()
    reset_client()
    yield
    reset_client()
    cache.clear()


@pytest.fixture
def iamport(settings):
    """i'mport mocked at the transport (``responses``), with answers shaped like the V1 spec's."""
    settings.BILLING = {
        **settings.BILLING,
        "SANDBOX": False,
        "API_URL": IamportMock.base_url,
        "API_KEY": "test_key",
        "API_SECRET": "test_secret",
    }
    reset_client()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield IamportMock(mock)


@pytest.fixture
def sandbox(settings):
    """The built-in sandbox, in-process, with a state file of this test's own."""
    settings.BILLING = {
        **settings.BILLING,
        "SANDBOX": True,
        "API_URL": "https://api.iamport.kr",
        "API_KEY": "sandbox_key",
        "API_SECRET": "sandbox_secret",
    }
    reset_client()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("gildong", "gildong@example.com", PASSWORD)


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user("mallory", "mallory@example.com", PASSWORD)


# The site speaks Korean unless the browser asks for English. The tests that read the pages' texts
# assert the English wording, so their clients ask for English; tests/web/test_languages.py covers Korean.
ENGLISH = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def client() -> Client:
    """pytest-django's ``client``, as an English browser."""
    return Client(**ENGLISH)


@pytest.fixture
def customer_client(user) -> Client:
    client = Client(**ENGLISH)
    client.force_login(user)
    return client


# --- API callers -------------------------------------------------------------------------------
def client_for(user) -> APIClient:
    """An API client holding ``user``'s token (asking for English, like the browser clients above)."""
    client = APIClient(**ENGLISH)
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
def merchant(django_user_model):
    """A back-office account allowed to charge billing keys and refund payments."""
    account = django_user_model.objects.create_user("merchant", "ops@example.com", "pw-Merchant-12345")
    account.user_permissions.add(
        *Permission.objects.filter(codename__in=["charge_billingkey", "refund_payment", "view_payment"])
    )
    return account


@pytest.fixture
def merchant_client(merchant) -> APIClient:
    return client_for(merchant)


# --- keys and payments -------------------------------------------------------------------------
@pytest.fixture
def make_key(user) -> Callable[..., BillingKey]:
    """A billing key on file, as if registered earlier (no call to i'mport); owner defaults to ``user``."""
    counter = iter(range(1, 1_000_000))

    def make(owner=None, *, status: str = BillingKey.Status.ACTIVE, **fields) -> BillingKey:
        described = {
            "customer_uid": f"cu_key_{next(counter):04d}",
            "card_name": "국민KB카드",
            "masked_card_number": "424242******4242",
            "card_type": BillingKey.CardType.CREDIT,
            "pg_provider": "nice",
        }
        return BillingKey.objects.create(owner=owner or user, status=status, **{**described, **fields})

    return make


@pytest.fixture
def ledger(iamport) -> PaymentsAtIamport:
    """i'mport's payments, faked; billing keys answered by the ``iamport`` mock."""
    iamport.on_customer("GET")
    return PaymentsAtIamport(iamport).install()


@pytest.fixture
def active_key(user, ledger) -> BillingKey:
    ledger.customers.add("cu_1")
    return BillingKey.objects.create(
        owner=user,
        customer_uid="cu_1",
        status=BillingKey.Status.ACTIVE,
        masked_card_number="424242******4242",
    )


@pytest.fixture
def declining_key(user, ledger) -> BillingKey:
    uid = f"{DECLINING_CUSTOMERS_PREFIX}_1"
    ledger.customers.add(uid)
    return BillingKey.objects.create(owner=user, customer_uid=uid, status=BillingKey.Status.ACTIVE)


@pytest.fixture
def paid_payment(active_key, ledger) -> Payment:
    ledger.add_paid("pay_paid_1", 10_000)
    imp_uid = ledger.payments["pay_paid_1"]["imp_uid"]
    return Payment.objects.create(
        merchant_uid="pay_paid_1",
        imp_uid=imp_uid,
        billing_key=active_key,
        owner=active_key.owner,
        amount=10_000,
        name="order",
        status=Payment.Status.PAID,
    )
