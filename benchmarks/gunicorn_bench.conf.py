"""The production gunicorn settings (merchant_site/gunicorn.conf.py), plus benchmark-only counters.

For each request, the Django queries it ran (every ``cursor.execute``, as ``assertNumQueries`` counts
them) are added up per kind of request in memory, and sent to Redis (``BENCH_STATS_URL``) twice a
second by a thread of each worker. Each worker also records its peak of requests in progress and how
many requests it served. Nothing here is loaded in production.
"""

import os
import runpy
import threading
import time
from pathlib import Path

FLUSH_SECONDS = 0.5  # counters reach Redis this often (run.py waits longer before reading)
_PRODUCTION = Path(__file__).resolve().parent.parent / "merchant_site" / "gunicorn.conf.py"
globals().update({k: v for k, v in runpy.run_path(str(_PRODUCTION)).items() if not k.startswith("__")})

_local = threading.local()
_lock = threading.Lock()
_state = {"in_progress": 0, "peak": 0, "flusher": None}
_pending: dict[tuple[str, str], int] = {}  # (redis hash, field) -> increment, flushed once a second


def _count_query(execute, sql, params, many, context):
    _local.queries = getattr(_local, "queries", 0) + 1
    return execute(sql, params, many, context)


def _flush_forever() -> None:
    import redis

    client = redis.Redis.from_url(os.environ["BENCH_STATS_URL"])
    while True:
        time.sleep(FLUSH_SECONDS)
        with _lock:
            pending = dict(_pending)
            _pending.clear()
            peak = _state["peak"]
        pipe = client.pipeline(transaction=False)
        for (name, field), increment in pending.items():
            pipe.hincrby(name, field, increment)
        pipe.hset("bench:peak-in-progress", str(os.getpid()), peak)
        pipe.execute()


def pre_request(worker, req):
    from django.db import connection

    if _count_query not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_query)
    _local.queries = 0
    with _lock:
        if _state["flusher"] is None:
            _state["flusher"] = threading.Thread(target=_flush_forever, name="bench-stats", daemon=True)
            _state["flusher"].start()
        _state["in_progress"] += 1
        _state["peak"] = max(_state["peak"], _state["in_progress"])


def post_request(worker, req, environ, resp):
    kind = f"{req.method} {req.path} {resp.status_code}"
    queries = getattr(_local, "queries", 0)
    with _lock:
        _state["in_progress"] -= 1
        for key in (
            ("bench:requests", kind),
            ("bench:queries", kind),
            (f"bench:query-histogram:{kind}", str(queries)),
        ):
            _pending[key] = _pending.get(key, 0) + (queries if key[0] == "bench:queries" else 1)
        _pending[("bench:requests-per-worker", str(os.getpid()))] = (
            _pending.get(("bench:requests-per-worker", str(os.getpid())), 0) + 1
        )
