"""The renewal engine at scale: the sweep that hands due renewals to the Celery workers, and a run's counts.

The sweep (beat's ``subscriptions.tasks.sweep`` every minute, or ``renew_due --enqueue``):

1. takes a lock in the cache's Redis (``SET NX`` with an expiry), so two beats, or a beat and a command,
   never sweep at once;
2. walks the open renewals already due by ``now`` (retries, a lapsed lease, any a crashed sweep opened but
   did not send) by id (keyset pagination over a partial index of open rows), marks each batch
   ``queued_until`` and sends one ``attempt_renewal`` task per id;
3. opens the periods that have begun, ``SUBSCRIPTION_SWEEP_BATCH`` subscriptions per transaction (keyset
   pagination by id: every subscription once per sweep), the renewal rows created in bulk, and sends each
   batch's renewals at once: on the first of the month the first charges start within a second, not after
   every period of the run is open (about 20 minutes for a million). Walking the due renewals first means
   none is sent twice by one sweep, whatever the lease.

Memory stays bounded: one batch of ids at a time, whatever the number due. A renewal already in the broker
(``queued_until`` in the future) is not sent again by the next sweep; a task lost with the broker (a Redis
restart) is sent again once that lease lapses. Which worker charges it is decided by the claim in
``services.attempt_renewal``, never by the queue: a task delivered twice charges nothing twice.
"""

import dataclasses
import datetime
import logging
import secrets
from collections.abc import Iterator

from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from . import calendar, conf
from .models import Renewal, Subscription

logger = logging.getLogger(__name__)

LOCK_KEY = "subscriptions:sweep-lock"
LIVE_TO_ROLL = (Subscription.Status.TRIALING, Subscription.Status.ACTIVE)


def queued_seconds() -> int:
    """How long a renewal sent to the broker is not sent again (at least the visibility timeout)."""
    return conf.setting("SUBSCRIPTION_QUEUED_SECONDS")


@dataclasses.dataclass
class SweepReport:
    opened: int = 0
    ended: int = 0
    enqueued: int = 0
    batches: int = 0
    locked_out: bool = False


class SweepLock:
    """One sweep at a time across every process: ``cache.add`` is ``SET NX EX`` on Redis."""

    def __init__(self, seconds: int | None = None):
        self.seconds = seconds or conf.setting("SUBSCRIPTION_SWEEP_LOCK_SECONDS")
        self.token = secrets.token_hex(8)

    def acquire(self) -> bool:
        return cache.add(LOCK_KEY, self.token, timeout=self.seconds)

    def keep(self) -> None:
        """Push the expiry back: a long sweep (a million due) keeps the lock while it works."""
        cache.touch(LOCK_KEY, timeout=self.seconds)

    def release(self) -> None:
        if cache.get(LOCK_KEY) == self.token:  # not another sweep's, taken after ours expired
            cache.delete(LOCK_KEY)


def sweep(*, now: datetime.datetime, batch: int | None = None, send=None) -> SweepReport:
    """Open the periods that have begun and hand every due renewal to the workers, once per lease.

    ``send(renewal_ids, now)`` defaults to sending one Celery task per id; the report says what was done,
    or ``locked_out`` when another sweep holds the lock (this one then does nothing).
    """
    batch = batch or conf.setting("SUBSCRIPTION_SWEEP_BATCH")
    lock = SweepLock()
    if not lock.acquire():
        logger.info("sweep at %s: another sweep is running; nothing done", now.isoformat())
        return SweepReport(locked_out=True)
    try:
        report = SweepReport()
        for ids in _keyset(_due(now), batch):
            ids = _mark_queued(ids)
            (send or send_tasks)(ids, now)
            report.enqueued += len(ids)
            report.batches += 1
            lock.keep()
        for ids in _keyset(_to_roll_over(now), batch):
            opened, ended, renewal_ids = open_periods(ids, now)
            report.opened += opened
            report.ended += ended
            report.batches += 1
            if renewal_ids:  # due now: a period begins where the last one ended, at or before ``now``
                (send or send_tasks)(_mark_queued(renewal_ids), now)
                report.enqueued += len(renewal_ids)
            lock.keep()
        logger.info(
            "sweep at %s: %d periods opened, %d subscriptions ended, %d renewals enqueued",
            now.isoformat(),
            report.opened,
            report.ended,
            report.enqueued,
        )
        return report
    finally:
        lock.release()


def send_tasks(renewal_ids: list[int], now: datetime.datetime) -> None:
    """One task per id, on one broker connection for the batch."""
    from . import tasks

    task = tasks.attempt_renewal
    if task.app.conf.task_always_eager:
        for renewal_id in renewal_ids:
            task.delay(renewal_id, now.isoformat())
        return
    with task.app.producer_or_acquire() as producer:
        for renewal_id in renewal_ids:
            task.apply_async((renewal_id, now.isoformat()), producer=producer)


