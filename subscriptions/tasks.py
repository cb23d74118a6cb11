"""Celery tasks: thin, take ids, and are safe to run twice (the services claim their work in the database).

With no broker (``CELERY_BROKER_URL`` empty) they run in-process when called with ``.delay``.
"""

import datetime
import logging

from celery import shared_task
from django.utils import timezone

from . import engine, services

logger = logging.getLogger(__name__)


def _moment(now: str | None) -> datetime.datetime:
    return datetime.datetime.fromisoformat(now) if now else timezone.now()


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def attempt_renewal(renewal_id: int, now: str | None = None) -> str | None:
    """Take one step on one renewal (a charge, a retry or a check); nothing if it is not due or taken."""
    result = services.attempt_renewal(renewal_id=renewal_id, now=_moment(now))
    if result is None:
        logger.info("renewal %s: not due or held by another process; nothing done", renewal_id)
        return None
    renewal = result.renewal
    logger.info(
        "renewal %s (subscription %s): %s %s status=%s attempts=%s",
        renewal_id,
        renewal.subscription_id,
        result.action,
        result.merchant_uid,
        renewal.status,
        renewal.attempts,
    )
    return result.action


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def sweep(now: str | None = None) -> int:
    """What beat runs every minute: open the periods that have begun and enqueue each due renewal."""
    report = engine.sweep(now=_moment(now) if now else services.engine_now())
    return report.enqueued
