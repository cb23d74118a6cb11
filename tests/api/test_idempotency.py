"""Idempotency-Key on registration: a retry gets the first answer without a second call to i'mport."""

import datetime
import json
from http import HTTPStatus

import pytest
import requests
from django.urls import reverse
from django.utils import timezone

from billing.api import idempotency
from billing.conf import billing_settings
from billing.models import BillingKey, IdempotentRequest, Payment
from tests.support.cards import CARD_VALUES, GOOD_CARD
from tests.support.iamport import envelope
from tests.support.ledger import DECLINE_REASON

pytestmark = pytest.mark.django_db

LIST_URL = reverse("billing_api:billing-key-list")
KEY = "5b0c3c59-3b2e-4f0e-9d4c-2f6a1f8f7e10"


def post(client, body=GOOD_CARD, key=KEY):
    return client.post(LIST_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def issue_calls(iamport) -> int:
    return len(iamport.calls_to("POST", "/subscribe/customers/"))


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ({}, HTTPStatus.CREATED),
        ({"body": envelope(code=-1, message="카드가 거절되었습니다.")}, HTTPStatus.PAYMENT_REQUIRED),
    ],
    ids=["registered", "refused"],
)
def test_a_retry_replays_the_first_answer_without_calling_iamport(iamport, token_client, answer, status):
    iamport.on_customer("POST", **answer)

    first = post(token_client)
    retry = post(token_client)

    assert first.status_code == retry.status_code == status
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert issue_calls(iamport) == 1
    assert BillingKey.objects.count() == 1


def test_an_unknown_outcome_is_replayed_with_its_record(iamport, token_client):
    iamport.on_customer("POST", exc=requests.ReadTimeout("timed out"))
    iamport.on_customer("GET", exc=requests.ReadTimeout("timed out"))

    first = post(token_client)
    retry = post(token_client)

    assert first.status_code == retry.status_code == HTTPStatus.GATEWAY_TIMEOUT
    assert retry.json()["customer_uid"] == first.json()["customer_uid"]
    assert issue_calls(iamport) == 1


def test_the_same_key_with_another_body_is_refused(iamport, token_client):
    iamport.on_customer("POST")
    post(token_client)

    response = post(token_client, {**GOOD_CARD, "card_number": "5555-5555-5555-4444"})

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["error"] == "idempotency_conflict"
    assert issue_calls(iamport) == 1


def test_a_duplicate_while_the_first_is_in_flight_answers_409(iamport, token_client, user):
    IdempotentRequest.objects.create(
        owner=user,
        endpoint="billing_keys.create",
        key=KEY,
        request_fingerprint=idempotency.fingerprint(GOOD_CARD),
    )

    response = post(token_client)

    assert response.status_code == HTTPStatus.CONFLICT
    assert response.json()["error"] == "conflict"
    assert response["Retry-After"] == "5"
    assert issue_calls(iamport) == 0


def test_keys_are_per_customer(iamport, token_client, other_client):
    iamport.on_customer("POST")

    mine = post(token_client)
    theirs = post(other_client)

    assert theirs.status_code == HTTPStatus.CREATED
    assert theirs.json()["customer_uid"] != mine.json()["customer_uid"]
    assert theirs.json()["owner"] == "mallory"
    assert issue_calls(iamport) == 2


@pytest.mark.parametrize(
    "fail",
    [
        {"status": HTTPStatus.SERVICE_UNAVAILABLE, "body": envelope(code=-1, message="maintenance")},
        {"exc": requests.ConnectTimeout("could not connect")},
    ],
    ids=["5xx", "connect-timeout"],
)
def test_when_nothing_happened_the_key_can_be_used_again(iamport, token_client, fail):
    iamport.on_customer("POST", **fail)
    assert post(token_client).status_code == HTTPStatus.SERVICE_UNAVAILABLE
    iamport.on_customer("POST")

    response = post(token_client)

    assert response.status_code == HTTPStatus.CREATED
    assert "Idempotent-Replayed" not in response


def test_invalid_input_does_not_use_up_the_key(iamport, token_client):
    iamport.on_customer("POST")
    assert post(token_client, {**GOOD_CARD, "expiry": "2020-01"}).status_code == HTTPStatus.BAD_REQUEST

    assert post(token_client).status_code == HTTPStatus.CREATED


def test_without_a_key_each_post_registers(iamport, token_client):
    iamport.on_customer("POST")

    token_client.post(LIST_URL, GOOD_CARD, format="json")
    token_client.post(LIST_URL, GOOD_CARD, format="json")

    assert issue_calls(iamport) == 2


@pytest.mark.parametrize(
    "key", ["", "x" * 256, "has space", "é"], ids=["empty", "long", "space", "non-ascii"]
)
def test_a_malformed_key_answers_400(iamport, token_client, key):
    response = post(token_client, key=key)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.json()["fields"]) == ["Idempotency-Key"]
    assert issue_calls(iamport) == 0


