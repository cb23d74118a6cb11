"""Korean first: the pages, amounts, dates and messages in Korean unless the browser asks for English."""

import datetime
from http import HTTPStatus

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.display import format_won
from billing.models import BillingKey, Payment
from tests.support.iamport import envelope

pytestmark = pytest.mark.django_db

GOOD = {"card_number": "4242 4242 4242 4242", "expiry": "12/30", "birth": "900101", "pwd_2digit": "12"}


def browser(language: str | None, user=None) -> Client:
    client = Client(**({"HTTP_ACCEPT_LANGUAGE": language} if language else {}))
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize("language", [None, "ko-KR,ko;q=0.9", "fr"])
def test_the_pages_speak_korean_unless_english_is_asked_for(language):
    page = browser(language).get(reverse("login"))

    assert '<html lang="ko">' in page.text
    assert "로그인" in page.text
    assert "사용자 이름" in page.text
    assert "Sign in" not in page.text


def test_an_english_browser_gets_english():
    page = browser("en-US,en;q=0.9").get(reverse("login"))

    assert '<html lang="en">' in page.text
    assert "Sign in" in page.text
    assert "로그인" not in page.text


def test_the_language_switch_remembers_the_choice(user):
    client = browser("ko", user)

    switched = client.post(reverse("set_language"), {"language": "en", "next": reverse("billing:card-list")})

    assert switched.status_code == HTTPStatus.FOUND
    page = client.get(reverse("billing:card-list"))
    assert "Your cards" in page.text
    assert 'name="language" value="ko"' in page.text  # the switch back is on the page


def test_every_page_has_the_language_switch(user):
    client = browser("ko", user)
    for url in (reverse("billing:card-list"), reverse("billing:card-new"), reverse("billing:payment-list")):
        assert f'action="{reverse("set_language")}"' in client.get(url).text


@pytest.mark.parametrize(("language", "text"), [("ko", "9,900원"), ("en", "₩9,900")])
def test_amounts_are_written_as_the_language_does(language, text):
    from django.utils import translation

    with translation.override(language):
        assert format_won(9900) == text


def test_payment_history_lists_own_payments_in_korean(user, other_user):
    key = BillingKey.objects.create(
        owner=user, customer_uid="cu_mine", status="active", masked_card_number="424242******4242"
    )
    other_key = BillingKey.objects.create(owner=other_user, customer_uid="cu_theirs", status="active")
    paid_at = datetime.datetime(2026, 12, 1, 10, 0, tzinfo=datetime.UTC)
    Payment.objects.create(
        merchant_uid="pay_mine",
        billing_key=key,
        owner=user,
        amount=9900,
        name="Monthly plan",
        status="paid",
        receipt_url="https://receipt.example/r1",
    )
    Payment.objects.filter(merchant_uid="pay_mine").update(created_at=paid_at)
    Payment.objects.create(
        merchant_uid="pay_theirs",
        billing_key=other_key,
        owner=other_user,
        amount=77000,
        name="x",
        status="paid",
    )

    page = browser("ko", user).get(reverse("billing:payment-list"))

    assert page.status_code == HTTPStatus.OK
    assert "9,900원" in page.text
    assert "2026년 12월 1일" in page.text
    assert "결제 완료" in page.text  # the status badge
    assert "월간 요금제" in page.text  # the default plan name, through the catalogue
    assert 'href="https://receipt.example/r1"' in page.text
    assert "77,000" not in page.text


def test_payment_history_in_english(user):
    key = BillingKey.objects.create(owner=user, customer_uid="cu_mine", status="active")
    Payment.objects.create(
        merchant_uid="pay_mine",
        billing_key=key,
        owner=user,
        amount=9900,
        name="Monthly plan",
        status="failed",
    )

    page = browser("en", user).get(reverse("billing:payment-list"))

    assert "₩9,900" in page.text
    assert "Failed" in page.text
    assert timezone.localdate().strftime("%Y") in page.text


def test_payment_history_needs_a_login():
    response = browser("ko").get(reverse("billing:payment-list"))

    assert response.status_code == HTTPStatus.FOUND


def test_the_sandbox_banner_shows_only_with_the_sandbox(sandbox, user):
    assert "테스트 모드" in browser("ko", user).get(reverse("billing:card-list")).text


def test_no_sandbox_banner_with_real_keys(iamport, user):
    assert "테스트 모드" not in browser("ko", user).get(reverse("billing:card-list")).text


def test_card_as_printed_mm_yy_is_sent_as_yyyy_mm(iamport, user):
    iamport.on_customer("POST")

    response = browser("ko", user).post(reverse("billing:card-new"), GOOD)

    assert response.status_code == HTTPStatus.FOUND
    sent = iamport.mock.calls[-1].request.body
    assert b'"expiry": "2030-12"' in sent or b'"expiry":"2030-12"' in sent or b"expiry=2030-12" in sent
    assert b"4242-4242-4242-4242" in sent


def test_a_refusal_reads_korean_on_a_korean_page(iamport, user):
    iamport.on_customer("POST", body=envelope(code=-1, message="카드사 거절 (code 1234)"))

    response = browser("ko", user).post(reverse("billing:card-new"), GOOD)

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "카드사에서 이 카드를 승인하지 않았습니다" in response.text
    assert "code 1234" not in response.text
    assert "4242" not in response.text


def test_the_card_form_helps_phones_and_screen_readers(user):
    page = browser("ko", user).get(reverse("billing:card-new")).text

    assert 'autocomplete="cc-number"' in page
    assert 'autocomplete="cc-exp"' in page
    assert page.count('inputmode="numeric"') == 4
    assert 'placeholder="MM/YY"' in page
    assert "billing/card_form.js" in page


def test_field_errors_are_tied_to_their_field(user):
    page = browser("ko", user).post(reverse("billing:card-new"), {**GOOD, "birth": "12"}).text

    assert 'role="alert"' in page
    assert 'aria-invalid="true"' in page
    assert 'id="id_birth_error"' in page
    assert "id_birth_error" in page.split('name="birth"')[1].split(">")[0]  # aria-describedby of the input


def test_the_sandbox_banner_shows_with_a_served_sandbox_too(settings, user):
    # `manage.py iamport_sandbox` on a port, with no keys configured: the sandbox's published credentials.
    settings.BILLING = {**settings.BILLING, "SANDBOX": False}
    settings.BILLING = {**settings.BILLING, "API_URL": "http://127.0.0.1:8089"}
    settings.BILLING = {**settings.BILLING, "API_KEY": "sandbox_key"}

    assert "테스트 모드" in browser("ko", user).get(reverse("billing:card-list")).text
