"""register_card, delete_billing_key and sync_billing_key against i'mport mocked at the transport."""

import datetime

import pytest
import requests
from django.utils import timezone

from billing import services
from billing.cards import CardDetails
from billing.iamport.errors import IamportNotFound, IamportOutcomeUnknown, IamportRefused, IamportUnavailable
from billing.models import BillingKey, BillingKeyEvent
from tests.support.iamport import customer_annotation, envelope

pytestmark = pytest.mark.django_db

CARD = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")
Status = BillingKey.Status
Outcome = BillingKeyEvent.Outcome


def register(user):
    return services.register_card(owner=user, card=CARD, source=BillingKeyEvent.Source.WEB)


def test_register_card_records_the_masked_answer(iamport, user):
    iamport.on_customer("POST")

    key = register(user)

    key.refresh_from_db()
    assert key.status == Status.ACTIVE
    assert key.owner == user
    assert key.customer_uid.startswith("cu_")
    assert len(key.customer_uid) <= 80
    assert key.card_name == "국민KB카드"
    assert key.masked_card_number == "424242******4242"
    assert key.card_type == BillingKey.CardType.CREDIT
    assert key.pg_provider == "nice"
    assert key.iamport_inserted_at is not None
    event = key.events.get()
    assert (event.action, event.outcome, event.actor, event.source) == (
        "issue",
        Outcome.SUCCEEDED,
        user,
        "web",
    )
    assert event.duration_ms >= 0


def test_each_registration_gets_its_own_customer_uid(iamport, user):
    iamport.on_customer("POST")

    uids = {register(user).customer_uid for _ in range(3)}

    assert len(uids) == 3


def test_refusal_is_recorded_and_raised(iamport, user):
    iamport.on_customer("POST", body=envelope(code=-1, message="카드가 거절되었습니다."))

    with pytest.raises(services.BillingKeyError) as raised:
        register(user)

    assert isinstance(raised.value.cause, IamportRefused)
    key = BillingKey.objects.get()
    assert key.status == Status.FAILED
    assert (key.last_error_code, key.last_error_message) == (-1, "카드가 거절되었습니다.")
    event = key.events.get()
    assert (event.outcome, event.iamport_code, event.iamport_message) == (
        Outcome.REFUSED,
        -1,
        "카드가 거절되었습니다.",
    )


def test_unavailable_is_recorded_as_failed(iamport, user):
    iamport.on_customer("POST", status=503, body=envelope(code=-1, message="maintenance"))

    with pytest.raises(services.BillingKeyError) as raised:
        register(user)

    assert isinstance(raised.value.cause, IamportUnavailable)
    key = BillingKey.objects.get()
    assert key.status == Status.FAILED
    assert key.events.get().outcome == Outcome.UNAVAILABLE


def test_timeout_resolved_by_reading_when_the_key_was_made(iamport, user):
    iamport.on_customer("POST", exc=requests.ReadTimeout("read timed out"))
    iamport.on_customer("GET")

    with pytest.raises(services.BillingKeyError) as raised:
        register(user)

    assert isinstance(raised.value.cause, IamportOutcomeUnknown)
    key = BillingKey.objects.get()
    assert key.status == Status.ACTIVE
    assert key.masked_card_number == "424242******4242"
    assert list(key.events.order_by("id").values_list("action", "outcome")) == [
        ("issue", Outcome.UNKNOWN),
        ("sync", Outcome.SUCCEEDED),
    ]
    assert len(iamport.calls_to("POST", "/subscribe/customers/")) == 1, "the card must never be sent twice"


def test_timeout_stays_unknown_while_i_mport_may_still_be_working(iamport, user):
    iamport.on_customer("POST", exc=requests.ReadTimeout("read timed out"))
    iamport.on_customer("GET", status=404, body=envelope(code=1, message="존재하지 않습니다."))

    with pytest.raises(services.BillingKeyError):
        register(user)

    key = BillingKey.objects.get()
    assert key.status == Status.UNKNOWN
    assert len(iamport.calls_to("POST", "/subscribe/customers/")) == 1


def test_timeout_stays_unknown_when_i_mport_cannot_be_read(iamport, user):
    iamport.on_customer("POST", exc=requests.ReadTimeout("read timed out"))
    iamport.on_customer("GET", status=503, body=envelope(code=-1, message="down"))

    with pytest.raises(services.BillingKeyError):
        register(user)

    assert BillingKey.objects.get().status == Status.UNKNOWN


def test_unknown_key_not_found_after_the_grace_period_is_failed(iamport, user, settings):
    key = BillingKey.objects.create(owner=user, customer_uid="cu_old", status=Status.UNKNOWN)
    BillingKey.objects.filter(pk=key.pk).update(
        created_at=timezone.now() - datetime.timedelta(seconds=settings.BILLING["UNKNOWN_GRACE_SECONDS"] + 1)
    )
    key.refresh_from_db()
    iamport.on_customer("GET", status=404, body=envelope(code=1, message="존재하지 않습니다."))

    services.sync_billing_key(billing_key=key, actor=None, source=BillingKeyEvent.Source.COMMAND)

    key.refresh_from_db()
    assert key.status == Status.FAILED
    assert (key.last_error_message, key.synced_at is not None) == (
        "i'mport never registered this card.",
        True,
    )


