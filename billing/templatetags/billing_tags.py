"""Template helpers of the customer pages: amounts in won, status badges."""

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

register = template.Library()


def format_won(amount: int) -> str:
    """``9,900원`` in Korean, ``₩9,900`` in English: the catalogue decides where the currency goes."""
    return _("%(amount)s won") % {"amount": f"{int(amount):,}"}


@register.filter
def won(amount) -> str:
    if amount is None or amount == "":
        return ""
    return format_won(amount)


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


# i'mport's card company codes (PortOne V1 ``card_code``) and their names in the page's language; i'mport
# itself answers ``card_name`` in Korean, which an English page should not show. Unknown codes keep it.
CARD_COMPANIES = {
    "361": gettext_lazy("BC Card"),
    "364": gettext_lazy("Kwangju Bank"),
    "365": gettext_lazy("Samsung Card"),
    "366": gettext_lazy("Shinhan Card"),
    "367": gettext_lazy("Hyundai Card"),
    "368": gettext_lazy("Lotte Card"),
    "369": gettext_lazy("Suhyup Bank"),
    "370": gettext_lazy("Citibank"),
    "371": gettext_lazy("NH Nonghyup Card"),
    "372": gettext_lazy("Jeonbuk Bank"),
    "373": gettext_lazy("Jeju Bank"),
    "374": gettext_lazy("Hana Card"),
    "381": gettext_lazy("KB Kookmin Card"),
    "041": gettext_lazy("Woori Card"),
    "071": gettext_lazy("Korea Post"),
}


@register.filter
def card_company(billing_key) -> str:
    """The card company's name in the page's language, from i'mport's code; i'mport's own name otherwise."""
    name = CARD_COMPANIES.get(billing_key.card_code)
    return str(name) if name is not None else billing_key.card_name
