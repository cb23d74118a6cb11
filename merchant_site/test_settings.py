"""Settings for the test suite: the production settings, with TESTING on.

TESTING allows the embedded defaults (dev secret key, built-in sandbox) without
turning on DEBUG, so tests see the production code paths otherwise.
"""

import os

os.environ.setdefault("TESTING", "1")

from merchant_site.settings import *  # noqa: F403

# Tests create many users; the production hasher is slow on purpose.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # The live-server tests write from several threads (the site, and the sandbox's webhooks to it).
    # SQLite's shared in-memory test database refuses a second writer at once ("table is locked")
    # where a database file waits for it, as PostgreSQL does.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}  # noqa: F405
