"""The engine suite: real Celery workers on a real Redis broker, the sandbox over HTTP, PostgreSQL.

Marked ``engine``; skipped unless the database is PostgreSQL and the cache Redis (CI's second pass runs it
within ``make test``; ``make engine-test`` alone). The broker is Redis db 3 of the machine's Redis
(``ENGINE_BROKER_URL``), or a private redis-server the test starts itself when it has to restart it.
"""

import os

import pytest
from django.conf import settings as django_settings
from django.db import connection

from billing import services as billing_services
from billing.models import BillingKeyEvent
from tests.engine.harness import Engine, flush
from tests.subscriptions.conftest import GOOD_CARD, card
from tests.support.sandbox_process import point_the_site_at, served_sandbox

BROKER_URL = os.environ.get("ENGINE_BROKER_URL", "redis://127.0.0.1:6379/3")


def needs_postgres_and_redis() -> None:
    redis_cache = django_settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    if connection.vendor != "postgresql" or not redis_cache:
        pytest.skip(
            "the engine suite needs PostgreSQL and the Redis cache (CI's second pass; make engine-test)"
        )


@pytest.fixture
def served(settings, tmp_path):
    """(sandbox URL, its state file), the site's client pointed at it."""
    needs_postgres_and_redis()
    state = tmp_path / "sandbox.sqlite3"
    with served_sandbox(state, "--reset") as url:
        point_the_site_at(settings, url)
        settings.BILLING = {**settings.BILLING, "NOTICE_URL": ""}
        yield url, state


@pytest.fixture
def one_key(served, user):
    return billing_services.register_card(owner=user, card=card(GOOD_CARD), source=BillingKeyEvent.Source.WEB)


@pytest.fixture
def engine(served, tmp_path):
    url, _state = served
    flush(BROKER_URL)
    engine = Engine(
        url,
        BROKER_URL,
        django_settings.CACHES["default"]["LOCATION"],
        tmp_path,
        # Short leases, so that what a killed worker held comes back within the test.
        CELERY_VISIBILITY_TIMEOUT="8",
        SUBSCRIPTION_CLAIM_SECONDS="8",
        SUBSCRIPTION_QUEUED_SECONDS="15",
        # A worker killed between committing an attempt and i'mport receiving it leaves a charge i'mport
        # never saw: it is sent again only after the grace (300 s in production), then at once.
        IAMPORT_UNKNOWN_GRACE_SECONDS="10",
        SUBSCRIPTION_UNAVAILABLE_RETRY_MINUTES="0",
    )
    yield engine
    engine.stop_all()
    flush(BROKER_URL)
