"""The access token shared by every worker: one fetch at a time, a 401 answered with a new token.

The fake token endpoint hands out a new token on each call (token-1, token-2 ...), so a retry that
goes out with the old token is told apart from one that carries the refreshed one. The last test runs
two real processes against a token endpoint on a real socket, sharing the token through Redis.
"""

import json
import subprocess
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import responses
from django.conf import settings as django_settings
from django.core.cache import cache

from billing.iamport import get_client
from billing.iamport.client import IamportClient
from billing.iamport.errors import IamportAuthError, IamportError
from billing.iamport.types import CardDetails
from tests.support.iamport import CUSTOMER_PATH, customer_annotation, envelope
from tests.support.sandbox_process import PROJECT_ROOT

CARD = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")
THREADS = 8


class TokenEndpoint:
    """``/users/getToken`` that issues a fresh token per call, optionally held until ``release`` is set."""

    def __init__(self, iamport, *, hold: bool = False):
        self.issued: list[str] = []
        self.lock = threading.Lock()
        self.release = threading.Event()
        self.entered = threading.Event()
        if not hold:
            self.release.set()
        iamport.mock.upsert(
            responses.CallbackResponse("POST", iamport.base_url + "/users/getToken", callback=self.answer)
        )

    def answer(self, request):
        self.entered.set()
        assert self.release.wait(10), "the test never released the token endpoint"
        with self.lock:
            token = f"token-{len(self.issued) + 1}"
            self.issued.append(token)
        now = int(time.time())
        body = envelope({"access_token": token, "now": now, "expired_at": now + 1800})
        return HTTPStatus.OK, {}, json.dumps(body)


def refuse_stale(tokens: "TokenEndpoint", stale: str):
    """An endpoint that answers 401 to ``stale`` (as i'mport after it rotated it) and to unknown tokens."""

    def answer(request):
        token = request.headers["Authorization"].removeprefix("Bearer ")
        if token == stale or token not in tokens.issued:
            return HTTPStatus.UNAUTHORIZED, {}, json.dumps(envelope(code=-1, message="Unauthorized"))
        uid = request.path_url.split("?")[0].rsplit("/", 1)[-1]
        return HTTPStatus.OK, {}, json.dumps(envelope(customer_annotation(uid)))

    return answer


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_401_is_answered_by_resending_with_the_new_token(iamport, method):
    tokens = TokenEndpoint(iamport)
    client = get_client()
    client.access_token()  # token-1, which i'mport then no longer accepts
    iamport.mock.upsert(
        responses.CallbackResponse(method, CUSTOMER_PATH, callback=refuse_stale(tokens, "token-1"))
    )

    answer = client.get_billing_key("cu_1") if method == "GET" else client.issue_billing_key("cu_1", CARD)

    assert answer.customer_uid == "cu_1"
    sent = [c.request.headers["Authorization"] for c in iamport.calls_to(method, "/subscribe/customers/cu_1")]
    assert sent == ["Bearer token-1", "Bearer token-2"]
    assert tokens.issued == ["token-1", "token-2"]
    assert cache.get(client._token_cache_key) == "token-2"


def test_a_refresh_that_fails_leaves_the_client_able_to_fetch_on_its_next_call(iamport):
    """A 401, then i'mport's token endpoint down: that call fails, and the next one fetches a token again."""
    answers = iter(
        [
            (HTTPStatus.OK, "token-1"),
            (HTTPStatus.SERVICE_UNAVAILABLE, None),  # the refresh after the 401
            (HTTPStatus.OK, "token-2"),
        ]
    )

    def get_token(request):
        status, token = next(answers)
        now = int(time.time())
        if token is None:
            return status, {}, json.dumps(envelope(code=-1, message="down"))
        return status, {}, json.dumps(envelope({"access_token": token, "now": now, "expired_at": now + 1800}))

    def read(request):
        if request.headers["Authorization"] != "Bearer token-2":
            return HTTPStatus.UNAUTHORIZED, {}, json.dumps(envelope(code=-1, message="Unauthorized"))
        return HTTPStatus.OK, {}, json.dumps(envelope(customer_annotation("cu_1")))

    iamport.mock.upsert(
        responses.CallbackResponse("POST", iamport.base_url + "/users/getToken", callback=get_token)
    )
    iamport.mock.upsert(responses.CallbackResponse("GET", CUSTOMER_PATH, callback=read))
    client = get_client()

    with pytest.raises(IamportError):
        client.get_billing_key("cu_1")  # token-1 refused, and no new token to be had

    assert client.get_billing_key("cu_1").customer_uid == "cu_1"  # fetched token-2 and read with it


