"""The branches of the charge path that guard money, each with a test that fails without it.

Beside ``test_payments.py``: a merchant_uid reused on another customer's key, a notification that
settles a payment while its charge times out, a card number i'mport answers unmasked.
"""

import datetime
import json
import logging

import pytest
from django.utils import timezone

from billing import services, signals
from billing.cards import CardDetails
from billing.models import BillingKey, BillingKeyEvent, Payment
from tests.support.cards import CARD_VALUES, DECLINING_CARD
from tests.support.iamport import envelope
from tests.support.ledger import READ_TIMEOUT

pytestmark = pytest.mark.django_db

API = BillingKeyEvent.Source.API
UNMASKED = "4242424242424242"


def charge(key, amount=5_000, name="May", **kwargs):
    return services.charge_billing_key(
        billing_key=key, amount=amount, name=name, actor=key.owner, source=API, **kwargs
    )


def test_a_merchant_uid_reused_on_another_customers_key_is_a_conflict_not_their_payment(
    active_key, ledger, other_user
):
    theirs = charge(active_key, merchant_uid="pay_shared_0001")
    ledger.customers.add("cu_other")
    mine = BillingKey.objects.create(
        owner=other_user, customer_uid="cu_other", status=BillingKey.Status.ACTIVE
    )

    with pytest.raises(services.PaymentConflict) as raised:
        charge(mine, merchant_uid="pay_shared_0001")

    assert "another charge" in raised.value.message
    assert list(ledger.payments) == ["pay_shared_0001"]  # nothing more sent to i'mport
    assert Payment.objects.get().billing_key == active_key
    assert Payment.objects.filter(owner=other_user).count() == 0
    theirs.refresh_from_db()
    assert theirs.owner == active_key.owner


@pytest.mark.parametrize(
    ("change", "value"), [("amount", 5_001), ("name", "June")], ids=["another amount", "another name"]
)
def test_a_merchant_uid_reused_for_another_amount_or_name_is_a_conflict(active_key, ledger, change, value):
    charge(active_key, merchant_uid="pay_shared_0002")

    with pytest.raises(services.PaymentConflict):
        charge(active_key, merchant_uid="pay_shared_0002", **{change: value})

    assert list(ledger.payments) == ["pay_shared_0002"]


def test_a_notification_that_settled_the_payment_during_its_timeout_is_not_undone(active_key, ledger):
    """The "still READY" update: the timeout may only turn a payment that is still waiting into unknown."""

    def notification_lands():
        # What the webhook's service wrote while our charge was waiting for its answer.
        at_iamport = next(iter(ledger.payments.values()))
        Payment.objects.filter(merchant_uid=at_iamport["merchant_uid"]).update(
            status=Payment.Status.PAID, imp_uid=at_iamport["imp_uid"]
        )

    ledger.fault("again", exc=READ_TIMEOUT, after=True, then=notification_lands)
    ledger.fault("get", exc=READ_TIMEOUT, times=2)  # and i'mport cannot be read to settle it again

    payment = charge(active_key)

    assert payment.status == Payment.Status.PAID
    assert Payment.objects.get().status == Payment.Status.PAID
    assert ledger.calls("POST", "/subscribe/payments/again") == 1


def test_a_timeout_with_no_notification_leaves_unknown_and_raises(active_key, ledger):
    ledger.fault("again", exc=READ_TIMEOUT, after=True)
    ledger.fault("find", exc=READ_TIMEOUT, times=2)

    with pytest.raises(services.PaymentError) as raised:
        charge(active_key)

    assert raised.value.outcome_unknown
    assert Payment.objects.get().status == Payment.Status.UNKNOWN


def stored_anywhere(value: str) -> list[str]:
    found = []
    for model in (Payment, BillingKey, BillingKeyEvent):
        for row in model.objects.values():
            if any(value in str(field) for field in row.values()):
                found.append(f"{model.__name__} {row['id']}")
    return found


def test_a_charge_answer_with_the_card_number_unmasked_is_stored_masked(active_key, ledger):
    ledger.card_number = UNMASKED

    payment = charge(active_key)

    payment.refresh_from_db()
    assert payment.iamport_data["card_number"] == "424242******4242"
    assert stored_anywhere(UNMASKED) == []


