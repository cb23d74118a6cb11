"""Cursor pagination whose cursor cannot turn into a 500.

DRF decodes the cursor (base64 of a query string) and checks its offset, but passes its ``p``
(the position: here a ``created_at``) straight into the query: a forged one that is not a datetime
raised Django's ``ValidationError`` (a 500), one with a NUL failed on PostgreSQL. Such a cursor is
answered like any other invalid cursor: 404.
"""

from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination


class NewestFirstPagination(CursorPagination):
    """Newest first, by ``created_at`` then ``id``; the cursor's position must be a datetime."""

    ordering = ("-created_at", "-id")
    page_size = 50  # billing's own, whatever the host's REST_FRAMEWORK says

    def decode_cursor(self, request):
        cursor = super().decode_cursor(request)
        if cursor is not None and cursor.position is not None and not _is_datetime(cursor.position):  # type: ignore[arg-type]  # a str; the stubs say int
            raise NotFound(self.invalid_cursor_message)
        return cursor


def _is_datetime(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        return parse_datetime(text) is not None
    except ValueError:  # well-formed but impossible, e.g. a 31 February
        return False
