"""IamportClient against i'mport mocked at the transport."""

import json
import time
from http import HTTPStatus

import pytest
import requests
import responses
from django.core.cache import cache
from urllib3.exceptions import NewConnectionError

from billing.iamport import get_client
from billing.iamport.client import IamportClient
from billing.iamport.errors import (
    IamportAuthError,
    IamportNotFound,
    IamportOutcomeUnknown,
    IamportRefused,
    IamportUnavailable,
)
from billing.iamport.types import CardDetails
from tests.support.iamport import CUSTOMER_PATH, customer_annotation, envelope

CARD = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")


def test_issue_sends_card_with_bearer_token_and_timeouts(iamport):
    iamport.on_customer("POST")

    customer = get_client().issue_billing_key("cu_1", CARD)

    assert customer.customer_uid == "cu_1"
    assert customer.card_number == "424242******4242"
    call = iamport.calls_to("POST", "/subscribe/customers/cu_1")[0]
    assert call.request.headers["Authorization"] == "Bearer token-1"
    assert json.loads(call.request.body) == {
        "card_number": "4242-4242-4242-4242",
        "expiry": "2030-12",
        "birth": "900101",
        "pwd_2digit": "12",
    }
    connect, read = call.request.req_kwargs["timeout"]
    assert connect > 0
    assert read > 0


def test_pg_and_channel_key_are_sent_when_set(iamport):
    iamport.on_customer("POST")

    get_client().issue_billing_key("cu_1", CARD, pg="nice.MID1", channel_key="channel-key-1")

    body = json.loads(iamport.calls_to("POST", "/subscribe/customers/")[0].request.body)
    assert body["pg"] == "nice.MID1"
    assert body["channel_key"] == "channel-key-1"


def test_token_is_fetched_once_and_shared(iamport):
    iamport.on_customer("GET")
    client = get_client()

    for _ in range(5):
        client.get_billing_key("cu_1")

    assert iamport.token_calls == 1


def test_token_lifetime_is_judged_by_the_server_clock(iamport):
    """A local clock an hour ahead must not make the client think a fresh token is dead, or vice versa."""
    server_now = int(time.time()) - 3600
    iamport.token(now=server_now, lifetime=1800)
    iamport.on_customer("GET")
    client = get_client()

    client.get_billing_key("cu_1")
    client.get_billing_key("cu_1")

    assert iamport.token_calls == 1


def test_token_in_its_last_minute_is_not_cached(iamport):
    iamport.token(lifetime=40)
    iamport.on_customer("GET")
    client = get_client()

    client.get_billing_key("cu_1")
    client.get_billing_key("cu_1")

    assert iamport.token_calls == 2


def test_expired_token_is_refreshed_once_and_the_call_retried(iamport):
    iamport.mock.add(responses.GET, CUSTOMER_PATH, json=envelope(code=-1, message="Unauthorized"), status=401)
    iamport.mock.add(responses.GET, CUSTOMER_PATH, json=envelope(customer_annotation("cu_1")))
    client = get_client()

    customer = client.get_billing_key("cu_1")

    assert customer.customer_uid == "cu_1"
    assert iamport.token_calls == 2
    assert len(iamport.calls_to("GET", "/subscribe/customers/cu_1")) == 2


def test_a_second_401_is_an_auth_error(iamport):
    iamport.on_customer("GET", status=401, body=envelope(code=-1, message="Unauthorized"))

    with pytest.raises(IamportAuthError) as raised:
        get_client().get_billing_key("cu_1")

    assert raised.value.http_status == HTTPStatus.UNAUTHORIZED
    assert iamport.token_calls == 2


def test_bad_keys_are_an_auth_error(iamport):
    iamport.mock.upsert(
        responses.POST,
        iamport.base_url + "/users/getToken",
        json=envelope(code=-1, message="imp_key, imp_secret 파라메터가 누락되었습니다."),
        status=401,
    )

    with pytest.raises(IamportAuthError):
        get_client().get_billing_key("cu_1")


def test_refusal_carries_code_and_message(iamport):
    iamport.on_customer("POST", body=envelope(code=-1, message="카드정보 인증에 실패하였습니다."))

    with pytest.raises(IamportRefused) as raised:
        get_client().issue_billing_key("cu_1", CARD)

    assert raised.value.code == -1
    assert raised.value.message == "카드정보 인증에 실패하였습니다."
    assert raised.value.http_status == HTTPStatus.OK


def test_not_found(iamport):
    iamport.on_customer(
        "GET", status=404, body=envelope(code=1, message="요청하신 customer_uid가 존재하지 않습니다.")
    )

    with pytest.raises(IamportNotFound) as raised:
        get_client().get_billing_key("cu_missing")

    assert raised.value.code == 1


