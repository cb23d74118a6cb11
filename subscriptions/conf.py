"""The subscriptions app's settings: top-level Django settings, each with its default here.

A host project that installs the app sets only what it changes (docs/settings.md, "Subscriptions"); the
demo site fills them from the environment. Read them with ``setting(name)``, never ``settings.NAME``: a
host that sets none of them must still run.
"""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "SUBSCRIPTION_RETRY_DAYS": [1.0, 3.0, 5.0],
    "SUBSCRIPTION_CANCEL_AFTER_DUNNING": True,
    "SUBSCRIPTION_CLAIM_SECONDS": 120,
    "SUBSCRIPTION_UNAVAILABLE_RETRY_MINUTES": 10,
    "SUBSCRIPTION_SWEEP_LOCK_SECONDS": 600,
    "SUBSCRIPTION_SWEEP_BATCH": 1000,
    "SUBSCRIPTION_QUEUED_SECONDS": 3 * 3600,
}


def setting(name: str) -> Any:
    """The host's value of ``name``, or its default."""
    return getattr(settings, name, DEFAULTS[name])
