import pytest
from django.core.cache import cache

from billing.iamport import reset_client

PASSWORD = "host-Pass-98765"


@pytest.fixture(autouse=True)
def _fresh_sandbox(settings, tmp_path):
    """Each test gets the in-process sandbox with a state file of its own, and an empty cache."""
    settings.BILLING = {
        **settings.BILLING,
        "SANDBOX": True,
        "SANDBOX_STATE": str(tmp_path / "sandbox.sqlite3"),
    }
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    cache.clear()
    reset_client()
    yield
    reset_client()
    cache.clear()
