"""Template helpers of the subscription pages: plan intervals in words, status badges like billing's."""

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

from subscriptions.models import Plan

register = template.Library()

# Each status's badge: a short word for the customer and a colour (billing/badge.html draws it). The words
# have a context of their own: billing's catalogue, which Django consults first, already has "Cancelled"
# (a refunded payment) and "Active" (a card) with other meanings.
SUBSCRIPTION_BADGES = {
    "trialing": (pgettext_lazy("subscription status", "Free trial"), "ok"),
    "active": (pgettext_lazy("subscription status", "Active"), "ok"),
    "past_due": (pgettext_lazy("subscription status", "Payment overdue"), "bad"),
    "cancelled": (pgettext_lazy("subscription status", "Cancelled"), "muted"),
    "ended": (pgettext_lazy("subscription status", "Ended"), "muted"),
}
RENEWAL_BADGES = {
    "pending": (pgettext_lazy("renewal status", "Scheduled"), "wait"),
    "unknown": (pgettext_lazy("renewal status", "Being checked"), "wait"),
    "paid": (pgettext_lazy("renewal status", "Paid"), "ok"),
    "failed": (pgettext_lazy("renewal status", "Failed"), "bad"),
    "void": (pgettext_lazy("renewal status", "Not charged"), "muted"),
}


@register.filter
def interval_words(plan: Plan) -> str:
    """How often a plan charges, as people say it: 매월 / monthly, 3개월마다 / every 3 months."""
    count = plan.interval_count
    if plan.interval == Plan.Interval.WEEK:
        if count == 1:
            return _("weekly")
        return ngettext("every %(count)d week", "every %(count)d weeks", count) % {"count": count}
    if plan.interval == Plan.Interval.YEAR:
        if count == 1:
            return _("yearly")
        return ngettext("every %(count)d year", "every %(count)d years", count) % {"count": count}
    if count == 1:
        return _("monthly")
    return ngettext("every %(count)d month", "every %(count)d months", count) % {"count": count}


@register.inclusion_tag("billing/badge.html")
def subscription_badge(subscription) -> dict:
    return _badge(SUBSCRIPTION_BADGES, subscription)


@register.inclusion_tag("billing/badge.html")
def renewal_badge(renewal) -> dict:
    return _badge(RENEWAL_BADGES, renewal)


def _badge(badges: dict, record) -> dict:
    label, tone = badges.get(record.status, (record.get_status_display(), "muted"))
    return {"label": label, "tone": tone}
