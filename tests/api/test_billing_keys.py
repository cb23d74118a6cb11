"""The billing-key endpoints: register, list, get, delete, sync; owner scoping; staff listing."""

import json
from http import HTTPStatus

import pytest
from django.urls import reverse

from billing.api.billing_keys import BillingKeyPagination
from billing.models import BillingKey, BillingKeyEvent, Payment
from tests.support.cards import CARD_VALUES, GOOD_CARD
from tests.support.iamport import customer_annotation, envelope

pytestmark = pytest.mark.django_db

LIST_URL = reverse("billing_api:billing-key-list")
Status = BillingKey.Status
KEY_FIELDS = {
    "customer_uid",
    "owner",
    "status",
    "card_name",
    "masked_card_number",
    "card_type",
    "pg_provider",
    "last_error_code",
    "last_error_message",
    "created_at",
    "updated_at",
}


def detail_url(customer_uid: str) -> str:
    return reverse("billing_api:billing-key-detail", args=[customer_uid])


def sync_url(customer_uid: str) -> str:
    return reverse("billing_api:billing-key-sync", args=[customer_uid])


def assert_no_card_data(response) -> None:
    text = response.content.decode()
    for value in CARD_VALUES:
        assert value not in text
    for name in ("card_number", "expiry", "birth", "pwd_2digit"):
        assert f'"{name}"' not in text


def test_registering_a_card_answers_the_masked_key(iamport, token_client, user):
    iamport.on_customer("POST")

    response = token_client.post(LIST_URL, GOOD_CARD, format="json")

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert set(body) == {*KEY_FIELDS, "payment"}
    assert body["status"] == "active"
    assert body["masked_card_number"] == "424242******4242"
    assert body["card_name"] == "국민KB카드"
    assert body["owner"] == user.username
    assert body["payment"] is None
    assert_no_card_data(response)
    key = BillingKey.objects.get(customer_uid=body["customer_uid"])
    assert key.owner == user
    event = key.events.get()
    assert (event.source, event.actor) == (BillingKeyEvent.Source.API, user)
    sent = json.loads(iamport.calls_to("POST", "/subscribe/customers/")[0].request.body)
    assert sent["card_number"] == "4242-4242-4242-4242"


def test_a_customer_uid_in_the_body_is_ignored(iamport, token_client, other_user, make_key):
    theirs = make_key(other_user)
    iamport.on_customer("POST")

    response = token_client.post(LIST_URL, {**GOOD_CARD, "customer_uid": theirs.customer_uid}, format="json")

    assert response.status_code == HTTPStatus.CREATED
    assert response.json()["customer_uid"] != theirs.customer_uid
    theirs.refresh_from_db()
    assert (theirs.owner, theirs.status) == (other_user, Status.ACTIVE)


def test_card_input_is_normalized_like_the_web_form(iamport, token_client):
    iamport.on_customer("POST")
    typed = {
        "card_number": " 4242 4242 4242 4242 ",
        "expiry": "203012",
        "birth": "900101",
        "pwd_2digit": "12",
    }

    response = token_client.post(LIST_URL, typed, format="json")

    assert response.status_code == HTTPStatus.CREATED
    sent = json.loads(iamport.calls_to("POST", "/subscribe/customers/")[0].request.body)
    assert (sent["card_number"], sent["expiry"]) == ("4242-4242-4242-4242", "2030-12")


def test_list_shows_own_visible_keys_newest_first(token_client, user, other_user, make_key):
    older, newer = make_key(user), make_key(user)
    make_key(user, status=Status.FAILED)
    make_key(user, status=Status.DELETED)
    make_key(other_user)

    response = token_client.get(LIST_URL)

    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert [k["customer_uid"] for k in body["results"]] == [newer.customer_uid, older.customer_uid]
    assert set(body["results"][0]) == KEY_FIELDS
    assert body["next"] is None


def test_list_filters_own_keys_by_status(token_client, user, make_key):
    make_key(user)
    unknown = make_key(user, status=Status.UNKNOWN)

    response = token_client.get(LIST_URL, {"status": "unknown"})

    assert [k["customer_uid"] for k in response.json()["results"]] == [unknown.customer_uid]


