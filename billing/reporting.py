"""Exception reports that cannot carry card data.

Django's default filter only acts when DEBUG is off and only on variables a view marked
sensitive. Card data must not appear in any report, on the dev site either, and a
traceback may pass through frames we do not own (requests, urllib3) whose locals hold
the request body. So this filter is always on, hides the card fields by name in POST
data, and scrubs anything shaped like a card number from every frame variable.
"""

from django.views.debug import SafeExceptionReporterFilter

from .cards import CARD_FIELDS
from .logging_filters import redact

_CARD_VARIABLE_NAMES = {*CARD_FIELDS, "card", "body", "data", "json"}


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
        return [(name, self._scrub(name, value)) for name, value in variables]

    def _scrub(self, name, value):
        if name in _CARD_VARIABLE_NAMES and value != self.cleansed_substitute:
            return self.cleansed_substitute
        try:
            text = repr(value)
        except Exception:  # a broken __repr__ must not break the error report
            return self.cleansed_substitute
        cleaned = redact(text)
        return value if cleaned == text else cleaned
