"""Create the demo plan (``basic-monthly``, 9,900 won a month) if it does not exist. Safe to run again."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext_noop

from subscriptions.models import Plan


class Command(BaseCommand):
    help = "Create the demo plan basic-monthly (9,900 won a month) unless it exists."

    def handle(self, *args, **options):
        plan, created = Plan.objects.get_or_create(
            code="basic-monthly",
            defaults={
                # In the catalogues: the pages show this name in the customer's language.
                "name": gettext_noop("Basic (monthly)"),
                "amount": 9900,
                "interval": Plan.Interval.MONTH,
            },
        )
        self.stdout.write(f"Plan {plan.code}: {'created' if created else 'already there'}.")
