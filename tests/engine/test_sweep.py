"""Issue 16, items 1, 2 and 5: the sweep streams due work in batches with bounded queries, sends each due
renewal once per lease, runs one at a time, and a run's counts are readable while it goes."""

import json

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import BillingKey
from subscriptions import engine
from subscriptions.models import Renewal, Subscription
from tests.engine.harness import seed_due_subscriptions

pytestmark = pytest.mark.django_db


@pytest.fixture
def key(user):
    return BillingKey.objects.create(customer_uid="cu_engine", owner=user, status=BillingKey.Status.ACTIVE)


class Sent:
    """What the sweep hands to the broker, batch by batch."""

    def __init__(self):
        self.batches: list[list[int]] = []

    def __call__(self, ids, now):
        self.batches.append(list(ids))

    @property
    def ids(self) -> list[int]:
        return [pk for batch in self.batches for pk in batch]


def test_the_sweep_opens_and_sends_every_due_renewal_in_bounded_batches(settings, key):
    settings.SUBSCRIPTION_SWEEP_BATCH = 10
    seed_due_subscriptions(25, key)
    sent = Sent()

    with CaptureQueriesContext(connection) as queries:
        report = engine.sweep(now=timezone.now(), send=sent)

    assert (report.opened, report.enqueued) == (25, 25)
    assert sorted(sent.ids) == sorted(Renewal.objects.values_list("id", flat=True))
    assert max(len(batch) for batch in sent.batches) == 10
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    # Every read is a page (LIMIT 10 after the last id seen) or a batch of those ids: never all rows.
    assert sum("LIMIT 10" in sql for sql in reads) >= 4  # 3 pages of subscriptions, then of due renewals
    assert all("LIMIT 10" in sql or '"id" IN (' in sql for sql in reads), reads
    assert not Subscription.objects.filter(current_period_end__lte=timezone.now()).exists()


def test_each_batch_of_opened_periods_is_sent_before_the_next_is_opened(settings, key):
    """A million due on the first of the month: the workers get the first 1,000 renewals at once, not after
    every period of the run is open (which took the sweep about 20 minutes for a million)."""
    settings.SUBSCRIPTION_SWEEP_BATCH = 10
    seed_due_subscriptions(25, key)
    still_to_open = []

    def send(ids, now):
        still_to_open.append(Subscription.objects.filter(current_period_end__lte=now).count())

    report = engine.sweep(now=timezone.now(), send=send)

    assert report.enqueued == 25
    assert still_to_open == [15, 5, 0]


def test_a_renewal_in_the_broker_is_not_sent_again_while_its_lease_holds(key):
    seed_due_subscriptions(3, key)
    first, second = Sent(), Sent()

    engine.sweep(now=timezone.now(), send=first)
    engine.sweep(now=timezone.now(), send=second)

    assert len(first.ids) == 3 and second.ids == []
    assert Renewal.objects.count() == 3  # each period opened once


def test_a_renewal_whose_lease_lapsed_is_sent_again(settings, key):
    """A task lost with the broker (a Redis restart) comes back when its lease lapses."""
    settings.SUBSCRIPTION_QUEUED_SECONDS = 0
    seed_due_subscriptions(3, key)
    first, again = Sent(), Sent()

    engine.sweep(now=timezone.now(), send=first)
    engine.sweep(now=timezone.now(), send=again)

    assert len(first.ids) == 3 and sorted(again.ids) == sorted(first.ids)
    assert Renewal.objects.count() == 3


def test_two_sweeps_never_run_at_once(key):
    seed_due_subscriptions(2, key)
    holder = engine.SweepLock()
    assert holder.acquire()
    sent = Sent()

    report = engine.sweep(now=timezone.now(), send=sent)

    assert report.locked_out and sent.ids == [] and Renewal.objects.count() == 0
    holder.release()
    assert engine.sweep(now=timezone.now(), send=sent).enqueued == 2


def test_a_claimed_renewal_leaves_the_broker_lease(key):
    seed_due_subscriptions(1, key)
    engine.sweep(now=timezone.now(), send=Sent())
    renewal = Renewal.objects.get()
    assert renewal.queued_until is not None

    Renewal.objects.filter(pk=renewal.pk).update(status=Renewal.Status.PAID)  # settled elsewhere
    assert engine.sweep(now=timezone.now(), send=Sent()).enqueued == 0


def test_renew_due_status_prints_the_run_as_json(key, capsys):
    seed_due_subscriptions(4, key)
    engine.sweep(now=timezone.now(), send=Sent())
    Renewal.objects.filter(pk=Renewal.objects.order_by("id").first().pk).update(status=Renewal.Status.PAID)

    call_command("renew_due", "--status", "--json", "--since", "2000-01-01T00:00:00+09:00")
    run = json.loads(capsys.readouterr().out)

    assert run["paid"] == 1 and run["queued"] == 3 and run["due"] == 3 and run["in_flight"] == 0
    assert run["periods_to_open"] == 0 and run["failed"] == run["unknown"] == 0
    call_command("renew_due", "--status")
    assert "paid=1" in capsys.readouterr().out
