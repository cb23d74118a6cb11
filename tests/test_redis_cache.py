"""The Redis cache backend: Django's, with one client per connection pool instead of one per operation."""

import pytest
from django.conf import settings

from merchant_site.redis_cache import RedisCache

pytestmark = pytest.mark.skipif(
    settings.CACHES["default"]["BACKEND"] != "merchant_site.redis_cache.RedisCache",
    reason="needs the Redis server of CI's second pass (CACHE_URL=redis://...)",
)

REDIS = settings.CACHES["default"]["LOCATION"].rsplit("/", 1)[0]  # the test server, without a db number


@pytest.fixture
def cache():
    backend = RedisCache(f"{REDIS}/14", {})
    backend.clear()
    yield backend
    backend.clear()


def test_it_is_what_the_settings_pick_for_a_redis_url():
    assert settings.CACHES["default"]["BACKEND"] == "merchant_site.redis_cache.RedisCache"


def test_operations_work_as_django_documents(cache):
    cache.set("key", {"value": 1}, timeout=60)
    assert cache.add("counter", 0, timeout=60)
    assert not cache.add("counter", 5, timeout=60)
    cache.incr("counter")

    assert cache.get("key") == {"value": 1}
    assert cache.get_many(["key", "counter", "missing"]) == {"key": {"value": 1}, "counter": 1}
    cache.delete("key")
    assert cache.get("key", "gone") == "gone"


def test_one_client_serves_every_operation(cache):
    client = cache._cache.get_client("a")

    assert cache._cache.get_client("b") is client
    assert cache._cache.get_client("c", write=True) is client


def test_with_replicas_reads_and_writes_keep_their_own_servers():
    backend = RedisCache(f"{REDIS}/14,{REDIS}/13", {})

    writer = backend._cache.get_client(write=True)
    reader = backend._cache.get_client()

    assert writer.connection_pool.connection_kwargs["db"] == 14
    assert reader.connection_pool.connection_kwargs["db"] == 13
    assert backend._cache.get_client(write=True) is writer
