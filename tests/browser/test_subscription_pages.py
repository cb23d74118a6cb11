"""The subscription pages in Chromium, Korean and English, phone and desktop: every step looked at.

Choosing a plan and subscribing with a registered card, a declined first charge, and managing a
subscription (change card, cancel at period end, resume). Each page visited is screenshotted and checked
by ``look_at`` like billing's pages: the page's language only, no sideways scrolling, no serious axe-core
violation.
"""

import re

import pytest
from django.utils import formats, timezone, translation
from playwright.sync_api import Page, expect

from billing import services as billing_services
from billing.iamport.types import CardDetails
from billing.models import BillingKey, BillingKeyEvent
from subscriptions import services
from subscriptions.models import Plan, Renewal, Subscription
from tests.browser.conftest import EVERY_VIEW, View, look_at, view_id

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FAILING_CARD = "4000-0000-0000-9995"  # the sandbox issues its billing key, then declines every charge
TEXTS = {
    "ko": {
        "plans": "요금제 선택",
        "plan": "베이직 (월간)",
        "price": "9,900원 · 매월",
        "subscribed": "베이직 (월간) 구독을 시작했습니다.",
        "active": "이용 중",
        "paid": "결제 완료",
        "amount": "9,900원",
        "declined": "첫 결제가 승인되지 않아 구독하지 않았습니다.",
        "ended": "종료됨",
        "failed": "결제 실패",
        "card_changed": "이제 이 구독은",
        "cancelling": "이번 기간이 끝나면 구독이 해지됩니다.",
        "no_next_charge": "없음:",
        "resumed": "구독이 예전처럼 계속 갱신됩니다.",
    },
    "en": {
        "plans": "Choose a plan",
        "plan": "Basic (monthly)",
        "price": "₩9,900 · monthly",
        "subscribed": "You are subscribed to Basic (monthly).",
        "active": "Active",
        "paid": "Paid",
        "amount": "₩9,900",
        "declined": "The first payment was declined, so you were not subscribed.",
        "ended": "Ended",
        "failed": "Failed",
        "card_changed": "The subscription now uses",
        "cancelling": "Your subscription will end at the end of the current period.",
        "no_next_charge": "None:",
        "resumed": "Your subscription will renew as before.",
    },
}


@pytest.fixture
def plan() -> Plan:
    return Plan.objects.create(code="basic-monthly", name="Basic (monthly)", amount=9900)


def register(owner, number: str = "4242-4242-4242-4242") -> BillingKey:
    card = CardDetails(number=number, expiry="2030-12", birth="900101", pwd_2digit="12")
    return billing_services.register_card(owner=owner, card=card, source=BillingKeyEvent.Source.WEB)


def in_words(moment, lang: str) -> str:
    """A date as the page writes it in ``lang``: 2026년 12월 1일, December 1, 2026."""
    with translation.override(lang):
        return formats.date_format(timezone.localtime(moment), "DATE_FORMAT")


def by_view(views):
    return pytest.mark.parametrize("view", views, ids=view_id)


@by_view(EVERY_VIEW)
def test_choose_a_plan_and_subscribe_with_a_registered_card(signed_in: Page, view: View, customer, plan):
    key = register(customer)
    page = signed_in
    page.locator("nav a[href$='/billing/plans/']").click()
    page.wait_for_url("**/billing/plans/")
    expect(page.locator("h1")).to_have_text(TEXTS[view.lang]["plans"])
    offer = page.locator("section.plan")
    expect(offer.locator("h2")).to_have_text(TEXTS[view.lang]["plan"])
    expect(offer.locator(".price")).to_have_text(TEXTS[view.lang]["price"])
    expect(offer.locator("select[name=customer_uid]")).to_have_value(key.customer_uid)
    look_at(page, view, "plans")

    offer.locator("button.primary").click()

    page.wait_for_url("**/billing/subscriptions/")
    expect(page.locator(".messages")).to_contain_text(TEXTS[view.lang]["subscribed"])
    subscription = Subscription.objects.get(owner=customer)
    assert subscription.status == Subscription.Status.ACTIVE and subscription.billing_key == key
    renewal = Renewal.objects.get(subscription=subscription)
    assert (renewal.status, renewal.amount) == (Renewal.Status.PAID, 9900)  # the first period, charged
    box = page.locator("section.subscription")
    expect(box.locator(".subscription-head .badge")).to_have_text(TEXTS[view.lang]["active"])
    next_charge = in_words(subscription.current_period_end, view.lang)
    expect(box.locator(".next-charge")).to_have_text(f"{next_charge} · {TEXTS[view.lang]['amount']}")
    if view.lang == "ko":
        assert re.fullmatch(r"\d{4}년 \d{1,2}월 \d{1,2}일", next_charge)
    expect(box.locator(".renewals .badge")).to_have_text(TEXTS[view.lang]["paid"])
    look_at(page, view, "subscription-active")