def test_list_pages_with_a_cursor(token_client, user, make_key, monkeypatch):
    monkeypatch.setattr(BillingKeyPagination, "page_size", 2)
    keys = [make_key(user) for _ in range(3)]

    first = token_client.get(LIST_URL).json()
    second = token_client.get(first["next"]).json()

    seen = [k["customer_uid"] for k in first["results"] + second["results"]]
    assert seen == [k.customer_uid for k in reversed(keys)]
    assert second["next"] is None


def test_get_one_key(token_client, user, make_key):
    key = make_key(user)

    response = token_client.get(detail_url(key.customer_uid))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["customer_uid"] == key.customer_uid
    assert set(response.json()) == KEY_FIELDS


def test_delete_removes_the_key_at_iamport(iamport, token_client, user, make_key):
    key = make_key(user)
    iamport.on_customer("DELETE")

    response = token_client.delete(detail_url(key.customer_uid))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "deleted"
    assert len(iamport.calls_to("DELETE", key.customer_uid)) == 1
    key.refresh_from_db()
    assert key.status == Status.DELETED
    assert token_client.get(detail_url(key.customer_uid)).status_code == HTTPStatus.NOT_FOUND
    assert token_client.delete(detail_url(key.customer_uid)).status_code == HTTPStatus.NOT_FOUND


def test_sync_mirrors_what_iamport_says(iamport, token_client, user, make_key):
    key = make_key(user, status=Status.UNKNOWN, masked_card_number="", card_name="")
    iamport.on_customer("GET", body=envelope(customer_annotation(key.customer_uid, card_name="신한카드")))

    response = token_client.post(sync_url(key.customer_uid))

    assert response.status_code == HTTPStatus.OK
    assert (response.json()["status"], response.json()["card_name"]) == ("active", "신한카드")
    key.refresh_from_db()
    assert key.status == Status.ACTIVE


def test_sync_of_a_key_iamport_no_longer_has_marks_it_deleted(iamport, token_client, user, make_key):
    key = make_key(user)
    iamport.on_customer("GET", status=HTTPStatus.NOT_FOUND, body=envelope(code=1, message="not found"))

    response = token_client.post(sync_url(key.customer_uid))

    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "deleted"


@pytest.mark.parametrize(
    ("method", "url_of"),
    [("get", detail_url), ("delete", detail_url), ("post", sync_url)],
    ids=["get", "delete", "sync"],
)
def test_another_customers_key_is_not_found_and_untouched(
    iamport, other_client, user, make_key, method, url_of
):
    key = make_key(user)
    iamport.on_customer("DELETE")
    iamport.on_customer("GET")

    response = getattr(other_client, method)(url_of(key.customer_uid))

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json() == {"error": "not_found", "detail": "No BillingKey matches the given query."}
    assert iamport.calls_to("DELETE", "/subscribe/") == []
    assert iamport.calls_to("GET", "/subscribe/") == []
    key.refresh_from_db()
    assert (key.status, key.owner, key.events.count()) == (Status.ACTIVE, user, 0)


def test_another_customers_key_is_not_listed(other_client, user, make_key):
    make_key(user)

    assert other_client.get(LIST_URL).json()["results"] == []


@pytest.mark.parametrize("status", [Status.FAILED, Status.DELETED])
def test_own_failed_or_deleted_keys_are_not_found(token_client, user, make_key, status):
    key = make_key(user, status=status)

    assert token_client.get(detail_url(key.customer_uid)).status_code == HTTPStatus.NOT_FOUND


# --- staff listing -------------------------------------------------------------------------------


def test_staff_lists_every_customers_keys_in_any_status(staff_client, user, other_user, make_key):
    keys = [make_key(user), make_key(other_user, status=Status.FAILED), make_key(user, status=Status.DELETED)]

    response = staff_client.get(LIST_URL, {"all": "true"})

    assert response.status_code == HTTPStatus.OK
    assert {k["customer_uid"] for k in response.json()["results"]} == {k.customer_uid for k in keys}


