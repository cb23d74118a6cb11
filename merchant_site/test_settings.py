"""Settings for the test suite: the production settings (DEBUG off), completed with test values.

Tests see the production code paths; the values a production process must never have (a published
secret key, the built-in sandbox, plain-HTTP pages) are set here, and this module refuses to load
outside a pytest run, so no environment variable can turn them on in production.
"""

import os

from django.core.exceptions import ImproperlyConfigured

if "PYTEST_VERSION" not in os.environ:  # set by pytest for its run (and the processes it starts)
    raise ImproperlyConfigured(
        "merchant_site.test_settings is for the test suite only; use merchant_site.settings."
    )

# The test suite's own values for what production requires; the real environment's win where set.
os.environ.setdefault("SECRET_KEY", "test-suite-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1,[::1]")
os.environ.setdefault("IAMPORT_API_KEY", "sandbox_key")
os.environ.setdefault("IAMPORT_API_SECRET", "sandbox_secret")

from merchant_site.settings import *  # noqa: F403

# The built-in sandbox answers when the sandbox's credentials are configured (the fixtures pick per test).
BILLING["SANDBOX"] = BILLING["API_URL"] == IAMPORT_PRODUCTION_URL and (  # noqa: F405
    BILLING["API_KEY"],  # noqa: F405
    BILLING["API_SECRET"],  # noqa: F405
) == ("sandbox_key", "sandbox_secret")

# The test client speaks plain HTTP; tests/test_settings.py checks the HTTPS settings of production.
SECURE_SSL_REDIRECT = False

# Tests create many users; the production hasher is slow on purpose.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # The live-server tests write from several threads (the site, and the sandbox's webhooks to it).
    # SQLite's shared in-memory test database refuses a second writer at once ("table is locked")
    # where a database file waits for it, as PostgreSQL does.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-db.sqlite3")}  # noqa: F405