def test_a_register_and_pay_answer_with_the_card_number_unmasked_is_stored_masked(user, ledger):
    ledger.card_number = UNMASKED
    card = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")

    key, payment = services.register_card_and_pay(owner=user, card=card, source=API)

    key.refresh_from_db()
    payment.refresh_from_db()
    assert key.masked_card_number == "424242******4242"
    assert payment.iamport_data["card_number"] == "424242******4242"
    for value in CARD_VALUES:
        assert stored_anywhere(value) == [], value


# --- i'mport has no trace of a payment -------------------------------------------------------------
def lost_payment(key, *, status, age_seconds):
    payment = Payment.objects.create(
        merchant_uid="pay_lost", billing_key=key, owner=key.owner, amount=1, name="x", status=status
    )
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - datetime.timedelta(seconds=age_seconds)
    )
    payment.refresh_from_db()
    return payment


def test_an_unknown_payment_i_mport_never_saw_is_failed_with_its_time_after_the_grace(
    active_key, ledger, settings
):
    payment = lost_payment(
        active_key, status="unknown", age_seconds=settings.BILLING["UNKNOWN_GRACE_SECONDS"] + 5
    )

    services.sync_payment(payment=payment, source=API)

    payment.refresh_from_db()
    assert payment.status == Payment.Status.FAILED
    assert payment.fail_reason == "i'mport never received this charge; nothing was charged."
    assert payment.failed_at is not None and payment.synced_at is not None
    assert ledger.calls("GET", "/payments/find/pay_lost") == 1


@pytest.mark.parametrize("status", ["unknown", "ready"])
def test_within_the_grace_a_payment_i_mport_has_no_trace_of_stays_as_it_is(
    active_key, ledger, settings, status
):
    payment = lost_payment(
        active_key, status=status, age_seconds=settings.BILLING["UNKNOWN_GRACE_SECONDS"] - 30
    )

    services.sync_payment(payment=payment, source=API)

    payment.refresh_from_db()
    assert (payment.status, payment.failed_at, payment.synced_at) == (status, None, None)


def test_a_paid_payment_i_mport_has_no_trace_of_stays_paid_and_is_reported(active_key, ledger, caplog):
    payment = lost_payment(active_key, status="paid", age_seconds=10_000)

    with caplog.at_level(logging.ERROR, logger="billing.services.payments"):
        services.sync_payment(payment=payment, source=API)

    payment.refresh_from_db()
    assert (payment.status, payment.failed_at) == ("paid", None)
    assert "i'mport has no payment pay_lost that we recorded as paid" in caplog.messages


# --- a declined first payment: did i'mport keep the key? -----------------------------------------
def test_after_a_declined_first_payment_the_key_itself_is_read(user, ledger, iamport):
    card = CardDetails(number=DECLINING_CARD, expiry="2030-12", birth="900101", pwd_2digit="12")

    key, _ = services.register_card_and_pay(owner=user, card=card, source=API)

    reads = iamport.calls_to("GET", "/subscribe/customers/")
    assert [c.request.path_url for c in reads] == [f"/subscribe/customers/{key.customer_uid}"]
    key.refresh_from_db()
    assert key.status == BillingKey.Status.ACTIVE
    sync = key.events.get(action=BillingKeyEvent.Action.SYNC)
    assert (sync.outcome, sync.source) == (BillingKeyEvent.Outcome.SUCCEEDED, API)


def test_a_key_i_mport_did_not_keep_after_the_decline_is_failed_with_the_reason(user, ledger, iamport):
    iamport.on_customer("GET", status=404, body=envelope(code=1, message="존재하지 않습니다."))
    card = CardDetails(number=DECLINING_CARD, expiry="2030-12", birth="900101", pwd_2digit="12")

    key, _ = services.register_card_and_pay(owner=user, card=card, source=API)

    key.refresh_from_db()
    assert key.status == BillingKey.Status.FAILED
    assert key.last_error_message == "The first payment was declined; i'mport did not keep the card."
    sync = key.events.get(action=BillingKeyEvent.Action.SYNC)
    assert sync.outcome == BillingKeyEvent.Outcome.SUCCEEDED  # a clear answer: the key is gone
    assert (sync.iamport_code, sync.iamport_message) == (1, "존재하지 않습니다.")


