"""The access token shared by every worker: one fetch at a time, a 401 answered with a new token.

The fake token endpoint hands out a new token on each call (token-1, token-2 ...), so a retry that
goes out with the old token is told apart from one that carries the refreshed one.
"""

import json
import threading
import time
from http import HTTPStatus

import pytest
import responses
from django.core.cache import cache

from billing.iamport import get_client
from billing.iamport.client import IamportClient
from billing.iamport.errors import IamportAuthError
from billing.iamport.types import CardDetails
from tests.support.iamport import CUSTOMER_PATH, customer_annotation, envelope

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
