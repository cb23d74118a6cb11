"""Fixtures for the sandbox's own tests: the app in-process, the app served on a port, a webhook receiver.

The sandbox is tested as any V1 client would see it, through ``requests``: in-process with
``SandboxAdapter`` (fast, no port) or over HTTP with ``serve`` on a free port.
"""

import json
import queue
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from billing.iamport.sandbox import SandboxAdapter, SandboxApp, serve

from . import spec_types

KEY, SECRET = "sandbox_key", "sandbox_secret"
IN_PROCESS_URL = "https://api.iamport.kr"
TIMEOUT = 10

GOOD_CARD = "4242-4242-4242-4242"
OTHER_GOOD_CARD = "5555-5555-5555-4444"
DECLINED_AT_ISSUE = "4000-0000-0000-0002"
DECLINED_ON_CHARGE = "4000-0000-0000-9995"
NOT_LUHN = "4242-4242-4242-4241"
CARD = {"card_number": GOOD_CARD, "expiry": "2099-12", "birth": "900101", "pwd_2digit": "12"}


class Api:
    """A V1 client as small as can be: a session, a base URL, a token, and the control endpoints."""

    def __init__(self, base_url: str, session: requests.Session):
        self.base_url = base_url
        self.http = session
        self._token: str | None = None

    def token(self) -> str:
        response = self.http.post(
            self.base_url + "/users/getToken", json={"imp_key": KEY, "imp_secret": SECRET}, timeout=TIMEOUT
        )
        return spec_types.answer(response, HTTPStatus.OK, spec_types.AUTH)["access_token"]

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> requests.Response:
        if self._token is None:
            self._token = self.token()
        headers = {"Authorization": f"Bearer {token or self._token}", **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", TIMEOUT)
        return self.http.request(method, self.base_url + path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", path, **kwargs)

    def control(self, path: str, body: dict | None = None) -> dict:
        response = self.http.post(self.base_url + "/__sandbox__/" + path, json=body or {}, timeout=TIMEOUT)
        return spec_types.envelope(response, HTTPStatus.OK)["response"]

    # --- the calls most tests start from ------------------------------------------------------------
    def register(self, customer_uid: str, card_number: str = GOOD_CARD, **extra: Any) -> dict:
        response = self.post(
            f"/subscribe/customers/{customer_uid}", json={**CARD, "card_number": card_number, **extra}
        )
        return spec_types.answer(response, HTTPStatus.OK, spec_types.CUSTOMER)

    def pay(self, customer_uid: str, merchant_uid: str, amount: int = 10_000, **extra: Any) -> dict:
        body = {"customer_uid": customer_uid, "merchant_uid": merchant_uid, "amount": amount, "name": "June"}
        response = self.post("/subscribe/payments/again", json={**body, **extra})
        return spec_types.answer(response, HTTPStatus.OK, spec_types.PAYMENT)


@pytest.fixture
def app(tmp_path) -> Iterator[SandboxApp]:
    """A sandbox with its own state file; webhook retries a few milliseconds apart."""
    application = SandboxApp(tmp_path / "sandbox.sqlite3", webhook_backoff=(0.02,))
    yield application
    application.webhooks.wait_idle(timeout=5)


@pytest.fixture
def api(app) -> Api:
    """The sandbox in-process, behind the URL a real client would use."""
    session = requests.Session()
    session.mount(IN_PROCESS_URL, SandboxAdapter(app))
    return Api(IN_PROCESS_URL, session)


@pytest.fixture
def served(app) -> Iterator[Api]:
    """The same app served over HTTP on a free port (``serve``, as the management command does)."""
    server = serve(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    session = requests.Session()
    try:
        yield Api(f"http://127.0.0.1:{server.server_address[1]}", session)
    finally:
        session.close()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class Receiver:
    """A local webhook endpoint: answers 500 to the first ``fail_first`` posts, then 200."""

    def __init__(self):
        self.received: queue.Queue[tuple[int, dict]] = queue.Queue()
        self.fail_first = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                with receiver._lock:
                    status = HTTPStatus.INTERNAL_SERVER_ERROR if receiver.fail_first > 0 else HTTPStatus.OK
                    receiver.fail_first -= 1
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.received.put((status, body))

            def log_message(self, format, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhook"

    def next(self, timeout: float = 5.0) -> tuple[int, dict]:
        """The next post (status answered, body), waiting at most ``timeout`` seconds."""
        return self.received.get(timeout=timeout)

    def nothing_more(self, app: SandboxApp) -> bool:
        app.webhooks.wait_idle(timeout=5)
        return self.received.empty()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver()
    thread = threading.Thread(
        target=endpoint.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()
    thread.join(timeout=5)
