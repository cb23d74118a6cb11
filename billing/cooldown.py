"""The refusal cool-down: past a few refused registrations, each further attempt waits longer.

A card tester's attempts are mostly refused; an honest customer mistyping once or twice is not slowed.
The cool-down's truth is the audit trail: refused registrations are ``BillingKeyEvent`` rows, whichever
page or client caused them. Reading it costs a query, so a counter in the cache (``note_refusal``, fed
by the services) says first whether there can be enough refusals to matter; only then is the trail read.

Plain Django: the services feed it without importing DRF; ``billing.throttling`` wraps it as a throttle.
"""

import datetime

from django.utils import timezone

from billing.conf import billing_cache, billing_settings
from billing.models import BillingKeyEvent

_REGISTRATION_ACTIONS = (BillingKeyEvent.Action.ISSUE, BillingKeyEvent.Action.ISSUE_AND_PAY)


def _refusal_counter_key(user_pk) -> str:
    return f"billing:refusals:{user_pk}"


def note_refusal(user) -> None:
    """Count a refused registration by ``user`` (call it wherever one is recorded).

    The counter lives until a window has passed since the last refusal, so it never counts fewer
    refusals than the trail holds for the window (it may count more: older ones), and more only costs
    the exact read of the trail. If the cache loses it, a user gets at most
    ``REGISTRATION_REFUSALS_FREE`` unchecked attempts before the trail is read again.
    """
    key, window = _refusal_counter_key(user.pk), billing_settings.REFUSAL_WINDOW
    billing_cache().add(key, 0, timeout=window)
    try:
        billing_cache().incr(key)
    except ValueError:  # expired between add and incr
        billing_cache().set(key, 1, timeout=window)
    billing_cache().touch(key, timeout=window)


def counted_refusals(user) -> int:
    """Refusals counted for ``user`` by ``note_refusal``: never fewer than the window holds (see there)."""
    return billing_cache().get(_refusal_counter_key(user.pk)) or 0


def refusal_cooldown(refusals: int) -> int:
    """Seconds a user waits after ``refusals`` refused registrations within the window (0: none)."""
    extra = refusals - billing_settings.REFUSALS_FREE
    base = billing_settings.REFUSAL_COOLDOWN
    if extra <= 0 or base <= 0:
        return 0
    return min(base * 2 ** min(extra - 1, 20), billing_settings.REFUSAL_WINDOW)


def cooldown_left(user) -> float:
    """Seconds ``user`` must still wait before another registration attempt (0 or less: none)."""
    if billing_settings.REFUSAL_COOLDOWN <= 0:
        return 0.0
    if counted_refusals(user) <= billing_settings.REFUSALS_FREE:
        return 0.0  # not enough refusals for a cool-down: no need to read the trail
    now = timezone.now()
    refused = BillingKeyEvent.objects.filter(
        actor=user,
        action__in=_REGISTRATION_ACTIONS,
        outcome=BillingKeyEvent.Outcome.REFUSED,
        created_at__gte=now - datetime.timedelta(seconds=billing_settings.REFUSAL_WINDOW),
    ).values_list("created_at", flat=True)
    times = list(refused.order_by("-created_at")[: billing_settings.REFUSALS_FREE + 21])
    cooldown = refusal_cooldown(len(times))
    if not cooldown:
        return 0.0
    return cooldown - (now - times[0]).total_seconds()
