"""Issue 11 item 2: drift the short pass never sees, found and fixed by the full pass.

Against the in-process sandbox (i'mport's multi-get, deletes and refunds as they behave), except where
a read must be held at one moment (``responses``).
"""

import datetime
import json
from io import StringIO

import pytest
import responses
from django.core.management import call_command
from django.utils import timezone

from billing import services
from billing.cards import CardDetails
from billing.iamport import get_client
from billing.models import BillingKey, BillingKeyEvent, Payment, PaymentRefund
from tests.support.iamport import CUSTOMER_PATH, customer_annotation, envelope

pytestmark = pytest.mark.django_db

API = BillingKeyEvent.Source.API
CARD = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")
Status = BillingKey.Status


def register(user) -> BillingKey:
    return services.register_card(owner=user, card=CARD, source=API)


def full(**kwargs):
    return services.reconcile(mode="full", **kwargs)


def test_a_key_deleted_at_i_mport_by_a_dead_delete_is_found_only_by_the_full_pass(sandbox, user):
    key = register(user)
    get_client().delete_billing_key(key.customer_uid)  # the delete landed; its process died before recording

    short = services.reconcile(stale_before=timezone.now())
    key.refresh_from_db()
    assert (short.checked, key.status) == (0, Status.ACTIVE)

    report = full()

    key.refresh_from_db()
    assert key.status == Status.DELETED
    assert report.changes == [f"billing key {key.customer_uid}: active -> deleted"]


def test_a_refund_whose_answer_was_lost_is_recorded_by_the_full_pass(sandbox, user):
    key = register(user)
    payment = services.charge_billing_key(billing_key=key, amount=9_000, name="May", actor=user, source=API)
    get_client().cancel_payment(merchant_uid=payment.merchant_uid, amount=4_000, reason="x", checksum=9_000)

    report = full()

    payment.refresh_from_db()
    assert (payment.status, payment.cancelled_amount) == (Payment.Status.PAID, 4_000)
    assert list(PaymentRefund.objects.values_list("amount", flat=True)) == [4_000]
    assert report.changes == [
        f"payment {payment.merchant_uid}: paid, corrected cancelled_amount, "
        "cancel_reason, cancelled_at, refunds"
    ]


def test_full_pass_reads_keys_in_batches_and_a_window(sandbox, user):
    keys = [register(user) for _ in range(3)]
    for key in keys:
        get_client().delete_billing_key(key.customer_uid)
    BillingKey.objects.filter(pk=keys[0].pk).update(updated_at=timezone.now() - datetime.timedelta(days=3))

    report = full(changed_since=timezone.now() - datetime.timedelta(hours=1), batch_size=1)

    assert report.checked == 2
    assert dict(BillingKey.objects.values_list("customer_uid", "status")) == {
        keys[0].customer_uid: Status.ACTIVE,
        keys[1].customer_uid: Status.DELETED,
        keys[2].customer_uid: Status.DELETED,
    }


def test_a_key_deleted_here_but_still_at_i_mport_is_deleted_there(sandbox, user):
    key = register(user)
    BillingKey.objects.filter(pk=key.pk).update(status=Status.DELETED)

    report = full()

    with pytest.raises(Exception, match="customer_uid"):
        get_client().get_billing_key(key.customer_uid)
    assert report.changes == [f"billing key {key.customer_uid}: deleted at i'mport too"]


def test_the_command_runs_the_full_pass(sandbox, user):
    key = register(user)
    get_client().delete_billing_key(key.customer_uid)
    out = StringIO()

    call_command("reconcile", "--full", "--changed-within", "1", "--batch-size", "10", stdout=out)

    assert f"billing key {key.customer_uid}: active -> deleted" in out.getvalue()
    assert "Reconciled (full): 1 checked, 1 changed, 0 could not be read." in out.getvalue()


# --- a pending key, and a sync racing a delete ---------------------------------------------------


def test_a_registration_in_flight_is_not_deleted_by_a_404_within_the_grace(iamport, user, settings):
    key = BillingKey.objects.create(owner=user, customer_uid="cu_in_flight")  # pending: request in flight
    iamport.on_customer("GET", status=404, body=envelope(code=1, message="존재하지 않습니다."))

    services.sync_billing_key(billing_key=key, actor=None, source=API)
    key.refresh_from_db()
    assert key.status == Status.PENDING

    settings.BILLING = {**settings.BILLING, "UNKNOWN_GRACE_SECONDS": 0}
    services.sync_billing_key(billing_key=key, actor=None, source=API)
    key.refresh_from_db()
    assert key.status == Status.FAILED  # never registered; it was never an active key to delete


