"""Resolve every billing key and payment whose state we do not know, by reading i'mport.

``unknown`` records (a call timed out) and ``pending``/``ready`` ones older than ``--stale-minutes``
(the process died mid-call) are re-read by ``services.reconcile``, which a periodic task can call the
same way. One line per record that changed, then a summary. Exits non-zero only if the command
itself crashes: a record i'mport cannot be read for right now stays as it is for the next run.
"""

import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from billing import services
from billing.models import BillingKeyEvent

SOURCE = BillingKeyEvent.Source.COMMAND


class Command(BaseCommand):
    help = "Re-read unknown or stale billing keys and payments from i'mport and report what changed."

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-minutes",
            type=int,
            default=10,
            help="Treat pending keys and ready payments older than this as stale (default 10).",
        )

    def handle(self, *args, stale_minutes: int, **options):
        stale_before = timezone.now() - datetime.timedelta(minutes=stale_minutes)
        report = services.reconcile(stale_before=stale_before, actor=None, source=SOURCE)
        for line in report.unreadable:
            self.stderr.write(line)
        for line in report.changes:
            self.stdout.write(line)
        self.stdout.write(
            f"Reconciled: {report.checked} checked, {len(report.changes)} changed, "
            f"{len(report.unreadable)} could not be read."
        )
