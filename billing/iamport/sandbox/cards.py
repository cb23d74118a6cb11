"""The sandbox's test cards: what a card number makes the sandbox do, and how it is shown masked."""

import datetime
import re
from dataclasses import dataclass

DECLINED_AT_ISSUE = "4000000000000002"
DECLINED_ON_CHARGE = "4000000000009995"

# A few BINs with the card company i'mport would name; anything else is a generic issuer.
_ISSUERS = {
    "4242": ("국민KB카드", "381"),
    "4000": ("신한카드", "366"),
    "5555": ("현대카드", "367"),
    "3622": ("BC카드", "361"),
}


@dataclass(frozen=True)
class CardCheck:
    """The outcome of checking a card: a refusal message, or what to store (never the number)."""

    refusal: str = ""
    masked_number: str = ""
    card_name: str = ""
    card_code: str = ""
    charges_fail: bool = False


def check_card(number: str, expiry: str, birth: str, pwd_2digit: str, *, today: datetime.date) -> CardCheck:
    digits = re.sub(r"[\s-]", "", number or "")
    if not digits.isdigit() or not 14 <= len(digits) <= 16 or not luhn_valid(digits):
        return CardCheck(refusal="카드번호가 유효하지 않습니다. (invalid card number)")
    match = re.fullmatch(r"(\d{4})-?(\d{2})", (expiry or "").strip())
    if not match or not 1 <= int(match[2]) <= 12:
        return CardCheck(refusal="유효기간 형식이 올바르지 않습니다. YYYY-MM (invalid expiry format)")
    if (int(match[1]), int(match[2])) < (today.year, today.month):
        return CardCheck(refusal="유효기간이 지난 카드입니다. (card expired)")
    if birth and not (birth.isdigit() and len(birth) in (6, 10)):
        return CardCheck(refusal="생년월일 또는 사업자번호가 올바르지 않습니다. (invalid birth)")
    if pwd_2digit == "00":  # noqa: S105 - the documented "wrong PIN" test value
        return CardCheck(refusal="카드 비밀번호 앞 2자리가 일치하지 않습니다. (wrong PIN digits)")
    if pwd_2digit and not re.fullmatch(r"\d{2}", pwd_2digit):
        return CardCheck(refusal="카드 비밀번호 앞 2자리 형식이 올바르지 않습니다. (invalid PIN digits)")
    if digits == DECLINED_AT_ISSUE:
        return CardCheck(refusal="카드사에서 승인을 거절하였습니다. (card declined by the issuer)")
    card_name, card_code = _ISSUERS.get(digits[:4], ("삼성카드", "365"))
    return CardCheck(
        masked_number=mask(digits),
        card_name=card_name,
        card_code=card_code,
        charges_fail=digits == DECLINED_ON_CHARGE,
    )


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = int(char)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def mask(digits: str) -> str:
    """As i'mport shows a card: the BIN and the last four digits."""
    return digits[:6] + "*" * (len(digits) - 10) + digits[-4:]
