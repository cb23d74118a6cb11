"""Create the demo plan (``basic-monthly``, 9,900 won a month) if it does not exist. Safe to run again."""

from django.core.management.base import BaseCommand

from subscriptions.models import Plan


class Command(BaseCommand):
    help = "Create the demo plan basic-monthly (9,900 won a month) unless it exists."

    def handle(self, *args, **options):
        plan, created = Plan.objects.get_or_create(
            code="basic-monthly",
            defaults={"name": "Basic (monthly)", "amount": 9900, "interval": Plan.Interval.MONTH},
        )
        self.stdout.write(f"Plan {plan.code}: {'created' if created else 'already there'}.")
