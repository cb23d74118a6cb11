"""The customer's pages and the admin, against the in-process sandbox."""

import re
from http import HTTPStatus

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client
from rest_framework.test import APIClient

from billing.iamport import get_client
from billing.models import BillingKeyEvent, Payment
from subscriptions import services
from subscriptions.models import Plan, Renewal, Subscription
from tests.subscriptions.conftest import FAILING_CARD, GOOD_CARD

pytestmark = pytest.mark.django_db


def test_subscribe_with_a_registered_card_then_cancel_and_resume(customer_client, plan, good_key, ledger):
    page = customer_client.get("/billing/plans/")
    assert page.status_code == HTTPStatus.OK and "Basic (monthly)" in page.text

    answer = customer_client.post(
        "/billing/plans/basic-monthly/subscribe/", {"customer_uid": good_key.customer_uid}, follow=True
    )

    assert "You are subscribed" in answer.text
    subscription = Subscription.objects.get()
    assert subscription.status == Subscription.Status.ACTIVE and ledger.charges() == 1
    assert "₩9,900" in answer.text and good_key.masked_card_number in answer.text
    customer_client.post(f"/billing/subscriptions/{subscription.pk}/cancel/", {"at_period_end": "1"})
    subscription.refresh_from_db()
    assert subscription.cancel_at_period_end
    customer_client.post(f"/billing/subscriptions/{subscription.pk}/resume/")
    subscription.refresh_from_db()
    assert not subscription.cancel_at_period_end


def test_register_a_card_in_the_same_flow_never_echoes_it(customer_client, plan, ledger):
    answer = customer_client.post(
        "/billing/plans/basic-monthly/subscribe/",
        {"card_number": GOOD_CARD, "expiry": "2031-12", "birth": "900101", "pwd_2digit": "12"},
        follow=True,
    )

    assert "You are subscribed" in answer.text
    assert GOOD_CARD not in answer.text and "4242424242424242" not in answer.text
    assert Subscription.objects.get().billing_key.is_usable


def test_a_declined_first_payment_says_so_and_leaves_no_live_subscription(customer_client, plan, ledger):
    answer = customer_client.post(
        "/billing/plans/basic-monthly/subscribe/",
        {"card_number": FAILING_CARD, "expiry": "2031-12", "birth": "900101", "pwd_2digit": "12"},
        follow=True,
    )

    assert "declined" in answer.text
    assert not Subscription.objects.filter(status__in=Subscription.LIVE).exists()


def test_another_customers_subscription_cannot_be_changed(client, other_user, plan, register, ledger):
    theirs = services.subscribe(owner=other_user, plan=plan, billing_key=register(other_user), source="web")
    client.force_login(type(other_user).objects.create_user("eve", "eve@example.com", "pw-Test-12345"))

    answer = client.post(f"/billing/subscriptions/{theirs.pk}/cancel/", {"at_period_end": "0"})

    assert answer.status_code == HTTPStatus.NOT_FOUND
    theirs.refresh_from_db()
    assert theirs.status == Subscription.Status.ACTIVE


def test_admin_retry_now_is_recorded_with_the_staff_member(
    client, admin_user, user, plan, good_key, register, ledger
):
    subscription = services.subscribe(owner=user, plan=plan, billing_key=good_key, source="web")
    failing = register(user, FAILING_CARD)
    services.change_card(subscription=subscription, billing_key=failing, actor=user, source="web")
    services.renew_due(now=subscription.current_period_end)
    renewal = Renewal.objects.get(status=Renewal.Status.PENDING)
    client.force_login(admin_user)

    client.post("/admin/subscriptions/renewal/", {"action": "retry_now", "_selected_action": [renewal.pk]})

    renewal.refresh_from_db()
    assert renewal.attempts == 2 and ledger.charges() == 3
    event = BillingKeyEvent.objects.filter(action="charge").order_by("-id").first()
    assert event.actor == admin_user and event.source == "admin"
    assert (
        client.get("/admin/subscriptions/subscription/?q=gildong&status__exact=past_due").status_code == 200
    )
    assert client.get(f"/admin/subscriptions/renewal/{renewal.pk}/change/").status_code == 200


