"""Card-testing defence: throttles on registration, and a cool-down that grows with refusals.

Shared by the API (as DRF throttles) and the card form (``registration_wait``).

Rates come from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`` (``registration_user``,
``registration_address``, ``token_address``); an empty rate turns that throttle off. Their
counters live in Django's cache (Redis in production, so all workers share them).
The refusal cool-down itself (its counter and the read of the audit trail) is
``billing.cooldown``, plain Django, so that the services that feed it import no DRF.
"""

from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle

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


class _ScopedRateThrottle(SimpleRateThrottle):
    """A rate read from settings on every request (DRF's own reads it once at import)."""

    def __init__(self):
        self.rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        self.num_requests, self.duration = self.parse_rate(self.rate)


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
    throttles = [RegistrationUserThrottle(), RegistrationAddressThrottle(), RefusalCooldownThrottle()]
    waits = [throttle.wait() or 0.0 for throttle in throttles if not throttle.allow_request(request, None)]
    return max(waits) if waits else None
