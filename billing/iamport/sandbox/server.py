"""Serve the sandbox over HTTP/1.1 with keep-alive, one thread per connection.

Each answer goes out in a single ``sendall`` with TCP_NODELAY: writing headers and body in
separate sends (as ``wsgiref`` does) makes a keep-alive client wait for a delayed ACK,
about 40 ms per request. A background clock runs due schedules once a second.
Requests the HTTP layer itself refuses (a bad request line, an unknown method, a malformed
Content-Length) are answered with the V1 envelope too, never with an HTML error page.
"""

import contextlib
import json
import logging
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

from .wsgi import call_app

logger = logging.getLogger(__name__)

MAX_BODY = 10 * 1024 * 1024


class _BadBody(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "iamport-sandbox"
    app = None  # set by serve()

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                line = self.rfile.readline(65537).split(b";", 1)[0].strip()
                try:
                    size = int(line, 16)
                except ValueError:
                    raise _BadBody from None
                if size == 0:
                    while self.rfile.readline(65537).strip():  # trailers, up to the blank line
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
                if sum(map(len, chunks)) > MAX_BODY:
                    raise _BadBody
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise _BadBody from None
        if length < 0 or length > MAX_BODY:
            raise _BadBody
        return self.rfile.read(length) if length else b""

    def _handle(self) -> None:
        try:
            body = self._read_body()
        except _BadBody:
            self.close_connection = True
            self.send_error(HTTPStatus.BAD_REQUEST, "요청 본문의 길이를 읽을 수 없습니다. (bad body framing)")
            return
        status, headers, content = call_app(
            self.app,
            method=self.command,
            target=self.path,
            headers=self.headers.items(),
            body=body,
            server=cast(tuple[str, int], self.server.server_address)[:2],  # AF_INET: (host, port)
            remote_addr=self.client_address[0],
        )
        self._write(status, headers, content)

    def _write(self, status: str, headers: list[tuple[str, str]], content: bytes) -> None:
        head = [f"HTTP/1.1 {status}"]
        head += [f"{name}: {value}" for name, value in headers]
        if self.close_connection:
            head.append("Connection: close")
        if getattr(self, "command", None) == "HEAD":
            content = b""
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + content)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The HTTP layer's own refusals (400, 414, 431, 501 ...) in the V1 envelope."""
        status = HTTPStatus(code)
        self.close_connection = True
        body = json.dumps(
            {"code": -1, "message": message or status.phrase, "response": None}, ensure_ascii=False
        ).encode()
        headers = [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))]
        with contextlib.suppress(OSError):  # the client may be gone already
            self._write(f"{int(status)} {status.phrase}", headers, body)

    def log_message(self, format, *args) -> None:
        pass  # an access log per request would cost more than the request itself


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        logger.debug("connection from %s ended with an error", client_address, exc_info=True)


def serve(app, host: str = "127.0.0.1", port: int = 8089) -> SandboxServer:
    """Build the server (bound, not yet serving) and start its schedule clock; call ``serve_forever``."""
    handler = type("SandboxHandler", (_Handler,), {"app": app})
    server = SandboxServer((host, port), handler)
    stop = threading.Event()

    def clock() -> None:
        while not stop.wait(1.0):
            try:
                app.run_due_schedules()
            except Exception:  # the clock must keep ticking; the next tick retries
                logger.exception("sandbox: running due schedules failed")

    threading.Thread(target=clock, name="sandbox-clock", daemon=True).start()
    original_close = server.server_close

    def server_close() -> None:
        stop.set()
        original_close()

    server.server_close = server_close  # type: ignore[method-assign]  # this server only
    return server
