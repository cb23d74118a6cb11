"""A JSON parser with bounds, so no body can turn into a 500.

A string with a NUL (PostgreSQL refuses it in text and jsonb) or a lone surrogate (``"\\ud800"``: valid
JSON, but no UTF-8 can encode it) is refused here too, before a serializer, a query or a log line meets it.

DRF's own parser reads the whole stream (Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` only guards
``request.body``) and lets Python's ``RecursionError`` through for deeply nested arrays.
"""

import io

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32


class BoundedJSONParser(JSONParser):
    """JSON bodies up to ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes and ``MAX_DEPTH`` levels; else 400."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise ParseError(f"The body is larger than {limit} bytes.")
        too_deep = ParseError(f"JSON nested deeper than {MAX_DEPTH} levels.")
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if _deeper_than(data, MAX_DEPTH):
            raise too_deep
        if _has_unstorable_text(data):
            raise ParseError("JSON strings may not contain NUL characters or lone surrogates.")
        return data


def _has_unstorable_text(data) -> bool:
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            if "\x00" in item:
                return True
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def _deeper_than(data, limit: int) -> bool:
    pending = [(data, 1)]
    while pending:
        item, depth = pending.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False
