"""The payments API: charge (permission), list and read (owner-scoped), refund (staff permission)."""

from http import HTTPStatus

import pytest

from billing.models import Payment
from tests.conftest import client_for
from tests.support.iamport import envelope
from tests.support.ledger import DECLINE_REASON, READ_TIMEOUT

pytestmark = pytest.mark.django_db

LIST = "/api/v1/payments/"


def detail(merchant_uid):
    return f"/api/v1/payments/{merchant_uid}/"


def refund_url(merchant_uid):
    return f"/api/v1/payments/{merchant_uid}/refund/"


def test_merchant_charges_a_billing_key(merchant_client, active_key, ledger):
    response = merchant_client.post(
        LIST, {"customer_uid": "cu_1", "amount": 9_900, "name": "June"}, format="json"
    )

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert (body["status"], body["amount"], body["customer_uid"], body["name"]) == (
        "paid",
        9_900,
        "cu_1",
        "June",
    )
    assert body["imp_uid"] == ledger.payments[body["merchant_uid"]]["imp_uid"]
    assert body["refunds"] == []


def test_a_customer_cannot_charge_itself(token_client, active_key, ledger):
    response = token_client.post(LIST, {"customer_uid": "cu_1", "amount": 1, "name": "free"}, format="json")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error"] == "permission_denied"
    assert not Payment.objects.exists()


def test_decline_answers_402_with_the_recorded_payment(merchant_client, declining_key, ledger):
    data = {"customer_uid": declining_key.customer_uid, "amount": 9_900, "name": "June"}

    response = merchant_client.post(LIST, data, format="json")

    assert response.status_code == HTTPStatus.PAYMENT_REQUIRED
    body = response.json()
    assert (body["error"], body["detail"]) == ("refused", DECLINE_REASON)
    assert body["payment"]["status"] == "failed"
    assert Payment.objects.get().status == Payment.Status.FAILED


def test_timeout_answers_504_and_a_retry_with_the_merchant_uid_is_never_charged_twice(
    merchant_client, active_key, ledger
):
    ledger.fault("again", exc=READ_TIMEOUT, after=True)
    ledger.fault("find", status=503, body=envelope(code=-1, message="down"))
    data = {"customer_uid": "cu_1", "amount": 9_900, "name": "June", "merchant_uid": "order-2026-06-0001"}

    first = merchant_client.post(LIST, data, format="json")
    retry = merchant_client.post(LIST, data, format="json")

    assert first.status_code == HTTPStatus.GATEWAY_TIMEOUT
    assert (first.json()["merchant_uid"], first.json()["status"]) == ("order-2026-06-0001", "unknown")
    assert retry.status_code == HTTPStatus.CREATED
    assert retry.json()["status"] == "paid"
    assert ledger.calls("POST", "/subscribe/payments/again") == 1


def test_reusing_a_merchant_uid_for_another_charge_is_a_conflict(merchant_client, active_key, ledger):
    data = {"customer_uid": "cu_1", "amount": 9_900, "name": "June", "merchant_uid": "order-1"}
    merchant_client.post(LIST, data, format="json")

    response = merchant_client.post(LIST, {**data, "amount": 99_000}, format="json")

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["error"] == "conflict"


