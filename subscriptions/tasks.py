"""Celery tasks: thin, take ids, and are safe to run twice (the services claim their work in the database).

With no broker (``CELERY_BROKER_URL`` empty) they run in-process when called with ``.delay``.
"""

import datetime

from celery import shared_task
from django.utils import timezone

from . import services


def _moment(now: str | None) -> datetime.datetime:
    return datetime.datetime.fromisoformat(now) if now else timezone.now()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def attempt_renewal(renewal_id: int, now: str | None = None) -> str | None:
    """Take one step on one renewal (a charge, a retry or a check); nothing if it is not due or taken."""
    result = services.attempt_renewal(renewal_id=renewal_id, now=_moment(now))
    return result.action if result else None


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sweep(now: str | None = None) -> int:
    """What beat runs every minute: open the periods that have begun and enqueue each due renewal."""
    report = services.renew_due(now=_moment(now) if now else services.engine_now(), enqueue=True)
    return len(report.enqueued)
