"""Make local billing keys and payments say what i'mport says (``services.reconcile``).

The short pass (default; run it every few minutes) re-reads ``unknown`` records and ``pending``/``ready``
ones older than ``--stale-minutes`` (the process died mid-call). The full pass (``--full``; run it daily)
compares every key and payment changed within ``--changed-within`` hours (or ``--since``, or all) with
i'mport, in batches of ``--batch-size``, and fixes what differs. One line per record that changed or could
not be read, then a summary. Exits non-zero only if the command itself crashes: a record i'mport cannot
be read for right now stays as it is for the next run.
"""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing import services
from billing.models import BillingKeyEvent

SOURCE = BillingKeyEvent.Source.COMMAND


class Command(BaseCommand):
    help = "Re-read unknown or stale (or, with --full, all) billing keys and payments from i'mport."

    def add_arguments(self, parser):
        parser.add_argument(
            "--stale-minutes",
            type=int,
            default=10,
            help="Treat pending keys and ready payments older than this as stale (default 10).",
        )
        parser.add_argument(
            "--full", action="store_true", help="Compare every key and payment with i'mport (daily)."
        )
        window = parser.add_mutually_exclusive_group()
        window.add_argument(
            "--changed-within", type=float, metavar="HOURS", help="--full: only records changed lately."
        )
        window.add_argument("--since", metavar="ISO", help="--full: only records changed since then.")
        parser.add_argument(
            "--batch-size", type=int, default=100, help="--full: records read per batch (default 100)."
        )

    def handle(self, *args, stale_minutes: int, full: bool, changed_within, since, batch_size, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        changed_since = None
        if changed_within is not None:
            changed_since = timezone.now() - datetime.timedelta(hours=changed_within)
        elif since:
            changed_since = parse_datetime(since)
            if changed_since is None:
                raise CommandError("--since must be an ISO 8601 date and time")
            if timezone.is_naive(changed_since):
                changed_since = timezone.make_aware(changed_since, datetime.UTC)
        if not full and changed_since is not None:
            raise CommandError("--since and --changed-within go with --full")
        report = services.reconcile(
            mode="full" if full else "short",
            stale_before=timezone.now() - datetime.timedelta(minutes=stale_minutes),
            changed_since=changed_since,
            batch_size=batch_size,
            actor=None,
            source=SOURCE,
        )
        for line in report.unreadable:
            self.stderr.write(line)
        for line in report.changes:
            self.stdout.write(line)
        self.stdout.write(
            f"Reconciled ({report.mode}): {report.checked} checked, {len(report.changes)} changed, "
            f"{len(report.unreadable)} could not be read."
        )
