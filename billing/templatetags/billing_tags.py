"""Template helpers of the customer pages: amounts in won, card companies, status badges."""

from django import template

from billing import display

register = template.Library()


@register.filter
def won(amount) -> str:
    if amount is None or amount == "":
        return ""
    return display.format_won(amount)


@register.filter
def card_company(billing_key) -> str:
    return display.card_company(billing_key)


# Badge colour per status value (billing keys and payments); the text is the model's translated label.
BADGE_TONES = {
    "active": "ok",
    "paid": "ok",
    "pending": "wait",
    "ready": "wait",
    "unknown": "wait",
    "failed": "bad",
    "cancelled": "muted",
    "deleted": "muted",
}


@register.inclusion_tag("billing/badge.html")
def status_badge(label, value) -> dict:
    return {"label": label, "tone": BADGE_TONES.get(str(value), "muted")}
