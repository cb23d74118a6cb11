"""The customer's pages and the admin, against the in-process sandbox."""

from http import HTTPStatus

import pytest
from django.contrib.auth.models import Permission

from billing.models import BillingKeyEvent
from subscriptions.models import Renewal, Subscription
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
    assert "9900" in answer.text and good_key.masked_card_number in answer.text
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
    from subscriptions import services

    theirs = services.subscribe(owner=other_user, plan=plan, billing_key=register(other_user), source="web")
    client.force_login(type(other_user).objects.create_user("eve", "eve@example.com", "pw-Test-12345"))

    answer = client.post(f"/billing/subscriptions/{theirs.pk}/cancel/", {"at_period_end": "0"})

    assert answer.status_code == HTTPStatus.NOT_FOUND
    theirs.refresh_from_db()
    assert theirs.status == Subscription.Status.ACTIVE


def test_admin_retry_now_is_recorded_with_the_staff_member(
    client, admin_user, user, plan, good_key, register, ledger
):
    from subscriptions import services

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
    from subscriptions import services

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
