"""gunicorn settings for production: ``gunicorn -c merchant_site/gunicorn.conf.py merchant_site.wsgi``.

A registration spends almost all of its time waiting on i'mport (a card company can take seconds),
so a worker serves many requests at once with threads (``gthread``): a waiting thread holds no CPU
and no database connection (the pool, ``DATABASE_POOL_SIZE``, gets it back during the i'mport call).
One process per core uses the CPU. Every value can be overridden from the environment (``GUNICORN_*``)
or the command line. See docs/benchmarks.md for how these numbers were chosen.
"""

import gc
import os
import sys
from pathlib import Path

import environ

# The same .env as the settings read, so that its values win over the defaults below (the environment wins
# over both).
environ.Env.read_env(Path(__file__).resolve().parent.parent / ".env", overwrite=False)

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
# Two processes per core: a worker's threads share one interpreter lock, so when two requests in one
# process both want the CPU, one waits for the other's switch interval; with more processes the kernel
# shares the cores instead (measured: p99 at 100 registrations/s 25.8-44.6 ms with 2 x 96,
# 17.9-19.6 ms with 4 x 48).
workers = int(os.environ.get("GUNICORN_WORKERS", str(2 * len(os.sched_getaffinity(0)))))
threads = int(os.environ.get("GUNICORN_THREADS", "48"))
# Each thread may be in an i'mport call: one pooled connection to i'mport per thread (requests would
# otherwise open, use once and drop the extra ones). A few database connections per process suffice.
os.environ.setdefault("IAMPORT_POOL_SIZE", str(threads))
os.environ.setdefault("DATABASE_POOL_SIZE", "4")
# Longer than i'mport's read timeout (IAMPORT_READ_TIMEOUT, 30 s): a slow card company is not a dead worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# Load the application once in the master, before forking: less memory per worker, quicker restarts.
preload_app = os.environ.get("GUNICORN_PRELOAD", "1") == "1"
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")


def when_ready(server):
    # The preloaded application's objects live as long as the workers: keep them out of every garbage
    # collection (and their memory pages shared with the workers) instead of rescanning them.
    gc.freeze()


# How long a thread may hold the interpreter lock while another waits for it (CPython: 5 ms). A request
# coming back from the database or i'mport waits that long behind one that is computing; 1 ms trades a
# little switching for shorter waits (measured at 100 registrations/s: p50 9-11 vs 12-14 ms, p99 17-18
# vs 20-26 ms, back to back on 2 cores).
switch_interval = float(os.environ.get("GUNICORN_SWITCH_INTERVAL", "0.001"))


def post_worker_init(worker):
    sys.setswitchinterval(switch_interval)
