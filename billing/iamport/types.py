"""Small typed objects for what goes to i'mport and what comes back.

Answers are parsed from the V1 API's ``CustomerAnnotation``, ``PaymentAnnotation``,
``PaymentCancelAnnotation`` and ``AuthAnnotation``; only the fields this project
uses are named, the whole (masked) annotation stays in ``raw`` for support staff.
The answer types end in ``Answer`` (``CustomerAnswer``: a billing key; ``PaymentAnswer``: a payment)
so that they are never mistaken for the models that mirror them (``BillingKey``, ``Payment``).
"""

import logging
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import IamportOutcomeUnknown

logger = logging.getLogger(__name__)


@dataclass(frozen=True, repr=False)
class CardDetails:
    """Card data on its way to i'mport. Lives only for the request that carries it.

    ``repr`` and ``str`` never show the values, so an exception report or a debug
    print of a local variable cannot leak them.
    """

    number: str  # dddd-dddd-dddd-dddd
    expiry: str  # YYYY-MM
    birth: str  # YYMMDD or a 10-digit business registration number
    pwd_2digit: str

    def __repr__(self) -> str:
        return "CardDetails(<hidden>)"

    __str__ = __repr__

    def as_params(self) -> dict[str, str]:
        return {
            "card_number": self.number,
            "expiry": self.expiry,
            "birth": self.birth,
            "pwd_2digit": self.pwd_2digit,
        }


class _Reader:
    """A tolerant reader of one annotation: what can be understood is kept, each deviation is logged.

    An optional field of an unexpected type or value (a word where the spec says an integer, a number as
    a string, a missing field) becomes its empty value and one log line naming the field (never its
    value, which could be anything). Only a missing id raises: ``IamportOutcomeUnknown``, so that the
    record stays ``unknown`` and is read again later instead of being mirrored from a half answer.
    """

    def __init__(self, kind: str, data: Any):
        if not isinstance(data, dict):
            raise IamportOutcomeUnknown(f"i'mport's {kind} answer could not be read")
        self.kind = kind
        self.data = data
        self.deviations: list[str] = []

    def deviate(self, name: str, why: str) -> None:
        self.deviations.append(name)
        logger.warning("i'mport %s answer: field %s %s; kept the rest", self.kind, name, why)

    def required_id(self, name: str, max_length: int = 40) -> str:
        value = self.data.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip() or len(value) > max_length:
            logger.warning("i'mport %s answer: required field %s is missing or unreadable", self.kind, name)
            raise IamportOutcomeUnknown(f"i'mport's {self.kind} answer has no usable {name}")
        return value

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            self.deviate(name, "is a number where text was expected")
            return str(value)
        self.deviate(name, f"has an unexpected type ({type(value).__name__})")
        return ""

    def integer(self, name: str) -> int:
        value = self.data.get(name)
        number = _as_integer(value)
        if number is None:
            if value not in (None, ""):
                self.deviate(name, f"is not a whole number ({type(value).__name__})")
            return 0
        if not 0 <= number <= MAX_INTEGER:
            self.deviate(name, "is out of range")
            return 0
        if isinstance(value, str):
            self.deviate(name, "is a number written as text")
        return number

    def optional_integer(self, name: str, allowed: tuple[int, ...]) -> int | None:
        value = self.data.get(name)
        number = _as_integer(value)
        if number is None or number not in allowed:
            if value is not None:
                self.deviate(name, "has an unexpected value")
            return None
        return number

    def items(self, name: str) -> list[dict[str, Any]]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            self.deviate(name, "is not a list")
            return []
        kept = [item for item in value if isinstance(item, dict)]
        if len(kept) != len(value):
            self.deviate(name, "holds entries that are not objects")
        return kept


# Amounts and Unix times are never negative, and never beyond what a database integer column holds.
MAX_INTEGER = 2**53


