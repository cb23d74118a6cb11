"""A counting, latency-adding proxy in front of the served sandbox: when each call arrived, per route."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests


class CountingProxy:
    def __init__(self, upstream: str, latency: float = 0.0):
        self.upstream = upstream
        self.latency = latency
        self.arrivals: list[tuple[float, str]] = []  # (time.time(), "POST /path")
        self._lock = threading.Lock()
        self._session = requests.Session()

    def handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self):
                with proxy._lock:
                    proxy.arrivals.append((time.time(), f"{self.command} {self.path.split('?')[0]}"))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if proxy.latency:
                    time.sleep(proxy.latency)  # the card company's wait, on this call's own thread
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")
                }
                answer = proxy._session.request(
                    self.command, proxy.upstream + self.path, data=body, headers=headers, timeout=60
                )
                self.send_response(answer.status_code)
                self.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = do_DELETE = do_PUT = _forward

            def log_message(self, *args):
                pass

        return Handler

    def per_second(self, route_prefix: str = "") -> list[int]:
        """Calls in each one-second window starting at each call (the worst case of any window)."""
        times = sorted(t for t, route in self.arrivals if route.split(" ", 1)[1].startswith(route_prefix))
        counts, j = [], 0
        for i, start in enumerate(times):
            while times[j] < start:
                j += 1
            end = i
            while end < len(times) and times[end] < start + 1.0:
                end += 1
            counts.append(end - i)
        return counts


@contextmanager
def counting_proxy(upstream: str, latency: float = 0.0) -> Iterator[tuple[str, CountingProxy]]:
    proxy = CountingProxy(upstream, latency)
    server = ThreadingHTTPServer(("127.0.0.1", 0), proxy.handler())
    server.daemon_threads = True
    server.request_queue_size = 1024
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", proxy
    finally:
        server.shutdown()
        server.server_close()
