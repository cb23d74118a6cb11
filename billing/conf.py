"""billing's settings: one dict, ``settings.BILLING``, read here and nowhere else.

A host project sets only the keys it needs; every other key has the default below. Values are read
at each access (``billing_settings.API_URL``), so ``override_settings(BILLING=...)`` takes effect at
once. ``billing.checks`` explains a missing, misspelt or ill-typed value; docs/settings.md lists every
key (a test keeps it equal to ``DEFAULTS``).

Apart from ``BILLING``, billing reads only Django's own settings (``DEBUG``, ``SECRET_KEY``,
``AUTH_USER_MODEL``, ``LOGIN_URL``, ``CACHES``, ``DATA_UPLOAD_MAX_MEMORY_SIZE``).
"""

from typing import Any

from django.conf import settings
from django.core.cache import BaseCache, caches

SETTING_NAME = "BILLING"
PRODUCTION_API_URL = "https://api.iamport.kr"

# The rates of billing's throttles (DRF's "<number>/<second|minute|hour|day>"); None turns one off.
DEFAULT_RATES: dict[str, str | None] = {
    "registration_user": "10/hour",
    "registration_address": "60/hour",
    "token_address": "20/minute",
    "login_address": "20/minute",
    "login_account": "10/hour",
    "signup_address": "10/hour",
}

DEFAULTS: dict[str, Any] = {
    # i'mport
    "API_URL": PRODUCTION_API_URL,
    "API_KEY": "",
    "API_SECRET": "",
    "PG": "",
    "CHANNEL_KEY": "",
    "CONNECT_TIMEOUT": 3.05,
    "READ_TIMEOUT": 30.0,
    "POOL_SIZE": 32,
    "UNKNOWN_GRACE_SECONDS": 300,
    "NOTICE_URL": "",
    "WEBHOOK_ALLOWED_IPS": [],
    # the built-in sandbox, in-process (allowed only with DEBUG: check billing.E006)
    "SANDBOX": False,
    "SANDBOX_STATE": "iamport_sandbox.sqlite3",
    # charging
    "FIRST_PAYMENT_AMOUNT": 9900,
    "FIRST_PAYMENT_NAME": "Monthly plan",
    # throttles and the refusal cool-down
    "RATES": DEFAULT_RATES,
    "REFUSALS_FREE": 3,
    "REFUSAL_COOLDOWN": 30,
    "REFUSAL_WINDOW": 3600,
    # proxies in front of the site that append to X-Forwarded-For (0: the peer address only)
    "NUM_PROXIES": 0,
    # the API
    "IDEMPOTENCY_RETENTION": 24 * 3600,
    "IDEMPOTENCY_LEASE": 120,
    # at most this many calls per second to i'mport, all processes together (None: no limit)
    "MAX_CALLS_PER_SECOND": None,
    "API_TOKEN_CACHE_SECONDS": 60,
    # the Django cache (an alias of CACHES) holding the access token, throttle counters and token cache
    "CACHE": "default",
}

# What each key must be (checked by billing.checks, billing.E005).
TYPES: dict[str, type | tuple[type, ...]] = {
    "API_URL": str,
    "API_KEY": str,
    "API_SECRET": str,
    "PG": str,
    "CHANNEL_KEY": str,
    "CONNECT_TIMEOUT": (int, float),
    "READ_TIMEOUT": (int, float),
    "POOL_SIZE": int,
    "UNKNOWN_GRACE_SECONDS": int,
    "NOTICE_URL": str,
    "WEBHOOK_ALLOWED_IPS": (list, tuple),
    "SANDBOX": bool,
    "SANDBOX_STATE": str,
    "FIRST_PAYMENT_AMOUNT": int,
    "FIRST_PAYMENT_NAME": str,
    "RATES": dict,
    "REFUSALS_FREE": int,
    "REFUSAL_COOLDOWN": int,
    "REFUSAL_WINDOW": int,
    "NUM_PROXIES": int,
    "IDEMPOTENCY_RETENTION": int,
    "IDEMPOTENCY_LEASE": int,
    "MAX_CALLS_PER_SECOND": (int, float, type(None)),
    "API_TOKEN_CACHE_SECONDS": int,
    "CACHE": str,
}


def user_settings() -> dict[str, Any]:
    """The host's ``BILLING`` dict as set (empty when absent)."""
    return getattr(settings, SETTING_NAME, None) or {}


class BillingSettings:
    """``billing_settings.KEY``: the host's value, else the default; read at each access."""

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"{SETTING_NAME} has no key {name!r} (see docs/settings.md)")
        value = user_settings().get(name, DEFAULTS[name])
        if name == "RATES":  # the host may set some rates only: the others keep their defaults
            value = {**DEFAULT_RATES, **(value or {})}
        return value


billing_settings = BillingSettings()


def billing_cache() -> BaseCache:
    """The cache billing keeps its shared state in: ``BILLING["CACHE"]`` of the host's ``CACHES``."""
    return caches[billing_settings.CACHE]


def sandbox_in_use() -> bool:
    """The built-in sandbox, or a served one (its published credentials): never a real i'mport."""
    return billing_settings.SANDBOX or billing_settings.API_KEY == "sandbox_key"
