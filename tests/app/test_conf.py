"""billing.conf: one dict, its defaults, read at each access."""

import re
from pathlib import Path

import pytest

from billing.conf import DEFAULT_RATES, DEFAULTS, TYPES, billing_settings
from subscriptions.conf import DEFAULTS as SUBSCRIPTION_DEFAULTS

DOCS = Path(__file__).resolve().parents[2] / "docs" / "settings.md"


def test_a_key_not_set_has_its_default(settings):
    settings.BILLING = {}
    assert billing_settings.READ_TIMEOUT == 30.0
    assert billing_settings.API_URL == "https://api.iamport.kr"


def test_no_dict_at_all_means_every_default(settings):
    del settings.BILLING
    assert DEFAULTS["FIRST_PAYMENT_AMOUNT"] == billing_settings.FIRST_PAYMENT_AMOUNT


def test_read_at_each_access(settings):
    settings.BILLING = {"FIRST_PAYMENT_AMOUNT": 12_900}
    assert billing_settings.FIRST_PAYMENT_AMOUNT == 12_900
    settings.BILLING = {"FIRST_PAYMENT_AMOUNT": 4_900}
    assert billing_settings.FIRST_PAYMENT_AMOUNT == 4_900


def test_rates_set_in_part_keep_the_other_defaults(settings):
    settings.BILLING = {"RATES": {"registration_user": None}}
    assert billing_settings.RATES == {**DEFAULT_RATES, "registration_user": None}


def test_an_unknown_name_is_an_error_not_none(settings):
    with pytest.raises(AttributeError, match="API_SECERT"):
        billing_settings.API_SECERT  # noqa: B018


def test_every_key_has_a_type():
    assert set(TYPES) == set(DEFAULTS)


def test_billing_reads_no_other_setting_of_the_host():
    """Only billing.conf reads ``settings.BILLING``; elsewhere billing reads Django's own settings only."""
    django_settings = {
        "DEBUG",
        "SECRET_KEY",
        "AUTH_USER_MODEL",
        "DATA_UPLOAD_MAX_MEMORY_SIZE",
        "LOGIN_URL",
        "CACHES",
    }
    root = Path(__file__).resolve().parents[2] / "billing"
    read = set()
    for path in root.rglob("*.py"):
        if path.name == "conf.py" or "migrations" in path.parts:
            continue
        read |= set(re.findall(r"(?<![\w.])settings\.([A-Z_]+)", path.read_text()))
    assert read <= django_settings


def documented() -> dict[str, str]:
    """The keys (and throttles) docs/settings.md lists in its tables, with their defaults as written there."""
    rows = re.findall(r"^\| `([A-Za-z_]+)` \| `([^`]*)` \|", DOCS.read_text(), flags=re.M)
    assert len(rows) == len(dict(rows)), "a key documented twice"
    return dict(rows)


def test_the_settings_reference_lists_exactly_the_keys_and_defaults_of_the_code():
    expected = {key: repr(value) for key, value in DEFAULTS.items() if key != "RATES"}
    expected["RATES"] = "DEFAULT_RATES"  # its own table, one row per throttle
    expected.update({scope: repr(rate) for scope, rate in DEFAULT_RATES.items()})
    expected.update({name: repr(value) for name, value in SUBSCRIPTION_DEFAULTS.items()})
    assert documented() == expected
