"""The billing-key admin: the mirrored keys, their audit trail inline, re-sync and delete at i'mport.

Searches resolve to index lookups (an exact customer_uid, or the keys of one owner) and the PG filter
reads one index entry per PG, so a page of a million keys costs what a page of ten does. Both actions
act through ``services`` one key at a time, from the change list or from a key's own page.
"""

from typing import TYPE_CHECKING

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import connections
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import BillingKey, BillingKeyEvent
from .base import (
    ADMIN,
    ReadOnlyAdmin,
    ReadOnlyInline,
    confirmation_page,
    owners_matching,
    pretty_json,
    selected_rows,
    staff,
)

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise  # gettext_lazy's type; django-stubs-ext is a dev requirement

# A "loose index scan": one index probe per distinct value, instead of reading every row.
DISTINCT_PG_PROVIDERS = """
WITH RECURSIVE pg(name) AS (
    SELECT MIN(pg_provider) FROM {table} WHERE pg_provider > ''
    UNION ALL
    SELECT (SELECT MIN(pg_provider) FROM {table} WHERE pg_provider > pg.name)
    FROM pg WHERE pg.name IS NOT NULL
)
SELECT name FROM pg WHERE name IS NOT NULL
"""


class PgProviderFilter(admin.SimpleListFilter):
    """Filter by PG. Its choices come from a skip scan of the ``pg_provider`` index.

    Django's default (``SELECT DISTINCT``) reads every row; this reads one index entry per PG.
    """

    title = _("PG")
    parameter_name = "pg_provider"

    def lookups(self, request, model_admin):
        connection = connections[model_admin.get_queryset(request).db]
        sql = DISTINCT_PG_PROVIDERS.format(table=connection.ops.quote_name(BillingKey._meta.db_table))
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return [(name, name) for (name,) in cursor.fetchall()]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(pg_provider=self.value())
        return queryset


