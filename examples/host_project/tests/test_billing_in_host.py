"""billing, installed from its wheel into a project it was not written for, does its whole job.

Registration, a charge, a webhook and a refund through billing's API, against the built-in sandbox;
with the shop's own user model (email, no username), login page, base template and REST_FRAMEWORK.
"""

import uuid
from http import HTTPStatus
from pathlib import Path

import pytest
from accounts.models import User
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from rest_framework.test import APIClient

import billing
from billing.models import BillingKey, Payment

from .conftest import PASSWORD

CARD = {"card_number": "4242-4242-4242-4242", "expiry": "2030-12", "birth": "900101", "pwd_2digit": "12"}


def test_billing_comes_from_the_installed_wheel_not_a_source_tree():
    installed = Path(billing.__file__).resolve()
    assert "site-packages" in installed.parts, installed
    assert (installed.parent / "migrations" / "0001_initial.py").is_file(), "the wheel has no migrations"


def test_billing_knows_the_shops_user_model():
    assert BillingKey._meta.get_field("owner").related_model is User
    assert Payment._meta.get_field("owner").related_model is User


def test_the_system_checks_pass_as_configured():
    call_command("check")  # raises SystemCheckError on any billing.E...


@pytest.mark.django_db
def test_billings_migrations_are_complete_with_the_shops_user_model():
    call_command("makemigrations", "billing", check=True, dry_run=True)  # exits 1 on a missing one


@pytest.fixture
def customer(db):
    return User.objects.create_user("jimin@example.com", PASSWORD, display_name="Jimin")


@pytest.fixture
def cashier(db):
    """Staff who may charge and refund (billing's own permissions)."""
    staff = User.objects.create_user("cashier@example.com", PASSWORD, is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["charge_billingkey", "refund_payment"], content_type__app_label="billing"
        )
    )
    return staff


def signed_in(email: str) -> APIClient:
    """An API client with a token obtained the documented way: POST username (here the email) and password."""
    client = APIClient()
    answer = client.post(
        reverse("billing_api:token"), {"username": email, "password": PASSWORD}, format="json"
    )
    assert answer.status_code == HTTPStatus.OK, answer.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {answer.json()['token']}")
    return client


@pytest.mark.django_db(transaction=True)  # billing's signals are sent once the change is committed
def test_register_charge_webhook_and_refund(customer, cashier):
    as_customer, as_cashier = signed_in(customer.email), signed_in(cashier.email)

    registered = as_customer.post(
        reverse("billing_api:billing-key-list"), CARD, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    assert registered.status_code == HTTPStatus.CREATED, registered.content
    key = registered.json()
    assert key["status"] == "active"
    assert "4242-4242-4242-4242" not in registered.content.decode()
    assert BillingKey.objects.get(customer_uid=key["customer_uid"]).owner == customer

    charged = as_cashier.post(
        reverse("billing_api:payment-list"),
        {"customer_uid": key["customer_uid"], "amount": 4_900, "name": "Shop membership"},
        format="json",
    )
    assert charged.status_code == HTTPStatus.CREATED, charged.content
    payment = charged.json()
    assert payment["status"] == "paid"

    # i'mport's notification for that payment: re-read from i'mport, found already settled.
    notified = APIClient().post(
        reverse("billing:iamport-webhook"),
        {"imp_uid": payment["imp_uid"], "merchant_uid": payment["merchant_uid"], "status": "paid"},
        format="json",
    )
    assert notified.status_code == HTTPStatus.OK, notified.content
    assert notified.json()["result"] in {"processed", "duplicate"}

    refunded = as_cashier.post(
        reverse("billing_api:payment-refund", args=[payment["merchant_uid"]]),
        {"reason": "changed mind"},
        format="json",
    )
    assert refunded.status_code == HTTPStatus.OK, refunded.content
    assert refunded.json()["status"] == "cancelled"
    assert Payment.objects.get(merchant_uid=payment["merchant_uid"]).status == Payment.Status.CANCELLED

    # The shop's own emails, hooked on billing's signals.
    assert [message.subject for message in mail.outbox] == ["Card registered", "Receipt"]
    assert mail.outbox[0].to == [customer.email]


@pytest.mark.django_db
def test_a_customer_cannot_charge_even_though_the_shops_api_is_open(customer):
    key = signed_in(customer.email).post(
        reverse("billing_api:billing-key-list"), CARD, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
    )
    charged = signed_in(customer.email).post(
        reverse("billing_api:payment-list"),
        {"customer_uid": key.json()["customer_uid"], "amount": 100, "name": "free money"},
        format="json",
    )
    assert charged.status_code == HTTPStatus.FORBIDDEN


@pytest.mark.django_db
def test_billings_api_needs_a_sign_in_whatever_the_shops_rest_framework_says():
    answer = APIClient().get(reverse("billing_api:billing-key-list"))
    assert answer.status_code == HTTPStatus.UNAUTHORIZED
    assert answer.json()["error"] == "not_authenticated"


@pytest.mark.django_db
def test_the_card_pages_send_a_stranger_to_the_shops_own_login_page(client):
    answer = client.get(reverse("billing:card-list"))
    assert answer.status_code == HTTPStatus.FOUND
    assert answer["Location"].startswith("/members/sign-in/?next=")


@pytest.mark.django_db
def test_support_staff_find_a_customer_by_the_shops_login_field_and_email(customer):
    from billing import selectors
    from billing.admin.base import owners_matching

    assert owners_matching("JIMIN@example.com") == [customer.pk]
    assert list(selectors.billing_keys_for_staff(owner=customer.email)) == []


@pytest.mark.django_db
def test_the_card_pages_render_inside_the_shops_own_layout(client, customer):
    client.force_login(customer)
    answer = client.get(reverse("billing:card-list"))
    assert answer.status_code == HTTPStatus.OK
    page = answer.content.decode()
    assert 'id="shop-header"' in page  # the shop's base.html, from the shop's templates
    assert reverse("billing:card-new") in page  # billing's own template, from the wheel


@pytest.mark.django_db
def test_the_admins_billing_pages_come_with_the_wheel(client):
    staff = User.objects.create_superuser("support@example.com", PASSWORD)
    key = BillingKey.objects.create(owner=staff, customer_uid="cu_admin_page", status="active")
    client.force_login(staff)
    for url in (
        reverse("admin:billing_billingkey_change", args=[key.pk]),
        reverse("admin:billing_billingkey_delete_at_iamport", args=[key.pk]),
    ):
        answer = client.get(url)
        assert answer.status_code == HTTPStatus.OK, url
        assert "cu_admin_page" in answer.content.decode()
