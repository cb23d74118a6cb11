"""Races of our own code on PostgreSQL: threads released together by a barrier, i'mport held by a gate.

Each test asserts how many calls reached i'mport and the rows left behind. PostgreSQL only (CI's second
pass): SQLite serialises whole-database writes, so it cannot show the races these guards are for.
"""

import threading
import time

import pytest
from django.db import connection, transaction

from billing import services
from billing.models import BillingKeyEvent, Payment, PaymentRefund, WebhookDelivery
from billing.services.errors import PaymentError
from tests.support.ledger import READ_TIMEOUT
from tests.support.threads import Together

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="races on PostgreSQL: CI's second pass"),
]

API = BillingKeyEvent.Source.API


def test_a_refund_pair_refunds_once(paid_payment, ledger):
    """The same refund sent twice at once (a double click): i'mport's checksum lets only one through."""
    gate = ledger.hold("cancel")

    def refund():
        payment = Payment.objects.select_related("billing_key").get(pk=paid_payment.pk)
        return services.refund_payment(payment=payment, amount=4_000, reason="twice", actor=None, source=API)

    pair = Together(refund, refund).start()
    assert gate.wait_for(2), "both refunds should reach i'mport"
    gate.release()
    results = pair.join()

    assert sorted(type(r).__name__ for r in results) == ["Payment", "PaymentError"]
    refused = next(r for r in results if isinstance(r, PaymentError))
    assert refused.refused
    assert ledger.payments["pay_paid_1"]["cancel_amount"] == 4_000
    payment = Payment.objects.get(pk=paid_payment.pk)
    assert (payment.status, payment.cancelled_amount) == (Payment.Status.PAID, 4_000)
    assert PaymentRefund.objects.filter(payment=payment).count() == 1


def test_a_notification_while_the_charge_times_out_leaves_it_paid(active_key, ledger):
    """i'mport records the charge, its answer is lost; the notification lands before the timeout is seen."""
    recorded, notified = threading.Event(), threading.Event()

    def answer_lost():  # in the charging thread, after i'mport recorded the charge
        recorded.set()
        assert notified.wait(60), "the notification never finished"

    ledger.fault("again", exc=READ_TIMEOUT, after=True, then=answer_lost)
    ledger.fault("find", exc=READ_TIMEOUT, times=2)  # the charge's own re-read fails: only the webhook knows

    def charge():
        return services.charge_billing_key(
            billing_key=active_key, amount=5_000, name="May", actor=active_key.owner, source=API
        )

    def notification():
        try:
            assert recorded.wait(60), "the charge never reached i'mport"
            ((merchant_uid, at_iamport),) = ledger.payments.items()
            return services.handle_payment_notification(
                imp_uid=at_iamport["imp_uid"],
                merchant_uid=merchant_uid,
                claimed={"status": "paid"},
                source_ip="52.78.100.19",
            )
        finally:
            notified.set()

    charged, delivery = Together(charge, notification).start().join()

    assert not isinstance(delivery, BaseException), delivery
    assert delivery.result == WebhookDelivery.Result.PROCESSED
    assert isinstance(charged, Payment), charged  # settled by the notification: no error for the caller
    assert ledger.calls("POST", "/subscribe/payments/again") == 1
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.PAID
    assert payment.imp_uid == ledger.payments[payment.merchant_uid]["imp_uid"]


def wait_for_a_lock_wait(timeout: float = 30) -> bool:
    """True once another session waits for a row lock (bounded poll of pg_stat_activity)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # Inside a transaction pg_stat_activity is a snapshot taken once: drop it before each look.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND pid <> pg_backend_pid() AND datname = current_database()"
            )
            if cursor.fetchone()[0]:
                return True
    return False


def test_a_re_read_waits_for_a_newer_answer_being_written_and_never_undoes_it(paid_payment, ledger):
    """mirror_payment starts from the row as locked: an older answer read meanwhile cannot win."""
    with transaction.atomic():
        # A notification is writing the refund it read (newer than what i'mport will answer the sync).
        Payment.objects.select_for_update().filter(pk=paid_payment.pk).update(
            status=Payment.Status.CANCELLED, cancelled_amount=10_000
        )
        sync = Together(
            lambda: services.sync_payment(payment=Payment.objects.get(pk=paid_payment.pk), source=API)
        )
        sync.start()
        assert wait_for_a_lock_wait(), "the re-read should wait for the row being written"
    (result,) = sync.join()

    assert isinstance(result, Payment), result
    payment = Payment.objects.get(pk=paid_payment.pk)
    assert (payment.status, payment.cancelled_amount) == (Payment.Status.CANCELLED, 10_000)
