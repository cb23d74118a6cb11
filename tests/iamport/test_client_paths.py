"""An id is one path segment at i'mport, whatever it contains: it cannot reach another endpoint."""

import json

import pytest
import responses

from billing.iamport import get_client
from billing.iamport.types import CardDetails
from tests.support.iamport import customer_annotation, envelope

CARD = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")
BASE = "https://api.iamport.kr"

HOSTILE = [
    ("../subscribe/customers/cu_victim", "/subscribe/customers/..%2Fsubscribe%2Fcustomers%2Fcu_victim"),
    ("a/b", "/subscribe/customers/a%2Fb"),
    ("x?customer_uid[]=cu_victim", "/subscribe/customers/x%3Fcustomer_uid%5B%5D%3Dcu_victim"),
    ("x#frag", "/subscribe/customers/x%23frag"),
    ("x%2F..%2Fy", "/subscribe/customers/x%252F..%252Fy"),
]


def _register_exact(iamport, method: str, path: str, body) -> None:
    # match_querystring-free exact URL: responses compares the path as sent, percent-escapes included.
    iamport.mock.add(method, BASE + path, json=envelope(body))


@pytest.mark.parametrize(("uid", "sent_path"), HOSTILE, ids=[uid for uid, _ in HOSTILE])
def test_a_customer_uid_stays_inside_its_segment(iamport, uid, sent_path):
    _register_exact(iamport, responses.GET, sent_path, customer_annotation(uid))

    get_client().get_billing_key(uid)

    sent = [call.request for call in iamport.mock.calls if "/users/getToken" not in call.request.url]
    assert [request.path_url for request in sent] == [sent_path]


@pytest.mark.parametrize(("uid", "sent_path"), HOSTILE, ids=[uid for uid, _ in HOSTILE])
def test_issue_and_delete_quote_the_customer_uid(iamport, uid, sent_path):
    _register_exact(iamport, responses.POST, sent_path, customer_annotation(uid))
    _register_exact(iamport, responses.DELETE, sent_path, customer_annotation(uid))

    get_client().issue_billing_key(uid, CARD)
    get_client().delete_billing_key(uid)

    sent = [call.request for call in iamport.mock.calls if "/users/getToken" not in call.request.url]
    assert [(r.method, r.path_url) for r in sent] == [("POST", sent_path), ("DELETE", sent_path)]
    assert json.loads(sent[0].body)["card_number"] == CARD.number


def test_an_imp_uid_or_merchant_uid_cannot_reach_another_endpoint(iamport):
    payment = {"imp_uid": "imp_1", "merchant_uid": "m", "amount": 1, "status": "paid"}
    _register_exact(iamport, responses.GET, "/payments/..%2Fsubscribe%2Fcustomers%2Fcu_victim", payment)
    _register_exact(iamport, responses.GET, "/payments/find/x%3Fa%3D1%23b", payment)

    get_client().get_payment("../subscribe/customers/cu_victim")
    get_client().find_payment("x?a=1#b")

    sent = [call.request.path_url for call in iamport.mock.calls if "/users/getToken" not in call.request.url]
    assert sent == ["/payments/..%2Fsubscribe%2Fcustomers%2Fcu_victim", "/payments/find/x%3Fa%3D1%23b"]


@pytest.mark.parametrize("uid", ["", ".", ".."])
def test_an_id_that_would_name_another_resource_is_refused_before_any_call(iamport, uid):
    with pytest.raises(ValueError):
        get_client().get_billing_key(uid)
    with pytest.raises(ValueError):
        get_client().get_payment(uid)

    assert [c for c in iamport.mock.calls if "/users/getToken" not in c.request.url] == []
