"""Requests no view can make sense of are answered 400 before any view, form or query sees them.

A NUL (``%00``) in the path or the query string reaches PostgreSQL as a text parameter and fails
there (a 500); bytes that are not UTF-8 are silently replaced by Django and then mean something
else than what was sent. Neither is ever a request a browser, i'mport or an API client makes.
"""

from http import HTTPStatus
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, JsonResponse


class RejectMalformedRequestMiddleware:
    """First in ``MIDDLEWARE``: 400 for a NUL or non-UTF-8 bytes in the path or the query string."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if is_malformed(request):
            # The API's own ``invalid`` shape, so an API client reads it like any other 400.
            detail = "The path or query string has a NUL character or bytes that are not UTF-8."
            return JsonResponse(
                {"error": "invalid", "detail": detail, "fields": {"non_field_errors": [detail]}},
                status=HTTPStatus.BAD_REQUEST,
            )
        return self.get_response(request)


def is_malformed(request: HttpRequest) -> bool:
    # Django decodes the path itself (bytes that are not UTF-8 come back percent-escaped), and under WSGI
    # overwrites PATH_INFO with that text: the request line as the server received it, when the server
    # passes it on (gunicorn's RAW_URI), is the only place the original bytes remain.
    raw_uri = request.META.get("RAW_URI") or request.META.get("REQUEST_URI") or ""
    try:
        raw_path = unquote_to_bytes(raw_uri.split("?", 1)[0]) if isinstance(raw_uri, str) else b""
        query = unquote_to_bytes(request.META.get("QUERY_STRING", ""))
    except (TypeError, ValueError):
        return True
    if "\x00" in request.path_info:
        return True
    return any(b"\x00" in part or not _utf8(part) for part in (raw_path, query))


def _utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