def test_admin_cancel_needs_its_permission(client, django_user_model, user, plan, good_key, ledger):
    subscription = services.subscribe(owner=user, plan=plan, billing_key=good_key, source="web")
    staff = django_user_model.objects.create_user("support", "s@example.com", "pw-Test-12345", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_subscription"))
    client.force_login(staff)

    client.post(
        "/admin/subscriptions/subscription/", {"action": "cancel_now", "_selected_action": [subscription.pk]}
    )
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.ACTIVE

    staff.user_permissions.add(Permission.objects.get(codename="cancel_subscription"))
    client.force_login(django_user_model.objects.get(pk=staff.pk))
    client.post(
        "/admin/subscriptions/subscription/", {"action": "cancel_now", "_selected_action": [subscription.pk]}
    )
    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.CANCELLED and subscription.cancelled_by == staff


def test_an_invalid_new_card_is_shown_again_without_its_number(customer_client, plan, good_key, ledger):
    answer = customer_client.post(
        "/billing/plans/basic-monthly/subscribe/",
        {"customer_uid": "", "card_number": "4242-4242-4242-4241", "expiry": "2031-12", "birth": "900101"},
    )

    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert "4242-4242-4242-4241" not in answer.text and "424242424242424" not in answer.text
    assert good_key.masked_card_number in answer.text  # the registered card is still offered
    assert not Subscription.objects.exists() and ledger.charges() == 0


# --- Korean first: the pages in the customer's language -------------------------------------------------

KOREAN_DATE = re.compile(r"\d{4}년 \d{1,2}월 \d{1,2}일")


def text_of(html: str) -> str:
    """What the customer reads: tags dropped, white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def korean_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="ko")
    client.force_login(user)
    return client


def subscribed(user, plan, key):
    return services.subscribe(owner=user, plan=plan, billing_key=key, source="web")


def test_the_plans_page_speaks_korean_amounts_in_won_and_intervals_in_words(korean_client, plan):
    Plan.objects.create(code="quarterly", name="Quarterly", amount=27000, interval="month", interval_count=3)
    Plan.objects.create(code="yearly", name="Yearly", amount=99000, interval="year", trial_days=14)
    Plan.objects.create(code="biweekly", name="Biweekly", amount=5000, interval="week", interval_count=2)

    html = korean_client.get("/billing/plans/").text
    page = text_of(html)

    assert '<html lang="ko">' in html
    assert "요금제 선택" in page and "베이직 (월간)" in page  # the demo plan's name is in the catalogue
    assert "9,900원 · 매월" in page and "27,000원 · 3개월마다" in page and "5,000원 · 2주마다" in page
    assert "99,000원 · 매년 · 14일 무료 체험" in page and "무료 체험 시작" in page
    assert "9,900원 결제하고 구독하기" in page
    assert "₩" not in page and "monthly" not in page


def test_the_plans_page_in_english(customer_client, plan):
    Plan.objects.create(code="quarterly", name="Quarterly", amount=27000, interval="month", interval_count=3)

    page = text_of(customer_client.get("/billing/plans/").text)

    assert "₩9,900 · monthly" in page and "₩27,000 · every 3 months" in page
    assert "Subscribe and pay ₩9,900 now" in page


def test_the_subscriptions_page_in_korean_with_badges_and_dates(korean_client, user, plan, good_key):
    subscribed(user, plan, good_key)

    page = korean_client.get("/billing/subscriptions/").text

    assert "내 구독" in page and "다음 결제" in page
    assert 'class="badge badge-ok">이용 중<' in page  # the subscription
    assert 'class="badge badge-ok">결제 완료<' in page  # its first period
    assert "9,900원" in page and len(KOREAN_DATE.findall(page)) >= 4
    assert "Active" not in page and "Paid" not in page and "₩" not in page


def test_a_cancelled_subscription_reads_cancelled_not_refunded(korean_client, user, plan, good_key):
    # billing's catalogue, consulted first, says "Cancelled" of a refunded payment (환불됨).

    services.cancel(subscription=subscribed(user, plan, good_key), at_period_end=False, actor=user)

    page = korean_client.get("/billing/subscriptions/").text

    assert 'class="badge badge-muted">해지됨<' in page and "환불됨" not in page


def test_cancel_at_period_end_then_resume_say_so_in_korean(korean_client, user, plan, good_key):
    subscription = subscribed(user, plan, good_key)

    page = korean_client.post(f"/billing/subscriptions/{subscription.pk}/cancel/", follow=True).text

    assert "이번 기간이 끝나면 구독이 해지됩니다." in page
    assert "없음:" in page and "구독 계속하기" in page  # no next charge; the resume button
    page = korean_client.post(f"/billing/subscriptions/{subscription.pk}/resume/", follow=True).text
    assert "구독이 예전처럼 계속 갱신됩니다." in page and "이번 기간이 끝나면 해지" in page


def test_a_declined_first_payment_is_explained_in_korean(korean_client, plan, failing_key, ledger):
    page = korean_client.post(
        "/billing/plans/basic-monthly/subscribe/", {"customer_uid": failing_key.customer_uid}, follow=True
    ).text

    assert "첫 결제가 승인되지 않아 구독하지 않았습니다." in page
    assert not Subscription.objects.filter(status__in=Subscription.LIVE).exists()
    assert ledger.charges() == 1


def test_a_conflict_reason_is_in_the_page_language(korean_client, user, plan, good_key, ledger):
    subscribed(user, plan, good_key)

    page = korean_client.post(
        "/billing/plans/basic-monthly/subscribe/", {"customer_uid": good_key.customer_uid}, follow=True
    ).text

    assert "구독하지 않았습니다. 이미 이 요금제를 구독하고 있습니다." in page
    assert ledger.charges() == 1


def test_the_change_card_message_is_in_korean(korean_client, user, plan, good_key, register):
    subscription = subscribed(user, plan, good_key)
    other = register(user, GOOD_CARD)

    page = korean_client.post(
        f"/billing/subscriptions/{subscription.pk}/card/", {"customer_uid": other.customer_uid}, follow=True
    ).text

    assert f"이제 이 구독은 {other.masked_card_number} 카드로 결제됩니다." in page


def test_the_navigation_links_to_plans_and_subscriptions_for_signed_in_customers(korean_client, client):
    nav = re.search(r'<nav class="bar nav".*?</nav>', korean_client.get("/billing/cards/").text, re.S)[0]

    assert 'href="/billing/plans/">요금제<' in nav and 'href="/billing/subscriptions/">내 구독<' in nav
    anonymous = client.get("/accounts/login/").text
    assert 'href="/billing/plans/"' not in anonymous and 'href="/billing/subscriptions/"' not in anonymous


def test_api_error_details_follow_the_request_language(user, plan, failing_key, ledger):
    api = APIClient(HTTP_ACCEPT_LANGUAGE="ko")
    api.force_authenticate(user)

    assert api.get("/api/v1/subscriptions/x1/").json()["detail"] == "해당 구독이 없습니다."
    answer = api.post("/api/v1/subscriptions/", {"plan": "nope", "customer_uid": "cu_x"}, format="json")
    assert answer.json()["fields"]["plan"] == ["이 코드의 요금제가 없습니다."]
    english = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    english.force_authenticate(user)
    assert english.get("/api/v1/subscriptions/x1/").json()["detail"] == "No such subscription."


def test_a_new_card_refused_by_the_card_company_is_explained_in_korean(korean_client, plan, sandbox):
    page = korean_client.post(
        "/billing/plans/basic-monthly/subscribe/",
        {"card_number": "4000-0000-0000-0002", "expiry": "2031-12", "birth": "900101", "pwd_2digit": "12"},
        follow=True,
    ).text

    assert "구독하지 않았습니다. 카드사에서 이 카드를 승인하지 않았습니다." in text_of(page)
    event = BillingKeyEvent.objects.get()
    assert event.iamport_message and event.iamport_message not in page  # i'mport's text is for support
    assert not Subscription.objects.exists() and not Payment.objects.exists()


def test_payments_unavailable_at_the_first_charge_is_not_called_a_decline(korean_client, plan, good_key):
    get_client().session.post(settings.BILLING["API_URL"] + "/__sandbox__/faults", json={"error_rate": 1})

    page = korean_client.post(
        "/billing/plans/basic-monthly/subscribe/", {"customer_uid": good_key.customer_uid}, follow=True
    ).text

    assert "지금은 결제를 할 수 없습니다. 구독하지 않았고 결제된 금액도 없습니다." in page
    assert "승인되지 않아" not in page
    assert not Subscription.objects.filter(status__in=Subscription.LIVE).exists()


def test_a_past_due_subscription_says_what_to_do(korean_client, user, plan, good_key, register, ledger):
    subscription = subscribed(user, plan, good_key)
    services.change_card(
        subscription=subscription, billing_key=register(user, FAILING_CARD), actor=user, source="web"
    )
    services.renew_due(now=subscription.current_period_end)

    page = korean_client.get("/billing/subscriptions/").text

    assert 'class="badge badge-bad">결제 지연<' in page and 'class="badge badge-wait">결제 예정<' in page
    assert "지난 결제가 승인되지 않아 다시 시도할 예정입니다." in page


def test_the_admins_korean_subscription_statuses_are_not_billings_words():
    # billing's catalogue says 환불됨 (refunded) for a cancelled payment and 사용 중 for an active card.
    from django.utils import translation

    from subscriptions.models import Subscription

    with translation.override("ko"):
        labels = {value: str(label) for value, label in Subscription.Status.choices}
    assert (labels["cancelled"], labels["active"]) == ("해지됨", "이용 중")


def test_a_new_card_on_the_plans_page_passes_the_card_testing_throttles(
    customer_client, plan, ledger, settings
):
    # Otherwise a card tester would use the plans page to try cards past the card form's limits.
    settings.BILLING = {
        **settings.BILLING,
        "RATES": {**settings.BILLING["RATES"], "registration_user": "1/hour"},
    }
    new_card = {"card_number": GOOD_CARD, "expiry": "2031-12", "birth": "900101", "pwd_2digit": "12"}
    first = customer_client.post("/billing/plans/basic-monthly/subscribe/", new_card)
    assert first.status_code == HTTPStatus.FOUND

    second = customer_client.post("/billing/plans/basic-monthly/subscribe/", new_card)

    assert second.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert "Too many card registration attempts" in second.text
    assert GOOD_CARD not in second.text
    assert int(second["Retry-After"]) > 0
    assert BillingKeyEvent.objects.filter(action=BillingKeyEvent.Action.ISSUE).count() == 1


def test_the_admin_finds_subscriptions_and_renewals_by_the_owners_login_or_email_or_their_ids(
    client, admin_user, user, other_user, plan, good_key, ledger
):
    """Exact lookups by the host's login field and email (any case), as billing's admin searches."""
    subscription = services.subscribe(owner=user, plan=plan, billing_key=good_key, source="web")
    merchant_uid = subscription.renewals.get().attempt_set.get().merchant_uid
    client.force_login(admin_user)

    def found(admin_path: str, term: str) -> list:
        return list(client.get(f"/admin/subscriptions/{admin_path}/", {"q": term}).context["cl"].result_list)

    for term in (user.get_username(), user.email.upper(), good_key.customer_uid):
        assert [s.pk for s in found("subscription", term)] == [subscription.pk]
    for term in (user.get_username(), user.email.upper(), merchant_uid):
        assert [r.subscription_id for r in found("renewal", term)] == [subscription.pk]
    assert found("subscription", other_user.email) == found("renewal", user.email[:-1]) == []
