"""The reads. Every query a view runs starts here, already scoped to its owner."""

import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from .models import BillingKey, Payment

# What a customer sees as "my cards": failed attempts and deleted keys stay for support staff only.
VISIBLE_TO_CUSTOMER = (BillingKey.Status.PENDING, BillingKey.Status.ACTIVE, BillingKey.Status.UNKNOWN)


def billing_keys_of(owner: AbstractBaseUser) -> QuerySet[BillingKey]:
    return BillingKey.objects.filter(owner=owner, status__in=VISIBLE_TO_CUSTOMER).order_by(  # type: ignore[misc]  # FK to the host's AUTH_USER_MODEL
        "-created_at", "-id"
    )


def billing_key_of(owner: AbstractBaseUser, customer_uid: str) -> BillingKey:
    """The owner's key, or 404: someone else's customer_uid looks exactly like one that does not exist."""
    return get_object_or_404(billing_keys_of(owner), customer_uid=customer_uid)


def billing_keys_for_staff(*, owner: str | None = None, status: str | None = None) -> QuerySet[BillingKey]:
    """Every customer's keys, any status, for holders of ``billing.view_billingkey`` (the view checks).

    ``owner`` is a username or a numeric user id.
    """
    keys = BillingKey.objects.select_related("owner")
    if owner is not None:
        by_owner = Q(**{f"owner__{get_user_model().USERNAME_FIELD}": owner})
        if owner.isascii() and owner.isdigit() and len(owner) <= 18:  # "²".isdigit(); ids are 64-bit
            by_owner |= Q(owner_id=int(owner))
        keys = keys.filter(by_owner)
    if status is not None:
        keys = keys.filter(status=status)
    return keys.order_by("-created_at", "-id")


def payments_of(owner: AbstractBaseUser) -> QuerySet[Payment]:
    """The customer's own payment history, staff or not: the customer pages show nobody else's."""
    return Payment.objects.filter(owner=owner).select_related("billing_key").order_by("-created_at", "-id")  # type: ignore[misc]  # FK to the host's AUTH_USER_MODEL


def payments_visible_to(user: AbstractBaseUser) -> QuerySet[Payment]:
    """The user's own payments; every payment for staff allowed to view payments."""
    payments = Payment.objects.select_related("billing_key", "owner").prefetch_related("refunds")
    if not user.has_perm("billing.view_payment"):  # type: ignore[attr-defined]  # host user models have it (admin needs it)
        payments = payments.filter(owner=user)  # type: ignore[misc]  # FK to the host's AUTH_USER_MODEL
    return payments.order_by("-created_at", "-id")


def payment_of(user: AbstractBaseUser, merchant_uid: str) -> Payment:
    """One payment the user may see, or 404: another customer's looks exactly like one that does not exist."""
    return get_object_or_404(payments_visible_to(user), merchant_uid=merchant_uid)


def payment_for_refund(merchant_uid: str) -> Payment:
    """Any payment, for staff holding ``billing.refund_payment`` (the view checks the permission)."""
    return get_object_or_404(
        Payment.objects.select_related("billing_key", "owner"), merchant_uid=merchant_uid
    )


def chargeable_billing_key(customer_uid: str) -> BillingKey:
    """Any customer's key, for holders of ``billing.charge_billingkey`` (the view checks the permission)."""
    return get_object_or_404(BillingKey.objects.select_related("owner"), customer_uid=customer_uid)


def payments_to_reconcile(stale_before: datetime.datetime) -> QuerySet[Payment]:
    """Payments whose outcome we do not know: ``unknown``, or ``ready`` for longer than a call can take."""
    return (
        Payment.objects.select_related("billing_key")
        .filter(
            Q(status=Payment.Status.UNKNOWN) | Q(status=Payment.Status.READY, created_at__lt=stale_before)
        )
        .order_by("created_at", "id")
    )


def billing_keys_to_reconcile(stale_before: datetime.datetime) -> QuerySet[BillingKey]:
    """Keys whose state we do not know: ``unknown``, or ``pending`` for longer than a call can take."""
    return BillingKey.objects.filter(
        Q(status=BillingKey.Status.UNKNOWN) | Q(status=BillingKey.Status.PENDING, created_at__lt=stale_before)
    ).order_by("created_at", "id")


def billing_keys_changed_since(since: datetime.datetime | None) -> QuerySet[BillingKey]:
    """Every key (any status) changed since ``since``, or all of them: the full reconciliation's list."""
    keys = BillingKey.objects.all()
    return keys.filter(updated_at__gte=since) if since is not None else keys


def payments_changed_since(since: datetime.datetime | None) -> QuerySet[Payment]:
    """Every payment changed since ``since``, or all of them: the full reconciliation's list."""
    payments = Payment.objects.select_related("billing_key")
    return payments.filter(updated_at__gte=since) if since is not None else payments
