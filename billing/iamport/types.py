"""Small typed objects for what goes to i'mport and what comes back.

Answers are parsed from the V1 API's ``CustomerAnnotation``, ``PaymentAnnotation``,
``PaymentCancelAnnotation`` and ``AuthAnnotation``; only the fields this project
uses are named, the whole (masked) annotation stays in ``raw`` for support staff.
The answer types end in ``Answer`` (``CustomerAnswer``: a billing key; ``PaymentAnswer``: a payment)
so that they are never mistaken for the models that mirror them (``BillingKey``, ``Payment``).
"""

from dataclasses import dataclass, field
from typing import Any


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

    @classmethod
    def from_annotation(cls, data: dict[str, Any]) -> "CustomerAnswer":
        return cls(
            customer_uid=data["customer_uid"],
            pg_provider=data.get("pg_provider") or "",
            pg_id=data.get("pg_id") or "",
            card_name=data.get("card_name") or "",
            card_code=data.get("card_code") or "",
            card_number=data.get("card_number") or "",
            card_type=data.get("card_type"),
            inserted=int(data.get("inserted") or 0),
            updated=int(data.get("updated") or 0),
            raw=data,
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
        return cls(
            pg_tid=data.get("pg_tid") or "",
            amount=int(data.get("amount") or 0),
            cancelled_at=int(data.get("cancelled_at") or 0),
            reason=data.get("reason") or "",
            cancellation_id=data.get("cancellation_id") or "",
            receipt_url=data.get("receipt_url") or "",
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

    @classmethod
    def from_annotation(cls, data: dict[str, Any]) -> "PaymentAnswer":
        return cls(
            imp_uid=data["imp_uid"],
            merchant_uid=data["merchant_uid"],
            amount=int(data.get("amount") or 0),
            cancel_amount=int(data.get("cancel_amount") or 0),
            status=data.get("status") or "",
            name=data.get("name") or "",
            customer_uid=data.get("customer_uid") or "",
            customer_uid_usage=data.get("customer_uid_usage") or "",
            card_name=data.get("card_name") or "",
            card_number=data.get("card_number") or "",
            pg_provider=data.get("pg_provider") or "",
            pg_tid=data.get("pg_tid") or "",
            paid_at=int(data.get("paid_at") or 0),
            failed_at=int(data.get("failed_at") or 0),
            cancelled_at=int(data.get("cancelled_at") or 0),
            fail_reason=data.get("fail_reason") or "",
            cancel_reason=data.get("cancel_reason") or "",
            receipt_url=data.get("receipt_url") or "",
            cancel_history=tuple(Cancellation.from_annotation(c) for c in data.get("cancel_history") or ()),
            raw=data,
        )
