"""One card, a sentinel, through every flow; then no trace of it anywhere the site keeps or writes things.

i'mport (faked) answers with the card number *unmasked*, as a misbehaving upstream might. The flows:
the card page, the API (register, register-and-pay), a registration that times out and is resolved by
reading, a webhook, the admin's pages. Then a scan of every table, the cache, every answer, and the
output of the handlers that settings.LOGGING configures.
"""

import json
import logging
from http import HTTPStatus

import pytest
import requests
from django.apps import apps
from django.test import Client
from django.urls import reverse

from billing.models import BillingKey, Payment
from tests.support import traces
from tests.support.cards import forms_of
from tests.support.iamport import CUSTOMER_PATH, customer_annotation, envelope

pytestmark = pytest.mark.django_db

NUMBER = "4000-0566-5566-5556"  # Luhn-valid, used nowhere else in the suite
EXPIRY, BIRTH = "2031-07", "880214"
CARD = {"card_number": NUMBER, "expiry": EXPIRY, "birth": BIRTH, "pwd_2digit": "37"}
SENTINELS = (*forms_of(NUMBER), EXPIRY, BIRTH, "2031/07", "203107")
UNMASKED = forms_of(NUMBER)[1]


class UnmaskedCustomers:
    """i'mport's billing keys, answering with the card number unmasked; the first issue may time out."""

    def __init__(self, iamport):
        self.time_out_next_issue = False
        for method in ("POST", "GET", "DELETE"):
            iamport.mock.upsert(responses_callback(method, self.answer))

    def answer(self, request):
        if request.method == "POST" and self.time_out_next_issue:
            self.time_out_next_issue = False
            return requests.ReadTimeout("read timed out")
        uid = request.path_url.split("?")[0].rsplit("/", 1)[-1]
        return HTTPStatus.OK, {}, json.dumps(envelope(customer_annotation(uid, card_number=UNMASKED)))


def responses_callback(method, callback):
    import responses

    return responses.CallbackResponse(method, CUSTOMER_PATH, callback=callback)


@pytest.fixture
def handler_output():
    """What the handlers settings.LOGGING configures write during the test, down to DEBUG lines."""
    with traces.handler_output(logging.DEBUG) as stream:
        yield stream


def test_a_sentinel_card_leaves_no_trace(
    iamport, ledger, user, customer_client, token_client, django_user_model, settings, handler_output
):
    customers = UnmaskedCustomers(iamport)
    ledger.card_number = UNMASKED
    settings.BILLING = {**settings.BILLING, "WEBHOOK_ALLOWED_IPS": ["52.78.100.19"]}
    answers: list[str] = []

    # The card page.
    page = customer_client.post(reverse("billing:card-new"), CARD, follow=True)
    assert page.status_code == HTTPStatus.OK
    answers.append(page.content.decode())
    # The API: register; register and pay.
    keys = reverse("billing_api:billing-key-list")
    registered = token_client.post(keys, CARD, format="json")
    assert registered.status_code == HTTPStatus.CREATED, registered.content
    paid = token_client.post(keys, {**CARD, "pay_now": True}, format="json")
    assert paid.status_code == HTTPStatus.CREATED, paid.content
    answers += [registered.content.decode(), paid.content.decode()]
    # A registration that times out, resolved by reading i'mport.
    customers.time_out_next_issue = True
    timed_out = token_client.post(keys, CARD, format="json")
    answers.append(timed_out.content.decode())
    assert BillingKey.objects.filter(owner=user).count() == 4
    # A webhook for the payment.
    payment = Payment.objects.get()
    at_iamport = ledger.payments[payment.merchant_uid]
    hook = Client().post(
        "/billing/webhooks/iamport/",
        json.dumps(
            {"imp_uid": at_iamport["imp_uid"], "merchant_uid": payment.merchant_uid, "status": "paid"}
        ),
        content_type="application/json",
        REMOTE_ADDR="52.78.100.19",
    )
    assert hook.status_code == HTTPStatus.OK
    # The admin's pages of everything recorded.
    staff = Client()
    staff.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pw-Root-12345"))
    for model in ("billingkey", "payment", "billingkeyevent", "webhookdelivery"):
        changelist = staff.get(reverse(f"admin:billing_{model}_changelist"))
        assert changelist.status_code == HTTPStatus.OK
        answers.append(changelist.content.decode())
        for pk in apps.get_model("billing", model).objects.values_list("pk", flat=True):
            answers.append(staff.get(reverse(f"admin:billing_{model}_change", args=[pk])).content.decode())
    # And a page that lists the customer's cards.
    answers.append(customer_client.get(reverse("billing:card-list")).content.decode())

    places = {
        "tables": traces.table_contents(),
        "cache": traces.cache_contents(),
        "answers": "\n".join(answers),
        "log handlers": handler_output.getvalue(),
    }
    traces.assert_no_trace(places, SENTINELS)
    # The scan saw the flows' records: the masked number is there, so were the rows.
    assert "400005******5556" in places["tables"] or "4000-05**-****-5556" in places["tables"], places[
        "tables"
    ][:500]
