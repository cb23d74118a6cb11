"""Card-testing defence: registration throttles per user and per address, and the refusal cool-down."""

import datetime
from http import HTTPStatus
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import BillingKeyEvent
from billing.throttling import RefusalCooldownThrottle, counted_refusals, note_refusal, refusal_cooldown
from tests.support.cards import GOOD_CARD
from tests.support.iamport import envelope

pytestmark = pytest.mark.django_db

LIST_URL = reverse("billing_api:billing-key-list")
Action = BillingKeyEvent.Action
Outcome = BillingKeyEvent.Outcome


def register(client, **extra):
    return client.post(LIST_URL, GOOD_CARD, format="json", **extra)


def assert_throttled(response) -> int:
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response.json()["error"] == "throttled"
    retry_after = int(response["Retry-After"])
    assert retry_after > 0
    return retry_after


def test_registrations_per_user_are_limited(iamport, token_client, throttle_rates):
    throttle_rates(registration_user="2/hour", registration_address=None)
    iamport.on_customer("POST")

    statuses = [register(token_client).status_code for _ in range(2)]

    assert statuses == [HTTPStatus.CREATED] * 2
    assert assert_throttled(register(token_client)) <= 3600
    assert len(iamport.calls_to("POST", "/subscribe/customers/")) == 2


def test_invalid_attempts_count_too(iamport, token_client, throttle_rates):
    throttle_rates(registration_user="1/hour", registration_address=None)
    token_client.post(LIST_URL, {**GOOD_CARD, "card_number": "4242-4242-4242-4241"}, format="json")

    assert_throttled(register(token_client))


def test_registrations_per_address_are_limited_across_accounts(
    iamport, token_client, other_client, throttle_rates
):
    throttle_rates(registration_user=None, registration_address="1/hour")
    iamport.on_customer("POST")

    assert register(token_client).status_code == HTTPStatus.CREATED
    assert_throttled(register(other_client))
    assert register(other_client, REMOTE_ADDR="10.0.0.7").status_code == HTTPStatus.CREATED


def test_a_forged_forwarded_for_does_not_reset_the_address_limit(iamport, token_client, throttle_rates):
    throttle_rates(registration_user=None, registration_address="1/hour")
    iamport.on_customer("POST")
    register(token_client, HTTP_X_FORWARDED_FOR="203.0.113.1")

    assert_throttled(register(token_client, HTTP_X_FORWARDED_FOR="203.0.113.2"))


def test_empty_rates_turn_the_throttles_off(iamport, token_client, throttle_rates):
    throttle_rates(registration_user=None, registration_address=None)
    iamport.on_customer("POST")

    statuses = {register(token_client).status_code for _ in range(12)}

    assert statuses == {HTTPStatus.CREATED}


def test_reads_are_not_throttled(iamport, token_client, throttle_rates):
    throttle_rates(registration_user="1/hour", registration_address="1/hour")
    iamport.on_customer("POST")
    register(token_client)

    statuses = {token_client.get(LIST_URL).status_code for _ in range(5)}

    assert statuses == {HTTPStatus.OK}


def test_the_token_exchange_is_throttled_per_address(api_client, user, throttle_rates):
    throttle_rates(token_address="2/minute")
    token_url = reverse("billing_api:token")
    for _ in range(2):
        api_client.post(token_url, {"username": "gildong", "password": "wrong"}, format="json")

    assert_throttled(api_client.post(token_url, {"username": "gildong", "password": "x"}, format="json"))


# --- repeated refusals ----------------------------------------------------------------------------


def refusals(user, make_key, count: int, *, ago: datetime.timedelta = datetime.timedelta(0)) -> None:
    key = make_key(user)
    for _ in range(count):
        event = BillingKeyEvent.objects.create(
            billing_key=key,
            actor=user,
            source=BillingKeyEvent.Source.WEB,
            action=Action.ISSUE,
            outcome=Outcome.REFUSED,
            iamport_code=-1,
            duration_ms=1,
        )
        BillingKeyEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - ago)
        note_refusal(user)  # as the services do where they record a refusal


@pytest.fixture
def cooldown(settings, throttle_rates):
    throttle_rates(registration_user=None, registration_address=None)
    settings.BILLING = {**settings.BILLING, "REFUSALS_FREE": 3}
    settings.BILLING = {**settings.BILLING, "REFUSAL_COOLDOWN": 30}
    settings.BILLING = {**settings.BILLING, "REFUSAL_WINDOW": 3600}


@pytest.mark.parametrize(
    ("count", "expected"), [(0, 0), (3, 0), (4, 30), (5, 60), (6, 120), (12, 3600), (99, 3600)]
)
def test_the_cool_down_doubles_with_each_refusal_past_the_free_ones(cooldown, count, expected):
    assert refusal_cooldown(count) == expected


def test_a_few_refusals_do_not_slow_an_honest_customer(iamport, token_client, user, make_key, cooldown):
    refusals(user, make_key, 3)
    iamport.on_customer("POST")

    assert register(token_client).status_code == HTTPStatus.CREATED


def test_repeated_refusals_slow_the_user_further(iamport, token_client, user, make_key, cooldown):
    iamport.on_customer("POST")
    refusals(user, make_key, 4)
    first_wait = assert_throttled(register(token_client))
    refusals(user, make_key, 2)

    second_wait = assert_throttled(register(token_client))

    assert first_wait <= 30 < second_wait <= 120
    assert iamport.calls_to("POST", "/subscribe/customers/") == []


def test_the_cool_down_ends(iamport, token_client, user, make_key, cooldown):
    refusals(user, make_key, 4, ago=datetime.timedelta(seconds=31))
    iamport.on_customer("POST")

    assert register(token_client).status_code == HTTPStatus.CREATED


def test_refusals_outside_the_window_are_forgotten(iamport, token_client, user, make_key, cooldown):
    refusals(user, make_key, 10, ago=datetime.timedelta(hours=2))
    iamport.on_customer("POST")

    assert register(token_client).status_code == HTTPStatus.CREATED


def test_api_refusals_feed_the_cool_down(iamport, token_client, cooldown):
    iamport.on_customer("POST", body=envelope(code=-1, message="카드가 거절되었습니다."))
    statuses = [register(token_client).status_code for _ in range(4)]

    assert statuses == [HTTPStatus.PAYMENT_REQUIRED] * 4
    assert_throttled(register(token_client))


def test_other_customers_refusals_do_not_slow_me(iamport, token_client, other_user, make_key, cooldown):
    refusals(other_user, make_key, 10)
    iamport.on_customer("POST")

    assert register(token_client).status_code == HTTPStatus.CREATED


def test_no_refusals_counted_means_no_read_of_the_audit_trail(user, cooldown, django_assert_num_queries):
    request = SimpleNamespace(user=user)
    for _ in range(3):
        note_refusal(user)

    with django_assert_num_queries(0):
        assert RefusalCooldownThrottle().allow_request(request, None)


def test_the_counter_only_sends_the_throttle_to_the_trail_which_decides(user, make_key, cooldown):
    # Counted refusals that the trail does not hold (a write rolled back, say) slow nobody down.
    for _ in range(10):
        note_refusal(user)

    assert RefusalCooldownThrottle().allow_request(SimpleNamespace(user=user), None)

    refusals(user, make_key, 4)
    assert not RefusalCooldownThrottle().allow_request(SimpleNamespace(user=user), None)


def test_refusals_recorded_by_the_services_are_counted(iamport, token_client, user, cooldown):
    iamport.on_customer("POST", body=envelope(code=-1, message="카드가 거절되었습니다."))
    register(token_client)
    register(token_client)

    assert counted_refusals(user) == 2