def test_a_write_refused_twice_is_sent_twice_only(iamport):
    TokenEndpoint(iamport)
    iamport.on_customer("POST", status=401, body=envelope(code=-1, message="Unauthorized"))

    with pytest.raises(IamportAuthError) as raised:
        get_client().issue_billing_key("cu_1", CARD)

    sent = [c.request.headers["Authorization"] for c in iamport.calls_to("POST", "/subscribe/customers/")]
    assert sent == ["Bearer token-1", "Bearer token-2"]
    assert (raised.value.code, raised.value.message, raised.value.http_status) == (-1, "Unauthorized", 401)


def test_a_second_401_that_is_not_json_is_an_auth_error_without_code_or_message(iamport):
    TokenEndpoint(iamport)
    iamport.mock.upsert(responses.GET, CUSTOMER_PATH, body="<html>401</html>", status=401)

    with pytest.raises(IamportAuthError) as raised:
        get_client().get_billing_key("cu_1")

    assert (raised.value.code, raised.value.message) == (None, "")


def test_forgetting_an_old_token_keeps_the_newer_one_another_worker_stored(iamport):
    tokens = TokenEndpoint(iamport)
    ours, theirs = get_client(), IamportClient(base_url=iamport.base_url, api_key="test_key", api_secret="x")
    assert ours.access_token() == "token-1"
    theirs.forget_token("token-1")
    assert theirs.access_token() == "token-2"  # another worker refreshed it

    ours.forget_token("token-1")  # our late 401 on the old token

    assert ours.access_token() == "token-2"
    assert tokens.issued == ["token-1", "token-2"]


def test_forgetting_the_current_token_drops_it(iamport):
    tokens = TokenEndpoint(iamport)
    client = get_client()
    client.access_token()

    client.forget_token("token-1")

    assert client.access_token() == "token-2"
    assert tokens.issued == ["token-1", "token-2"]