def test_a_key_unreadable_after_the_decline_is_unknown(user, ledger, iamport):
    iamport.on_customer("GET", status=503, body=envelope(code=-1, message="maintenance"))
    card = CardDetails(number=DECLINING_CARD, expiry="2030-12", birth="900101", pwd_2digit="12")

    key, _ = services.register_card_and_pay(owner=user, card=card, source=API)

    key.refresh_from_db()
    assert key.status == BillingKey.Status.UNKNOWN
    assert key.events.get(action=BillingKeyEvent.Action.SYNC).outcome == BillingKeyEvent.Outcome.UNAVAILABLE


def test_register_and_pay_mirrors_the_key_from_the_payment_answer(user, ledger):
    card = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")

    key, _ = services.register_card_and_pay(owner=user, card=card, source=API)

    key.refresh_from_db()
    described = (
        key.status,
        key.pg_provider,
        key.card_name,
        key.card_code,
        key.card_type,
        key.masked_card_number,
    )
    assert described == (
        "active",
        "nice",
        "국민KB카드",
        "381",
        BillingKey.CardType.CREDIT,
        "424242******4242",
    )
    assert (key.last_error_code, key.last_error_message) == (None, "")
    assert key.synced_at is not None


@pytest.mark.parametrize("card_type", [2, -1, "1", True, None], ids=["2", "-1", "string", "bool", "none"])
def test_register_and_pay_keeps_no_card_type_i_mport_did_not_say_clearly(user, ledger, card_type):
    ledger.card_type = card_type
    card = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")

    key, _ = services.register_card_and_pay(owner=user, card=card, source=API)

    key.refresh_from_db()
    assert (key.status, key.card_type) == (BillingKey.Status.ACTIVE, None)


def test_register_and_pay_keeps_a_check_card_as_such(user, ledger):
    ledger.card_type = 1
    card = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")

    key, _ = services.register_card_and_pay(owner=user, card=card, source=API)

    key.refresh_from_db()
    assert key.card_type == BillingKey.CardType.CHECK


def test_register_and_pay_sends_the_merchants_plan_and_records_who_asked(user, ledger, iamport, settings):
    settings.BILLING = {**settings.BILLING, "FIRST_PAYMENT_AMOUNT": 12_300, "FIRST_PAYMENT_NAME": "Plan A"}
    settings.BILLING = {**settings.BILLING, "PG": "nice.nictest04m"}
    settings.BILLING = {**settings.BILLING, "NOTICE_URL": "https://shop.example/billing/webhooks/iamport/"}
    card = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")

    key, payment = services.register_card_and_pay(owner=user, card=card, source=API)

    (call,) = iamport.calls_to("POST", "/subscribe/payments/onetime")
    sent = json.loads(call.request.body)
    assert (sent["amount"], sent["name"], sent["pg"]) == (12_300, "Plan A", "nice.nictest04m")
    assert (sent["merchant_uid"], sent["customer_uid"]) == (payment.merchant_uid, key.customer_uid)
    assert sent["notice_url"] == "https://shop.example/billing/webhooks/iamport/"
    assert (payment.amount, payment.name) == (12_300, "Plan A")
    event = key.events.get(action=BillingKeyEvent.Action.ISSUE_AND_PAY)
    assert (event.actor, event.source) == (user, API)


def test_a_conflicting_reuse_names_the_earlier_payment(active_key, ledger):
    earlier = charge(active_key, merchant_uid="pay_shared_0003")

    with pytest.raises(services.PaymentConflict) as raised:
        charge(active_key, merchant_uid="pay_shared_0003", amount=1)

    assert raised.value.payment == earlier
    assert raised.value.message == "This merchant_uid was used for another charge."


# --- refunds: the boundaries --------------------------------------------------------------------
def refund(payment, amount):
    return services.refund_payment(payment=payment, amount=amount, reason="r", actor=None, source=API)


