"""The subscriptions API against its own OpenAPI schema: generated requests never get a 5xx, and every
answer matches what the schema says (schemathesis, as tests/api/test_schema.py does for billing)."""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from merchant_site.wsgi import application

pytestmark = pytest.mark.django_db


@pytest.fixture
def keep_the_test_transaction():
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def subscriptions_schema(sandbox, user, plan, good_key, keep_the_test_transaction):
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


schema = schemathesis.pytest.from_fixture("subscriptions_schema").include(
    path_regex=r"^/api/v1/(plans|subscriptions)/"
)


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_subscriptions_api_matches_its_schema(case, user):
    token, _ = Token.objects.get_or_create(user=user)

    case.call_and_validate(
        headers={"Authorization": f"Token {token.key}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