@by_view(EVERY_VIEW)
def test_a_declined_first_charge_is_explained_and_leaves_nothing_subscribed(
    signed_in: Page, view: View, customer, plan
):
    register(customer, FAILING_CARD)
    page = signed_in
    page.goto("/billing/plans/")

    page.locator("section.plan button.primary").click()

    page.wait_for_url("**/billing/plans/")
    expect(page.locator(".messages .error")).to_contain_text(TEXTS[view.lang]["declined"])
    look_at(page, view, "plans-declined")
    assert not Subscription.objects.filter(owner=customer, status__in=Subscription.LIVE).exists()
    assert not Renewal.objects.filter(status__in=Renewal.OPEN).exists()  # nothing left to charge later

    page.locator("nav a[href$='/billing/subscriptions/']").click()
    page.wait_for_url("**/billing/subscriptions/")
    box = page.locator("section.subscription")
    expect(box.locator(".subscription-head .badge")).to_have_text(TEXTS[view.lang]["ended"])
    expect(box.locator(".renewals .badge")).to_have_text(TEXTS[view.lang]["failed"])
    expect(box.locator(".next-charge")).to_have_count(0)
    expect(box.locator("form")).to_have_count(0)  # nothing to cancel, resume or re-card
    look_at(page, view, "subscription-declined")


@by_view(EVERY_VIEW)
def test_change_card_then_cancel_at_period_end_then_resume(signed_in: Page, view: View, customer, plan):
    first, second = register(customer), register(customer, "5555-5555-5555-4444")
    subscription = services.subscribe(owner=customer, plan=plan, billing_key=first, source="web")
    page = signed_in
    page.goto("/billing/subscriptions/")
    look_at(page, view, "subscription")

    page.locator(f"#card-of-{subscription.pk}").select_option(second.customer_uid)
    page.locator(".change-card button").click()

    page.wait_for_url("**/billing/subscriptions/")
    expect(page.locator(".messages")).to_contain_text(TEXTS[view.lang]["card_changed"])
    expect(page.locator(".messages")).to_contain_text(second.masked_card_number)
    subscription.refresh_from_db()
    assert subscription.billing_key == second

    page.locator(f"form[action$='/{subscription.pk}/cancel/'] button").click()

    page.wait_for_url("**/billing/subscriptions/")
    expect(page.locator(".messages")).to_have_text(TEXTS[view.lang]["cancelling"])
    expect(page.locator(".next-charge")).to_contain_text(TEXTS[view.lang]["no_next_charge"])
    expect(page.locator(".next-charge")).to_contain_text(in_words(subscription.current_period_end, view.lang))
    look_at(page, view, "subscription-cancelling")
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end and subscription.status == Subscription.Status.ACTIVE

    page.locator(f"form[action$='/{subscription.pk}/resume/'] button").click()

    page.wait_for_url("**/billing/subscriptions/")
    expect(page.locator(".messages")).to_have_text(TEXTS[view.lang]["resumed"])
    expect(page.locator(".next-charge")).to_contain_text(TEXTS[view.lang]["amount"])
    subscription.refresh_from_db()
    assert not subscription.cancel_at_period_end
