"""Real transport failures, on real sockets: the client's verdict, then the services', for writes and reads.

A write that reached i'mport and got no answer is an unknown outcome (the charge may have happened: it
is read, never sent again); a request that never left (closed port) is "nothing happened"; a read is
repeated once and then called unavailable.
"""

import pytest

from billing import services
from billing.iamport import get_client, reset_client
from billing.iamport.errors import IamportOutcomeUnknown, IamportUnavailable
from billing.iamport.types import CardDetails
from billing.models import BillingKey, BillingKeyEvent, Payment
from billing.services.errors import PaymentError
from tests.support.sockets import FlakyIamport

CARD = CardDetails(number="4242-4242-4242-4242", expiry="2030-12", birth="900101", pwd_2digit="12")


@pytest.fixture
def flaky(settings):
    """Point the client at a ``FlakyIamport``; the test picks the mode."""
    servers = []

    def start(mode: str) -> FlakyIamport:
        server = FlakyIamport(mode)
        servers.append(server)
        settings.BILLING = {**settings.BILLING, "SANDBOX": False}
        settings.BILLING = {**settings.BILLING, "API_URL": server.url}
        settings.BILLING = {**settings.BILLING, "API_KEY": "k", "API_SECRET": "s"}
        settings.BILLING = {**settings.BILLING, "READ_TIMEOUT": 0.5}
        settings.BILLING = {**settings.BILLING, "CONNECT_TIMEOUT": 0.5}
        reset_client()
        get_client().access_token()  # the token is fetched while the server still answers it
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.mark.parametrize("mode", ["close", "hang"])
def test_a_write_that_reached_iamport_unanswered_is_an_unknown_outcome_sent_once(flaky, mode):
    server = flaky(mode)

    with pytest.raises(IamportOutcomeUnknown):
        get_client().pay_again(customer_uid="cu_1", merchant_uid="pay_1", amount=1000, name="order")

    assert server.requests_to("/subscribe/payments/again") == [("POST", "/subscribe/payments/again")]


@pytest.mark.parametrize("mode", ["close", "hang"])
def test_a_read_that_reached_iamport_unanswered_is_repeated_once_then_unavailable(flaky, mode):
    server = flaky(mode)

    with pytest.raises(IamportUnavailable) as raised:
        get_client().find_payment("pay_1")

    assert not isinstance(raised.value, IamportOutcomeUnknown)
    assert len(server.requests_to("/payments/find/pay_1")) == 2


@pytest.mark.parametrize("call", ["write", "read"])
def test_a_closed_port_is_nothing_happened(flaky, call):
    server = flaky("close")
    server.stop()
    client = get_client()

    with pytest.raises(IamportUnavailable) as raised:
        if call == "write":
            client.pay_again(customer_uid="cu_1", merchant_uid="pay_1", amount=1000, name="order")
        else:
            client.find_payment("pay_1")

    assert not isinstance(raised.value, IamportOutcomeUnknown)


# --- the services' verdicts ----------------------------------------------------------------------
def charge(key: BillingKey) -> PaymentError:
    with pytest.raises(PaymentError) as raised:
        services.charge_billing_key(
            billing_key=key, amount=1000, name="order", actor=key.owner, source=BillingKeyEvent.Source.API
        )
    return raised.value


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["close", "hang"])
def test_a_charge_that_reached_iamport_unanswered_stays_unknown_and_is_not_resent(flaky, make_key, mode):
    server = flaky(mode)
    key = make_key()

    error = charge(key)

    payment = Payment.objects.get(billing_key=key)
    assert (error.outcome_unknown, error.unavailable) == (True, False)
    assert payment.status == Payment.Status.UNKNOWN
    assert len(server.requests_to("/subscribe/payments/again")) == 1
    assert len(server.requests_to(f"/payments/find/{payment.merchant_uid}")) == 2  # read, once repeated

    # The retry with the same merchant_uid reads i'mport; it never sends the charge again.
    with pytest.raises(PaymentError) as again:
        services.charge_billing_key(
            billing_key=key,
            amount=1000,
            name="order",
            actor=key.owner,
            source=BillingKeyEvent.Source.API,
            merchant_uid=payment.merchant_uid,
        )
    assert again.value.outcome_unknown
    assert len(server.requests_to("/subscribe/payments/again")) == 1
    payment.refresh_from_db()
    assert payment.status == Payment.Status.UNKNOWN


@pytest.mark.django_db
def test_a_charge_to_a_closed_port_failed_and_nothing_was_charged(flaky, make_key):
    server = flaky("close")
    server.stop()
    key = make_key()

    error = charge(key)

    payment = Payment.objects.get(billing_key=key)
    assert (error.outcome_unknown, error.unavailable) == (False, True)
    assert payment.status == Payment.Status.FAILED
    assert payment.failed_at is not None
    assert payment.fail_reason == "i'mport could not be reached"
    assert payment.imp_uid in (None, "")
    assert server.requests_to("/subscribe/payments/again") == []


@pytest.mark.django_db
@pytest.mark.parametrize("mode", ["close", "hang"])
def test_a_registration_that_reached_iamport_unanswered_leaves_the_key_unknown(flaky, user, mode):
    server = flaky(mode)

    with pytest.raises(services.errors.BillingKeyError) as raised:
        services.register_card(owner=user, card=CARD, source=BillingKeyEvent.Source.API)

    assert raised.value.outcome_unknown
    assert BillingKey.objects.get(owner=user).status == BillingKey.Status.UNKNOWN
    assert len(server.requests_to("/subscribe/customers/")) == 1 + 2  # the issue, then one read repeated


@pytest.mark.django_db
def test_a_registration_to_a_closed_port_failed(flaky, user):
    server = flaky("close")
    server.stop()

    with pytest.raises(services.errors.BillingKeyError) as raised:
        services.register_card(owner=user, card=CARD, source=BillingKeyEvent.Source.API)

    assert (raised.value.outcome_unknown, raised.value.unavailable) == (False, True)
    assert BillingKey.objects.get(owner=user).status == BillingKey.Status.FAILED
