"""Hostile webhook bodies: malformed ids never reach i'mport or a query; NUL or lone surrogates are a 400."""

import json
from http import HTTPStatus

import pytest

from billing.models import Payment, WebhookDelivery
from tests.test_webhooks import URL, deliver, unknown_payment  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def iamport_reads(iamport) -> list[str]:
    return [c.request.url for c in iamport.mock.calls if "/users/getToken" not in c.request.url]


@pytest.mark.parametrize(
    "body",
    [
        {"imp_uid": "../subscribe/customers/cu_1", "merchant_uid": "pay_timed_out"},
        {"imp_uid": "imp_1/../../subscribe/customers/cu_1", "merchant_uid": "pay_timed_out"},
        {"imp_uid": "imp_1?x=1", "merchant_uid": "pay_timed_out"},
        {"imp_uid": "imp_１２", "merchant_uid": "pay_timed_out"},
        {"imp_uid": "imp_1", "merchant_uid": "pay_timed_out/../x"},
        {"imp_uid": "imp_1", "merchant_uid": "x" * 41},
        {"imp_uid": "imp_1", "merchant_uid": "' OR 1=1 --"},
    ],
)
def test_a_malformed_id_is_rejected_before_any_call(client, unknown_payment, ledger, iamport, body):  # noqa: F811
    before = iamport_reads(iamport)

    response = deliver(client, {**body, "status": "paid"})

    assert (response.status_code, response.json()["result"]) == (HTTPStatus.BAD_REQUEST, "rejected")
    assert iamport_reads(iamport) == before
    delivery = WebhookDelivery.objects.get()
    assert delivery.result == WebhookDelivery.Result.REJECTED
    unknown_payment.refresh_from_db()
    assert unknown_payment.status == Payment.Status.UNKNOWN


@pytest.mark.parametrize(
    "raw",
    [
        '{"imp_uid": "imp_1", "merchant_uid": "pay_timed_out", "status": "paid\\u0000"}',
        '{"imp_uid": "imp_1\\u0000", "merchant_uid": "pay_timed_out"}',
        '{"imp_uid": "imp_1", "merchant_uid": "pay_timed_out", "status": "\\ud800"}',
        '{"imp_uid": "imp_1", "merchant_uid": "pay_timed_out", "amount": "\\udfff\\ud800"}',
    ],
)
def test_nul_or_lone_surrogates_in_a_json_body_are_a_400(client, unknown_payment, iamport, raw):  # noqa: F811
    before = iamport_reads(iamport)

    response = client.post(URL, raw, content_type="application/json")

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert iamport_reads(iamport) == before
    assert WebhookDelivery.objects.get().result == WebhookDelivery.Result.REJECTED


def test_nul_in_a_form_body_is_a_400(client, unknown_payment, iamport):  # noqa: F811
    response = client.post(URL, {"imp_uid": "imp_1", "merchant_uid": "pay_timed_out", "status": "paid\x00"})

    assert response.status_code == HTTPStatus.BAD_REQUEST


def test_a_well_formed_sandbox_imp_uid_is_still_read(client, unknown_payment, ledger):  # noqa: F811
    body = {"imp_uid": ledger.payments["pay_timed_out"]["imp_uid"], "merchant_uid": "pay_timed_out"}

    response = deliver(client, {**body, "status": "paid"})

    assert response.status_code == HTTPStatus.OK
    assert json.loads(response.content)["result"] == "processed"
