"""Support staff's view of plans, subscriptions and renewals. State changes go through the services."""

import datetime

from django.contrib import admin, messages
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.admin.base import SelectedIdsMixin, owners_matching

from . import services
from .models import Plan, Renewal, RenewalAttempt, Subscription


@admin.register(Plan)
class PlanAdmin(SelectedIdsMixin, admin.ModelAdmin):
    list_display = ["code", "name", "amount", "interval", "interval_count", "trial_days", "active"]
    list_filter = ["active", "interval"]
    search_fields = ["code", "name"]


class NextChargeFilter(admin.SimpleListFilter):
    title = _("next charge")
    parameter_name = "next_charge"

    def lookups(self, request, model_admin):
        return [("overdue", _("Due now")), ("7d", _("Within 7 days")), ("30d", _("Within 30 days"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.filter(current_period_end__lte=now, status__in=Subscription.LIVE)
        if self.value() in ("7d", "30d"):
            days = 7 if self.value() == "7d" else 30
            return queryset.filter(
                current_period_end__lte=now + datetime.timedelta(days=days), status__in=Subscription.LIVE
            )
        return queryset


class RenewalInline(admin.TabularInline):
    model = Renewal
    fields = ["period_start", "period_end", "amount", "status", "attempts", "next_attempt_at", "last_error"]
    readonly_fields = fields  # type: ignore[assignment]  # plain field names, valid for both
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-period_start"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(SelectedIdsMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "owner",
        "plan",
        "status",
        "current_period_end",
        "cancel_at_period_end",
        "created_at",
    ]
    list_filter = ["status", NextChargeFilter, "plan"]
    search_fields = ["=billing_key__customer_uid"]  # shows the search box; get_search_results does the work
    search_help_text = _("An exact customer_uid, owner login or owner email address (any case).")

    def get_search_results(self, request, queryset, search_term):
        """As billing's admin: exact ids and the owner by the host's login field or email, index lookups."""
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(billing_key__customer_uid=term) | Q(owner_id__in=owners_matching(term))
        return queryset.filter(match), False

    list_select_related = ["owner", "plan"]
    readonly_fields = [field.name for field in Subscription._meta.fields]
    inlines = [RenewalInline]
    actions = ["cancel_now", "cancel_at_period_end"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Cancel now (charges not yet sent are void)"), permissions=["cancel"])
    def cancel_now(self, request, queryset):
        self._cancel(request, queryset, at_period_end=False)

    @admin.action(description=_("Cancel at the end of the period"), permissions=["cancel"])
    def cancel_at_period_end(self, request, queryset):
        self._cancel(request, queryset, at_period_end=True)

    def has_cancel_permission(self, request):
        return request.user.has_perm("subscriptions.cancel_subscription")

    def _cancel(self, request, queryset, *, at_period_end: bool):
        done = 0
        for subscription in queryset:
            try:
                services.cancel(subscription=subscription, at_period_end=at_period_end, actor=request.user)
                done += 1
            except services.SubscriptionConflict as error:
                self.message_user(request, f"#{subscription.pk}: {error.message}", messages.WARNING)
        self.message_user(request, _("%(count)d cancelled.") % {"count": done}, messages.SUCCESS)


class AttemptInline(admin.TabularInline):
    model = RenewalAttempt
    fields = ["number", "merchant_uid", "billing_key", "payment", "outcome", "created_at"]
    readonly_fields = fields  # type: ignore[assignment]  # plain field names, valid for both
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Renewal)
class RenewalAdmin(SelectedIdsMixin, admin.ModelAdmin):
    list_display = ["id", "subscription", "period_start", "amount", "status", "attempts", "next_attempt_at"]
    list_filter = ["status", "decline"]
    search_fields = ["=attempt_set__merchant_uid"]  # shows the search box; get_search_results does the work
    search_help_text = _("An exact attempt merchant_uid, owner login or owner email address (any case).")

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        attempted = RenewalAttempt.objects.filter(merchant_uid=term).values("renewal_id")
        match = Q(pk__in=attempted) | Q(subscription__owner_id__in=owners_matching(term))
        return queryset.filter(match), False

    list_select_related = ["subscription"]
    readonly_fields = [field.name for field in Renewal._meta.fields]
    inlines = [AttemptInline]
    actions = ["retry_now"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Retry now (or check an unknown charge with i'mport)"), permissions=["retry"])
    def retry_now(self, request, queryset):
        for renewal in queryset:
            try:
                result = services.retry_now(renewal=renewal, actor=request.user)
            except services.SubscriptionConflict as error:
                self.message_user(request, f"#{renewal.pk}: {error.message}", messages.WARNING)
                continue
            outcome = result.action if result else _("held by another process; try again shortly")
            self.message_user(request, f"#{renewal.pk}: {outcome}", messages.INFO)

    def has_retry_permission(self, request):
        return request.user.has_perm("subscriptions.retry_renewal")
