"""The payments admin's refund action: a confirmation with a required reason, one outcome per payment."""

from http import HTTPStatus

import pytest

from billing.models import Payment
from tests.admin.conftest import PAYMENTS_URL, messages_of, selected
from tests.support.iamport import envelope

pytestmark = pytest.mark.django_db


def refund(client, payments, **extra):
    data = {"action": "refund", "_selected_action": selected(*payments), **extra}
    return client.post(PAYMENTS_URL, data, follow=True)


def test_support_group_cannot_refund(support_client, ledger, make_payment):
    payment = make_payment()

    form = support_client.get(PAYMENTS_URL).context["action_form"]
    response = refund(support_client, [payment], confirmed="yes", reason="asked")

    assert form is None
    assert response.status_code == HTTPStatus.OK
    assert ledger.calls("POST", "/payments/cancel") == 0
    payment.refresh_from_db()
    assert (payment.status, payment.cancelled_amount) == (Payment.Status.PAID, 0)


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_refund_asks_for_confirmation_and_a_reason(refunder_client, ledger, make_payment, reason):
    payments = [make_payment(), make_payment(amount=5_000)]
    extra = {} if reason is None else {"confirmed": "yes", "reason": reason}

    response = refund(refunder_client, payments, **extra)

    assert response.status_code == HTTPStatus.OK
    assert response.templates[0].name == "admin/billing/payment/refund_confirmation.html"
    page = response.content.decode()
    assert all(p.merchant_uid in page for p in payments)
    assert ("This field is required." in page) == (reason is not None)
    assert ledger.calls("POST", "/payments/cancel") == 0


def test_refund_each_payment_and_continue_after_a_failure(
    refunder_client, support_user, ledger, make_payment
):
    refused, refunded, unpaid = make_payment(), make_payment(amount=7_000), make_payment(status="failed")
    ledger.fault("cancel", body=envelope(code=1, message="취소 실패 (refused)"))

    response = refund(refunder_client, [refused, refunded, unpaid], confirmed="yes", reason="double order")

    notes = messages_of(response)
    assert f"{refunded.merchant_uid} refunded: 7000 won refunded in total, status cancelled." in notes
    assert any(n.startswith(f"{refused.merchant_uid} could not be refunded: IamportRefused") for n in notes)
    assert any(n.startswith(f"{unpaid.merchant_uid} not refunded: Only a paid payment") for n in notes)
    refunded.refresh_from_db()
    assert (refunded.status, refunded.cancelled_amount, refunded.cancel_reason) == (
        Payment.Status.CANCELLED,
        7_000,
        "double order",
    )
    assert refunded.refunds.get().amount == 7_000
    event = refunded.billing_key.events.get(action="refund")
    assert (event.actor, event.source, event.outcome) == (support_user, "admin", "succeeded")
    refused.refresh_from_db()
    assert refused.status == Payment.Status.PAID
