"""One full pass of the renewal engine, in this process: ``renew_due [--now ISO-8601] [--dry-run]``.

``--enqueue`` sweeps instead: opens the periods that have begun and hands due renewals to the Celery
workers, in batches (what beat runs every minute; one sweep at a time). ``--status [--json] [--since]``
prints the current run's counts (due, queued, in flight, paid, failed, unknown ...), read while it goes.
``--now`` in the future is refused unless DEBUG or the i'mport sandbox is in use: no customer is ever
charged early in production.
"""

import datetime
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from subscriptions import calendar, engine, services
from subscriptions.models import Renewal, Subscription

# A clock a little ahead of this machine's is not "the future".
_TOLERANCE = datetime.timedelta(minutes=1)


class Command(BaseCommand):
    help = "Open the periods that have begun and charge or retry every due renewal, once."

    def add_arguments(self, parser):
        parser.add_argument(
            "--now",
            help="The engine's clock, ISO 8601 (a naive time is Asia/Seoul). Default: now (with the sandbox, "
            "the sandbox's clock).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Print what is due; charge nothing.")
        parser.add_argument("--enqueue", action="store_true", help="Hand due renewals to the workers.")
        parser.add_argument("--status", action="store_true", help="Print the run's counts; change nothing.")
        parser.add_argument("--json", action="store_true", help="With --status: the counts as JSON.")
        parser.add_argument(
            "--since",
            help="With --status: when the run began, ISO 8601 (default: the start of the day, in Seoul).",
        )

    def handle(self, *args, now: str | None, dry_run: bool, enqueue: bool, status: bool, **options):
        moment = self._moment(now)
        if status:
            since = self._parse(options["since"]) if options.get("since") else engine.run_start(moment)
            counts = engine.run_status(since=since, now=moment)
            if options["json"]:
                self.stdout.write(
                    json.dumps({"since": since.isoformat(), "now": moment.isoformat(), **counts})
                )
            else:
                self.stdout.write(" ".join(f"{name}={value}" for name, value in counts.items()))
            return
        if dry_run:
            self._dry_run(moment)
            return
        if enqueue:
            swept = engine.sweep(now=moment)
            if swept.locked_out:
                self.stdout.write("Another sweep is running: nothing done.")
                return
            self.stdout.write(
                f"Swept at {moment.isoformat()}: {swept.opened} opened, {swept.ended} ended, "
                f"{swept.enqueued} enqueued."
            )
            return
        report = services.renew_due(now=moment)
        for subscription in report.ended:
            self.stdout.write(f"subscription {subscription.pk}: ended at the end of its period")
        for renewal in report.opened:
            self.stdout.write(
                f"subscription {renewal.subscription_id}: opened {_day(renewal.period_start)}"
                f"..{_day(renewal.period_end)} for {renewal.amount} won"
            )
        for result in report.results:
            renewal = result.renewal
            where = f"subscription {renewal.subscription_id}, {_day(renewal.period_start)}"
            self.stdout.write(
                f"renewal {renewal.pk} ({where}): {result.action} {result.merchant_uid}".rstrip()
            )
        paid = sum(1 for result in report.results if result.action == "paid")
        self.stdout.write(
            f"Done at {moment.isoformat()}: {len(report.opened)} opened, {len(report.ended)} ended, "
            f"{len(report.results)} attempted ({paid} paid)."
        )

    def _parse(self, value: str) -> datetime.datetime:
        try:
            moment = datetime.datetime.fromisoformat(value)
        except ValueError:
            raise CommandError("times must be ISO 8601, e.g. 2027-01-31T09:00:00+09:00") from None
        return moment.replace(tzinfo=calendar.SEOUL) if timezone.is_naive(moment) else moment

    def _moment(self, now: str | None) -> datetime.datetime:
        if not now:
            return services.engine_now()
        moment = self._parse(now)
        if moment > timezone.now() + _TOLERANCE and not (settings.DEBUG or services.sandbox_in_use()):
            raise CommandError("--now in the future is refused here: customers are never charged early.")
        return moment

    def _dry_run(self, moment: datetime.datetime) -> None:
        rolling = Subscription.objects.select_related("plan").filter(
            pk__in=services.subscriptions_to_roll_over(moment)
        )
        for subscription in rolling:
            if subscription.cancel_at_period_end:
                self.stdout.write(f"would end subscription {subscription.pk}")
            else:
                self.stdout.write(
                    f"would open subscription {subscription.pk}'s period from "
                    f"{_day(subscription.current_period_end)} and charge {subscription.plan.amount} won"
                )
        due = Renewal.objects.filter(pk__in=services.renewals_due(moment)).order_by("next_attempt_at", "id")
        for renewal in due:
            verb = "check" if renewal.status == Renewal.Status.UNKNOWN else "charge"
            self.stdout.write(
                f"would {verb} renewal {renewal.pk} (subscription {renewal.subscription_id}, "
                f"{_day(renewal.period_start)}): {renewal.amount} won, attempt {renewal.attempts + 1}"
            )
        self.stdout.write(f"Dry run at {moment.isoformat()}: nothing was charged.")


def _day(moment: datetime.datetime) -> str:
    return moment.astimezone(calendar.SEOUL).strftime("%Y-%m-%d")