class BillingKeyEventInline(ReadOnlyInline):
    model = BillingKeyEvent
    fields = readonly_fields = (
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
    ordering = ("-created_at", "-id")
    verbose_name_plural = _("Audit events (newest first)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class DeleteAtIamportForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        required=False,
        label=_("Reason (sent to i'mport)"),
        help_text=_("For example: the customer asked by phone to remove this card."),
    )


@admin.register(BillingKey)
class BillingKeyAdmin(ReadOnlyAdmin):
    list_display = (
        "customer_uid",
        "owner_display",
        "card_name",
        "masked_card_number",
        "status",
        "last_error",
        "updated_at",
    )
    list_select_related = ("owner",)
    list_filter = ("status", PgProviderFilter, "created_at")
    # Only indexed orderings: the default (newest first) and customer_uid.
    sortable_by = ("customer_uid",)
    search_fields = ("=customer_uid",)  # shows the search box; get_search_results does the work
    search_help_text = _("An exact customer_uid, owner username or owner email address (any case).")
    inlines = (BillingKeyEventInline,)
    actions = ("resync_from_iamport", "delete_at_iamport")
    fieldsets = (
        (None, {"fields": ("customer_uid", "owner_display", "status", "created_at", "updated_at")}),
        (_("Last failure"), {"fields": ("last_error_code", "last_error_message")}),
        (
            _("Card (masked, from i'mport)"),
            {"fields": ("card_name", "card_code", "masked_card_number", "card_type", "pg_provider", "pg_id")},
        ),
        (
            _("At i'mport"),
            {"fields": ("iamport_inserted_at", "iamport_updated_at", "synced_at", "payments_link", "answer")},
        ),
    )
    readonly_fields = (
        "customer_uid",
        "owner_display",
        "status",
        "created_at",
        "updated_at",
        "last_error_code",
        "last_error_message",
        "card_name",
        "card_code",
        "masked_card_number",
        "card_type",
        "pg_provider",
        "pg_id",
        "iamport_inserted_at",
        "iamport_updated_at",
        "synced_at",
        "payments_link",
        "answer",
    )

    @admin.display(description=_("owner"))
    def owner_display(self, obj: BillingKey) -> str:
        return (
            f"{obj.owner.get_username()} <{obj.owner.email}>" if obj.owner.email else obj.owner.get_username()
        )

    @admin.display(description=_("last error"))
    def last_error(self, obj: BillingKey) -> str:
        if obj.last_error_code is None and not obj.last_error_message:
            return ""
        return Truncator(f"[{obj.last_error_code}] {obj.last_error_message}").chars(80)

    @admin.display(description=_("payments"))
    def payments_link(self, obj: BillingKey) -> str:
        url = reverse("admin:billing_payment_changelist") + f"?billing_key__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Payments charged to this key"))

    @admin.display(description=_("i'mport's last answer"))
    def answer(self, obj: BillingKey) -> str:
        return pretty_json(obj.iamport_data)

    def get_search_results(self, request, queryset, search_term):
        """Exact customer_uid, or the keys of the owner with that username or email: index lookups only."""
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(customer_uid=term)
        owner_ids = owners_matching(term)
        if owner_ids:
            match |= Q(owner_id__in=owner_ids)
        return queryset.filter(match), False

    # --- permissions of the actions ---------------------------------------------------------
    def has_sync_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.sync_billingkey")

    def has_delete_at_iamport_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.delete_at_iamport_billingkey")

    # --- actions ----------------------------------------------------------------------------
    @admin.action(description=_("Re-sync selected keys from i'mport"), permissions=["sync"])
    def resync_from_iamport(self, request: HttpRequest, queryset: QuerySet[BillingKey]) -> None:
        for billing_key in selected_rows(self, request, queryset.select_related(None)) or []:
            self._resync(request, billing_key)

    @admin.action(description=_("Delete selected keys at i'mport…"), permissions=["delete_at_iamport"])
    def delete_at_iamport(self, request: HttpRequest, queryset: QuerySet[BillingKey]):
        billing_keys = selected_rows(self, request, queryset.select_related("owner"))
        if billing_keys is None:
            return None
        form = DeleteAtIamportForm(request.POST if "confirmed" in request.POST else None)
        if form.is_valid():
            for billing_key in billing_keys:
                self._delete(request, billing_key, form.cleaned_data["reason"])
            return None
        return self._delete_confirmation(request, billing_keys, form, action_checkbox=True)

    # --- one key at a time: the outcome of each is its own message ------------------------------
    def _resync(self, request: HttpRequest, billing_key: BillingKey) -> None:
        before = billing_key.status
        try:
            services.sync_billing_key(billing_key=billing_key, actor=staff(request), source=ADMIN)
        except services.BillingKeyError as error:
            self._report_failure(request, billing_key, _("could not be re-synced"), error)
            return
        self.message_user(
            request,
            _("%(uid)s re-synced from i'mport: %(before)s → %(after)s.")
            % {"uid": billing_key.customer_uid, "before": before, "after": billing_key.status},
            messages.SUCCESS,
        )

    def _delete(self, request: HttpRequest, billing_key: BillingKey, reason: str) -> None:
        if billing_key.status == BillingKey.Status.DELETED:
            self.message_user(
                request, _("%(uid)s was already deleted.") % {"uid": billing_key.customer_uid}, messages.INFO
            )
            return
        try:
            services.delete_billing_key(
                billing_key=billing_key,
                actor=staff(request),
                source=ADMIN,
                reason=reason or f"deleted by support staff ({request.user.get_username()})",
            )
        except services.BillingKeyError as error:
            self._report_failure(request, billing_key, _("could not be deleted at i'mport"), error)
            return
        self.message_user(
            request, _("%(uid)s deleted at i'mport.") % {"uid": billing_key.customer_uid}, messages.SUCCESS
        )

    def _report_failure(self, request, billing_key: BillingKey, what: "str | StrPromise", error) -> None:
        outcome = _("outcome unknown, re-sync later") if error.outcome_unknown else type(error.cause).__name__
        self.message_user(
            request,
            _("%(uid)s %(what)s: %(outcome)s (i'mport code %(code)s: %(message)s)")
            % {
                "uid": billing_key.customer_uid,
                "what": what,
                "outcome": outcome,
                "code": error.cause.code,
                "message": error.cause.message,
            },
            messages.ERROR,
        )

    def _delete_confirmation(self, request, billing_keys, form, *, action_checkbox: bool) -> TemplateResponse:
        return confirmation_page(
            self,
            request,
            template="admin/billing/billingkey/delete_at_iamport_confirmation.html",
            title=_("Delete billing keys at i'mport?"),
            rows=billing_keys,
            form=form,
            action="delete_at_iamport",
            action_checkbox=action_checkbox,
        )

    # --- the same, from a key's own page ----------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:object_id>/resync/", wrap(self.resync_view), name="billing_billingkey_resync"),
            path(
                "<int:object_id>/delete-at-iamport/",
                wrap(self.delete_at_iamport_view),
                name="billing_billingkey_delete_at_iamport",
            ),
            *super().get_urls(),
        ]

    def _change_url(self, billing_key: BillingKey) -> str:
        return reverse("admin:billing_billingkey_change", args=[billing_key.pk])

    def resync_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_sync_permission(request):
            raise PermissionDenied
        billing_key = get_object_or_404(self.get_queryset(request), pk=object_id)
        self._resync(request, billing_key)
        return HttpResponseRedirect(self._change_url(billing_key))

    def delete_at_iamport_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if not self.has_delete_at_iamport_permission(request):
            raise PermissionDenied
        billing_key = get_object_or_404(self.get_queryset(request), pk=object_id)
        form = DeleteAtIamportForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            self._delete(request, billing_key, form.cleaned_data["reason"])
            return HttpResponseRedirect(self._change_url(billing_key))
        return self._delete_confirmation(request, [billing_key], form, action_checkbox=False)

    def render_change_form(self, request, context, *args, **kwargs):
        context["can_sync"] = self.has_sync_permission(request)
        context["can_delete_at_iamport"] = self.has_delete_at_iamport_permission(request)
        return super().render_change_form(request, context, *args, **kwargs)
