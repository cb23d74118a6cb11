"""The payment admin: mirrored payments, their refunds inline, and the full-refund action.

Searches resolve to index lookups (merchant_uid, imp_uid, a key's customer_uid or an owner); the
refund goes through ``services`` one payment at a time, after a confirmation page that asks why.
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import BillingKey, Payment, PaymentRefund
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
        return confirmation_page(
            self,
            request,
            template="admin/billing/payment/refund_confirmation.html",
            title=_("Refund payments?"),
            rows=payments,
            form=form,
            action="refund",
        )

    def _refund(self, request: HttpRequest, payment: Payment, reason: str) -> None:
        try:
            services.refund_payment(
                payment=payment, amount=None, reason=reason, actor=staff(request), source=ADMIN
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
