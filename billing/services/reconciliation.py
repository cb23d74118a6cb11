"""The backstop: settle every billing key and payment whose state we do not know by reading i'mport.

``unknown`` records (a call timed out) and ``pending``/``ready`` ones older than ``stale_before``
(the process died mid-call) are re-read through the same services as everywhere else.
``manage.py reconcile`` runs it; a periodic task can call ``reconcile`` the same way.
"""

import datetime
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser

from billing import selectors
from billing.models import BillingKeyEvent

from .billing_keys import sync_billing_key
from .errors import BillingKeyError, PaymentError
from .payments import sync_payment


@dataclass
class ReconciliationReport:
    """What one pass did: each line names the record (``billing key cu_...`` or ``payment pay_...``)."""

    checked: int = 0
    changes: list[str] = field(default_factory=list)  # "billing key cu_...: unknown -> active"
    unreadable: list[str] = field(default_factory=list)  # "payment pay_...: i'mport unreadable (...)"


def reconcile(
    *,
    stale_before: datetime.datetime,
    actor: AbstractBaseUser | None = None,
    source: str = BillingKeyEvent.Source.COMMAND,
) -> ReconciliationReport:
    """Re-read every unknown or stale billing key, then every unknown or stale payment.

    A record i'mport cannot be read for right now stays as it is for the next pass.
    """
    report = ReconciliationReport()
    for billing_key in selectors.billing_keys_to_reconcile(stale_before):
        report.checked += 1
        before = billing_key.status
        try:
            sync_billing_key(billing_key=billing_key, actor=actor, source=source)
        except BillingKeyError as error:
            report.unreadable.append(
                f"billing key {billing_key.customer_uid}: i'mport unreadable ({error.cause!r})"
            )
            continue
        if billing_key.status != before:
            report.changes.append(f"billing key {billing_key.customer_uid}: {before} -> {billing_key.status}")

    for payment in selectors.payments_to_reconcile(stale_before):
        report.checked += 1
        before = payment.status
        try:
            sync_payment(payment=payment, actor=actor, source=source)
        except PaymentError as error:
            report.unreadable.append(f"payment {payment.merchant_uid}: i'mport unreadable ({error.cause!r})")
            continue
        if payment.status != before:
            report.changes.append(f"payment {payment.merchant_uid}: {before} -> {payment.status}")
    return report