@pytest.mark.parametrize("amount", [1, 10_000], ids=["one won", "exactly what is left"])
def test_a_refund_of_one_won_or_of_exactly_what_is_left_goes_through(paid_payment, ledger, amount):
    payment = refund(paid_payment, amount)

    assert payment.cancelled_amount == amount
    assert ledger.payments["pay_paid_1"]["cancel_amount"] == amount


@pytest.mark.parametrize("amount", [0, -5, True, 1.5, "100"])
def test_a_refund_amount_that_is_not_positive_whole_won_is_refused_on_its_field(paid_payment, ledger, amount):
    with pytest.raises(services.RefundNotAllowed) as raised:
        refund(paid_payment, amount)

    assert (raised.value.field, raised.value.message) == (
        "amount",
        "The amount must be a positive whole number of won.",
    )
    assert ledger.calls("POST", "/payments/cancel") == 0


def test_a_refund_over_what_is_left_is_refused_on_its_field(paid_payment, ledger):
    with pytest.raises(services.RefundNotAllowed) as raised:
        refund(paid_payment, 10_001)

    assert (raised.value.field, raised.value.message) == ("amount", "At most 10000 won is left to refund.")
    assert ledger.calls("POST", "/payments/cancel") == 0


# --- the audit trail names who asked, on every call a service makes for them ----------------------


def actors_of_events() -> set:
    return set(BillingKeyEvent.objects.values_list("actor_id", flat=True))


def test_a_charge_that_timed_out_and_was_read_again_names_the_merchant_on_both_events(
    active_key, ledger, merchant
):
    ledger.fault("again", exc=READ_TIMEOUT, after=True)
    BillingKeyEvent.objects.all().delete()

    payment = services.charge_billing_key(
        billing_key=active_key, amount=5_000, name="May", actor=merchant, source=API
    )

    assert payment.status == Payment.Status.PAID  # settled by the re-read
    actions = set(BillingKeyEvent.objects.values_list("action", flat=True))
    assert actions == {BillingKeyEvent.Action.CHARGE, BillingKeyEvent.Action.SYNC}
    assert actors_of_events() == {merchant.pk}


def test_a_retry_that_resumes_an_unknown_charge_names_who_retried_on_its_read(active_key, ledger, merchant):
    ledger.fault("again", exc=READ_TIMEOUT, after=True)
    ledger.fault("find", exc=READ_TIMEOUT, times=2)
    with pytest.raises(services.PaymentError):
        charge(active_key, merchant_uid="pay_resumed_0001")
    BillingKeyEvent.objects.all().delete()

    services.charge_billing_key(
        billing_key=active_key,
        amount=5_000,
        name="May",
        actor=merchant,
        source=API,
        merchant_uid="pay_resumed_0001",
    )

    assert list(BillingKeyEvent.objects.values_list("action", flat=True)) == [BillingKeyEvent.Action.SYNC]
    assert actors_of_events() == {merchant.pk}


def test_a_declined_first_payment_and_the_read_of_its_key_name_who_registered(user, ledger, merchant):
    card = CardDetails(number=DECLINING_CARD, expiry="2030-12", birth="900101", pwd_2digit="12")

    services.register_card_and_pay(owner=user, card=card, source=API, actor=merchant)

    actions = set(BillingKeyEvent.objects.values_list("action", flat=True))
    assert actions == {BillingKeyEvent.Action.ISSUE_AND_PAY, BillingKeyEvent.Action.SYNC}
    assert actors_of_events() == {merchant.pk}


def test_a_registration_that_timed_out_and_was_read_names_who_registered(user, iamport, merchant):
    iamport.on_customer("POST", exc=READ_TIMEOUT)
    iamport.on_customer("GET")
    card = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")

    with pytest.raises(services.BillingKeyError):
        services.register_card(owner=user, card=card, source=API, actor=merchant)

    assert actors_of_events() == {merchant.pk}
    assert BillingKeyEvent.objects.count() == 2


# --- a retry's claim, a refusal and a grace's end touch their own payment only ---------------------


