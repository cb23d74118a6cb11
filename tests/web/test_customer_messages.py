"""What a customer reads when i'mport says no: chosen by the kind of error, in the page's language."""

import pytest
from django.utils import translation

from billing import customer_messages, services
from billing.display import card_company
from billing.iamport.errors import (
    IamportAuthError,
    IamportNotFound,
    IamportOutcomeUnknown,
    IamportRefused,
    IamportUnavailable,
)
from billing.models import BillingKey

RAW = "카드사 원문 메시지 (code 9999)"


@pytest.mark.parametrize(
    ("cause", "english"),
    [
        (IamportRefused(RAW, code=-1), "The card company did not accept this card."),
        (IamportUnavailable(RAW), "Card registration is unavailable right now."),
        (IamportAuthError(RAW), "Card registration is unavailable right now."),
    ],
)
def test_registration_refusals_never_carry_i_mport_text(cause, english):
    with translation.override("en"):
        sentence = customer_messages.registration_refused(services.IamportCallFailed(cause))
    with translation.override("ko"):
        korean = customer_messages.registration_refused(services.IamportCallFailed(cause))

    assert sentence.startswith(english)
    assert RAW not in sentence
    assert RAW not in korean
    assert korean != sentence


@pytest.mark.parametrize(
    ("cause", "english"),
    [
        (IamportNotFound(RAW, code=1), "The card company no longer knows this card."),
        (IamportOutcomeUnknown(RAW), "The card company did not answer in time."),
        (IamportRefused(RAW, code=1), "The card company did not allow the card to be removed."),
        (IamportUnavailable(RAW), "Cards cannot be removed right now."),
    ],
)
def test_removal_failures_say_what_happened(cause, english):
    with translation.override("en"):
        assert customer_messages.removal_failed(services.IamportCallFailed(cause)).startswith(english)


@pytest.mark.parametrize(
    ("code", "name", "ko", "en"),
    [
        ("381", "국민KB카드", "KB국민카드", "KB Kookmin Card"),
        ("366", "신한카드", "신한카드", "Shinhan Card"),
        ("999", "새로운카드", "새로운카드", "새로운카드"),  # a code we do not know: i'mport's own name
    ],
)
def test_card_companies_are_named_in_the_page_language(code, name, ko, en):
    key = BillingKey(card_code=code, card_name=name)
    with translation.override("ko"):
        assert card_company(key) == ko
    with translation.override("en"):
        assert card_company(key) == en