def _keyset(queryset, batch: int) -> Iterator[list[int]]:
    """Ids of ``queryset`` in order, ``batch`` at a time, each query starting after the last id seen."""
    last = 0
    while True:
        ids = list(queryset.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:batch])
        if not ids:
            return
        yield ids
        last = ids[-1]
        if len(ids) < batch:
            return


def _to_roll_over(now: datetime.datetime):
    return Subscription.objects.filter(status__in=LIVE_TO_ROLL, current_period_end__lte=now)


def _due(now: datetime.datetime):
    wall = timezone.now()
    return Renewal.objects.filter(status__in=Renewal.OPEN, next_attempt_at__lte=now).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=wall),
        Q(queued_until__isnull=True) | Q(queued_until__lte=wall),
    )


def _mark_queued(ids: list[int]) -> list[int]:
    until = timezone.now() + datetime.timedelta(seconds=queued_seconds())
    Renewal.objects.filter(pk__in=ids).update(queued_until=until)
    return ids


def open_periods(subscription_ids: list[int], now: datetime.datetime) -> tuple[int, int, list[int]]:
    """``services.roll_over`` for a batch, in one transaction: the next period's renewal for each live
    subscription whose period has ended, or its end when it was cancelled at period end.

    Returns the periods opened, the subscriptions ended and the new renewals' ids (empty where the database
    cannot return the ids of a bulk insert: the sweep's second walk sends those).

    Rows another process holds are skipped (PostgreSQL; SQLite's transactions do not overlap), and each
    subscription's period moves only from the end this transaction read: opened once, whoever runs.
    """
    opened = ended = 0
    skip_locked = connection.features.has_select_for_update_skip_locked
    with transaction.atomic():
        subscriptions = list(
            Subscription.objects.select_for_update(
                skip_locked=skip_locked, of=("self",) if skip_locked else ()
            )
            .select_related("plan")
            .filter(pk__in=subscription_ids, status__in=LIVE_TO_ROLL, current_period_end__lte=now)
        )
        renewals, rolled, ending = [], [], []
        wall = timezone.now()
        for subscription in subscriptions:
            # Locked (or, on SQLite, inside a transaction no other writer overlaps): its period moves once.
            start = subscription.current_period_end
            subscription.updated_at = wall
            if subscription.cancel_at_period_end:
                subscription.status = Subscription.Status.ENDED
                subscription.ended_at = start
                ending.append(subscription)
                continue
            plan = subscription.plan
            anchor = subscription.billing_anchor
            end = calendar.period_end_after(anchor, plan.interval, plan.interval_count, start)
            subscription.status = Subscription.Status.ACTIVE
            subscription.current_period_start, subscription.current_period_end = start, end
            rolled.append(subscription)
            renewals.append(
                Renewal(
                    subscription=subscription,
                    period_start=start,
                    period_end=end,
                    amount=plan.amount,
                    name=plan.name[:40],
                    next_attempt_at=start,
                )
            )
        Subscription.objects.bulk_update(ending, ["status", "ended_at", "updated_at"])
        Subscription.objects.bulk_update(
            rolled, ["status", "current_period_start", "current_period_end", "updated_at"]
        )
        ended = len(ending)
        Renewal.objects.bulk_create(renewals)
        opened = len(renewals)
    return opened, ended, [renewal.pk for renewal in renewals if renewal.pk is not None]


def run_status(*, since: datetime.datetime, now: datetime.datetime | None = None) -> dict[str, int]:
    """Counts for the run that began at ``since`` (the periods that started since then): due, queued, in
    flight, paid, failed, unknown, pending (not due yet: retries), void; and the periods still to open."""
    now = now or timezone.now()
    wall = timezone.now()
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lte=wall)
    open_ = Q(status__in=Renewal.OPEN)
    counts = Renewal.objects.filter(period_start__gte=since, period_start__lte=now).aggregate(
        due=Count("id", filter=open_ & Q(next_attempt_at__lte=now) & unclaimed),
        queued=Count("id", filter=open_ & Q(queued_until__gt=wall) & unclaimed),
        in_flight=Count("id", filter=open_ & Q(claimed_until__gt=wall)),
        paid=Count("id", filter=Q(status=Renewal.Status.PAID)),
        failed=Count("id", filter=Q(status=Renewal.Status.FAILED)),
        unknown=Count("id", filter=Q(status=Renewal.Status.UNKNOWN)),
        retrying=Count("id", filter=Q(status=Renewal.Status.PENDING, next_attempt_at__gt=now)),
        void=Count("id", filter=Q(status=Renewal.Status.VOID)),
    )
    counts["periods_to_open"] = _to_roll_over(now).count()
    return counts


def run_start(now: datetime.datetime) -> datetime.datetime:
    """The run a moment belongs to: its day, in Seoul (renewals bunch on the first of the month)."""
    local = now.astimezone(calendar.SEOUL)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)
