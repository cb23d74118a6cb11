"""The support-staff admin: read billing keys, payments and their audit trail; act only through services.

Every i'mport-mirrored field is read-only and nothing here creates a billing key, edits a status or
deletes a row locally (a row deleted here would orphan the key at i'mport). The actions call
``services`` with the staff member as actor, one key or payment at a time, and report each outcome.

Built for a million billing keys on PostgreSQL: no full-table COUNT (see ``EstimatedCountPaginator``),
searches that resolve to index lookups (see ``BillingKeyAdmin.get_search_results``), filters whose
columns are indexed, and ``list_select_related`` so a page costs the same queries whatever its length.
"""

import json
import logging

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext_lazy as _

from . import services
from .logging_filters import redact
from .models import BillingKey, BillingKeyEvent, Payment, PaymentRefund, WebhookDelivery

logger = logging.getLogger(__name__)

ADMIN = BillingKeyEvent.Source.ADMIN
# How many owners a search term may match (a username and an email address match one or two).
MAX_OWNERS_PER_SEARCH = 50
# Each selected row is a call to i'mport made while the page waits: "select all 1,000,000" is refused.
MAX_ROWS_PER_ACTION = 100


class EstimatedCountPaginator(Paginator):
    """A paginator that never counts a whole large table.

    Up to ``exact_up_to`` rows the count is exact (``COUNT`` over a ``LIMIT``ed subquery, cheap).
    Beyond that, on PostgreSQL, it is the planner's estimate: ``pg_class.reltuples`` for the
    unfiltered table, ``EXPLAIN`` of the filtered query otherwise. ``estimated`` tells the template.
    """

    exact_up_to = 10_000

    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        bounded = queryset.order_by()[: self.exact_up_to + 1].count()
        if bounded <= self.exact_up_to:
            return bounded
        connection = connections[queryset.db]
        if connection.vendor != "postgresql":
            return queryset.count()
        self.estimated = True
        return max(bounded, _postgresql_estimate(queryset, connection))


def _postgresql_estimate(queryset: QuerySet, connection) -> int:
    with connection.cursor() as cursor:
        if not queryset.query.where:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            return int(cursor.fetchone()[0])
        sql, params = queryset.order_by().query.sql_with_params()
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])


