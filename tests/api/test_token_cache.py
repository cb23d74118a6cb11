"""The API token's user is cached between calls, and forgotten as soon as the token or the user changes."""

from http import HTTPStatus

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.authtoken.models import Token

from billing.api.authentication import CachedTokenAuthentication, _cache_key
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LIST_URL = reverse("billing_api:billing-key-list")


def token_queries(client) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST_URL)
    return response.status_code, [q["sql"] for q in queries if "authtoken_token" in q["sql"]]


def test_the_second_call_does_not_read_the_token(token_client):
    first_status, first = token_queries(token_client)
    second_status, second = token_queries(token_client)

    assert (first_status, second_status) == (HTTPStatus.OK, HTTPStatus.OK)
    assert len(first) == 1
    assert second == []


def test_with_the_cache_off_every_call_reads_the_token(token_client, settings):
    settings.BILLING = {**settings.BILLING, "API_TOKEN_CACHE_SECONDS": 0}
    token_queries(token_client)

    assert len(token_queries(token_client)[1]) == 1


def test_a_deleted_token_stops_working_at_once(token_client, user):
    token_client.get(LIST_URL)
    Token.objects.get(user=user).delete()

    assert token_client.get(LIST_URL).status_code == HTTPStatus.UNAUTHORIZED


def test_a_replaced_token_stops_working_at_once(token_client, user):
    old_key = Token.objects.get(user=user).key
    token_client.get(LIST_URL)

    call_command("drf_create_token", "-r", user.username, stdout=None)

    assert Token.objects.get(user=user).key != old_key
    assert token_client.get(LIST_URL).status_code == HTTPStatus.UNAUTHORIZED


def test_a_user_deleted_stops_their_token_at_once(token_client, user):
    token_client.get(LIST_URL)
    user.delete()

    assert token_client.get(LIST_URL).status_code == HTTPStatus.UNAUTHORIZED


def test_a_user_deactivated_in_the_admin_is_refused_at_once(token_client, user):
    token_client.get(LIST_URL)
    user.is_active = False
    user.save()

    response = token_client.get(LIST_URL)

    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["error"] == "authentication_failed"


def test_a_user_made_superuser_gets_the_rights_at_once(token_client, user):
    assert token_client.get(LIST_URL, {"all": "true"}).status_code == HTTPStatus.FORBIDDEN
    user.is_superuser = True
    user.save()

    assert token_client.get(LIST_URL, {"all": "true"}).status_code == HTTPStatus.OK


def test_a_sign_in_does_not_drop_the_cached_token(token_client, user):
    token_client.get(LIST_URL)
    user.save(update_fields=["last_login"])

    assert token_queries(token_client)[1] == []


def test_a_bulk_update_counts_once_the_cache_time_has_passed(token_client, user, settings):
    # QuerySet.update() sends no signal: the documented bound is API_TOKEN_CACHE_SECONDS.
    token_client.get(LIST_URL)
    type(user).objects.filter(pk=user.pk).update(is_active=False)

    assert token_client.get(LIST_URL).status_code == HTTPStatus.OK
    cache.delete(_cache_key(Token.objects.get(user=user).key))  # what the expiry does
    assert token_client.get(LIST_URL).status_code == HTTPStatus.UNAUTHORIZED


def test_the_cache_holds_neither_the_token_nor_the_password_hash(token_client, user):
    key = Token.objects.get(user=user).key
    token_client.get(LIST_URL)

    entry = cache.get(_cache_key(key))

    assert key not in _cache_key(key)
    fields, values = entry
    assert "password" not in fields
    assert user.password not in [str(value) for value in values]


def test_a_cached_user_saved_keeps_its_password(token_client, user):
    key = Token.objects.get(user=user).key
    authentication = CachedTokenAuthentication()
    authentication.authenticate_credentials(key)

    cached_user, token = authentication.authenticate_credentials(key)
    cached_user.first_name = "Gildong"
    cached_user.save()

    user.refresh_from_db()
    assert token.key == key and token.user == user
    assert user.first_name == "Gildong"
    assert user.check_password(PASSWORD)


def test_an_entry_put_back_before_a_deactivation_commits_is_dropped_at_commit(
    user, django_capture_on_commit_callbacks
):
    entry = _cache_key(Token.objects.create(user=user).key)
    with django_capture_on_commit_callbacks(execute=True):
        user.is_active = False
        user.save()
        # A concurrent call that read the user before the commit would cache the old, active row.
        cache.set(entry, "the old row", timeout=60)

    assert cache.get(entry) is None


def test_an_entry_put_back_before_a_revocation_commits_is_dropped_at_commit(
    user, django_capture_on_commit_callbacks
):
    token = Token.objects.create(user=user)
    entry = _cache_key(token.key)
    with django_capture_on_commit_callbacks(execute=True):
        token.delete()
        cache.set(entry, "the old row", timeout=60)

    assert cache.get(entry) is None