@pytest.mark.parametrize("owner_of", [lambda u: u.username, lambda u: str(u.pk)], ids=["username", "id"])
def test_staff_filters_by_owner(staff_client, user, other_user, make_key, owner_of):
    mine = make_key(user)
    make_key(other_user)

    response = staff_client.get(LIST_URL, {"owner": owner_of(user)})

    assert [k["customer_uid"] for k in response.json()["results"]] == [mine.customer_uid]
    assert response.json()["results"][0]["owner"] == user.username


def test_staff_filters_by_owner_and_status(staff_client, user, make_key):
    make_key(user)
    failed = make_key(user, status=Status.FAILED, last_error_code=-1, last_error_message="declined")

    response = staff_client.get(LIST_URL, {"all": "1", "owner": user.username, "status": "failed"})

    [only] = response.json()["results"]
    assert (only["customer_uid"], only["last_error_code"], only["last_error_message"]) == (
        failed.customer_uid,
        -1,
        "declined",
    )


def test_staff_without_all_sees_only_their_own(staff_client, user, make_key):
    make_key(user)

    assert staff_client.get(LIST_URL).json()["results"] == []


def test_staff_cannot_read_another_customers_key_by_uid(staff_client, user, make_key):
    key = make_key(user)

    assert staff_client.get(detail_url(key.customer_uid)).status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("query", [{"all": "true"}, {"owner": "mallory"}], ids=["all", "owner"])
def test_customers_cannot_use_the_staff_filters(token_client, other_user, make_key, query):
    make_key(other_user)

    response = token_client.get(LIST_URL, query)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["error"] == "permission_denied"


@pytest.mark.parametrize(
    ("query", "field"),
    [({"status": "bogus"}, "status"), ({"all": "maybe"}, "all"), ({"owner": "x" * 151}, "owner")],
)
def test_bad_list_parameters_answer_400(token_client, query, field):
    response = token_client.get(LIST_URL, query)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["error"] == "invalid"
    assert field in response.json()["fields"]


def test_a_bad_cursor_answers_404_in_the_error_shape(token_client):
    response = token_client.get(LIST_URL, {"cursor": "not-a-cursor"})

    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response.json()["error"] == "not_found"


# --- pay_now ---------------------------------------------------------------------------------------


def test_pay_now_registers_and_takes_the_first_payment(iamport, onetime, token_client, user, settings):
    onetime("paid")

    response = token_client.post(LIST_URL, {**GOOD_CARD, "pay_now": True}, format="json")

    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert body["status"] == "active"
    assert body["payment"]["status"] == "paid"
    assert body["payment"]["amount"] == settings.BILLING["FIRST_PAYMENT_AMOUNT"]
    assert body["payment"]["customer_uid"] == body["customer_uid"]
    assert_no_card_data(response)
    payment = Payment.objects.get()
    assert (payment.owner, payment.billing_key.customer_uid) == (user, body["customer_uid"])


def test_pay_now_declined_answers_402_with_the_key_and_the_payment(iamport, onetime, token_client):
    onetime("failed")

    response = token_client.post(LIST_URL, {**GOOD_CARD, "pay_now": True}, format="json")

    assert response.status_code == HTTPStatus.PAYMENT_REQUIRED
    body = response.json()
    assert body["error"] == "refused"
    assert body["detail"] == "잔액부족 (insufficient funds)"
    assert body["payment"]["status"] == "failed"
    assert body["billing_key"]["customer_uid"] == body["customer_uid"]
    assert body["merchant_uid"] == body["payment"]["merchant_uid"]
    assert_no_card_data(response)


def test_pay_now_refused_by_iamport_answers_402_with_both_records(iamport, token_client):
    iamport.mock.upsert(
        "POST",
        iamport.base_url + "/subscribe/payments/onetime",
        json=envelope(code=-1, message="카드가 거절되었습니다."),
    )

    response = token_client.post(LIST_URL, {**GOOD_CARD, "pay_now": True}, format="json")

    assert response.status_code == HTTPStatus.PAYMENT_REQUIRED
    body = response.json()
    assert (body["iamport_code"], body["iamport_message"]) == (-1, "카드가 거절되었습니다.")
    payment = Payment.objects.get()
    assert (body["customer_uid"], body["merchant_uid"]) == (
        payment.billing_key.customer_uid,
        payment.merchant_uid,
    )
