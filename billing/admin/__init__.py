"""The support-staff admin: read billing keys, payments and their audit trail; act only through services.

Every i'mport-mirrored field is read-only and nothing here creates a billing key, edits a status or
deletes a row locally (a row deleted here would orphan the key at i'mport). The actions call
``services`` with the staff member as actor, one key or payment at a time, and report each outcome.

Built for a million billing keys on PostgreSQL: no full-table COUNT (see ``EstimatedCountPaginator``),
searches that resolve to index lookups (see ``BillingKeyAdmin.get_search_results``), filters whose
columns are indexed, and ``list_select_related`` so a page costs the same queries whatever its length.

``base`` holds what the admins share; each other module registers one model's admin. Importing them
here is what registers them: Django's autodiscovery imports ``billing.admin`` and nothing deeper.
"""

from .base import EstimatedCountPaginator, ReadOnlyAdmin, ReadOnlyInline
from .billing_keys import BillingKeyAdmin, BillingKeyEventInline, PgProviderFilter
from .events import BillingKeyEventAdmin
from .payments import PaymentAdmin, PaymentRefundInline
from .webhooks import WebhookDeliveryAdmin

__all__ = [
    "BillingKeyAdmin",
    "BillingKeyEventAdmin",
    "BillingKeyEventInline",
    "EstimatedCountPaginator",
    "PaymentAdmin",
    "PaymentRefundInline",
    "PgProviderFilter",
    "ReadOnlyAdmin",
    "ReadOnlyInline",
    "WebhookDeliveryAdmin",
]
