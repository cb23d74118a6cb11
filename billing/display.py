"""How amounts and card companies read in the page's language; the views and the template filters use it."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


def format_won(amount: int) -> str:
    """``9,900원`` in Korean, ``₩9,900`` in English: the catalogue decides where the currency goes."""
    return _("%(amount)s won") % {"amount": f"{int(amount):,}"}


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


def card_company(billing_key) -> str:
    """The card company's name in the page's language, from i'mport's code; i'mport's own name otherwise."""
    name = CARD_COMPANIES.get(billing_key.card_code)
    return str(name) if name is not None else billing_key.card_name
