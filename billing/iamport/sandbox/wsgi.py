"""Calling the WSGI app from a raw request: shared by the HTTP server and the in-process adapter."""

import io
import sys
from collections.abc import Iterable
from urllib.parse import unquote


def call_app(
    app,
    *,
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    server: tuple[str, int],
    scheme: str = "http",
    remote_addr: str = "127.0.0.1",
) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run one request (``target`` is the path with its query) through ``app``: status, headers, body."""
    path, _, query = target.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": unquote(path),
        "QUERY_STRING": query,
        "CONTENT_LENGTH": str(len(body)),
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": remote_addr,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.url_scheme": scheme,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else "HTTP_" + key] = value
    environ.setdefault("CONTENT_TYPE", "")
    captured: dict = {}

    def start_response(status, response_headers, exc_info=None):
        captured["status"], captured["headers"] = status, response_headers

    content = b"".join(app(environ, start_response))
    return captured["status"], captured["headers"], content