def test_sync_of_a_key_deleted_at_i_mport_marks_it_deleted(iamport, user):
    key = BillingKey.objects.create(owner=user, customer_uid="cu_gone", status=Status.ACTIVE)
    iamport.on_customer("GET", status=404, body=envelope(code=1, message="존재하지 않습니다."))

    services.sync_billing_key(billing_key=key, actor=user, source=BillingKeyEvent.Source.API)

    key.refresh_from_db()
    assert key.status == Status.DELETED
    assert key.synced_at is not None
    assert key.events.get().action == "sync"


def test_sync_refreshes_the_mirror(iamport, user):
    key = BillingKey.objects.create(owner=user, customer_uid="cu_1", status=Status.ACTIVE, card_name="old")
    iamport.on_customer("GET")

    services.sync_billing_key(billing_key=key, actor=user, source=BillingKeyEvent.Source.API)

    key.refresh_from_db()
    assert key.card_name == "국민KB카드"
    assert key.synced_at is not None


def test_sync_failure_is_recorded_and_leaves_the_key_alone(iamport, user):
    key = BillingKey.objects.create(owner=user, customer_uid="cu_1", status=Status.ACTIVE)
    iamport.on_customer("GET", status=500, body=envelope(code=-1, message="boom"))

    with pytest.raises(services.BillingKeyError):
        services.sync_billing_key(billing_key=key, actor=user, source=BillingKeyEvent.Source.API)

    key.refresh_from_db()
    assert key.status == Status.ACTIVE
    assert key.events.get().outcome == Outcome.UNAVAILABLE


def test_delete(iamport, user):
    key = BillingKey.objects.create(owner=user, customer_uid="cu_1", status=Status.ACTIVE)
    iamport.on_customer("DELETE")

    services.delete_billing_key(billing_key=key, actor=user, source=BillingKeyEvent.Source.WEB)

    key.refresh_from_db()
    assert key.status == Status.DELETED
    assert key.events.get().outcome == Outcome.SUCCEEDED


def test_delete_of_a_key_i_mport_does_not_know_marks_it_deleted(iamport, user):
    key = BillingKey.objects.create(owner=user, customer_uid="cu_1", status=Status.ACTIVE)
    iamport.on_customer("DELETE", status=404, body=envelope(code=1, message="존재하지 않습니다."))

    services.delete_billing_key(billing_key=key, actor=user, source=BillingKeyEvent.Source.WEB)

    key.refresh_from_db()
    assert key.status == Status.DELETED


def test_failed_delete_keeps_the_key(iamport, user):
    key = BillingKey.objects.create(owner=user, customer_uid="cu_1", status=Status.ACTIVE)
    iamport.on_customer("DELETE", body=envelope(code=1, message="예약된 결제가 있습니다."))

    with pytest.raises(services.BillingKeyError) as raised:
        services.delete_billing_key(billing_key=key, actor=user, source=BillingKeyEvent.Source.WEB)

    assert not isinstance(raised.value.cause, IamportNotFound)
    key.refresh_from_db()
    assert key.status == Status.ACTIVE
    assert key.events.get().outcome == Outcome.REFUSED


def test_everything_the_answer_sets_is_stored(iamport, user):
    iamport.on_customer("POST")

    key = register(user)
    stored = BillingKey.objects.get(pk=key.pk)

    fields = [f.attname for f in BillingKey._meta.concrete_fields if f.attname not in ("id", "owner_id")]
    assert {name: getattr(stored, name) for name in fields} == {name: getattr(key, name) for name in fields}
    assert stored.iamport_data["card_number"] == "424242******4242"
    assert stored.synced_at is not None and stored.pg_id


def test_an_unmasked_number_from_upstream_is_masked_before_it_is_stored(iamport, user):
    iamport.on_customer("POST", body=envelope(customer_annotation("cu_x", card_number="4242424242424242")))

    key = register(user)

    key.refresh_from_db()
    assert key.masked_card_number == "424242******4242"
    assert "4242424242424242" not in str(key.iamport_data)


def test_a_cache_failure_while_counting_a_refusal_keeps_the_recorded_refusal(iamport, user, monkeypatch):
    def cache_down(actor):
        raise ConnectionError("cache unavailable")

    monkeypatch.setattr("billing.cooldown.note_refusal", cache_down)
    iamport.on_customer("POST", body=envelope(code=-1, message="카드가 거절되었습니다."))

    with pytest.raises(ConnectionError):
        register(user)

    key = BillingKey.objects.get(owner=user)
    assert key.status == Status.FAILED
    assert key.events.get().outcome == Outcome.REFUSED