class ReadOnlyMixin:
    """Mirrors and audit rows: viewable, never added, edited or deleted by hand."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    paginator = EstimatedCountPaginator
    show_full_result_count = False


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


def selected_rows(model_admin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> list | None:
    """The selected rows, or ``None`` (and a message) when there are more than one action should handle."""
    rows = list(queryset.order_by("pk")[: MAX_ROWS_PER_ACTION + 1])
    if len(rows) > MAX_ROWS_PER_ACTION:
        model_admin.message_user(
            request,
            _("Select at most %(max)s rows for this action; nothing was done.")
            % {"max": MAX_ROWS_PER_ACTION},
            messages.ERROR,
        )
        return None
    return rows


def pretty_json(data) -> str:
    """i'mport's stored answer, indented; anything shaped like a card number is scrubbed all the same."""
    return format_html("<pre>{}</pre>", redact(json.dumps(data, ensure_ascii=False, indent=2)))


def owners_matching(term: str) -> list[int]:
    """Ids of the users whose username is ``term`` or whose email is ``term`` in any case.

    Both are index lookups: username is unique; ``UPPER(email)`` is indexed by migration 0003.
    """
    return list(
        get_user_model()
        .objects.filter(Q(username=term) | Q(email__iexact=term))
        .values_list("pk", flat=True)[:MAX_OWNERS_PER_SEARCH]
    )


# --- billing keys ---------------------------------------------------------------------------------


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
            services.sync_billing_key(billing_key=billing_key, actor=request.user, source=ADMIN)
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
                actor=request.user,
                source=ADMIN,
                reason=reason or f"deleted by support staff ({request.user.get_username()})",
            )
        except services.BillingKeyError as error:
            self._report_failure(request, billing_key, _("could not be deleted at i'mport"), error)
            return
        self.message_user(
            request, _("%(uid)s deleted at i'mport.") % {"uid": billing_key.customer_uid}, messages.SUCCESS
        )

    def _report_failure(self, request, billing_key: BillingKey, what: str, error) -> None:
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
        context = {
            **self.admin_site.each_context(request),
            "title": _("Delete billing keys at i'mport?"),
            "opts": self.model._meta,
            "rows": billing_keys,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME if action_checkbox else None,
            "action": "delete_at_iamport",
            "media": self.media,
        }
        return TemplateResponse(
            request, "admin/billing/billingkey/delete_at_iamport_confirmation.html", context
        )

    # --- the same, from a key's own page ----------------------------------------------------------
    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/resync/", wrap(self.resync_view), name="billing_billingkey_resync"),
            path(
                "<path:object_id>/delete-at-iamport/",
                wrap(self.delete_at_iamport_view),
                name="billing_billingkey_delete_at_iamport",
            ),
            *super().get_urls(),
        ]

    def _change_url(self, billing_key: BillingKey) -> str:
        return reverse("admin:billing_billingkey_change", args=[billing_key.pk])

    def resync_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_sync_permission(request):
            raise PermissionDenied
        billing_key = get_object_or_404(self.get_queryset(request), pk=object_id)
        self._resync(request, billing_key)
        return HttpResponseRedirect(self._change_url(billing_key))

    def delete_at_iamport_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
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


# --- payments -------------------------------------------------------------------------------------


class PaymentRefundInline(ReadOnlyInline):
    model = PaymentRefund
    fields = readonly_fields = (
        "cancelled_at",
        "amount",
        "reason",
        "cancellation_id",
        "pg_tid",
        "receipt_url",
    )


class RefundForm(forms.Form):
    reason = forms.CharField(
        max_length=200,
        label=_("Reason (sent to i'mport and shown to the customer)"),
        help_text=_("Required. The whole remaining amount of each payment is refunded."),
    )


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "merchant_uid",
        "owner",
        "billing_key",
        "name",
        "amount",
        "cancelled_amount",
        "status",
        "fail_reason",
        "created_at",
    )
    list_select_related = ("owner", "billing_key")
    list_filter = ("status", "created_at")
    sortable_by = ()
    search_fields = ("=merchant_uid",)
    search_help_text = _(
        "An exact merchant_uid, imp_uid, customer_uid, owner username or owner email address (any case)."
    )
    inlines = (PaymentRefundInline,)
    actions = ("refund",)
    readonly_fields = (
        "merchant_uid",
        "imp_uid",
        "billing_key",
        "owner",
        "name",
        "amount",
        "cancelled_amount",
        "status",
        "fail_reason",
        "cancel_reason",
        "paid_at",
        "failed_at",
        "cancelled_at",
        "receipt_url",
        "pg_tid",
        "synced_at",
        "created_at",
        "updated_at",
        "answer",
    )
    fields = readonly_fields

    @admin.display(description=_("i'mport's last answer"))
    def answer(self, obj: Payment) -> str:
        return pretty_json(obj.iamport_data)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(merchant_uid=term) | Q(imp_uid=term)
        key_ids = list(BillingKey.objects.filter(customer_uid=term).values_list("pk", flat=True))
        if key_ids:
            match |= Q(billing_key_id__in=key_ids)
        owner_ids = owners_matching(term)
        if owner_ids:
            match |= Q(owner_id__in=owner_ids)
        return queryset.filter(match), False

    def has_refund_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("billing.refund_payment")

    @admin.action(description=_("Refund selected payments in full…"), permissions=["refund"])
    def refund(self, request: HttpRequest, queryset: QuerySet[Payment]):
        payments = selected_rows(self, request, queryset.select_related("owner", "billing_key"))
        if payments is None:
            return None
        form = RefundForm(request.POST if "confirmed" in request.POST else None)
        if form.is_valid():
            for payment in payments:
                self._refund(request, payment, form.cleaned_data["reason"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Refund payments?"),
            "opts": self.model._meta,
            "rows": payments,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "action": "refund",
            "media": self.media,
        }
        return TemplateResponse(request, "admin/billing/payment/refund_confirmation.html", context)

    def _refund(self, request: HttpRequest, payment: Payment, reason: str) -> None:
        try:
            services.refund_payment(
                payment=payment, amount=None, reason=reason, actor=request.user, source=ADMIN
            )
        except services.RefundNotAllowed as refusal:
            self.message_user(
                request,
                _("%(uid)s not refunded: %(why)s") % {"uid": payment.merchant_uid, "why": refusal},
                messages.WARNING,
            )
            return
        except services.PaymentError as error:
            self.message_user(
                request,
                _("%(uid)s could not be refunded: %(outcome)s (i'mport code %(code)s: %(message)s)")
                % {
                    "uid": payment.merchant_uid,
                    "outcome": _("outcome unknown, re-sync later")
                    if error.outcome_unknown
                    else type(error.cause).__name__,
                    "code": error.cause.code,
                    "message": error.cause.message,
                },
                messages.ERROR,
            )
            return
        self.message_user(
            request,
            _("%(uid)s refunded: %(amount)s won refunded in total, status %(status)s.")
            % {"uid": payment.merchant_uid, "amount": payment.cancelled_amount, "status": payment.status},
            messages.SUCCESS,
        )


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
