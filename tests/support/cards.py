"""The card values the tests type in, and every form in which one could leak.

One list for the whole suite: the scans of answers, pages, rows, logs and caches use ``CARD_VALUES``.
"""

CARD_NUMBER = "4242-4242-4242-4242"
GOOD_CARD = {"card_number": CARD_NUMBER, "expiry": "2030-12", "birth": "900101", "pwd_2digit": "12"}
OTHER_CARD_NUMBER = "5555-5555-5555-4444"
DECLINING_CARD = "4000-0000-0000-9995"  # issued, every charge declined (as in the sandbox)

# Every way a card value could show up in an answer, a log line or a row.
CARD_VALUES = ("4242-4242-4242-4242", "4242424242424242", "4242 4242 4242 4242", "2030-12", "900101")


def forms_of(number: str) -> tuple[str, ...]:
    """A card number as typed, without separators, and with spaces: the forms a scan looks for."""
    digits = "".join(ch for ch in number if ch.isdigit())
    spaced = " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
    return (number, digits, spaced)
