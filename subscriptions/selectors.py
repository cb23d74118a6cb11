"""The reads for subscriptions, already scoped to their owner."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from .models import Plan, Renewal, RenewalAttempt, Subscription


def active_plans() -> QuerySet[Plan]:
    return Plan.objects.filter(active=True).order_by("amount", "code")


def active_plan(code: str) -> Plan:
    return get_object_or_404(active_plans(), code=code)


def subscriptions_visible_to(user: AbstractBaseUser) -> QuerySet[Subscription]:
    """The user's own subscriptions; everyone's for staff allowed to view subscriptions."""
    subscriptions = Subscription.objects.select_related("plan", "billing_key", "owner")
    if not user.has_perm("subscriptions.view_subscription"):  # type: ignore[attr-defined]  # host user models have it (admin needs it)
        subscriptions = subscriptions.filter(owner=user)  # type: ignore[misc]  # FK to the host's AUTH_USER_MODEL
    return subscriptions.order_by("-created_at", "-id")


def subscription_of(user: AbstractBaseUser, subscription_id: int) -> Subscription:
    """One subscription the user may see, or 404 (another customer's looks like one that does not exist)."""
    return get_object_or_404(subscriptions_visible_to(user), pk=subscription_id)


def own_subscription(user: AbstractBaseUser, subscription_id: int) -> Subscription:
    """A subscription the user may change: its own, whatever the user's view permissions."""
    return get_object_or_404(
        Subscription.objects.select_related("plan", "billing_key"), pk=subscription_id, owner=user
    )


def renewals_of(subscription: Subscription) -> QuerySet[Renewal]:
    attempts = RenewalAttempt.objects.select_related("payment", "billing_key").order_by("number")
    return (
        Renewal.objects.filter(subscription=subscription)
        .prefetch_related(Prefetch("attempt_set", queryset=attempts))
        .order_by("-period_start", "-id")
    )


def open_renewal(subscription: Subscription) -> Renewal | None:
    return (
        Renewal.objects.filter(subscription=subscription, status__in=Renewal.OPEN)
        .order_by("period_start")
        .first()
    )
