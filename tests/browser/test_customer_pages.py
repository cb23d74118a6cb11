"""The customer's pages in Chromium, Korean and English, phone and desktop: every step looked at.

Each page visited is screenshotted (browser-screenshots/<page>-<lang>-<width>.png) and checked by
``look_at``: the page's language only, no sideways scrolling, no serious axe-core violation.
"""

import re

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from billing import services
from billing.iamport import get_client
from billing.iamport.types import CardDetails
from billing.models import BillingKey, BillingKeyEvent, Payment
from tests.browser.conftest import EVERY_VIEW, View, look_at, view_id

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"
TEXTS = {
    "ko": {
        "cards": "내 카드",
        "registered": "카드를 등록했습니다",
        "declined": "카드사에서 이 카드를 승인하지 않았습니다",
        "busy": "카드사에 확인하는 중",
        "removed": "카드를 삭제했습니다",
        "paid": "9,900원",
        "paid_badge": "결제 완료",
        "luhn": "올바른 카드 번호가 아닙니다",
        "birth": "생년월일 6자리",
        "active": "사용 중",
    },
    "en": {
        "cards": "Your cards",
        "registered": "Card registered",
        "declined": "The card company did not accept this card",
        "busy": "Checking with the card company",
        "removed": "Card removed",
        "paid": "₩9,900",
        "paid_badge": "Paid",
        "luhn": "This card number is not valid",
        "birth": "Enter your date of birth as YYMMDD",
        "active": "Active",
    },
}


def fill_card(page: Page, number: str = GOOD_CARD, expiry: str = "1230", birth: str = "900101") -> None:
    """Type as a customer does: digits only; the page groups them and writes the slash."""
    page.locator("#id_card_number").press_sequentially(number)
    page.locator("#id_expiry").press_sequentially(expiry)
    page.locator("#id_birth").press_sequentially(birth)
    page.locator("#id_pwd_2digit").press_sequentially("12")


def by_view(views):
    return pytest.mark.parametrize("view", views, ids=view_id)


@by_view(EVERY_VIEW)
def test_sign_up_then_see_no_cards(page: Page, view: View, django_user_model):
    page.goto("/")
    page.wait_for_url("**/accounts/login/**")
    look_at(page, view, "login")
    page.locator("main a[href$='/accounts/signup/']").click()
    page.wait_for_url("**/accounts/signup/")
    look_at(page, view, "signup")

    page.fill("#id_username", "newcomer")
    page.fill("#id_email", "newcomer@example.com")
    page.fill("#id_password1", "a-Long-pass-2026")
    page.fill("#id_password2", "a-Long-pass-2026")
    page.locator("main button[type=submit]").click()

    page.wait_for_url("**/billing/cards/")
    expect(page.locator("h1")).to_have_text(TEXTS[view.lang]["cards"])
    look_at(page, view, "cards-empty")
    assert django_user_model.objects.filter(username="newcomer").exists()


@by_view(EVERY_VIEW)
def test_register_a_card_typed_as_printed(signed_in: Page, view: View, customer):
    page = signed_in
    page.goto("/billing/cards/new/")
    look_at(page, view, "card-form")

    fill_card(page)
    expect(page.locator("#id_card_number")).to_have_value("4242 4242 4242 4242")
    expect(page.locator("#id_expiry")).to_have_value("12/30")
    page.locator("button.primary").click()

    page.wait_for_url("**/billing/cards/")
    expect(page.locator(".messages")).to_contain_text(TEXTS[view.lang]["registered"])
    expect(page.locator(".badge")).to_have_text(TEXTS[view.lang]["active"])
    look_at(page, view, "cards-one")
    key = BillingKey.objects.get(owner=customer)
    assert key.status == BillingKey.Status.ACTIVE
    assert "4242 4242 4242 4242" not in page.content()
    assert GOOD_CARD not in page.content()


@by_view(EVERY_VIEW)
def test_a_declined_card_is_explained_and_not_shown_back(signed_in: Page, view: View, customer):
    page = signed_in
    page.goto("/billing/cards/new/")
    fill_card(page, number=DECLINED_CARD)
    page.locator("button.primary").click()

    summary = page.locator("#error-summary")
    expect(summary).to_contain_text(TEXTS[view.lang]["declined"])
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()
    expect(page.locator("#id_card_number")).to_have_value("")
    assert "4000" not in page.locator("main").inner_text()
    look_at(page, view, "card-declined")
    # i'mport's own wording is kept for support, not shown to the customer.
    event = BillingKeyEvent.objects.get(billing_key__owner=customer)
    assert event.iamport_message
    assert event.iamport_message not in page.content()


@by_view(EVERY_VIEW)
def test_invalid_input_is_marked_at_its_field(signed_in: Page, view: View, customer):
    page = signed_in
    page.goto("/billing/cards/new/")
    fill_card(page, number="4242424242424241", birth="12")
    page.locator("button.primary").click()

    number_error = page.locator("#id_card_number_error")
    expect(number_error).to_contain_text(TEXTS[view.lang]["luhn"])
    expect(page.locator("#id_birth_error")).to_contain_text(TEXTS[view.lang]["birth"])
    expect(page.locator("#id_card_number")).to_have_attribute("aria-invalid", "true")
    assert "id_card_number_error" in page.locator("#id_card_number").get_attribute("aria-describedby")
    look_at(page, view, "card-invalid")
    assert not BillingKey.objects.exists()


