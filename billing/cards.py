"""Validation of card input, shared by the web form and the API.

Each function takes what the customer typed and returns it in the form i'mport wants,
or raises ``ValidationError`` with a message that names the problem but never
repeats the value (it would end up re-rendered or logged).
"""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

CARD_FIELDS = ("card_number", "expiry", "birth", "pwd_2digit")

_SEPARATORS = re.compile(r"[\s-]", re.ASCII)
# ASCII digits only: str.isdigit() and int() also accept "²", "٤" or "４", which i'mport does not.
_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def ascii_digits(value: str) -> str | None:
    """``value`` without spaces and dashes if what is left is ASCII digits only, else ``None``."""
    digits = _SEPARATORS.sub("", value or "")
    return digits if _DIGITS.fullmatch(digits) else None


def normalize_card_number(value: str) -> str:
    if not _SEPARATORS.sub("", value or ""):
        raise ValidationError(_("Enter the card number."), code="required")
    digits = ascii_digits(value)
    if digits is None:
        raise ValidationError(
            _("A card number has only digits (dashes and spaces are fine)."), code="invalid"
        )
    if not 14 <= len(digits) <= 16:
        raise ValidationError(_("A card number has 14 to 16 digits."), code="length")
    if not luhn_valid(digits):
        raise ValidationError(_("This card number is not valid; check it for a typo."), code="checksum")
    # i'mport's documented format: groups of four separated by dashes.
    return "-".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def normalize_expiry(value: str, *, today: datetime.date | None = None) -> str:
    match = re.fullmatch(r"([0-9]{4})-?([0-9]{2})", (value or "").strip(), re.ASCII)
    if not match:
        raise ValidationError(_("Enter the expiry as YYYY-MM, for example 2030-07."), code="invalid")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        raise ValidationError(_("The expiry month must be between 01 and 12."), code="invalid")
    today = today or timezone.localdate()
    if (year, month) < (today.year, today.month):
        raise ValidationError(_("This card has expired."), code="expired")
    if year > today.year + 20:
        raise ValidationError(_("The expiry year is too far in the future."), code="invalid")
    return f"{year:04d}-{month:02d}"


def normalize_birth(value: str) -> str:
    """YYMMDD for a personal card, or a 10-digit business registration number for a corporate one."""
    digits = ascii_digits(value)
    if digits is None or len(digits) not in (6, 10):
        raise ValidationError(
            _("Enter your date of birth as YYMMDD, or a 10-digit business registration number."),
            code="invalid",
        )
    if len(digits) == 6 and not _is_real_yymmdd(digits):
        raise ValidationError(_("This date of birth does not exist; use YYMMDD."), code="invalid_date")
    return digits


def _is_real_yymmdd(digits: str) -> bool:
    month, day = int(digits[2:4]), int(digits[4:6])
    # Either century: 2000 is a leap year, 1900 is not; a 29 February is valid if it is valid in one of them.
    for century in (1900, 2000):
        try:
            datetime.date(century + int(digits[:2]), month, day)
        except ValueError:
            continue
        return True
    return False


def normalize_pwd_2digit(value: str) -> str:
    value = (value or "").strip()
    if not re.fullmatch(r"[0-9]{2}", value, re.ASCII):
        raise ValidationError(_("Enter the first two digits of the card PIN."), code="invalid")
    return value


@dataclass(frozen=True, repr=False)
class CardDetails:
    """A card as the customer typed it, once validated: what pages and the API hand to the services.

    Billing's own type, so that nothing above the services imports i'mport's; the services pass it on
    to i'mport and nowhere else. Lives only for the request that carries it; ``repr`` and ``str`` never
    show the values, so an exception report or a debug print of a local variable cannot leak them.
    """

    number: str  # dddd-dddd-dddd-dddd
    expiry: str  # YYYY-MM
    birth: str  # YYMMDD or a 10-digit business registration number
    pwd_2digit: str

    def __repr__(self) -> str:
        return "CardDetails(<hidden>)"

    __str__ = __repr__


NORMALIZERS: dict[str, Callable[[str], str]] = {
    "card_number": normalize_card_number,
    "expiry": normalize_expiry,
    "birth": normalize_birth,
    "pwd_2digit": normalize_pwd_2digit,
}


def validate_card_input(data: dict[str, str]) -> CardDetails:
    """Validate all four card fields at once; ``ValidationError`` maps field name to its message."""
    cleaned: dict[str, str] = {}
    errors: dict[str, ValidationError] = {}
    for name, normalize in NORMALIZERS.items():
        value = data.get(name)
        try:
            cleaned[name] = normalize(value if isinstance(value, str) else "")
        except ValidationError as error:
            errors[name] = error
    if errors:
        raise ValidationError(errors)
    return CardDetails(
        number=cleaned["card_number"],
        expiry=cleaned["expiry"],
        birth=cleaned["birth"],
        pwd_2digit=cleaned["pwd_2digit"],
    )