def run_together(functions) -> list:
    """Run each function in its own thread, released at once by a barrier; return results or errors."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def run(i, function):
        barrier.wait(5)
        try:
            results[i] = function()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not any(thread.is_alive() for thread in threads)
    return results


def hold_until_all_wait(tokens: TokenEndpoint) -> threading.Thread:
    """Release the held token endpoint once the first fetch is in and the others had time to queue."""

    def release():
        tokens.entered.wait(10)
        time.sleep(0.3)  # the slow token endpoint itself, not a synchronisation
        tokens.release.set()

    thread = threading.Thread(target=release)
    thread.start()
    return thread


def test_many_threads_of_one_worker_make_one_token_call(iamport):
    tokens = TokenEndpoint(iamport, hold=True)
    iamport.on_customer("GET")
    client = get_client()
    releaser = hold_until_all_wait(tokens)

    results = run_together([lambda: client.get_billing_key("cu_1").customer_uid] * THREADS)

    releaser.join()
    assert results == ["cu_1"] * THREADS
    assert tokens.issued == ["token-1"]
    sent = {c.request.headers["Authorization"] for c in iamport.calls_to("GET", "/subscribe/customers/")}
    assert sent == {"Bearer token-1"}


def test_many_workers_sharing_the_cache_make_one_token_call(iamport):
    """Each worker has its own client (its own process lock): only the lock in the cache holds them back."""
    tokens = TokenEndpoint(iamport, hold=True)
    iamport.on_customer("GET")
    workers = [
        IamportClient(base_url=iamport.base_url, api_key="test_key", api_secret="test_secret")
        for _ in range(THREADS)
    ]
    releaser = hold_until_all_wait(tokens)

    results = run_together([lambda w=w: w.get_billing_key("cu_1").customer_uid for w in workers])

    releaser.join()
    assert results == ["cu_1"] * THREADS
    assert tokens.issued == ["token-1"]


class SlowTokenServer:
    """i'mport on a real socket. ``/users/getToken`` issues token-1, token-2 ... and holds each answer
    until ``release`` is set; ``GET /subscribe/customers/<uid>`` answers whoever sends an issued token.

    ``changed`` (a condition) is notified whenever a token call arrives; ``issued`` lists them in order,
    ``authorizations`` the headers the billing-key reads carried.
    """

    def __init__(self):
        self.changed = threading.Condition()
        self.issued: list[str] = []
        self.authorizations: list[str] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with server.changed:
                    token = f"token-{len(server.issued) + 1}"
                    server.issued.append(token)
                    server.changed.notify_all()
                server.release.wait(30)
                now = int(time.time())
                self.answer(
                    HTTPStatus.OK, envelope({"access_token": token, "now": now, "expired_at": now + 1800})
                )

            def do_GET(self):
                authorization = self.headers.get("Authorization", "")
                with server.changed:
                    server.authorizations.append(authorization)
                if authorization.removeprefix("Bearer ") not in server.issued:
                    self.answer(HTTPStatus.UNAUTHORIZED, envelope(code=-1, message="Unauthorized"))
                else:
                    self.answer(HTTPStatus.OK, envelope(customer_annotation(self.path.rsplit("/", 1)[-1])))

            def answer(self, status, body):
                content = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, format, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.http.shutdown()
        self.http.server_close()


class WorkerProcess:
    """``tests/support/token_worker.py`` in a process of its own; what it says, read as it says it."""

    def __init__(self, url: str, customer_uid: str, said: threading.Condition, log):
        self.said = said
        self.lines: list[dict] = []
        self.done = False
        self.process = subprocess.Popen(  # noqa: S603 - our own worker module with fixed arguments
            [sys.executable, "-m", "tests.support.token_worker", url, customer_uid],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            for line in self.process.stdout:
                if line.startswith("{"):
                    with self.said:
                        self.lines.append(json.loads(line))
                        self.said.notify_all()
        finally:
            with self.said:
                self.done = True  # it closed its stdout: it exited, or is about to
                self.said.notify_all()

    def locks(self) -> list[bool]:
        return [line["lock"] for line in self.lines if "lock" in line]

    def finish(self, timeout: float = 30) -> dict:
        """Its answer (the last line), once it exited."""
        self.process.wait(timeout)
        self.reader.join(5)
        return self.lines[-1] if self.lines else {}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.mark.skipif(
    django_settings.CACHES["default"]["BACKEND"] != "merchant_site.redis_cache.RedisCache",
    reason="needs the Redis server of CI's second pass (CACHE_URL=redis://...)",
)
def test_two_processes_sharing_the_cache_make_one_token_call_to_a_slow_endpoint(tmp_path):
    """Two OS processes, each its own client: only the lock in Redis holds the second one back.

    The token endpoint holds its answer until the other process has asked the cache for the lock and
    lost it, so both are provably waiting at once; a second token call arriving releases it too.
    """
    iamport = SlowTokenServer()
    changed = iamport.changed
    workers: list[WorkerProcess] = []
    with open(tmp_path / "workers.log", "w+") as log:
        try:
            workers += [WorkerProcess(iamport.url, "cu_1", changed, log) for _ in range(2)]

            def the_other_is_waiting() -> bool:
                """One token call is held, and the other process lost the lock to it (and now waits)."""
                return len(iamport.issued) == 1 and any(False in w.locks() for w in workers)

            with changed:
                changed.wait_for(
                    lambda: the_other_is_waiting()
                    or len(iamport.issued) >= 2
                    or any(w.done for w in workers),
                    timeout=30,
                )
                both_waiting = the_other_is_waiting()
            iamport.release.set()
            answers = [worker.finish() for worker in workers]
        finally:
            for worker in workers:
                worker.stop()
            iamport.close()
        log.seek(0)
        output = log.read()

    assert [w.process.returncode for w in workers] == [0, 0], output[-3000:]
    assert iamport.issued == ["token-1"], "each process fetched a token of its own"
    assert both_waiting, "the held token call never had the other process waiting for it"
    assert sorted(w.locks() for w in workers) == [[False], [True]]
    assert answers == [{"customer_uid": "cu_1", "token": "token-1"}] * 2
    assert iamport.authorizations == ["Bearer token-1"] * 2
