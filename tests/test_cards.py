"""Card input validation, shared by the web form and the API."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from billing import cards

TODAY = datetime.date(2026, 11, 26)


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("4242424242424242", "4242-4242-4242-4242"),
        ("4242-4242-4242-4242", "4242-4242-4242-4242"),
        (" 4242 4242 4242 4242 ", "4242-4242-4242-4242"),
        ("36227206271667", "3622-7206-2716-67"),  # 14-digit Diners
    ],
)
def test_card_number_accepted(typed, normalized):
    assert cards.normalize_card_number(typed) == normalized


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("", "required"),
        ("4242-4242-4242-424x", "invalid"),
        ("4242 4242 4242", "length"),
        ("42424242424242424242", "length"),
        ("4242424242424241", "checksum"),
    ],
)
def test_card_number_refused(typed, code):
    with pytest.raises(ValidationError) as raised:
        cards.normalize_card_number(typed)
    assert raised.value.code == code
    assert typed.strip() == "" or typed not in str(raised.value.messages)


@pytest.mark.parametrize(
    ("typed", "normalized"), [("2026-11", "2026-11"), ("203007", "2030-07"), ("2030-12", "2030-12")]
)
def test_expiry_accepted(typed, normalized):
    assert cards.normalize_expiry(typed, today=TODAY) == normalized


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("2026-10", "expired"),
        ("2030-13", "invalid"),
        ("2030-00", "invalid"),
        ("12/30", "invalid"),
        ("", "invalid"),
        ("2090-01", "invalid"),
    ],
)
def test_expiry_refused(typed, code):
    with pytest.raises(ValidationError) as raised:
        cards.normalize_expiry(typed, today=TODAY)
    assert raised.value.code == code


@pytest.mark.parametrize("typed", ["900101", "000229", "1234567890", "123-45-67890"])
def test_birth_accepted(typed):
    assert cards.normalize_birth(typed).isdigit()


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("901301", "invalid_date"),
        ("900230", "invalid_date"),
        ("010229", "invalid_date"),
        ("9001", "invalid"),
        ("12345678", "invalid"),
        ("abcdef", "invalid"),
        ("", "invalid"),
    ],
)
def test_birth_refused(typed, code):
    with pytest.raises(ValidationError) as raised:
        cards.normalize_birth(typed)
    assert raised.value.code == code


@pytest.mark.parametrize("typed", ["", "1", "123", "a1", "1a"])
def test_pwd_2digit_refused(typed):
    with pytest.raises(ValidationError):
        cards.normalize_pwd_2digit(typed)


def test_validate_card_input_reports_every_bad_field_at_once():
    with pytest.raises(ValidationError) as raised:
        cards.validate_card_input({"card_number": "1", "expiry": "x", "birth": "y", "pwd_2digit": "z"})
    assert set(raised.value.message_dict) == {"card_number", "expiry", "birth", "pwd_2digit"}


def test_validate_card_input_returns_card_details():
    card = cards.validate_card_input(
        {"card_number": "4242424242424242", "expiry": "2030-07", "birth": "900101", "pwd_2digit": "12"}
    )
    assert (card.number, card.expiry, card.birth, card.pwd_2digit) == (
        "4242-4242-4242-4242",
        "2030-07",
        "900101",
        "12",
    )
