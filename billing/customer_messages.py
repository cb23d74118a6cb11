"""What a customer reads when i'mport says no: one sentence in the page's language.

i'mport's own text (the card company's Korean wording, its code) is for support staff: the services
record it in the audit trail (``BillingKeyEvent.iamport_code`` / ``iamport_message``) and it is never
put into a page. The services' errors say what kind of failure it was (refused, not found,
unavailable, outcome unknown); i'mport V1 answers every refusal with ``code: -1``, so the kind of
error and the action that failed are what choose the sentence; the message text is never parsed.
"""

import math

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .services import IamportCallFailed


def registration_refused(error: IamportCallFailed) -> str:
    """The card could not be registered (the form's error above the fields)."""
    if error.refused:
        return _(
            "The card company did not accept this card. Check the card details and try again, "
            "or use another card."
        )
    return unavailable()


def payment_declined(*, card_kept: bool | None) -> str:
    """The card company declined the first payment; i'mport decides whether the card stays registered.

    ``card_kept`` is None while that is not known yet (the key is being checked with i'mport).
    """
    if card_kept is None:
        return _(
            "The card company declined the payment. We are checking whether the card stays registered; "
            "your card list will show it."
        )
    if card_kept:
        return _(
            "The card was registered, but the card company declined the payment. "
            "Check your card's limit and balance, or use another card."
        )
    return _(
        "The card company declined the payment, so the card was not registered. "
        "Check your card's limit and balance, or use another card."
    )


def registration_and_payment_refused(error: IamportCallFailed) -> str:
    if error.refused:
        return _(
            "The card company did not accept this card, so nothing was registered or charged. "
            "Check the card details and try again, or use another card."
        )
    return _(
        "Payments are unavailable right now. Nothing was registered or charged; please try again shortly."
    )


def removal_failed(error: IamportCallFailed) -> str:
    if error.not_found:
        return _("The card company no longer knows this card. Please contact us so we can remove it for you.")
    if error.outcome_unknown:
        return _("The card company did not answer in time. We are checking whether the card was removed.")
    if error.refused:
        return _("The card company did not allow the card to be removed. Please contact us.")
    return _("Cards cannot be removed right now. Nothing was changed; please try again shortly.")


def unavailable() -> str:
    return _("Card registration is unavailable right now. Nothing was registered; please try again shortly.")


def too_many_registrations(wait: float) -> str:
    """Card-testing throttles (``billing.throttling.registration_wait``) said wait ``wait`` seconds."""
    minutes = max(1, math.ceil(wait / 60))
    return ngettext(
        "Too many card registration attempts. Please try again in %(minutes)d minute.",
        "Too many card registration attempts. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
