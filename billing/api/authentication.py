"""Token authentication that does not read the database on every call.

DRF's ``TokenAuthentication`` joins the token to its user on every request: on a registration that
was a fifth of the service's own CPU. Here the user's fields (never the password hash) are kept in
Django's cache (Redis in production, shared by every worker) for ``API_TOKEN_CACHE_SECONDS`` under a
hash of the token, and the user is rebuilt from them.

Revocation stays immediate in the ordinary ways: deleting or replacing a token (``drf_create_token
-r``, the admin) and saving or deleting its user (deactivation in the admin) drop the cached entry
at once, in every worker (``forget_token``, ``forget_user_tokens``, connected in ``BillingConfig``).
A change that bypasses model signals (``QuerySet.update``) takes effect within the cache time.
Permissions are never cached: they are read per request as before.
"""

import hashlib

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, transaction
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from billing.conf import billing_cache, billing_settings


def _cache_key(token_key: str) -> str:
    # The token itself is a bearer credential: the cache holds only a hash of it.
    return "billing:api-token:" + hashlib.sha256(token_key.encode()).hexdigest()


def _cached_fields() -> list[str]:
    return [field.attname for field in get_user_model()._meta.concrete_fields if field.attname != "password"]


class CachedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``, as DRF's, with the token's user cached (see the module)."""

    def authenticate_credentials(self, key):
        seconds = billing_settings.API_TOKEN_CACHE_SECONDS
        if seconds <= 0:
            return super().authenticate_credentials(key)
        fields = _cached_fields()
        cached = billing_cache().get(_cache_key(key))
        if cached is not None and cached[0] == fields:  # else written by a release with another user model
            return self._from_cache(key, fields, cached[1])
        user, token = super().authenticate_credentials(key)
        billing_cache().set(
            _cache_key(key), (fields, [getattr(user, name) for name in fields]), timeout=seconds
        )
        return user, token

    def _from_cache(self, key: str, fields: list[str], values: list):
        # The password hash is not among the fields: it is read from the database if anything asks
        # for it, and save() on this user writes only the fields loaded here.
        user = get_user_model().from_db(DEFAULT_DB_ALIAS, fields, values)
        if not user.is_active:  # as DRF's own check; a deactivation also drops the entry
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return user, Token(key=key, user=user)


def _forget(token_keys: list[str]) -> None:
    entries = [_cache_key(key) for key in token_keys]
    billing_cache().delete_many(entries)
    # Again once the change is committed: until then a concurrent call still reads the old row from the
    # database and could put it back in the cache.
    transaction.on_commit(lambda: billing_cache().delete_many(entries))


def forget_token(sender, instance: Token, **kwargs) -> None:
    """A token deleted (revoked, replaced, or its user deleted) stops working at once."""
    _forget([instance.key])


def forget_user_tokens(sender, instance, update_fields=None, **kwargs) -> None:
    """A user changed (deactivated, renamed, made staff) is read afresh on the next call."""
    if update_fields is not None and set(update_fields) == {"last_login"}:
        return  # every sign-in saves last_login; nothing the API relies on changed
    _forget(list(Token.objects.filter(user_id=instance.pk).values_list("key", flat=True)))