def test_an_expired_key_starts_a_new_request(iamport, token_client, settings):
    iamport.on_customer("POST")
    post(token_client)
    settings.BILLING = {**settings.BILLING, "IDEMPOTENCY_RETENTION": -1}

    response = post(token_client)

    assert "Idempotent-Replayed" not in response
    assert issue_calls(iamport) == 2


def test_no_card_data_is_kept(iamport, token_client):
    iamport.on_customer("POST")

    post(token_client)

    row = IdempotentRequest.objects.get()
    stored = json.dumps([row.request_fingerprint, row.response_body, row.key])
    for value in CARD_VALUES:
        assert value not in stored
    assert row.request_fingerprint != idempotency.fingerprint({**GOOD_CARD, "pwd_2digit": "13"})


# --- a claim whose process died (issue 11 item 7) ---------------------------------------------------


def dead_claim(user, *, records=None, seconds_ago=1, body=GOOD_CARD, endpoint="billing_keys.create"):
    """The claim of a request whose process was killed: unanswered, its lease over."""
    return IdempotentRequest.objects.create(
        owner=user,
        endpoint=endpoint,
        key=KEY,
        request_fingerprint=idempotency.fingerprint(body),
        locked_until=timezone.now() - datetime.timedelta(seconds=seconds_ago),
        records=records or {},
    )


def test_a_live_claim_still_answers_409(iamport, token_client, user):
    dead_claim(user, seconds_ago=-60)  # the lease runs for another minute

    response = post(token_client)

    assert response.status_code == HTTPStatus.CONFLICT
    assert issue_calls(iamport) == 0


def test_a_dead_claim_that_created_nothing_runs_the_request(iamport, token_client, user):
    iamport.on_customer("POST")
    dead_claim(user)

    response = post(token_client)

    assert response.status_code == HTTPStatus.CREATED
    assert issue_calls(iamport) == 1
    assert IdempotentRequest.objects.get().response_status == HTTPStatus.CREATED


def test_a_dead_claim_whose_key_was_made_answers_from_it_without_sending_the_card_again(
    iamport, token_client, user
):
    iamport.on_customer("GET")  # i'mport made the key; the dying process never recorded the answer
    BillingKey.objects.create(owner=user, customer_uid="cu_made_before_crash")
    dead_claim(user, records={"customer_uid": "cu_made_before_crash"})

    response = post(token_client)

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["customer_uid"] == "cu_made_before_crash"
    assert BillingKey.objects.get().status == BillingKey.Status.ACTIVE
    assert issue_calls(iamport) == 0
    assert post(token_client).json()["customer_uid"] == "cu_made_before_crash"  # and it is kept


def test_a_dead_claim_whose_key_i_mport_has_not_settled_answers_504(iamport, token_client, user):
    iamport.on_customer("GET", status=404, body=envelope(code=1, message="존재하지 않습니다."))
    BillingKey.objects.create(owner=user, customer_uid="cu_in_flight")
    dead_claim(user, records={"customer_uid": "cu_in_flight"})

    response = post(token_client)

    assert response.status_code == HTTPStatus.GATEWAY_TIMEOUT
    assert response.json()["customer_uid"] == "cu_in_flight"
    assert issue_calls(iamport) == 0


def test_the_records_a_request_creates_are_noted_on_its_claim(iamport, token_client):
    iamport.on_customer("POST", exc=requests.ReadTimeout("lost"))
    iamport.on_customer("GET", exc=requests.ConnectionError("down"))

    response = post(token_client)

    claim = IdempotentRequest.objects.get()
    assert claim.records == {"customer_uid": response.json()["customer_uid"]}


# --- a dead claim whose request had taken a payment: answered from it, nothing sent again ------------

PAY_NOW = {**GOOD_CARD, "pay_now": True}


def made_before_crash(user, ledger, customer_uid: str) -> Payment:
    """What a register-and-pay had recorded (pending key, ready payment) and done at i'mport before dying,
    and its dead claim. A ``customer_uid`` starting with ``cu_decline`` makes i'mport's payment declined.
    """
    key = BillingKey.objects.create(owner=user, customer_uid=customer_uid)
    payment = Payment.objects.create(
        merchant_uid="pay_made_before_crash",
        billing_key=key,
        owner=user,
        amount=billing_settings.FIRST_PAYMENT_AMOUNT,
        name=billing_settings.FIRST_PAYMENT_NAME,
    )
    ledger.customers.add(customer_uid)
    ledger.add_paid(payment.merchant_uid, payment.amount, customer_uid)
    dead_claim(
        user, body=PAY_NOW, records={"customer_uid": customer_uid, "merchant_uid": payment.merchant_uid}
    )
    return payment


