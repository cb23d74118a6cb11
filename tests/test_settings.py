"""Settings from the environment: production refuses to start half-configured or weakly configured, runs
HTTPS-only behind the proxy, and passes ``check --deploy``; DEBUG picks the sandbox."""

import json
import os
import subprocess
import sys
from http import HTTPStatus
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {
    "SECRET_KEY": "Jx7q-RkP2vT9sLw4Hb8nYc3mZf6Gd1Ua5eXo0Vi_Nt2Kr9Qp7Ws4Lm8Bh3Cy6Dz1Fa",
    "ALLOWED_HOSTS": "shop.example.com",
    "IAMPORT_API_KEY": "live_key",
    "IAMPORT_API_SECRET": "live_secret",
}
PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.BILLING[k] for k in ('SANDBOX', 'API_URL', 'API_KEY')]))"
)
TLS_PROBE = (
    "import json, django; django.setup(); from django.conf import settings as s; print(json.dumps(["
    "s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, s.SECURE_REDIRECT_EXEMPT, s.SECURE_HSTS_SECONDS, "
    "s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_HSTS_PRELOAD, s.SESSION_COOKIE_SECURE, "
    "s.CSRF_COOKIE_SECURE]))"
)
TLS_ON = [["HTTP_X_FORWARDED_PROTO", "https"], True, ["^healthz$"], 31536000, True, True, True, True]


def load_settings(*, probe: str = PROBE, args: tuple[str, ...] = (), **environment: str):
    """Run ``probe`` (or ``manage.py <args>``) in a fresh interpreter with only ``environment`` set."""
    clean = {
        k: v
        for k, v in os.environ.items()
        # DJANGO_ALLOW_ASYNC_UNSAFE: set by the browser suite for this test process, never in production.
        if k not in {*PRODUCTION, "DEBUG", "TESTING", "IAMPORT_API_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
        and not k.startswith("SECURE_")
        and not k.endswith("_COOKIE_SECURE")
    }
    command = [sys.executable, "manage.py", *args] if args else [sys.executable, "-c", probe]
    return subprocess.run(  # noqa: S603 - this interpreter, fixed code
        command,
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


WEAK_KEYS = {
    "short": "Jx7q-RkP2vT9sLw4Hb8nYc3mZf6Gd1Ua5eX",
    "few characters": "ab" * 30,
    "django-insecure": "django-insecure-" + PRODUCTION["SECRET_KEY"],
    "the development key": "dev-only-insecure-key-never-use-in-production",
}


@pytest.mark.parametrize("key", WEAK_KEYS.values(), ids=WEAK_KEYS.keys())
def test_production_refuses_a_weak_secret_key(key):
    result = load_settings(**{**PRODUCTION, "SECRET_KEY": key})

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY is too weak" in result.stderr
    assert key not in result.stderr


@pytest.mark.parametrize("hosts", ["*", "shop.example.com,*", "*.example.com"])
def test_production_refuses_a_wildcard_host(hosts):
    result = load_settings(**{**PRODUCTION, "ALLOWED_HOSTS": hosts})

    assert result.returncode != 0
    assert "ImproperlyConfigured: ALLOWED_HOSTS must name the site's hosts" in result.stderr


def test_testing_switch_has_no_effect_in_production():
    # It used to load the development secret key and the sandbox with DEBUG off.
    without_secret = load_settings(**{k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}, TESTING="1")
    without_keys = load_settings(
        **{k: v for k, v in PRODUCTION.items() if not k.startswith("IAMPORT")}, TESTING="1"
    )

    assert "SECRET_KEY must be set" in without_secret.stderr
    assert "IAMPORT_API_KEY and IAMPORT_API_SECRET must be set" in without_keys.stderr
    assert json.loads(load_settings(**PRODUCTION, TESTING="1").stdout) == [
        False,
        "https://api.iamport.kr",
        "live_key",
    ]


def test_the_test_settings_refuse_to_load_outside_pytest():
    # This suite runs on them: under pytest they load. Anywhere else they refuse.
    clean_env = {k: v for k, v in os.environ.items() if k != "PYTEST_VERSION"}
    outside = subprocess.run(  # noqa: S603 - this interpreter, fixed code
        [sys.executable, "-c", PROBE],
        cwd=PROJECT_ROOT,
        env={**clean_env, "DJANGO_SETTINGS_MODULE": "merchant_site.test_settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert outside.returncode != 0
    assert "merchant_site.test_settings is for the test suite only" in outside.stderr


def test_production_is_https_only_by_default():
    assert json.loads(load_settings(probe=TLS_PROBE, **PRODUCTION).stdout) == TLS_ON


def test_debug_is_plain_http():
    assert json.loads(load_settings(probe=TLS_PROBE, DEBUG="1").stdout) == [
        None,
        False,
        ["^healthz$"],
        0,
        False,
        False,
        False,
        False,
    ]


def test_each_https_setting_can_be_changed():
    changed = {
        "SECURE_PROXY_SSL_HEADER": "0",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "600",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "0",
        "SECURE_HSTS_PRELOAD": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
    }

    result = load_settings(probe=TLS_PROBE, **PRODUCTION, **changed)

    assert json.loads(result.stdout) == [None, False, ["^healthz$"], 600, False, False, False, False]


def test_production_passes_the_deploy_check():
    result = load_settings(args=("check", "--deploy", "--fail-level", "DEBUG"), **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


@pytest.mark.django_db
def test_plain_http_is_redirected_except_the_health_check(client, settings):
    settings.SECURE_SSL_REDIRECT = True

    redirected = client.get("/accounts/login/")
    health = client.get("/healthz")
    behind_the_proxy = client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")

    assert redirected.status_code == HTTPStatus.MOVED_PERMANENTLY
    assert redirected["Location"] == "https://testserver/accounts/login/"
    assert health.status_code == HTTPStatus.OK
    assert behind_the_proxy.status_code == HTTPStatus.OK
    assert behind_the_proxy["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
