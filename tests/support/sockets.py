"""i'mport as a misbehaving server on a real socket: it answers the token, then fails the way networks do.

``FlakyIamport(mode)``: ``"close"`` reads each request and closes the connection without a word;
``"hang"`` reads it and never answers (until the test ends). ``stop()`` closes the listening socket, so
the port is then closed (connection refused). ``requests`` records (method, path) of every request read.
"""

import contextlib
import json
import socket
import threading
import time


class FlakyIamport:
    def __init__(self, mode: str):
        self.mode = mode
        self.requests: list[tuple[str, str]] = []
        self.done = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def requests_to(self, fragment: str) -> list[tuple[str, str]]:
        return [r for r in self.requests if fragment in r[1]]

    def stop(self) -> None:
        self.done.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() below; close() alone would not
        self.listener.close()
        self.thread.join(5)

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            request = _read_request(conn)
            if request is None:
                return
            self.requests.append(request)
            if request[1].startswith("/users/getToken"):
                now = int(time.time())
                body = json.dumps(
                    {
                        "code": 0,
                        "message": None,
                        "response": {"access_token": "tok", "now": now, "expired_at": now + 1800},
                    }
                ).encode()
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
                )
                conn.sendall(head.encode() + body)
            elif self.mode == "hang":
                self.done.wait(30)
            # "close": say nothing, the with-block closes the connection


def _read_request(conn: socket.socket) -> tuple[str, str] | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")), 0
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    method, path, _ = lines[0].split(" ", 2)
    return method, path
