"""BILLING["CACHE"]: billing's shared state goes to the cache the host names, not necessarily its default."""

import pytest
from django.core.cache import caches

from billing.iamport import build_client_from_settings
from billing.throttling import count_in_window

TWO_CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "host-default"},
    "billing": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "billing-shared"},
}


@pytest.fixture
def billing_cache_alias(settings):
    settings.CACHES = TWO_CACHES
    settings.BILLING = {**settings.BILLING, "CACHE": "billing"}
    yield
    for alias in TWO_CACHES:
        caches[alias].clear()


def test_the_throttles_count_in_billings_cache(billing_cache_alias):
    assert count_in_window("throttle:test", 60, now=120.0) == (1, 60.0)

    assert caches["billing"].get("throttle:test:2") == 1
    assert caches["default"].get("throttle:test:2") is None


def test_the_access_token_is_kept_in_billings_cache(billing_cache_alias):
    assert build_client_from_settings()._cache is caches["billing"]


def test_by_default_the_default_cache(settings):
    settings.BILLING = {key: value for key, value in settings.BILLING.items() if key != "CACHE"}
    assert build_client_from_settings()._cache is caches["default"]
