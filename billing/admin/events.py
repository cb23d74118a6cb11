"""The audit-trail admin: every call made for a billing key, who made it and what i'mport answered.

Read-only, as an audit trail must be; searched by exact customer_uid only, which is indexed.
"""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ..models import BillingKeyEvent
from .base import ReadOnlyAdmin


@admin.register(BillingKeyEvent)
class BillingKeyEventAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "billing_key",
        "action",
        "outcome",
        "source",
        "actor",
        "iamport_code",
        "iamport_message",
        "duration_ms",
    )
    list_select_related = ("billing_key", "actor")
    list_filter = ("outcome", "action", "created_at")
    sortable_by = ()
    search_fields = ("=billing_key__customer_uid",)
    search_help_text = _("An exact customer_uid.")
    readonly_fields = (
        "billing_key",
        "created_at",
        "action",
        "outcome",
        "source",
        "actor",
        "iamport_code",
        "iamport_message",
        "http_status",
        "duration_ms",
    )
    fields = readonly_fields
