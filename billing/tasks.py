"""billing's periodic work as Celery tasks: the reconcile passes that ``manage.py reconcile`` runs.

Imported only by Celery's task discovery (``celery -A merchant_site worker|beat``), so billing needs
Celery only where it runs them. Beat runs the short pass every few minutes (records left ``unknown`` by
a timeout, or ``pending``/``ready`` by a process that died) and the full pass daily (every record changed
in the last two days compared with i'mport): ``CELERY_BEAT_SCHEDULE`` in the demo site's settings.
"""

import datetime
import logging

from celery import shared_task
from django.utils import timezone

from billing import services

logger = logging.getLogger(__name__)

STALE_MINUTES = 10  # as ``manage.py reconcile`` by default: older pending/ready rows belong to a dead process
FULL_WINDOW_HOURS = 48  # a daily pass with a day's overlap: a missed day is still caught the next


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def reconcile_short() -> dict:
    stale_before = timezone.now() - datetime.timedelta(minutes=STALE_MINUTES)
    return _run(services.reconcile(stale_before=stale_before))


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def reconcile_full() -> dict:
    changed_since = timezone.now() - datetime.timedelta(hours=FULL_WINDOW_HOURS)
    return _run(services.reconcile(mode="full", changed_since=changed_since))


def _run(report) -> dict:
    for change in report.changes:
        logger.info("reconcile %s: %s", report.mode, change)
    for problem in report.unreadable:
        logger.warning("reconcile %s: %s", report.mode, problem)
    return {
        "mode": report.mode,
        "checked": report.checked,
        "changed": len(report.changes),
        "unreadable": len(report.unreadable),
    }
