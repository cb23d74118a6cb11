"""The reads for subscriptions, already scoped to their owner."""

import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

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


def engine_status(now: datetime.datetime | None = None) -> dict[str, int]:
    """Counts for ``renew_due --status``: due now, held by a process, and by status."""
    now = now or timezone.now()
    wall = timezone.now()
    unclaimed = Q(claimed_until__isnull=True) | Q(claimed_until__lte=wall)
    counts = Renewal.objects.aggregate(
        due=Count("id", filter=Q(status__in=Renewal.OPEN, next_attempt_at__lte=now) & unclaimed),
        in_flight=Count("id", filter=Q(claimed_until__gt=wall)),
        pending=Count("id", filter=Q(status=Renewal.Status.PENDING)),
        paid=Count("id", filter=Q(status=Renewal.Status.PAID)),
        failed=Count("id", filter=Q(status=Renewal.Status.FAILED)),
        unknown=Count("id", filter=Q(status=Renewal.Status.UNKNOWN)),
    )
    counts["periods_to_open"] = Subscription.objects.filter(
        status__in=(Subscription.Status.TRIALING, Subscription.Status.ACTIVE), current_period_end__lte=now
    ).count()
    return counts
