"""The card form's "pay the first payment now": the merchant's plan, charged with the registration."""

from http import HTTPStatus

import pytest
from django.urls import reverse

from billing.models import BillingKey, BillingKeyEvent, Payment
from tests.support.cards import DECLINING_CARD
from tests.support.iamport import envelope
from tests.support.ledger import DECLINE_REASON

pytestmark = pytest.mark.django_db

NEW_URL = reverse("billing:card-new")
CARD = {"card_number": "4242-4242-4242-4242", "expiry": "2030-12", "birth": "900101", "pwd_2digit": "12"}


def test_the_form_offers_the_plan_from_settings(customer_client, settings):
    settings.BILLING = {**settings.BILLING, "FIRST_PAYMENT_AMOUNT": 12_900}
    settings.BILLING = {**settings.BILLING, "FIRST_PAYMENT_NAME": "Pro plan"}

    page = customer_client.get(NEW_URL).content.decode()

    assert "₩12,900" in page
    assert "Pro plan" in page
    assert 'name="pay_now"' in page
    assert 'name="amount"' not in page


def test_pay_now_registers_and_charges_the_plan(customer_client, ledger, settings, user):
    response = customer_client.post(NEW_URL, {**CARD, "pay_now": "on", "amount": "1"}, follow=True)

    assert response.status_code == HTTPStatus.OK
    payment = Payment.objects.get()
    assert (payment.status, payment.amount, payment.owner) == (
        "paid",
        settings.BILLING["FIRST_PAYMENT_AMOUNT"],
        user,
    )
    assert BillingKey.objects.get().status == "active"
    page = response.content.decode()
    assert "paid" in page
    assert "4242-4242-4242-4242" not in page


def test_without_pay_now_nothing_is_charged(customer_client, iamport):
    iamport.on_customer("POST")

    customer_client.post(NEW_URL, CARD)

    assert BillingKey.objects.get().status == "active"
    assert not Payment.objects.exists()
    assert not iamport.calls_to("POST", "/subscribe/payments")


def test_a_declined_first_payment_says_so_and_keeps_i_mport_text_for_support(customer_client, ledger):
    ledger.fault("onetime", body=envelope(code=-1, message="한도초과"))

    response = customer_client.post(NEW_URL, {**CARD, "pay_now": "on"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    page = response.content.decode()
    assert "The card company did not accept this card, so nothing was registered or charged." in page
    assert "한도초과" not in page
    assert BillingKeyEvent.objects.filter(iamport_message="한도초과").exists()
    assert "4242-4242-4242-4242" not in page
    assert Payment.objects.get().status == "failed"


def test_a_declined_charge_of_a_kept_card_says_the_card_is_registered(customer_client, ledger):
    # The key is issued, the charge declined, and i'mport (read again) still has the key.
    response = customer_client.post(NEW_URL, {**CARD, "card_number": DECLINING_CARD, "pay_now": "on"})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    page = response.content.decode()
    assert "The card was registered, but the card company declined the payment." in page
    assert DECLINE_REASON not in page  # i'mport's reason stays on the payment, for support
    assert Payment.objects.get().fail_reason == DECLINE_REASON
    assert BillingKey.objects.get().status == BillingKey.Status.ACTIVE
