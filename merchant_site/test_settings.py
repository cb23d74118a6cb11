"""Settings for the test suite: the production settings, with TESTING on.

TESTING allows the embedded defaults (dev secret key, built-in sandbox) without
turning on DEBUG, so tests see the production code paths otherwise.
"""

import os

os.environ.setdefault("TESTING", "1")

from merchant_site.settings import *  # noqa: F403

# Tests create many users; the production hasher is slow on purpose.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
