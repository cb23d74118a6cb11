"""Card-testing defence: throttles on registration, and a cool-down that grows with refusals.

Shared by the API (as DRF throttles) and the card form (``registration_wait``). The password checks
(web login page and API token exchange) and the web sign-up page are throttled here too.

Rates come from ``BILLING["RATES"]`` (``registration_user``,
``registration_address``, ``token_address``, ``login_address``, ``login_account``, ``signup_address``);
an empty rate turns that throttle off. Their counters live in Django's cache (Redis in production, so
all workers share them), one atomic counter per fixed window (``count_in_window``).
The refusal cool-down itself (its counter and the read of the audit trail) is
``billing.cooldown``, plain Django, so that the services that feed it import no DRF.
"""

import hashlib
import time
from typing import cast

from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

from billing.conf import billing_cache, billing_settings
from billing.cooldown import cooldown_left, counted_refusals, note_refusal, refusal_cooldown

__all__ = [  # the cool-down's functions live in billing.cooldown; named here for existing callers
    "RefusalCooldownThrottle",
    "RegistrationAddressThrottle",
    "RegistrationUserThrottle",
    "TokenAddressThrottle",
    "counted_refusals",
    "note_refusal",
    "refusal_cooldown",
    "registration_wait",
]


def client_address(request) -> str:
    """The client's address: behind ``BILLING["NUM_PROXIES"]`` proxies, from X-Forwarded-For.

    DRF's ``get_ident``, reading billing's setting instead of the host's ``REST_FRAMEWORK``. With no
    proxy (0, the default) the header is ignored, so a client cannot choose its own address.
    """
    remote_addr = request.META.get("REMOTE_ADDR")
    xff = request.META.get("HTTP_X_FORWARDED_FOR")
    num_proxies = billing_settings.NUM_PROXIES
    if num_proxies == 0 or xff is None:
        return remote_addr
    addrs = xff.split(",")
    return addrs[-min(num_proxies, len(addrs))].strip()


def count_in_window(key: str, duration: int, now: float | None = None) -> tuple[int, float]:
    """Count one more hit on ``key`` in the current fixed window of ``duration`` seconds, atomically.

    Returns the hits counted in this window, this one included, and the seconds until the window ends.
    ``cache.add`` + ``cache.incr`` are atomic in Redis and in the local-memory cache, so concurrent
    hits each get a distinct count and exactly ``limit`` of them see a count within it, where a
    read-then-write of a history list lets every simultaneous request through. Refused hits are counted
    too, but only until the window ends: nobody is held back longer than the window.
    """
    now = time.time() if now is None else now
    window = int(now // duration)
    remaining = (window + 1) * duration - now
    window_key = f"{key}:{window}"
    # Outlives its window by a margin, so it cannot expire between the add and the incr below.
    billing_cache().add(window_key, 0, timeout=duration + 60)
    try:
        return billing_cache().incr(window_key), remaining
    except ValueError:  # evicted between the add and the incr
        if billing_cache().add(window_key, 1, timeout=duration + 60):
            return 1, remaining
        return billing_cache().incr(window_key), remaining


class _ScopedRateThrottle(SimpleRateThrottle):
    """A rate read from ``BILLING["RATES"]`` on every request (DRF's own reads it once), counted atomically.

    DRF's ``SimpleRateThrottle`` keeps a history list that it reads, then writes back: concurrent requests
    all read the same history and all pass. Here each request takes a number from an atomic counter of a
    fixed window (``count_in_window``).
    """

    def __init__(self):
        self.rate = billing_settings.RATES.get(self.scope)
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self._wait = None

    def get_ident(self, request) -> str:
        return client_address(request)

    def allow_request(self, request, view) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        # A rate is set, so parse_rate gave both numbers.
        count, remaining = count_in_window(self.key, cast(int, self.duration))
        if count <= cast(int, self.num_requests):
            return True
        self._wait = remaining
        return False

    def wait(self) -> float | None:
        return self._wait


class RegistrationUserThrottle(_ScopedRateThrottle):
    """Registrations per signed-in user."""

    scope = "registration_user"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class RegistrationAddressThrottle(_ScopedRateThrottle):
    """Registrations per client address, whoever is signed in (many accounts, one attacker)."""

    scope = "registration_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenAddressThrottle(_ScopedRateThrottle):
    """Token exchanges (password checks) per client address."""

    scope = "token_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignInAddressThrottle(_ScopedRateThrottle):
    """Sign-in attempts (password checks) on the web login page, per client address."""

    scope = "login_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SignInAccountThrottle(_ScopedRateThrottle):
    """Password checks per account (the username tried), on the web login page and the API token exchange.

    One budget for both, so guessing one account's password from many addresses or through the other
    door gains nothing. Every attempt counts, the right password too: after the limit, the right
    password is refused like a wrong one until the window ends.
    """

    scope = "login_account"

    def get_cache_key(self, request, view):
        # A DRF request carries its parsed body in ``data``; the web login page's is a Django request.
        data = request.data if hasattr(request, "data") else request.POST
        username = data.get("username") if hasattr(data, "get") else None
        if not isinstance(username, str) or not username:
            return None  # no account named: the form refuses it without checking a password
        digest = hashlib.sha256(username.casefold().encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}


class SignUpAddressThrottle(_ScopedRateThrottle):
    """Account creations (sign-up attempts) per client address."""

    scope = "signup_address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


def _longest_wait(request, throttles) -> float | None:
    waits = [throttle.wait() or 0.0 for throttle in throttles if not throttle.allow_request(request, None)]
    return max(waits) if waits else None


class RefusalCooldownThrottle(BaseThrottle):
    """Past a few refused registrations, each further attempt waits longer (doubling per refusal).

    A card tester's attempts are mostly refused; an honest customer mistyping once or twice is not slowed.
    """

    def allow_request(self, request, view) -> bool:
        self._wait = cooldown_left(request.user)
        return self._wait <= 0

    def wait(self) -> float | None:
        return self._wait if self._wait > 0 else None


def registration_wait(request) -> float | None:
    """For the web form: seconds to wait before another registration attempt, or None if allowed now."""
    return _longest_wait(
        request, [RegistrationUserThrottle(), RegistrationAddressThrottle(), RefusalCooldownThrottle()]
    )


def sign_in_wait(request) -> float | None:
    """For the web login page: seconds to wait before another password check, or None if allowed now."""
    return _longest_wait(request, [SignInAddressThrottle(), SignInAccountThrottle()])


def sign_up_wait(request) -> float | None:
    """For the web sign-up page: seconds to wait before another sign-up attempt, or None if allowed now."""
    return _longest_wait(request, [SignUpAddressThrottle()])
