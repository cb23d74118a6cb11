"""Django's Redis cache backend, keeping one Redis client per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` around the (shared) connection pool
for every cache operation; building it was two thirds of the cost of a ``cache.get`` here, and a
registration makes two (the API token, the refusal counter). A ``redis.Redis`` on a pool is safe to
share between threads, so one per pool is kept. Everything else is Django's.
"""

from collections.abc import Callable
from typing import Any

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    # Django's private attributes used below, which django-stubs does not declare.
    _pools: dict[int, Any]
    _pool_class: Any
    _servers: list[str]
    _pool_options: dict[str, Any]
    _client: Callable[..., Any]
    _get_connection_pool_index: Callable[[bool], int]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}  # pool index -> redis.Redis

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            # The pool as Django's _get_connection_pool makes it, for this index (it would draw its own).
            if index not in self._pools:
                self._pools[index] = self._pool_class.from_url(self._servers[index], **self._pool_options)
            client = self._clients.setdefault(index, self._client(connection_pool=self._pools[index]))
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
