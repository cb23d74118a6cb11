"""Where a card value could be left behind: every table, the cache, what the log handlers write.

The sentinel tests run one card through the flows, then look for it in each of these
(``tests/test_card_data_sentinel.py`` with i'mport faked, ``tests/e2e/test_card_data_e2e.py`` end to end).
"""

import io
import logging
import pickle
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.core.cache import cache


def production_handlers() -> list[logging.Handler]:
    """The handlers settings.LOGGING put on the loggers (dictConfig names them), not pytest's own."""
    names = set(settings.LOGGING["handlers"])
    loggers = ["", *settings.LOGGING.get("loggers", {})]
    return [h for name in loggers for h in logging.getLogger(name).handlers if h.name in names]


@contextmanager
def handler_output(level: int | None = None) -> Iterator[io.StringIO]:
    """Everything the handlers settings.LOGGING configures write meanwhile, from any thread.

    ``level``: the root logger's level meanwhile (``logging.DEBUG``: as with ``LOG_LEVEL=DEBUG``).
    """
    handlers = set(production_handlers())
    assert handlers, "settings.LOGGING configures no handler"
    stream = io.StringIO()
    previous = {h: h.stream for h in handlers}
    root, root_level = logging.getLogger(), logging.getLogger().level
    for handler in handlers:
        handler.stream = stream  # not setStream: it flushes the old stream, closed in a nested pytest run
    if level is not None:
        root.setLevel(level)
    try:
        yield stream
    finally:
        root.setLevel(root_level)
        for handler, old in previous.items():
            handler.stream = old


def cache_contents() -> str:
    """Every key and value of the default cache (local memory or Redis)."""
    backend = cache._cache if hasattr(cache, "_cache") else None
    if isinstance(backend, dict):  # locmem
        return " ".join(f"{k} {pickle.loads(v)!r}" for k, v in backend.items())  # noqa: S301 - our own cache
    client = cache._cache.get_client()
    return " ".join(f"{k!r} {client.get(k)!r}" for k in client.scan_iter())


def table_contents() -> str:
    """Every row of every model's table."""
    rows = []
    for model in apps.get_models():
        for row in model.objects.values():
            rows.append(f"{model.__name__} {row!r}")
    return "\n".join(rows)


def assert_no_trace(places: dict[str, str], values: Iterable[str]) -> None:
    """None of ``values`` in the text of any place (``{"tables": ..., "cache": ...}``)."""
    for place, text in places.items():
        for value in values:
            assert value not in text, f"{value} found in {place}"
