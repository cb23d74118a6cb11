"""Digit-like Unicode ("²", Arabic-Indic, full-width) is refused as card input, never sent on or a 500."""

from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from billing import cards
from tests.support.cards import GOOD_CARD

# Each is a digit to str.isdigit(); "²" makes int() fail, the others int() accepts.
SUPERSCRIPT_CARD = "4242-4242-4242-424²"
ARABIC_INDIC_CARD = "٤٢٤٢٤٢٤٢٤٢٤٢٤٢٤٢"
FULL_WIDTH_CARD = "４２４２４２４２４２４２４２４２"
HOSTILE = {
    "card_number": [SUPERSCRIPT_CARD, ARABIC_INDIC_CARD, FULL_WIDTH_CARD, "4242\u00a04242 4242 4242"],
    "birth": ["90010²", "٩٠٠١٠١", "９００１０１", "²²²²²²"],
    "expiry": ["2030-1²", "٢٠٣٠-١٢", "２０３０-１２", "١٢/٣٠", "１２/３０"],
    "pwd_2digit": ["1²", "١٢", "１２"],
}
CASES = [(field, value) for field, values in HOSTILE.items() for value in values]


@pytest.mark.parametrize(("field", "value"), CASES)
def test_the_normaliser_accepts_ascii_digits_only(field, value):
    with pytest.raises(ValidationError) as refused:
        cards.NORMALIZERS[field](value)

    assert value not in " ".join(refused.value.messages)


def test_spaces_and_dashes_are_still_fine():
    assert cards.normalize_card_number(" 4242 4242-4242 4242 ") == "4242-4242-4242-4242"
    assert cards.normalize_birth("90-01-01") == "900101"


@pytest.mark.parametrize(("field", "value"), CASES)
def test_the_api_answers_400_naming_the_field(iamport, token_client, field, value):
    response = token_client.post(
        reverse("billing_api:billing-key-list"), {**GOOD_CARD, field: value}, format="json"
    )

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.json()["fields"]
    assert value not in response.content.decode()
    assert iamport.calls_to("POST", "/subscribe/customers/") == []


@pytest.mark.parametrize(("field", "value"), CASES)
def test_the_web_form_shows_a_field_error(iamport, customer_client, field, value):
    response = customer_client.post(reverse("billing:card-new"), {**GOOD_CARD, field: value})

    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field in response.context["form"].errors
    assert value not in response.content.decode()
    assert iamport.calls_to("POST", "/subscribe/customers/") == []
