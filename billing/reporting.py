"""Exception reports that cannot carry card data.

Django's default filter only acts when DEBUG is off and only on variables a view marked
sensitive. Card data must not appear in any report, on the dev site's DEBUG page either, and a
traceback passes through frames whose variables have ordinary names (``value``, ``digits``,
``cleaned``, ``attrs``) or that we do not own (requests, urllib3, DRF). So this filter is always on and
hides, in POST data and in every frame:

- the card fields by name, and every variable of ``billing.cards`` (it holds nothing else);
- any variable whose text contains a card value this request carried (form or JSON body), in the
  forms it is typed or normalized in; the two PIN digits when they appear as a string of their own;
- anything shaped like a card number.
"""

import json
import re

from django.http import HttpRequest
from django.views.debug import SafeExceptionReporterFilter

from .cards import CARD_FIELDS
from .logging_filters import redact

_CARD_VARIABLE_NAMES = {*CARD_FIELDS, "card", "body", "data", "json"}
_CARD_MODULES = {"billing.cards"}
_SEPARATORS = re.compile(r"[\s-]")


class CardSafeExceptionReporterFilter(SafeExceptionReporterFilter):
    def is_active(self, request):
        return True

    def get_post_parameters(self, request):
        cleaned = super().get_post_parameters(request)
        if request is None or not any(name in cleaned for name in CARD_FIELDS):
            return cleaned
        cleaned = cleaned.copy()
        for name in CARD_FIELDS:
            if name in cleaned:
                cleaned[name] = self.cleansed_substitute
        return cleaned

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        if tb_frame.f_globals.get("__name__") in _CARD_MODULES:
            return [(name, self.cleansed_substitute) for name, _ in variables]
        values, short_values = _card_values_of(request)
        return [(name, self._scrub(name, value, values, short_values)) for name, value in variables]

    def _scrub(self, name, value, values, short_values):
        if name in _CARD_VARIABLE_NAMES and value != self.cleansed_substitute:
            return self.cleansed_substitute
        try:
            text = repr(value)
        except Exception:  # a broken __repr__ must not break the error report
            return self.cleansed_substitute
        if any(card_value in text for card_value in values):
            return self.cleansed_substitute
        if any(f"'{short}'" in text or f'"{short}"' in text for short in short_values):
            return self.cleansed_substitute
        cleaned = redact(text)
        return value if cleaned == text else cleaned


def _card_values_of(request) -> tuple[set[str], set[str]]:
    """The card values this request carried: (those of 4+ characters in each form, the shorter ones)."""
    request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    if not isinstance(request, HttpRequest):
        return set(), set()
    fields: dict = {}
    try:
        if request.content_type == "application/json":
            parsed = json.loads(request.body)
            fields = parsed if isinstance(parsed, dict) else {}
        else:
            fields = request.POST
    except Exception:  # an unreadable body carries nothing to hide; the report must still render
        fields = {}
    values: set[str] = set()
    short: set[str] = set()
    for name in CARD_FIELDS:
        raw = fields.get(name)
        if not isinstance(raw, str) or not raw.strip():
            continue
        raw = raw.strip()
        compact = _SEPARATORS.sub("", raw)
        grouped = "-".join(compact[i : i + 4] for i in range(0, len(compact), 4))
        for form in {raw, compact, grouped, f"{compact[:4]}-{compact[4:]}" if len(compact) == 6 else raw}:
            (values if len(form) >= 4 else short).add(form)
    return values, short
