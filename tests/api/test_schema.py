"""The OpenAPI schema: served, valid, complete, free of generator warnings; and the API against it.

The last test is property-based: schemathesis generates requests (valid and invalid) from the
schema itself and checks that no answer is a 5xx and every answer matches what the schema says.
i'mport is the ``responses`` mock, answering every billing-key call.
"""

from http import HTTPStatus

import pytest
import schemathesis
from django.contrib.auth.models import Permission
from django.core import signals
from django.db import close_old_connections
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from billing.api import billing_keys, tokens
from merchant_site.wsgi import application

pytestmark = pytest.mark.django_db

MY_OPERATIONS = {
    ("/api/v1/payments/", "get"),
    ("/api/v1/payments/", "post"),
    ("/api/v1/payments/{merchant_uid}/", "get"),
    ("/api/v1/payments/{merchant_uid}/refund/", "post"),
    ("/api/v1/auth/token/", "post"),
    ("/api/v1/billing-keys/", "get"),
    ("/api/v1/billing-keys/", "post"),
    ("/api/v1/billing-keys/{customer_uid}/", "get"),
    ("/api/v1/billing-keys/{customer_uid}/", "delete"),
    ("/api/v1/billing-keys/{customer_uid}/sync/", "post"),
}
TOKEN = ("/api/v1/auth/token/", "post")
CREATE = ("/api/v1/billing-keys/", "post")
CALLS_IAMPORT = [
    CREATE,
    ("/api/v1/payments/", "post"),
    ("/api/v1/payments/{merchant_uid}/refund/", "post"),
    ("/api/v1/billing-keys/{customer_uid}/", "delete"),
    ("/api/v1/billing-keys/{customer_uid}/sync/", "post"),
]
AUTHENTICATED_ANSWERS = {"401", "403"}
IAMPORT_ANSWERS = {"402", "503", "504"}


@pytest.fixture
def served_schema(client) -> dict:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == HTTPStatus.OK
    return response.json()


def test_the_served_schema_is_valid_openapi_3(served_schema):
    validate_schema(served_schema)
    assert served_schema["openapi"].startswith("3.")


def test_every_operation_is_documented_with_its_errors(served_schema):
    operations = {
        (url, method): operation
        for url, methods in served_schema["paths"].items()
        for method, operation in methods.items()
    }
    assert set(operations) >= MY_OPERATIONS
    for key in MY_OPERATIONS - {TOKEN}:
        responses = operations[key]["responses"]
        success = "201" if key in (CREATE, ("/api/v1/payments/", "post")) else "200"
        assert set(responses) >= AUTHENTICATED_ANSWERS | {success}, key
        assert operations[key]["security"] == [{"tokenAuth": []}, {"cookieAuth": []}], key
        for status, answer in responses.items():
            assert "application/json" in answer["content"], (key, status)
    for key in CALLS_IAMPORT:
        assert set(operations[key]["responses"]) >= IAMPORT_ANSWERS, key
    assert set(operations[CREATE]["responses"]) >= {"400", "409", "415", "429"}
    assert any(p["name"] == "Idempotency-Key" for p in operations[CREATE]["parameters"])
    assert operations[TOKEN].get("security", []) in ([], [{}])


def test_card_fields_are_write_only(served_schema):
    schemas = served_schema["components"]["schemas"]
    card_fields = {"card_number", "expiry", "birth", "pwd_2digit"}
    assert card_fields <= set(schemas["BillingKeyCreateRequest"]["properties"])
    for name, component in schemas.items():
        if not name.endswith("Request"):
            assert not card_fields & set(component.get("properties", {})), name


def test_both_auth_schemes_are_documented(served_schema):
    schemes = served_schema["components"]["securitySchemes"]
    assert schemes["tokenAuth"]["in"] == "header"
    assert schemes["cookieAuth"]["in"] == "cookie"


def test_the_billing_key_api_generates_no_schema_warnings():
    patterns = [
        path("api/v1/", include(billing_keys.urlpatterns)),
        path("api/v1/auth/token/", tokens.ObtainTokenView.as_view()),
    ]
    GENERATOR_STATS.reset()

    schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)

    assert not GENERATOR_STATS, (GENERATOR_STATS._warn_cache, GENERATOR_STATS._error_cache)
    validate_schema(schema)


def test_the_docs_page_is_self_hosted(client):
    response = client.get("/api/docs/")

    assert response.status_code == HTTPStatus.OK
    assert "drf_spectacular_sidecar" in response.text
    assert "cdn.jsdelivr.net" not in response.text


# --- the API against its own schema ----------------------------------------------------------------


@pytest.fixture
def keep_the_test_transaction():
    """Calling the WSGI app directly fires request_finished, which closes a connection that is inside
    the test's transaction (PostgreSQL). Django's test client avoids that the same way: disconnecting."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(iamport, ledger, paid_payment, no_throttles, user, keep_the_test_transaction):
    iamport.on_customer("POST")
    iamport.on_customer("GET")
    iamport.on_customer("DELETE")
    # Allowed to charge and refund, so those answers (201, 402, 409 ...) are generated and validated too;
    # a key (cu_1) and a paid payment (pay_paid_1) are on file for the generated ids to find.
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["charge_billingkey", "refund_payment", "view_payment"])
    )
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


# As a customer who may also charge and refund.
schema = schemathesis.pytest.from_fixture("api_schema").include(
    path_regex=r"^/api/v1/(billing-keys|auth|payments)/"
)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_matches_its_schema_and_never_fails(case, user):
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
