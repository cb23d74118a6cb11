"""Settings from the environment: production refuses to start half-configured, DEBUG picks the sandbox."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "SECRET_KEY": "a-real-secret-from-the-vault",
    "ALLOWED_HOSTS": "shop.example.com",
    "IAMPORT_API_KEY": "live_key",
    "IAMPORT_API_SECRET": "live_secret",
}
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.IAMPORT_USE_BUILTIN_SANDBOX, s.IAMPORT_API_URL, s.IAMPORT_API_KEY]))"
)


def load_settings(**environment: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {*PRODUCTION, "DEBUG", "TESTING", "IAMPORT_API_URL"}
    }
    return subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", PROBE],
        cwd=PROJECT_ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "merchant_site.settings", **environment},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "IAMPORT_API_KEY", "IAMPORT_API_SECRET"])
def test_production_refuses_to_start_without(missing):
    result = load_settings(**{k: v for k, v in PRODUCTION.items() if k != missing})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert missing in result.stderr


def test_production_talks_to_i_mport_with_its_keys():
    result = load_settings(**PRODUCTION)

    assert json.loads(result.stdout) == [False, "https://api.iamport.kr", "live_key"]


def test_debug_without_keys_uses_the_built_in_sandbox():
    result = load_settings(DEBUG="1")

    assert json.loads(result.stdout) == [True, "https://api.iamport.kr", "sandbox_key"]


def test_debug_pointed_at_a_served_sandbox_uses_its_url_and_credentials():
    result = load_settings(DEBUG="1", IAMPORT_API_URL="http://127.0.0.1:8089")

    assert json.loads(result.stdout) == [False, "http://127.0.0.1:8089", "sandbox_key"]