@by_view([View("ko", "phone")])
def test_without_javascript_the_server_validates_and_converts(chromium, live_server, sandbox, customer, view):
    context = chromium.new_context(
        locale="ko-KR",
        viewport={"width": 360, "height": 740},
        java_script_enabled=False,
        base_url=live_server.url,
    )
    page = context.new_page()
    try:
        page.goto("/accounts/login/")
        page.fill("#id_username", customer.username)
        page.fill("#id_password", "pw-Test-12345")
        page.locator("main button[type=submit]").click()
        page.goto("/billing/cards/new/")
        page.fill("#id_card_number", "4242 4242 42")  # too short, spaces typed by hand
        page.fill("#id_expiry", "12/30")
        page.fill("#id_birth", "900101")
        page.fill("#id_pwd_2digit", "12")
        page.locator("button.primary").click()
        expect(page.locator("#id_card_number_error")).to_contain_text("14~16자리")
        assert not BillingKey.objects.exists()

        page.fill("#id_card_number", "4242 4242 4242 4242")
        page.fill("#id_expiry", "12/30")
        page.fill("#id_birth", "900101")
        page.fill("#id_pwd_2digit", "12")
        page.locator("button.primary").click()
        page.wait_for_url("**/billing/cards/")
        assert BillingKey.objects.get(owner=customer).status == BillingKey.Status.ACTIVE
    finally:
        context.close()


@by_view(EVERY_VIEW)
def test_a_double_click_registers_the_card_once(signed_in: Page, view: View, customer):
    page = signed_in
    # i'mport takes its time, as card companies do; the button shows it is busy meanwhile.
    get_client().session.post(settings.BILLING["API_URL"] + "/__sandbox__/faults", json={"latency_ms": 600})
    page.goto("/billing/cards/new/")
    fill_card(page)
    posts = []
    page.on("request", lambda r: r.method == "POST" and "/cards/new/" in r.url and posts.append(r.url))
    # What the button looked like while the answer was awaited, kept across the navigation that follows.
    page.evaluate(
        """() => {
        const button = document.querySelector("button.primary");
        new MutationObserver(() => sessionStorage.setItem("busy", JSON.stringify(
            {disabled: button.disabled, text: button.textContent}))).observe(
            button, {attributes: true, childList: true, characterData: true, subtree: true});
    }"""
    )

    page.locator("button.primary").dblclick()

    page.wait_for_url("**/billing/cards/")
    expect(page.locator(".messages")).to_contain_text(TEXTS[view.lang]["registered"])
    assert len(posts) == 1
    assert BillingKey.objects.filter(owner=customer).count() == 1
    assert BillingKeyEvent.objects.filter(billing_key__owner=customer).count() == 1
    busy = page.evaluate("JSON.parse(sessionStorage.getItem('busy'))")
    assert busy["disabled"] is True
    assert TEXTS[view.lang]["busy"] in busy["text"]


@by_view(EVERY_VIEW)
def test_register_and_pay_then_see_the_payment(signed_in: Page, view: View, customer):
    page = signed_in
    page.goto("/billing/cards/new/")
    fill_card(page)
    page.locator("#id_pay_now").check()
    page.locator("button.primary").click()

    page.wait_for_url("**/billing/cards/")
    expect(page.locator(".messages")).to_contain_text(TEXTS[view.lang]["paid"])
    page.locator("nav a[href$='/billing/payments/']").click()
    page.wait_for_url("**/billing/payments/")
    item = page.locator(".items .item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(TEXTS[view.lang]["paid"])
    expect(item.locator(".badge")).to_have_text(TEXTS[view.lang]["paid_badge"])
    if view.lang == "ko":
        expect(item).to_contain_text(re.compile(r"\d{4}년 \d{1,2}월 \d{1,2}일"))
    look_at(page, view, "payments")
    payment = Payment.objects.get(owner=customer)
    assert (payment.amount, payment.status) == (settings.BILLING["FIRST_PAYMENT_AMOUNT"], Payment.Status.PAID)


@by_view(EVERY_VIEW)
def test_remove_a_card(signed_in: Page, view: View, customer):
    card = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")
    key = services.register_card(owner=customer, card=card, source=BillingKeyEvent.Source.WEB)
    page = signed_in
    page.goto("/billing/cards/")
    look_at(page, view, "cards-before-removal")

    page.locator(".item button.secondary").click()

    page.wait_for_url("**/billing/cards/")
    expect(page.locator(".messages")).to_contain_text(TEXTS[view.lang]["removed"])
    expect(page.locator(".items")).to_have_count(0)
    key.refresh_from_db()
    assert key.status == BillingKey.Status.DELETED


@by_view([View("ko", "phone")])
def test_the_language_switch_turns_the_page_english(signed_in: Page, view: View):
    page = signed_in
    page.goto("/billing/payments/")
    look_at(page, view, "payments-empty")

    page.locator(".lang-switch button[value=en]").click()

    page.wait_for_url("**/billing/payments/")
    look_at(page, View("en", "phone"), "payments-empty-switched")
    expect(page.locator("h1")).to_have_text("Payment history")
