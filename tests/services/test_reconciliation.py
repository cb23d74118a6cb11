"""``services.reconcile``: every unknown record re-read; one that cannot be read is kept for the next pass.

(The command that runs it is tested in ``tests/management/test_reconcile.py``.)
"""

import json
import re
from http import HTTPStatus

import pytest
import responses
from django.utils import timezone

from billing import services
from billing.models import BillingKey, BillingKeyEvent, Payment
from tests.support.iamport import CUSTOMER_PATH, IamportMock, customer_annotation, envelope

pytestmark = pytest.mark.django_db

UNREADABLE_KEYS = {"cu_down_1", "cu_down_2"}


@pytest.fixture
def customers(iamport):
    """Billing keys answered per customer_uid: those in UNREADABLE_KEYS answer 503."""

    def answer(request):
        uid = request.path_url.split("?")[0].rsplit("/", 1)[-1]
        if uid in UNREADABLE_KEYS:
            return HTTPStatus.SERVICE_UNAVAILABLE, {}, json.dumps(envelope(code=-1, message="down"))
        return HTTPStatus.OK, {}, json.dumps(envelope(customer_annotation(uid)))

    iamport.mock.upsert(responses.CallbackResponse("GET", CUSTOMER_PATH, callback=answer))


def unknown_payment(key, merchant_uid):
    return Payment.objects.create(
        merchant_uid=merchant_uid, billing_key=key, owner=key.owner, amount=5_000, name="x", status="unknown"
    )


def test_every_record_is_checked_and_an_unreadable_one_does_not_stop_the_pass(
    active_key, iamport, ledger, customers, user, merchant
):
    for uid in ("cu_down_1", "cu_down_2", "cu_back"):
        BillingKey.objects.create(owner=user, customer_uid=uid, status=BillingKey.Status.UNKNOWN)
    ledger.add_paid("pay_back", 5_000)
    for merchant_uid in ("pay_down_1", "pay_down_2", "pay_back"):
        unknown_payment(active_key, merchant_uid)
    find = re.compile(IamportMock.base_url + r"/payments/find/[\w-]+$")

    def find_or_fail(request):
        if "/pay_down_" in request.path_url:
            return HTTPStatus.SERVICE_UNAVAILABLE, {}, json.dumps(envelope(code=-1, message="down"))
        return ledger._find(request)

    iamport.mock.upsert(responses.CallbackResponse("GET", find, callback=find_or_fail))

    report = services.reconcile(
        stale_before=timezone.now(), actor=merchant, source=BillingKeyEvent.Source.ADMIN
    )

    assert report.checked == 6
    assert sorted(line.split(":")[0] for line in report.unreadable) == [
        "billing key cu_down_1",
        "billing key cu_down_2",
        "payment pay_down_1",
        "payment pay_down_2",
    ]
    assert all("i'mport unreadable (IamportUnavailable" in line for line in report.unreadable)
    assert report.changes == ["billing key cu_back: unknown -> active", "payment pay_back: unknown -> paid"]
    assert BillingKey.objects.get(customer_uid="cu_down_1").status == BillingKey.Status.UNKNOWN
    assert Payment.objects.get(merchant_uid="pay_down_2").status == Payment.Status.UNKNOWN
    events = BillingKeyEvent.objects.filter(action=BillingKeyEvent.Action.SYNC)
    assert events.count() == 6
    assert set(events.values_list("actor", "source")) == {(merchant.pk, BillingKeyEvent.Source.ADMIN)}
