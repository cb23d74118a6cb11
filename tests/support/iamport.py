"""i'mport answers for ``responses``, shaped like the V1 spec's annotations."""

import re
import time
from http import HTTPStatus
from typing import Any

import requests
import responses

CUSTOMER_PATH = re.compile(r"https://api\.iamport\.kr/subscribe/customers/[\w-]+(\?.*)?$")


def envelope(response: Any = None, *, code: int = 0, message: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "response": response}


def customer_annotation(customer_uid: str = "cu_test", **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "customer_uid": customer_uid,
        "pg_provider": "nice",
        "pg_id": "nictest04m",
        "sandbox": True,
        "customer_id": None,
        "card_name": "국민KB카드",
        "card_code": "381",
        "card_number": "424242******4242",
        "card_type": 0,
        "customer_name": None,
        "customer_tel": None,
        "customer_email": None,
        "customer_addr": None,
        "customer_postcode": None,
        "inserted": now,
        "updated": now,
        **overrides,
    }


def echo_customer(request: requests.PreparedRequest) -> tuple[int, dict, str]:
    """Answer a billing-key POST/GET/DELETE with an annotation for the customer_uid in its path."""
    import json

    customer_uid = request.path_url.split("?")[0].rsplit("/", 1)[-1]
    return HTTPStatus.OK, {}, json.dumps(envelope(customer_annotation(customer_uid)))


class IamportMock:
    """A thin layer over ``responses.RequestsMock`` that speaks in i'mport's terms."""

    base_url = "https://api.iamport.kr"

    def __init__(self, mock: responses.RequestsMock):
        self.mock = mock
        self.token()

    def token(
        self, *, access_token: str = "token-1", lifetime: int = 1800, now: int | None = None, status=200
    ):
        now = int(time.time()) if now is None else now
        self.mock.upsert(
            responses.POST,
            self.base_url + "/users/getToken",
            json=envelope({"access_token": access_token, "now": now, "expired_at": now + lifetime}),
            status=status,
        )

    def calls_to(self, method: str, path_fragment: str) -> list[responses.Call]:
        return [c for c in self.mock.calls if c.request.method == method and path_fragment in c.request.url]

    @property
    def token_calls(self) -> int:
        return len(self.calls_to("POST", "/users/getToken"))

    def on_customer(self, method: str, *, status: int = 200, body: Any = None, exc: Exception | None = None):
        """Answer the next calls to /subscribe/customers/{uid}; by default echo a fresh annotation."""
        if exc is not None:
            self.mock.upsert(method, CUSTOMER_PATH, body=exc)
        elif body is None:
            self.mock.upsert(responses.CallbackResponse(method, CUSTOMER_PATH, callback=echo_customer))
        else:
            self.mock.upsert(method, CUSTOMER_PATH, json=body, status=status)