@pytest.mark.parametrize("status", [HTTPStatus.INTERNAL_SERVER_ERROR, HTTPStatus.SERVICE_UNAVAILABLE])
def test_server_errors_are_unavailable(iamport, status):
    iamport.on_customer("POST", status=status, body=envelope(code=-1, message="server error"))

    with pytest.raises(IamportUnavailable):
        get_client().issue_billing_key("cu_1", CARD)


def test_gateway_timeout_on_a_write_is_an_unknown_outcome(iamport):
    iamport.on_customer("POST", status=HTTPStatus.GATEWAY_TIMEOUT, body={"error": "gateway"})

    with pytest.raises(IamportOutcomeUnknown):
        get_client().issue_billing_key("cu_1", CARD)


def test_read_timeout_on_a_write_is_an_unknown_outcome_and_not_resent(iamport):
    iamport.on_customer("POST", exc=requests.ReadTimeout("read timed out"))

    with pytest.raises(IamportOutcomeUnknown):
        get_client().issue_billing_key("cu_1", CARD)

    assert len(iamport.calls_to("POST", "/subscribe/customers/")) == 1


def test_connection_refused_on_a_write_is_unavailable(iamport):
    refused = requests.ConnectionError(
        type("MaxRetry", (), {"reason": NewConnectionError(None, "connection refused")})()
    )
    iamport.on_customer("POST", exc=refused)

    with pytest.raises(IamportUnavailable):
        get_client().issue_billing_key("cu_1", CARD)


def test_connect_timeout_is_unavailable(iamport):
    iamport.on_customer("POST", exc=requests.ConnectTimeout("connect timed out"))

    with pytest.raises(IamportUnavailable):
        get_client().issue_billing_key("cu_1", CARD)


def test_a_read_is_retried_once_after_a_timeout(iamport):
    iamport.mock.add(responses.GET, CUSTOMER_PATH, body=requests.ReadTimeout("read timed out"))
    iamport.mock.add(responses.GET, CUSTOMER_PATH, json=envelope(customer_annotation("cu_1")))

    assert get_client().get_billing_key("cu_1").customer_uid == "cu_1"


def test_a_read_that_keeps_timing_out_is_unavailable(iamport):
    iamport.on_customer("GET", exc=requests.ReadTimeout("read timed out"))

    with pytest.raises(IamportUnavailable):
        get_client().get_billing_key("cu_1")

    assert len(iamport.calls_to("GET", "/subscribe/customers/")) == 2


def test_unreadable_success_answer_to_a_write_is_an_unknown_outcome(iamport):
    iamport.mock.upsert(responses.POST, CUSTOMER_PATH, body="<html>proxy</html>", status=200)

    with pytest.raises(IamportOutcomeUnknown):
        get_client().issue_billing_key("cu_1", CARD)


def test_token_endpoint_unreachable_is_unavailable(iamport):
    iamport.mock.upsert(
        responses.POST, iamport.base_url + "/users/getToken", body=requests.ConnectTimeout("x")
    )

    with pytest.raises(IamportUnavailable):
        get_client().get_billing_key("cu_1")


def test_delete_sends_reason(iamport):
    iamport.on_customer("DELETE")

    get_client().delete_billing_key("cu_1", reason="customer asked")

    call = iamport.calls_to("DELETE", "/subscribe/customers/cu_1")[0]
    assert "reason=customer+asked" in call.request.url


def test_card_details_never_show_their_values():
    shown = repr(CARD) + str(CARD) + f"{CARD}"
    assert "4242" not in shown
    assert "900101" not in shown
    assert "2030" not in shown


def test_each_process_remembers_the_shared_token_briefly(iamport):
    """A cache round trip per call is avoided; a token another worker replaced is dropped on its 401."""
    iamport.on_customer("GET")
    client = get_client()
    client.get_billing_key("cu_1")
    cache.clear()  # e.g. evicted from Redis

    client.get_billing_key("cu_1")

    assert iamport.token_calls == 1
    client.forget_token("token-1")
    client.get_billing_key("cu_1")
    assert iamport.token_calls == 2


def test_proxy_settings_are_read_once_when_the_client_is_built(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/merchant-ca.pem")

    client = IamportClient(base_url="https://api.iamport.kr", api_key="k", api_secret="s")

    assert client.session.trust_env is False
    assert client.session.proxies["https"] == "http://proxy.internal:3128"
    assert client.session.verify == "/etc/ssl/merchant-ca.pem"
