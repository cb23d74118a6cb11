"""A global rate limit toward i'mport: at most ``MAX_CALLS_PER_SECOND`` calls, every process together.

Each call reserves the next free slot, ``1/limit`` seconds after the previous one, and sleeps until it:
a call over the limit waits its turn, it is never dropped. With the cache on Redis the slot is kept there
(one Lua script, Redis's own clock), so the web processes and every Celery worker share it; without Redis
(the built-in sandbox, the SQLite test run) the limiter is local to the process. Empty or 0 = no limit.

Slots are spaced ``1/(0.9 limit)`` apart: a call leaves some milliseconds after its slot (a thread woken
late, the network), and the margin keeps any one-second window, as i'mport counts it, at ``limit``.
"""

import threading
import time

from django.core.cache.backends.redis import RedisCache

from billing.conf import billing_cache, billing_settings

KEY = "iamport:rate:next-slot"
_MARGIN = 0.9  # of the limit used: the slack that absorbs a call's jitter on its way out
_LATE_RETRIES = 3

# KEYS[1]: the next free slot (microseconds, Redis's clock); ARGV[1]: the spacing in microseconds.
# Returns how long the caller waits (microseconds) before its call may go.
_RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) * 1000000 + tonumber(now_parts[2])
local spacing = tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
redis.call('SET', KEYS[1], slot + spacing, 'PX', math.floor((slot + spacing - now) / 1000) + 1000)
return slot - now
"""


def max_calls_per_second() -> float | None:
    """The one place the setting is read (empty, absent or 0: no limit)."""
    value = billing_settings.MAX_CALLS_PER_SECOND
    return float(value) if value else None


class _LocalSlots:
    """The same reservation, within one process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._next = 0.0

    def reserve(self, spacing: float) -> float:
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + spacing
            return slot - now


_local = _LocalSlots()


def wait_turn() -> float:
    """Block until this process may send one call to i'mport; returns the seconds waited.

    A thread woken well after its slot (a busy machine) does not go late, where it would crowd the calls
    that follow: it takes a new slot (the old one stays unused) and waits again, a few times at most.
    """
    limit = max_calls_per_second()
    if not limit:
        return 0.0
    spacing = 1.0 / (limit * _MARGIN)
    waited = 0.0
    for _ in range(_LATE_RETRIES):
        wait = _reserve(spacing)
        if wait <= 0:
            return waited
        started = time.monotonic()
        time.sleep(wait)  # waiting for our slot is the point: the call is late, never dropped
        slept = time.monotonic() - started
        waited += slept
        if slept - wait <= spacing / 2:
            break
    return waited


def _reserve(spacing: float) -> float:
    backend = billing_cache()
    if isinstance(backend, RedisCache):
        # The cache's own Redis client (a shared connection pool), not a connection per call.
        client = backend._cache.get_client(KEY, write=True)  # type: ignore[attr-defined]  # Django's private client
        return int(client.eval(_RESERVE, 1, KEY, int(spacing * 1_000_000))) / 1_000_000
    return _local.reserve(spacing)