def test_a_404_read_while_the_registration_completes_does_not_delete_the_new_key(iamport, user):
    """The stress suite's race, held at one moment: the sync asks while the key is pending, i'mport
    answers 404 (not made yet), and the registration records the key active before that 404 is applied."""
    key = BillingKey.objects.create(owner=user, customer_uid="cu_in_flight")  # pending

    def registration_lands_while_the_read_is_out(request):
        BillingKey.objects.filter(pk=key.pk).update(status=Status.ACTIVE)
        return (
            404,
            {"Content-Type": "application/json"},
            json.dumps(envelope(code=1, message="존재하지 않습니다.")),
        )

    iamport.mock.upsert(
        responses.CallbackResponse("GET", CUSTOMER_PATH, callback=registration_lands_while_the_read_is_out)
    )

    services.sync_billing_key(billing_key=key, actor=None, source=API)

    key.refresh_from_db()
    assert key.status == Status.ACTIVE
    assert key.synced_at is None  # nothing was mirrored from that answer


def test_the_full_pass_does_not_apply_a_404_to_a_key_that_moved_after_its_batch_was_read(iamport, user):
    key = BillingKey.objects.create(owner=user, customer_uid="cu_moving", status=Status.UNKNOWN)

    def key_registered_while_the_multi_get_is_out(request):
        BillingKey.objects.filter(pk=key.pk).update(status=Status.ACTIVE)
        return (404, {"Content-Type": "application/json"}, json.dumps(envelope(code=1, message="없음")))

    iamport.mock.upsert(
        responses.CallbackResponse(
            "GET",
            "https://api.iamport.kr/subscribe/customers",
            callback=key_registered_while_the_multi_get_is_out,
        )
    )
    BillingKey.objects.filter(pk=key.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=1)  # past the grace: a 404 would fail it
    )

    report = full()

    key.refresh_from_db()
    assert key.status == Status.ACTIVE
    assert report.changes == []


def test_a_sync_racing_a_delete_never_brings_the_key_back(iamport, user):
    key = BillingKey.objects.create(owner=user, customer_uid="cu_racing", status=Status.ACTIVE)

    def read_then_delete_lands(request):
        # i'mport answers the read while the key still exists; the delete is recorded before the answer is.
        BillingKey.objects.filter(pk=key.pk).update(status=Status.DELETED)
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps(envelope(customer_annotation("cu_racing"))),
        )

    iamport.mock.upsert(responses.CallbackResponse("GET", CUSTOMER_PATH, callback=read_then_delete_lands))

    services.sync_billing_key(billing_key=key, actor=None, source=API)

    key.refresh_from_db()
    assert key.status == Status.DELETED


# --- one record that cannot be mirrored does not stop the others ---------------------------------


def test_a_multi_get_with_an_unreadable_item_falls_back_to_one_by_one(iamport, user):
    good = BillingKey.objects.create(owner=user, customer_uid="cu_good", status=Status.UNKNOWN)
    bad = BillingKey.objects.create(owner=user, customer_uid="cu_bad", status=Status.UNKNOWN)
    iamport.mock.upsert(
        "GET",
        "https://api.iamport.kr/subscribe/customers",
        json=envelope([customer_annotation("cu_good"), {"card_name": "no id"}]),
    )
    iamport.on_customer("GET")  # one by one: each key answers for itself

    report = full()

    good.refresh_from_db()
    bad.refresh_from_db()
    assert (good.status, bad.status) == (Status.ACTIVE, Status.ACTIVE)
    assert report.checked == 2


# --- compare_with_iamport: the audit that changes nothing ------------------------------------------


def charged_and_refunded(user) -> tuple[BillingKey, Payment]:
    key = register(user)
    payment = services.charge_billing_key(billing_key=key, amount=9_000, name="May", actor=user, source=API)
    services.refund_payment(payment=payment, amount=4_000, reason="partial", actor=user, source=API)
    return key, payment


def test_records_made_through_the_services_equal_i_mports(sandbox, user):
    charged_and_refunded(user)
    Payment.objects.create(  # failed before reaching i'mport: nothing there, nothing to report
        merchant_uid="pay_never_sent",
        billing_key=BillingKey.objects.get(),
        owner=user,
        amount=1,
        name="x",
        status=Payment.Status.FAILED,
    )

    BillingKey.objects.create(owner=user, customer_uid="cu_never_registered", status=Status.FAILED)

    assert services.compare_with_iamport() == []