@pytest.mark.parametrize(
    "data",
    [
        {"customer_uid": "cu_1", "amount": 0, "name": "x"},
        {"customer_uid": "cu_1", "amount": 1.5, "name": "x"},
        {"customer_uid": "cu_1", "amount": 100, "name": "x" * 41},
        {"customer_uid": "cu_1", "amount": 100},
        {"customer_uid": "cu_1", "amount": 100, "name": "x", "merchant_uid": "has space"},
    ],
)
def test_invalid_charges_are_400(merchant_client, active_key, ledger, data):
    response = merchant_client.post(LIST, data, format="json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "invalid"


def test_unknown_key_is_404_and_inactive_key_409(merchant_client, active_key, ledger):
    missing = merchant_client.post(LIST, {"customer_uid": "cu_nope", "amount": 1, "name": "x"}, format="json")
    active_key.status = "deleted"
    active_key.save()
    deleted = merchant_client.post(LIST, {"customer_uid": "cu_1", "amount": 1, "name": "x"}, format="json")

    assert (missing.status_code, deleted.status_code) == (HTTPStatus.NOT_FOUND, HTTPStatus.CONFLICT)


def test_list_and_read_are_owner_scoped(paid_payment, token_client, other_user, merchant_client):
    others = client_for(other_user)

    assert [p["merchant_uid"] for p in token_client.get(LIST).json()["results"]] == ["pay_paid_1"]
    assert others.get(LIST).json()["results"] == []
    assert token_client.get(detail("pay_paid_1")).status_code == HTTPStatus.OK
    assert others.get(detail("pay_paid_1")).status_code == HTTPStatus.NOT_FOUND
    assert merchant_client.get(detail("pay_paid_1")).status_code == HTTPStatus.OK, "staff with view_payment"


def test_anonymous_is_401(client, paid_payment):
    assert client.get(LIST).status_code == HTTPStatus.UNAUTHORIZED


def test_partial_then_full_refund_then_a_third_is_refused(merchant_client, paid_payment, ledger):
    partial = merchant_client.post(
        refund_url("pay_paid_1"), {"amount": 4_000, "reason": "damaged"}, format="json"
    )
    full = merchant_client.post(refund_url("pay_paid_1"), {"reason": "returned"}, format="json")
    third = merchant_client.post(refund_url("pay_paid_1"), {"reason": "again"}, format="json")

    assert partial.status_code == HTTPStatus.OK
    assert (partial.json()["status"], partial.json()["cancelled_amount"]) == ("paid", 4_000)
    assert full.status_code == HTTPStatus.OK
    assert (full.json()["status"], full.json()["cancelled_amount"]) == ("cancelled", 10_000)
    assert [r["amount"] for r in full.json()["refunds"]] == [4_000, 6_000]
    assert third.status_code == HTTPStatus.CONFLICT
    assert ledger.calls("POST", "/payments/cancel") == 2


def test_over_refund_is_400(merchant_client, paid_payment, ledger):
    response = merchant_client.post(
        refund_url("pay_paid_1"), {"amount": 10_001, "reason": "x"}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "amount" in response.json()["fields"]
    assert ledger.calls("POST", "/payments/cancel") == 0


def test_a_customer_cannot_refund(token_client, paid_payment, ledger):
    response = token_client.post(refund_url("pay_paid_1"), {"reason": "mine"}, format="json")

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert ledger.calls("POST", "/payments/cancel") == 0


def test_refund_refused_by_i_mport_is_402(merchant_client, paid_payment, ledger):
    ledger.fault("cancel", body=envelope(code=1, message="PG사 취소 실패"))

    response = merchant_client.post(refund_url("pay_paid_1"), {"reason": "x"}, format="json")

    assert response.status_code == HTTPStatus.PAYMENT_REQUIRED
    assert (response.json()["error"], response.json()["merchant_uid"]) == ("refused", "pay_paid_1")


def test_an_idempotency_key_replays_the_first_answer(merchant_client, active_key, ledger):
    data = {"customer_uid": "cu_1", "amount": 9_900, "name": "June"}

    first = merchant_client.post(LIST, data, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = merchant_client.post(LIST, data, format="json", HTTP_IDEMPOTENCY_KEY="k-1")

    assert (first.status_code, again.status_code) == (HTTPStatus.CREATED, HTTPStatus.CREATED)
    assert first.json()["merchant_uid"] == again.json()["merchant_uid"]
    assert again["Idempotent-Replayed"] == "true"
    assert ledger.calls("POST", "/subscribe/payments/again") == 1
