"""System checks on the ``BILLING`` setting: each problem said with the key concerned and how to fix it.

They run with every management command (``check``, ``migrate``, ``runserver``) and at deploy time
(``check --deploy``), so a typo or a missing key shows before the first customer does.

| id | what |
|---|---|
| billing.E001 | ``BILLING`` is not a dict |
| billing.E002 | a key billing does not know (a typo?) |
| billing.E003 | a key of the wrong type |
| billing.E004 | no API key or secret with DEBUG off (and no sandbox) |
| billing.E005 | a malformed throttle rate, or a rate for a throttle that does not exist |
| billing.E006 | the in-process sandbox with DEBUG off |
| billing.E007 | an API URL that is not https with DEBUG off |
| billing.E008 | a ``CACHE`` alias that ``CACHES`` does not define |
| billing.W001 | an old top-level setting (``IAMPORT_API_KEY`` ...) that billing no longer reads |
"""

import difflib
import re

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from .conf import DEFAULT_RATES, DEFAULTS, SETTING_NAME, TYPES, billing_settings

RATE = re.compile(r"^\d+/(s|sec|second|m|min|minute|h|hour|d|day)$")
# Top-level names that older releases (and the demo site's environment) used; billing reads none of them.
OLD_NAMES = {
    "IAMPORT_API_URL": "API_URL",
    "IAMPORT_API_KEY": "API_KEY",
    "IAMPORT_API_SECRET": "API_SECRET",
    "IAMPORT_PG": "PG",
    "IAMPORT_CHANNEL_KEY": "CHANNEL_KEY",
    "IAMPORT_USE_BUILTIN_SANDBOX": "SANDBOX",
    "IAMPORT_WEBHOOK_ALLOWED_IPS": "WEBHOOK_ALLOWED_IPS",
    "IAMPORT_NOTICE_URL": "NOTICE_URL",
    "BILLING_FIRST_PAYMENT_AMOUNT": "FIRST_PAYMENT_AMOUNT",
    "BILLING_FIRST_PAYMENT_NAME": "FIRST_PAYMENT_NAME",
}
DOCS = "See docs/settings.md."


@register(Tags.compatibility)
def check_billing_settings(app_configs=None, **kwargs) -> list:
    configured = getattr(settings, SETTING_NAME, None)
    if configured is None:
        configured = {}
    if not isinstance(configured, dict):
        return [
            Error(
                f"{SETTING_NAME} must be a dict, not {type(configured).__name__}.",
                hint=f'Set {SETTING_NAME} = {{"API_KEY": ..., "API_SECRET": ...}}. {DOCS}',
                id="billing.E001",
            )
        ]
    problems = _unknown_keys(configured) + _wrong_types(configured)
    if any(problem.id == "billing.E003" for problem in problems):
        return problems  # the checks below read the values: only once their types are right
    return problems + _rates() + _cache() + _production() + _old_names(configured)


def _cache() -> list:
    if billing_settings.CACHE in settings.CACHES:
        return []
    return [
        Error(
            f"{SETTING_NAME}['CACHE'] = {billing_settings.CACHE!r} is not an alias of CACHES.",
            hint=f"Use one of {', '.join(settings.CACHES)} (shared by every worker: Redis in production).",
            id="billing.E008",
        )
    ]


def _unknown_keys(configured: dict) -> list:
    problems = []
    for key in sorted(set(configured) - set(DEFAULTS)):
        close = difflib.get_close_matches(str(key), DEFAULTS, n=1)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        problems.append(
            Error(
                f"{SETTING_NAME}[{key!r}] is not a setting of billing.",
                hint=f"{hint}Known keys: {', '.join(sorted(DEFAULTS))}. {DOCS}",
                id="billing.E002",
            )
        )
    return problems


def _wrong_types(configured: dict) -> list:
    problems = []
    for key, value in configured.items():
        expected = TYPES.get(key)
        if expected is None:
            continue
        # bool is an int to Python; a True where a number of seconds is expected is still a mistake.
        wrong_bool = isinstance(value, bool) and expected is not bool
        if key == "RATES" and value is None:
            continue
        if not isinstance(value, expected) or wrong_bool:
            names = " or ".join(
                t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,))
            )
            problems.append(
                Error(
                    f"{SETTING_NAME}[{key!r}] must be {names}, not {type(value).__name__} ({value!r}).",
                    hint=f"The default is {DEFAULTS[key]!r}. {DOCS}",
                    id="billing.E003",
                )
            )
    return problems


def _rates() -> list:
    problems = []
    for scope, rate in billing_settings.RATES.items():
        if scope not in DEFAULT_RATES:
            problems.append(
                Error(
                    f"{SETTING_NAME}['RATES'] names {scope!r}, which is not one of billing's throttles.",
                    hint=f"Throttles: {', '.join(DEFAULT_RATES)}. {DOCS}",
                    id="billing.E005",
                )
            )
        elif rate is not None and (not isinstance(rate, str) or not RATE.match(rate)):
            problems.append(
                Error(
                    f"{SETTING_NAME}['RATES'][{scope!r}] = {rate!r} is not a rate.",
                    hint='Write "<number>/<second|minute|hour|day>" (e.g. "10/hour"), or None to turn it '
                    f"off. {DOCS}",
                    id="billing.E005",
                )
            )
    return problems


def _production() -> list:
    if settings.DEBUG:
        return []
    problems = []
    if billing_settings.SANDBOX:
        problems.append(
            Error(
                f"{SETTING_NAME}['SANDBOX'] is on with DEBUG off: payments would go to the built-in sandbox.",
                hint="The in-process sandbox is for development only: set SANDBOX to False in production.",
                id="billing.E006",
            )
        )
    elif not (billing_settings.API_KEY and billing_settings.API_SECRET):
        problems.append(
            Error(
                f"{SETTING_NAME}['API_KEY'] and {SETTING_NAME}['API_SECRET'] must be set when DEBUG is off.",
                hint="Use the REST API key and secret of your i'mport console (read them from the "
                f"environment, never from the source). {DOCS}",
                id="billing.E004",
            )
        )
    if not billing_settings.API_URL.startswith("https://"):
        problems.append(
            Error(
                f"{SETTING_NAME}['API_URL'] = {billing_settings.API_URL!r} is not https with DEBUG off.",
                hint="The API key and secret would travel in clear: use https://api.iamport.kr, the default.",
                id="billing.E007",
            )
        )
    return problems


def _old_names(configured: dict) -> list:
    return [
        Warning(
            f"settings.{old} is set, but billing reads only {SETTING_NAME}: it is ignored.",
            hint=f"Move it to {SETTING_NAME}[{new!r}]. {DOCS}",
            id="billing.W001",
        )
        for old, new in OLD_NAMES.items()
        if hasattr(settings, old) and new not in configured
    ]