def never_received(key, merchant_uid: str, reason: str = "i'mport could not be reached") -> Payment:
    """A charge that failed before reaching i'mport (503, refused connection): a retry may send it."""
    return Payment.objects.create(
        merchant_uid=merchant_uid,
        billing_key=key,
        owner=key.owner,
        amount=5_000,
        name="May",
        status=Payment.Status.FAILED,
        fail_reason=reason,
        failed_at=timezone.now(),
    )


def test_a_retrys_claim_takes_back_its_own_payment_and_no_other(active_key, ledger):
    mine = never_received(active_key, "pay_retried")
    other = never_received(active_key, "pay_left_alone", reason="maintenance")

    assert charge(active_key, merchant_uid="pay_retried").status == Payment.Status.PAID

    other.refresh_from_db()
    assert (other.status, other.fail_reason, other.failed_at is not None) == (
        Payment.Status.FAILED,
        "maintenance",
        True,
    )
    assert list(ledger.payments) == [mine.merchant_uid]


def test_a_retry_whose_answer_is_lost_is_unknown_not_the_old_failure(active_key, ledger):
    """The claim turns the failed row back to ``ready`` with its failure cleared, so that a lost answer
    makes it ``unknown`` (i'mport may have charged), never leaves it showing the old failure."""
    never_received(active_key, "pay_retried")
    # i'mport is read first (no trace of it: the retry may send), then the charge's answer is lost and
    # i'mport cannot be read again to settle it.
    ledger.fault(
        "again", exc=READ_TIMEOUT, after=True, then=lambda: ledger.fault("find", exc=READ_TIMEOUT, times=2)
    )

    with pytest.raises(services.PaymentError) as raised:
        charge(active_key, merchant_uid="pay_retried")

    assert raised.value.outcome_unknown
    payment = Payment.objects.get(merchant_uid="pay_retried")
    assert (payment.status, payment.fail_reason, payment.failed_at) == (Payment.Status.UNKNOWN, "", None)
    assert ledger.payments["pay_retried"]["status"] == "paid"  # what reconcile will find


def test_a_refused_charge_fails_its_own_payment_not_one_in_flight(user, ledger, active_key):
    in_flight = Payment.objects.create(
        merchant_uid="pay_in_flight", billing_key=active_key, owner=user, amount=5_000, name="May"
    )
    unknown_there = BillingKey.objects.create(
        owner=user, customer_uid="cu_unknown_at_iamport", status="active"
    )

    with pytest.raises(services.PaymentError):
        charge(unknown_there)

    in_flight.refresh_from_db()
    assert (in_flight.status, in_flight.fail_reason) == (Payment.Status.READY, "")


def test_the_end_of_the_grace_tells_the_host_once_that_the_payment_failed(
    active_key, ledger, settings, django_capture_on_commit_callbacks
):
    told = []

    def receiver(sender, instance, **kwargs):
        told.append(instance.merchant_uid)

    signals.payment_failed.connect(receiver)
    try:
        payment = lost_payment(
            active_key, status="unknown", age_seconds=settings.BILLING["UNKNOWN_GRACE_SECONDS"] + 5
        )
        with django_capture_on_commit_callbacks(execute=True):
            services.sync_payment(payment=payment, source=API)
        assert told == ["pay_lost"]
        with django_capture_on_commit_callbacks(execute=True):
            services.sync_payment(payment=payment, source=API)  # already failed: nothing new to tell
    finally:
        signals.payment_failed.disconnect(receiver)

    assert told == ["pay_lost"]


def test_a_retry_of_a_declined_charge_answers_from_the_record_without_reading_or_charging(
    declining_key, ledger
):
    declined = charge(declining_key, merchant_uid="pay_declined_once")
    assert (declined.status, bool(declined.imp_uid)) == (Payment.Status.FAILED, True)
    reads_before = ledger.calls("GET", "/payments/")

    again = charge(declining_key, merchant_uid="pay_declined_once")

    assert (again.pk, again.status) == (declined.pk, Payment.Status.FAILED)
    assert ledger.calls("GET", "/payments/") == reads_before  # i'mport's decline is final: nothing to read
    assert ledger.calls("POST", "/subscribe/payments/again") == 1