def _as_integer(value: Any) -> int | None:
    """A whole number from an int, an integral float, or digits in a string; ``None`` otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("-").isdigit() and len(text) <= 20:
            return int(text)
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if math.isfinite(number) and number.is_integer() else None
    return None


@dataclass(frozen=True)
class AccessToken:
    access_token: str = field(repr=False)
    now: int
    expired_at: int

    @property
    def seconds_left(self) -> int:
        return self.expired_at - self.now


@dataclass(frozen=True)
class CustomerAnswer:
    """A billing key as i'mport describes it (``CustomerAnnotation``); the card number is masked."""

    customer_uid: str
    pg_provider: str
    pg_id: str
    card_name: str
    card_code: str
    card_number: str
    card_type: int | None
    inserted: int
    updated: int
    raw: dict[str, Any] = field(repr=False)
    deviations: tuple[str, ...] = ()  # the fields that could not be read as the spec says

    @classmethod
    def from_annotation(cls, data: dict[str, Any]) -> "CustomerAnswer":
        read = _Reader("customer", data)
        return cls(
            customer_uid=read.required_id("customer_uid", max_length=80),
            pg_provider=read.text("pg_provider"),
            pg_id=read.text("pg_id"),
            card_name=read.text("card_name"),
            card_code=read.text("card_code"),
            card_number=read.text("card_number"),
            card_type=read.optional_integer("card_type", (0, 1)),
            inserted=read.integer("inserted"),
            updated=read.integer("updated"),
            raw=data,
            deviations=tuple(read.deviations),
        )


@dataclass(frozen=True)
class Cancellation:
    """One refund of a payment (``PaymentCancelAnnotation``)."""

    pg_tid: str
    amount: int
    cancelled_at: int
    reason: str
    cancellation_id: str
    receipt_url: str

    @classmethod
    def from_annotation(cls, data: dict[str, Any]) -> "Cancellation":
        read = _Reader("cancellation", data)
        return cls(
            pg_tid=read.text("pg_tid"),
            amount=read.integer("amount"),
            cancelled_at=read.integer("cancelled_at"),
            reason=read.text("reason"),
            cancellation_id=read.text("cancellation_id"),
            receipt_url=read.text("receipt_url"),
        )


@dataclass(frozen=True)
class PaymentAnswer:
    """A payment as i'mport describes it (``PaymentAnnotation``). Amounts are whole won."""

    imp_uid: str
    merchant_uid: str
    amount: int
    cancel_amount: int
    status: str
    name: str
    customer_uid: str
    customer_uid_usage: str
    card_name: str
    card_number: str
    pg_provider: str
    pg_tid: str
    paid_at: int
    failed_at: int
    cancelled_at: int
    fail_reason: str
    cancel_reason: str
    receipt_url: str
    cancel_history: tuple[Cancellation, ...]
    raw: dict[str, Any] = field(repr=False)
    deviations: tuple[str, ...] = ()  # the fields that could not be read as the spec says

    @classmethod
    def from_annotation(cls, data: dict[str, Any]) -> "PaymentAnswer":
        read = _Reader("payment", data)
        return cls(
            imp_uid=read.required_id("imp_uid"),
            merchant_uid=read.required_id("merchant_uid"),
            amount=read.integer("amount"),
            cancel_amount=read.integer("cancel_amount"),
            status=read.text("status"),
            name=read.text("name"),
            customer_uid=read.text("customer_uid"),
            customer_uid_usage=read.text("customer_uid_usage"),
            card_name=read.text("card_name"),
            card_number=read.text("card_number"),
            pg_provider=read.text("pg_provider"),
            pg_tid=read.text("pg_tid"),
            paid_at=read.integer("paid_at"),
            failed_at=read.integer("failed_at"),
            cancelled_at=read.integer("cancelled_at"),
            fail_reason=read.text("fail_reason"),
            cancel_reason=read.text("cancel_reason"),
            receipt_url=read.text("receipt_url"),
            cancel_history=tuple(Cancellation.from_annotation(c) for c in read.items("cancel_history")),
            raw=data,
            deviations=tuple(read.deviations),
        )
