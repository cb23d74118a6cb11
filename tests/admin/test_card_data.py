"""No card data on any admin page, nor in anything logged while support staff work."""

import logging

import pytest
from django.urls import reverse

from billing import services
from billing.cards import CardDetails
from billing.models import BillingKeyEvent, WebhookDelivery
from tests.admin.conftest import KEYS_URL, selected
from tests.support.iamport import customer_annotation, envelope

pytestmark = pytest.mark.django_db

CARD = CardDetails(number="4242-4242-4242-4242", expiry="2031-07", birth="880214", pwd_2digit="37")
CARD_VALUES = ("4242-4242-4242-4242", "4242424242424242", "4242 4242 4242 4242", "2031-07", "880214")


def test_no_card_data_on_any_admin_page_or_log(admin_client, customers, user, caplog, ledger):
    customers.on_customer("POST")
    key = services.register_card(owner=user, card=CARD, source=BillingKeyEvent.Source.WEB)
    # A stand-in that forgot to mask, and an unsigned webhook body carrying a card number.
    customers.failing[key.customer_uid] = (
        200,
        envelope(customer_annotation(key.customer_uid, card_number="4242424242424242")),
    )
    hostile = WebhookDelivery.objects.create(
        merchant_uid="pay_x", body={"card_number": "4242 4242 4242 4242"}, result="ignored"
    )
    caplog.set_level(logging.DEBUG)

    pages = [
        admin_client.get(url)
        for url in (
            KEYS_URL,
            f"{KEYS_URL}?q={user.email}",
            reverse("admin:billing_billingkey_change", args=[key.pk]),
            "/admin/billing/billingkeyevent/",
            reverse("admin:billing_billingkeyevent_change", args=[key.events.get().pk]),
            "/admin/billing/webhookdelivery/",
            reverse("admin:billing_webhookdelivery_change", args=[hostile.pk]),
        )
    ]
    pages.append(
        admin_client.post(
            KEYS_URL, {"action": "resync_from_iamport", "_selected_action": selected(key)}, follow=True
        )
    )
    pages.append(admin_client.get(reverse("admin:billing_billingkey_change", args=[key.pk])))
    pages.append(
        admin_client.post(KEYS_URL, {"action": "delete_at_iamport", "_selected_action": selected(key)})
    )

    key.refresh_from_db()
    assert key.masked_card_number == "424242******4242"
    assert "424242******4242" in pages[2].content.decode()
    for page in pages:
        text = page.content.decode()
        assert not [value for value in CARD_VALUES if value in text], page.request["PATH_INFO"]
    assert not [value for value in CARD_VALUES if value in caplog.text]
