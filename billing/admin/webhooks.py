"""The webhook-delivery admin: each notification i'mport sent us, as received, and what we made of it."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from ..models import WebhookDelivery
from .base import ReadOnlyAdmin, pretty_json


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "received_at",
        "merchant_uid",
        "imp_uid",
        "claimed_status",
        "result",
        "detail",
        "source_ip",
    )
    list_filter = ("result", "received_at")
    sortable_by = ()
    search_fields = ("=merchant_uid",)
    search_help_text = _("An exact merchant_uid.")
    readonly_fields = (
        "received_at",
        "merchant_uid",
        "imp_uid",
        "claimed_status",
        "source_ip",
        "result",
        "detail",
        "payment",
        "delivered_body",
    )
    fields = readonly_fields

    @admin.display(description=_("body as received"))
    def delivered_body(self, obj: WebhookDelivery) -> str:
        return pretty_json(obj.body)