def onetime_calls(ledger) -> int:
    return ledger.calls("POST", "/subscribe/payments/onetime")


def test_a_dead_register_and_pay_whose_payment_went_through_answers_201_with_both(
    iamport, ledger, token_client, user
):
    iamport.on_customer("GET")
    payment = made_before_crash(user, ledger, "cu_paid_before_crash")

    response = post(token_client, body=PAY_NOW)

    assert response.status_code == HTTPStatus.CREATED, response.json()
    body = response.json()
    assert (body["customer_uid"], body["status"]) == ("cu_paid_before_crash", BillingKey.Status.ACTIVE)
    assert (body["payment"]["merchant_uid"], body["payment"]["status"]) == (payment.merchant_uid, "paid")
    assert body["payment"]["amount"] == billing_settings.FIRST_PAYMENT_AMOUNT
    payment.refresh_from_db()
    assert payment.status == Payment.Status.PAID
    assert (issue_calls(iamport), onetime_calls(ledger)) == (0, 0)  # the card was never sent again
    assert post(token_client, body=PAY_NOW).json() == body  # and that answer is kept


def test_a_dead_register_and_pay_whose_payment_was_declined_answers_402_with_both(
    iamport, ledger, token_client, user
):
    iamport.on_customer("GET")
    payment = made_before_crash(user, ledger, "cu_decline_before_crash")

    response = post(token_client, body=PAY_NOW)

    assert response.status_code == HTTPStatus.PAYMENT_REQUIRED
    body = response.json()
    assert body["error"] == "refused"
    assert body["detail"] == DECLINE_REASON
    assert (body["customer_uid"], body["merchant_uid"]) == ("cu_decline_before_crash", payment.merchant_uid)
    assert body["billing_key"]["customer_uid"] == "cu_decline_before_crash"
    assert (body["payment"]["merchant_uid"], body["payment"]["status"]) == (payment.merchant_uid, "failed")
    assert (issue_calls(iamport), onetime_calls(ledger)) == (0, 0)


def test_a_dead_register_and_pay_whose_payment_i_mport_has_not_settled_answers_504(
    iamport, ledger, token_client, user
):
    iamport.on_customer("GET")
    key = BillingKey.objects.create(owner=user, customer_uid="cu_paying_in_flight")
    payment = Payment.objects.create(
        merchant_uid="pay_in_flight", billing_key=key, owner=user, amount=9_900, name="Monthly plan"
    )  # and i'mport has no trace of it yet: within the grace it may still be on its way
    dead_claim(
        user, body=PAY_NOW, records={"customer_uid": key.customer_uid, "merchant_uid": payment.merchant_uid}
    )

    response = post(token_client, body=PAY_NOW)

    assert response.status_code == HTTPStatus.GATEWAY_TIMEOUT
    assert (response.json()["error"], response.json()["merchant_uid"]) == ("outcome_unknown", "pay_in_flight")
    payment.refresh_from_db()
    assert payment.status == Payment.Status.READY
    assert onetime_calls(ledger) == 0


def test_a_dead_registration_whose_key_i_mport_refused_answers_402(iamport, token_client, user):
    BillingKey.objects.create(
        owner=user,
        customer_uid="cu_refused_before_crash",
        status=BillingKey.Status.FAILED,
        last_error_code=-1,
        last_error_message="카드정보 인증에 실패하였습니다.",
    )
    dead_claim(user, records={"customer_uid": "cu_refused_before_crash"})

    response = post(token_client)

    assert response.status_code == HTTPStatus.PAYMENT_REQUIRED
    body = response.json()
    assert (body["error"], body["customer_uid"]) == ("refused", "cu_refused_before_crash")
    assert body["iamport_message"] == "카드정보 인증에 실패하였습니다."
    assert issue_calls(iamport) == 0


def test_a_dead_charge_whose_payment_went_through_answers_201_from_it(
    ledger, merchant_client, merchant, active_key
):
    body = {"customer_uid": "cu_1", "amount": 9_900, "name": "June"}
    payment = Payment.objects.create(
        merchant_uid="pay_charged_before_crash",
        billing_key=active_key,
        owner=active_key.owner,
        amount=9_900,
        name="June",
    )
    ledger.add_paid(payment.merchant_uid, 9_900)
    dead_claim(
        merchant, body=body, endpoint="payments.charge", records={"merchant_uid": payment.merchant_uid}
    )

    response = merchant_client.post("/api/v1/payments/", body, format="json", HTTP_IDEMPOTENCY_KEY=KEY)

    assert response.status_code == HTTPStatus.CREATED, response.json()
    assert (response.json()["merchant_uid"], response.json()["status"]) == (payment.merchant_uid, "paid")
    assert ledger.calls("POST", "/subscribe/payments/again") == 0
