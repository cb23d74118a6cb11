"""One worker process of a deployment, with its own ``IamportClient`` and the shared (Redis) cache.

``python -m tests.support.token_worker URL CUSTOMER_UID`` reads one billing key from the i'mport at
``URL`` and says on stdout, one JSON object a line, what it did:

- ``{"lock": true}`` / ``{"lock": false}``: the client asked the cache for the token lock (``cache.add``)
  and got it (it fetches the token) or not (another process is fetching it: this one waits for it);
- ``{"customer_uid": ..., "token": ...}``: the answer it got, and the token it holds afterwards.

The test reads the first lines to know that this process is waiting while the other is fetching.
Started by ``tests/iamport/test_token.py``, with the test run's environment (settings, ``CACHE_URL``).
"""

import json
import os
import sys
from typing import Any

API_KEY, API_SECRET = "test_key", "test_secret"


def say(**what: Any) -> None:
    print(json.dumps(what), flush=True)


class ObservedCache:
    """The cache, unchanged, but every ``add`` (the token lock) says whether it won."""

    def __init__(self, cache):
        self._cache = cache

    def add(self, *args, **kwargs) -> bool:
        won = self._cache.add(*args, **kwargs)
        say(lock=won)
        return won

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cache, name)


def main(url: str, customer_uid: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "merchant_site.test_settings")
    import django

    django.setup()
    from django.core.cache import cache

    from billing.iamport.client import IamportClient

    client = IamportClient(
        base_url=url, api_key=API_KEY, api_secret=API_SECRET, token_cache=ObservedCache(cache)
    )
    answer = client.get_billing_key(customer_uid)
    say(customer_uid=answer.customer_uid, token=client.access_token())


if __name__ == "__main__":
    main(*sys.argv[1:])
