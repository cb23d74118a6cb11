"""The host's hooks: a renewal paid, a subscription past due; each sent once, after commit."""

import datetime

import pytest

from subscriptions import services, signals
from subscriptions.models import Subscription
from tests.subscriptions.conftest import seoul

pytestmark = pytest.mark.django_db


@pytest.fixture
def received():
    got = []

    def receiver(signal, sender, instance, **kwargs):
        got.append((signal, instance))

    for signal in (signals.subscription_renewed, signals.subscription_past_due):
        signal.connect(receiver, weak=False)
    yield got
    for signal in (signals.subscription_renewed, signals.subscription_past_due):
        signal.disconnect(receiver)


def test_a_paid_period_sends_renewed_once_after_commit(
    user, plan, good_key, ledger, received, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as pending:
        subscription = services.subscribe(
            owner=user, plan=plan, billing_key=good_key, source="web", now=seoul(2027, 1, 10, 12)
        )
    assert received == []  # nothing before the commit
    for callback in pending:
        callback()

    assert [(signal, renewal.subscription_id) for signal, renewal in received] == [
        (signals.subscription_renewed, subscription.pk)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        services.renew_due(now=seoul(2027, 1, 10, 13))  # nothing due: no second signal
    assert len(received) == 1


def test_a_failed_renewal_sends_past_due_once_through_the_dunning(
    user, plan, good_key, register, ledger, received, django_capture_on_commit_callbacks
):
    subscription = services.subscribe(
        owner=user, plan=plan, billing_key=good_key, source="web", now=seoul(2027, 1, 10, 12)
    )
    failing = register(user, "4000-0000-0000-9995")
    services.change_card(subscription=subscription, billing_key=failing, actor=user, source="web")
    due = seoul(2027, 2, 10, 12)

    with django_capture_on_commit_callbacks(execute=True):
        services.renew_due(now=due)
        services.renew_due(now=due + datetime.timedelta(days=1))  # the first retry fails too

    subscription.refresh_from_db()
    assert subscription.status == Subscription.Status.PAST_DUE
    assert [(signal, instance.pk) for signal, instance in received] == [
        (signals.subscription_past_due, subscription.pk)
    ]
