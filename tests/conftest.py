"""Fixtures shared by the whole suite: users, clients, and i'mport (mocked or sandboxed)."""

import pytest
import responses
from django.core.cache import cache
from django.test import Client

from billing.iamport import reset_client
from tests.iamport_mock import IamportMock

PASSWORD = "pw-Test-12345"


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