def test_the_audit_names_each_field_that_differs_and_changes_nothing(sandbox, user):
    key, payment = charged_and_refunded(user)
    BillingKey.objects.filter(pk=key.pk).update(card_name="신한카드")
    Payment.objects.filter(pk=payment.pk).update(cancelled_amount=0, receipt_url="")
    PaymentRefund.objects.all().delete()
    masked = key.masked_card_number

    differences = services.compare_with_iamport(batch_size=1)

    card_name = get_client().get_billing_key(key.customer_uid).card_name
    at_iamport = get_client().find_payment(payment.merchant_uid)
    assert differences == [
        f"billing key {key.customer_uid}: card_name is '신한카드' here, {card_name!r} at i'mport",
        f"payment {payment.merchant_uid}: cancelled_amount is 0 here, 4000 at i'mport",
        f"payment {payment.merchant_uid}: receipt_url is '' here, '{at_iamport.receipt_url}' at i'mport",
        f"payment {payment.merchant_uid}: refunds differ (0 here, 1 at i'mport)",
    ]
    key.refresh_from_db()
    assert (key.card_name, key.masked_card_number) == ("신한카드", masked)  # read-only
    assert PaymentRefund.objects.count() == 0


def test_the_audit_reports_records_one_side_lacks(sandbox, user):
    gone = register(user)
    get_client().delete_billing_key(gone.customer_uid)
    refused_here = register(user)
    BillingKey.objects.filter(pk=refused_here.pk).update(status=Status.FAILED)
    Payment.objects.create(
        merchant_uid="pay_sent_not_there", billing_key=refused_here, owner=user, amount=1, name="x"
    )

    differences = services.compare_with_iamport()

    assert differences == [
        f"billing key {gone.customer_uid}: status is active here, i'mport has no such key",
        f"billing key {refused_here.customer_uid}: status is failed here, the key is registered at i'mport",
        "payment pay_sent_not_there: status is ready here, i'mport has no such payment",
    ]


def test_the_audit_compares_refunds_by_content_not_count(sandbox, user):
    _, payment = charged_and_refunded(user)
    PaymentRefund.objects.update(amount=3_999)

    assert services.compare_with_iamport() == [
        f"payment {payment.merchant_uid}: refunds differ (1 here, 1 at i'mport)"
    ]


def test_a_failed_payment_i_mport_gave_an_imp_uid_but_no_longer_has_is_reported(sandbox, user):
    key = register(user)
    Payment.objects.create(
        merchant_uid="pay_declined_vanished",
        imp_uid="imp_vanished",
        billing_key=key,
        owner=user,
        amount=1,
        name="x",
        status=Payment.Status.FAILED,
    )

    assert services.compare_with_iamport() == [
        "payment pay_declined_vanished: status is failed here, i'mport has no such payment"
    ]


def test_the_full_pass_mirrors_a_key_i_mport_has_and_reports_it(sandbox, user):
    key = register(user)  # made at i'mport; here its registration timed out and the card name is not known
    BillingKey.objects.filter(pk=key.pk).update(status=Status.UNKNOWN, card_name="", masked_card_number="")

    report = full()

    key.refresh_from_db()
    answer = get_client().get_billing_key(key.customer_uid)
    assert (key.status, key.card_name) == (Status.ACTIVE, answer.card_name)
    assert key.masked_card_number.endswith(answer.card_number[-4:])
    assert report.changes == [f"billing key {key.customer_uid}: unknown -> active"]
    assert key.events.filter(action=BillingKeyEvent.Action.SYNC).count() == 1


def test_a_multi_get_that_fails_for_one_batch_does_not_stop_the_next_batches(iamport, user):
    first = BillingKey.objects.create(owner=user, customer_uid="cu_first", status=Status.UNKNOWN)
    second = BillingKey.objects.create(owner=user, customer_uid="cu_second", status=Status.UNKNOWN)
    multi_gets = []

    def multi_get(request):
        multi_gets.append(request.url)
        if len(multi_gets) == 1:
            return (503, {"Content-Type": "application/json"}, json.dumps(envelope(code=-1, message="busy")))
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps(envelope([customer_annotation("cu_second")])),
        )

    iamport.mock.upsert(
        responses.CallbackResponse("GET", "https://api.iamport.kr/subscribe/customers", callback=multi_get)
    )
    iamport.on_customer("GET")  # the first batch, read key by key

    report = full(batch_size=1)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Status.ACTIVE, Status.ACTIVE)
    assert report.checked == 2
