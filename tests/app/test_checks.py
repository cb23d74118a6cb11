"""billing's system checks: each wrong or missing value in ``BILLING`` is named, with its fix."""

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from billing.checks import check_billing_settings

PRODUCTION = {"API_KEY": "live_key", "API_SECRET": "live_secret"}


def ids(settings, debug=False, **billing):
    settings.DEBUG = debug
    settings.BILLING = billing
    return [message.id for message in check_billing_settings()]


def test_a_complete_production_dict_passes(settings):
    assert ids(settings, **PRODUCTION) == []


def test_the_development_defaults_pass(settings):
    assert ids(settings, debug=True, SANDBOX=True) == []


def test_not_a_dict(settings):
    settings.BILLING = [("API_KEY", "x")]
    [error] = check_billing_settings()
    assert error.id == "billing.E001"
    assert "must be a dict, not list" in error.msg


def test_an_unknown_key_is_named_with_the_closest_one(settings):
    settings.DEBUG = False
    settings.BILLING = {**PRODUCTION, "API_SECERT": "oops"}
    [error] = check_billing_settings()
    assert error.id == "billing.E002"
    assert "'API_SECERT'" in error.msg
    assert "Did you mean 'API_SECRET'?" in error.hint


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("READ_TIMEOUT", "30"),
        ("FIRST_PAYMENT_AMOUNT", 99.5),
        ("FIRST_PAYMENT_AMOUNT", True),
        ("WEBHOOK_ALLOWED_IPS", "52.78.100.19"),
        ("SANDBOX", "yes"),
        ("RATES", ["10/hour"]),
    ],
)
def test_a_wrong_type(settings, key, value):
    settings.DEBUG = False
    settings.BILLING = {**PRODUCTION, key: value}
    [error] = check_billing_settings()
    assert error.id == "billing.E003"
    assert f"BILLING[{key!r}] must be" in error.msg
    assert "The default is" in error.hint


@pytest.mark.parametrize("missing", ["API_KEY", "API_SECRET"])
def test_production_without_keys(settings, missing):
    billing = {key: value for key, value in PRODUCTION.items() if key != missing}
    assert ids(settings, **billing) == ["billing.E004"]


def test_development_without_keys_is_fine(settings):
    assert ids(settings, debug=True) == []


@pytest.mark.parametrize("rate", ["10 per hour", "ten/hour", "10/fortnight", 10])
def test_a_malformed_rate(settings, rate):
    assert ids(settings, **PRODUCTION, RATES={"registration_user": rate}) == ["billing.E005"]


def test_a_rate_for_no_throttle(settings):
    assert ids(settings, **PRODUCTION, RATES={"registration_users": "10/hour"}) == ["billing.E005"]


def test_a_rate_turned_off_is_fine(settings):
    assert ids(settings, **PRODUCTION, RATES={"registration_user": None, "token_address": "5/min"}) == []


def test_the_sandbox_is_refused_in_production(settings):
    assert ids(settings, **PRODUCTION, SANDBOX=True) == ["billing.E006"]


def test_plain_http_is_refused_in_production(settings):
    assert ids(settings, **PRODUCTION, API_URL="http://api.iamport.kr") == ["billing.E007"]


def test_plain_http_is_fine_in_development(settings):
    # A sandbox served over HTTP on this machine (manage.py iamport_sandbox).
    assert ids(settings, debug=True, API_URL="http://127.0.0.1:8089") == []


def test_an_old_top_level_name_is_reported_as_ignored(settings):
    settings.IAMPORT_API_KEY = "live_key"
    settings.BILLING = {"API_SECRET": "live_secret"}
    settings.DEBUG = True
    [warning] = check_billing_settings()
    assert warning.id == "billing.W001"
    assert warning.level == checks.WARNING
    assert "BILLING['API_KEY']" in warning.hint


def test_registered_with_djangos_checks(settings):
    settings.DEBUG = False
    settings.BILLING = {"API_KEY": "live_key"}
    with pytest.raises(SystemCheckError, match=r"billing\.E004"):
        call_command("check")


def test_an_unknown_cache_alias(settings):
    assert ids(settings, **PRODUCTION, CACHE="billing") == ["billing.E008"]
