"""Resolve every billing key and payment whose state we do not know, by reading i'mport.

``unknown`` records (a call timed out) and ``pending``/``ready`` ones older than ``--stale-minutes``
(the process died mid-call) are re-read through the same services as everywhere else. One line per
record that changed, then a summary. Exits non-zero only if the command itself crashes: a record
i'mport cannot be read for right now stays as it is for the next run.
"""

import datetime

from django.core.management.base import BaseCommand
from django.utils import timezone

from billing import selectors, services
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
        counts = {"checked": 0, "changed": 0, "unreadable": 0}

        for billing_key in selectors.billing_keys_to_reconcile(stale_before):
            counts["checked"] += 1
            before = billing_key.status
            try:
                services.sync_billing_key(billing_key=billing_key, actor=None, source=SOURCE)
            except services.BillingKeyError as error:
                counts["unreadable"] += 1
                self.stderr.write(
                    f"billing key {billing_key.customer_uid}: i'mport unreadable ({error.cause!r})"
                )
                continue
            if billing_key.status != before:
                counts["changed"] += 1
                self.stdout.write(f"billing key {billing_key.customer_uid}: {before} -> {billing_key.status}")

        for payment in selectors.payments_to_reconcile(stale_before):
            counts["checked"] += 1
            before = payment.status
            try:
                services.sync_payment(payment=payment, actor=None, source=SOURCE)
            except services.PaymentError as error:
                counts["unreadable"] += 1
                self.stderr.write(f"payment {payment.merchant_uid}: i'mport unreadable ({error.cause!r})")
                continue
            if payment.status != before:
                counts["changed"] += 1
                self.stdout.write(f"payment {payment.merchant_uid}: {before} -> {payment.status}")

        self.stdout.write(
            "Reconciled: {checked} checked, {changed} changed, {unreadable} could not be read.".format(
                **counts
            )
        )
