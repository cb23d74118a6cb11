"""The customer's card pages: list, register, remove."""

import logging
from http import HTTPStatus

import pytest
import requests
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.views.debug import ExceptionReporter

from billing.models import BillingKey, BillingKeyEvent
from tests.support.iamport import envelope

pytestmark = pytest.mark.django_db

LIST_URL = reverse("billing:card-list")
NEW_URL = reverse("billing:card-new")
GOOD = {"card_number": "4242-4242-4242-4242", "expiry": "2030-12", "birth": "900101", "pwd_2digit": "12"}
CARD_VALUES = ("4242-4242-4242-4242", "4242424242424242", "900101")


def assert_no_card_values(text: str) -> None:
    for value in CARD_VALUES:
        assert value not in text
    assert 'value="12"' not in text


@pytest.mark.parametrize("url", [LIST_URL, NEW_URL])
def test_pages_need_a_login(client, url):
    response = client.get(url)

    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith(reverse("login"))


def test_form_has_the_four_card_fields(customer_client):
    response = customer_client.get(NEW_URL)

    assert response.status_code == HTTPStatus.OK
    for name in GOOD:
        assert f'name="{name}"' in response.text
    assert response["Cache-Control"].startswith("max-age=0")


def test_registering_a_card_lists_it_masked(iamport, customer_client, user):
    iamport.on_customer("POST")

    response = customer_client.post(NEW_URL, GOOD, follow=True)

    assert response.redirect_chain[-1] == (LIST_URL, HTTPStatus.FOUND)
    assert "424242******4242" in response.text
    assert "KB Kookmin Card" in response.text  # i'mport's card_code 381, named in the page's language
    assert_no_card_values(response.text)
    assert BillingKey.objects.get().owner == user


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("card_number", "", "This field is required."),
        ("card_number", "4242-4242-4242-4241", "This card number is not valid"),
        ("card_number", "4242-abcd-4242-4242", "only digits"),
        ("card_number", "4242", "14 to 16 digits"),
        ("expiry", "2020-01", "This card has expired."),
        ("expiry", "12-30", "MM/YY"),
        ("expiry", "13/30", "between 01 and 12"),
        ("expiry", "01/20", "This card has expired."),
        ("expiry", "2030-13", "between 01 and 12"),
        ("birth", "901340", "does not exist"),
        ("birth", "12345", "YYMMDD"),
        ("pwd_2digit", "1", "first two digits"),
        ("pwd_2digit", "ab", "first two digits"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message_and_nothing_is_sent(
    iamport, customer_client, field, value, message
):
    response = customer_client.post(NEW_URL, {**GOOD, field: value})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.text
    assert_no_card_values(response.text)
    assert not BillingKey.objects.exists()
    assert not iamport.calls_to("POST", "/subscribe/customers/")


def test_refusal_says_so_in_the_page_language_and_keeps_i_mport_text_for_support(iamport, customer_client):
    iamport.on_customer("POST", body=envelope(code=-1, message="카드가 거절되었습니다. (card declined)"))

    response = customer_client.post(NEW_URL, GOOD)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "The card company did not accept this card." in response.text
    assert "카드가 거절되었습니다" not in response.text  # i'mport's own text is for support, not the page
    assert_no_card_values(response.text)
    assert BillingKey.objects.get().status == BillingKey.Status.FAILED
    event = BillingKeyEvent.objects.get()
    assert (event.iamport_code, event.iamport_message) == (-1, "카드가 거절되었습니다. (card declined)")
    assert "424242" not in customer_client.get(LIST_URL).text  # a failed attempt is not one of "your cards"


def test_unavailable_says_nothing_was_registered(iamport, customer_client):
    iamport.on_customer("POST", status=HTTPStatus.SERVICE_UNAVAILABLE, body=envelope(code=-1, message="down"))

    response = customer_client.post(NEW_URL, GOOD)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Nothing was registered" in response.text


def test_timeout_lists_the_card_as_being_checked(iamport, customer_client):
    iamport.on_customer("POST", exc=requests.ReadTimeout("read timed out"))
    iamport.on_customer("GET", status=HTTPStatus.NOT_FOUND, body=envelope(code=1, message="없음"))

    response = customer_client.post(NEW_URL, GOOD, follow=True)

    assert "did not answer in time" in response.text
    assert "Unknown: being checked" in response.text
    assert BillingKey.objects.get().status == BillingKey.Status.UNKNOWN


def test_a_posted_customer_uid_cannot_replace_someone_elses_card(iamport, customer_client, other_user):
    victim_key = BillingKey.objects.create(
        owner=other_user, customer_uid="cu_victim", status="active", masked_card_number="411111******1111"
    )
    iamport.on_customer("POST")

    customer_client.post(NEW_URL, {**GOOD, "customer_uid": "cu_victim"})

    assert not iamport.calls_to("POST", "/subscribe/customers/cu_victim")
    victim_key.refresh_from_db()
    assert (victim_key.owner, victim_key.masked_card_number) == (other_user, "411111******1111")
    assert BillingKey.objects.exclude(pk=victim_key.pk).get().customer_uid != "cu_victim"


def test_the_list_shows_only_the_customers_own_cards(customer_client, user, other_user):
    BillingKey.objects.create(
        owner=user, customer_uid="cu_mine", status="active", masked_card_number="111111**1"
    )
    BillingKey.objects.create(
        owner=other_user, customer_uid="cu_theirs", status="active", masked_card_number="999999**9"
    )

    text = customer_client.get(LIST_URL).text

    assert "111111**1" in text
    assert "999999**9" not in text


def test_removing_a_card(iamport, customer_client, user):
    key = BillingKey.objects.create(owner=user, customer_uid="cu_mine", status="active")
    iamport.on_customer("DELETE")

    response = customer_client.post(reverse("billing:card-delete", args=["cu_mine"]), follow=True)

    assert response.status_code == HTTPStatus.OK
    key.refresh_from_db()
    assert key.status == BillingKey.Status.DELETED
    assert "cu_mine" not in response.text


def test_removing_someone_elses_card_is_not_found(iamport, customer_client, other_user):
    key = BillingKey.objects.create(owner=other_user, customer_uid="cu_theirs", status="active")

    response = customer_client.post(reverse("billing:card-delete", args=["cu_theirs"]))

    assert response.status_code == HTTPStatus.NOT_FOUND
    key.refresh_from_db()
    assert key.status == BillingKey.Status.ACTIVE
    assert not iamport.calls_to("DELETE", "/subscribe/customers/")


def test_remove_needs_post(customer_client, user):
    BillingKey.objects.create(owner=user, customer_uid="cu_mine", status="active")

    response = customer_client.get(reverse("billing:card-delete", args=["cu_mine"]))

    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_a_refused_removal_keeps_the_card_and_says_why(iamport, customer_client, user):
    BillingKey.objects.create(owner=user, customer_uid="cu_mine", status="active")
    iamport.on_customer("DELETE", body=envelope(code=1, message="예약된 결제가 있어 삭제할 수 없습니다."))

    response = customer_client.post(reverse("billing:card-delete", args=["cu_mine"]), follow=True)

    assert "The card company did not allow the card to be removed." in response.text
    assert "예약된 결제가 있어" not in response.text
    assert BillingKey.objects.get().status == BillingKey.Status.ACTIVE
    assert BillingKeyEvent.objects.get().iamport_message == "예약된 결제가 있어 삭제할 수 없습니다."


def test_csrf_is_enforced(user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(NEW_URL, GOOD)

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not BillingKey.objects.exists()


def test_card_data_is_nowhere_in_the_database_or_the_logs(iamport, customer_client, caplog):
    iamport.on_customer("POST")
    caplog.set_level(logging.DEBUG)

    customer_client.post(NEW_URL, GOOD)
    iamport.on_customer("POST", body=envelope(code=-1, message="거절"))
    customer_client.post(NEW_URL, {**GOOD, "card_number": "4000-0000-0000-0002"})

    from io import StringIO

    dump = StringIO()
    call_command("dumpdata", stdout=dump)
    everything = dump.getvalue() + caplog.text
    for value in (
        "4242-4242-4242-4242",
        "4242424242424242",
        "4000-0000-0000-0002",
        "4000000000000002",
        "900101",
        "2030-12",
    ):
        assert value not in everything
    assert BillingKey.objects.count() == 2


def test_an_unexpected_error_report_carries_no_card_data(iamport, customer_client, caplog, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("unexpected")

    monkeypatch.setattr("billing.services.register_card", explode)
    monkeypatch.setattr(logging.getLogger("django"), "propagate", True)  # so caplog sees django.request
    customer_client.raise_request_exception = False

    response = customer_client.post(NEW_URL, GOOD)

    assert response.status_code == HTTPStatus.INTERNAL_SERVER_ERROR
    record = next(r for r in caplog.records if r.name == "django.request")
    report = ExceptionReporter(record.request, *record.exc_info).get_traceback_text()
    assert "RuntimeError" in report
    for value in ("4242-4242-4242-4242", "4242424242424242", "900101", "2030-12"):
        assert value not in report


def test_the_form_is_throttled_per_user(iamport, customer_client, settings):
    settings.BILLING = {
        **settings.BILLING,
        "RATES": {**settings.BILLING["RATES"], "registration_user": "2/hour"},
    }
    iamport.on_customer("POST")

    statuses = [customer_client.post(NEW_URL, GOOD).status_code for _ in range(3)]

    assert statuses == [HTTPStatus.FOUND, HTTPStatus.FOUND, HTTPStatus.TOO_MANY_REQUESTS]
    assert BillingKey.objects.count() == 2
    assert len(iamport.calls_to("POST", "/subscribe/customers/")) == 2


def test_repeated_refusals_slow_the_customer_down(iamport, customer_client, settings):
    settings.BILLING = {**settings.BILLING, "REFUSALS_FREE": 2}
    iamport.on_customer("POST", body=envelope(code=-1, message="거절"))

    statuses = [customer_client.post(NEW_URL, GOOD).status_code for _ in range(4)]

    assert statuses == [HTTPStatus.BAD_REQUEST] * 3 + [HTTPStatus.TOO_MANY_REQUESTS]
    blocked = customer_client.post(NEW_URL, GOOD)
    assert "Too many card registration attempts" in blocked.text
    assert int(blocked["Retry-After"]) > 0
    assert len(iamport.calls_to("POST", "/subscribe/customers/")) == 3
    assert_no_card_values(blocked.text)
