"""Serve the sandbox over HTTP/1.1 with keep-alive, one thread per connection.

Each answer goes out in a single ``sendall`` with TCP_NODELAY: writing headers and body in
separate sends (as ``wsgiref`` does) makes a keep-alive client wait for a delayed ACK,
about 40 ms per request. A background clock runs due schedules once a second.
"""

import io
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "iamport-sandbox"
    app = None  # set by serve()

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _handle(self) -> None:
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        environ = {
            "REQUEST_METHOD": self.command,
            "PATH_INFO": _unquote(path),
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "SERVER_NAME": self.server.server_address[0],
            "SERVER_PORT": str(self.server.server_address[1]),
            "SERVER_PROTOCOL": self.request_version,
            "REMOTE_ADDR": self.client_address[0],
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.url_scheme": "http",
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in self.headers.items():
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        captured: dict = {}

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        content = b"".join(self.app(environ, start_response))
        head = [f"HTTP/1.1 {captured['status']}"]
        head += [f"{name}: {value}" for name, value in captured["headers"]]
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + content)

    do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _handle

    def log_message(self, format, *args) -> None:
        pass  # an access log per request would cost more than the request itself


def _unquote(path: str) -> str:
    from urllib.parse import unquote

    return unquote(path)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True


def serve(app, host: str = "127.0.0.1", port: int = 8089) -> SandboxServer:
    """Build the server (bound, not yet serving) and start its schedule clock; call ``serve_forever``."""
    handler = type("SandboxHandler", (_Handler,), {"app": app})
    server = SandboxServer((host, port), handler)
    stop = threading.Event()

    def clock() -> None:
        while not stop.wait(1.0):
            app.run_due_schedules()

    threading.Thread(target=clock, name="sandbox-clock", daemon=True).start()
    original_close = server.server_close

    def server_close() -> None:
        stop.set()
        original_close()

    server.server_close = server_close
    return server
