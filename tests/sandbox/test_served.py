"""The sandbox over HTTP: concurrent clients keep the state consistent; HTTP-layer errors get the envelope."""

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from urllib.parse import urlsplit

import requests

from . import spec_types
from .conftest import CARD, TIMEOUT


def test_fifty_concurrent_registrations(served, app):
    token = served.token()
    local = threading.local()

    def register(number: int) -> requests.Response:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        return local.session.post(
            f"{served.base_url}/subscribe/customers/cu_{number}",
            json=CARD,
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )

    with ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(register, range(50)))

    customers = [spec_types.answer(r, HTTPStatus.OK, spec_types.CUSTOMER) for r in responses]
    assert sorted(c["customer_uid"] for c in customers) == sorted(f"cu_{n}" for n in range(50))
    listed = served.get("/subscribe/customers", params={"customer_uid[]": [f"cu_{n}" for n in range(50)]})
    assert len(spec_types.answer(listed, HTTPStatus.OK, spec_types.ArrayOf(spec_types.CUSTOMER))) == 50
    assert app.stats()["calls"]["POST /subscribe/customers/{customer_uid}"] == 50


def test_concurrent_charges_of_one_merchant_uid_pay_once(served):
    served.register("cu_race")
    token = served.token()
    body = {"customer_uid": "cu_race", "merchant_uid": "order_race", "amount": 1_000, "name": "race"}

    def pay(_: int) -> requests.Response:
        return requests.post(
            f"{served.base_url}/subscribe/payments/again",
            json=body,
            headers={"Authorization": token},
            timeout=TIMEOUT,
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(pay, range(20)))

    codes = sorted(spec_types.envelope(r, HTTPStatus.OK)["code"] for r in responses)
    assert codes == [0] + [1] * 19
    listed = spec_types.answer(
        served.get("/subscribe/customers/cu_race/payments"), 200, spec_types.PAGED_PAYMENT
    )
    assert listed["total"] == 1


def raw_exchange(base_url: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes as they are; read one answer (the server closes or sends Content-Length)."""
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=TIMEOUT) as connection:
        connection.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            data += connection.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        while len(body) < int(headers.get("content-length", 0)):
            body += connection.recv(65536)
    return int(lines[0].split()[1]), headers, body


def test_a_malformed_content_length_gets_a_400_envelope(served):
    status, headers, body = raw_exchange(
        served.base_url, b"POST /users/getToken HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n{}"
    )

    assert status == HTTPStatus.BAD_REQUEST
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["response"] is None and json.loads(body)["code"] == -1


def test_an_unknown_http_method_gets_an_envelope(served):
    status, _, body = raw_exchange(served.base_url, b"BREW /users/getToken HTTP/1.1\r\nHost: x\r\n\r\n")

    assert status == HTTPStatus.NOT_IMPLEMENTED
    assert set(json.loads(body)) == {"code", "message", "response"}


def test_a_bad_request_line_gets_an_envelope(served):
    status, _, body = raw_exchange(served.base_url, b"this is not http\r\n\r\n")

    assert status == HTTPStatus.BAD_REQUEST
    assert json.loads(body)["code"] == -1


def test_a_chunked_body_is_read(served):
    def chunks():
        yield json.dumps(CARD).encode()

    response = served.post(
        "/subscribe/customers/cu_chunked", data=chunks(), headers={"Content-Type": "application/json"}
    )

    spec_types.answer(response, HTTPStatus.OK, spec_types.CUSTOMER)
    spec_types.answer(served.get("/subscribe/customers/cu_chunked"), HTTPStatus.OK, spec_types.CUSTOMER)


def test_head_answers_headers_only(served):
    response = served.call("HEAD", "/subscribe/customers/cu_head")

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert response.content == b""
