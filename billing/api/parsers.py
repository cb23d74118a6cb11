"""A JSON parser with bounds, so no body can turn into a 500.

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
        return data


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
