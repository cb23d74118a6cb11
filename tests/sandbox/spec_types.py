"""The V1 answers' shapes, written down here from the i'mport V1 OpenAPI definitions, and a checker.

Each ``Definition`` lists its fields with the Python type(s) a JSON value of the spec's type
decodes to (``integer`` -> int, ``number`` -> int or float, ``string`` -> str, ``boolean`` -> bool),
the fields the spec marks ``required``, the ``maxLength`` it gives, and the values its descriptions
enumerate. Swagger 2.0 has no ``nullable``: the real API answers ``null`` for an optional field
with no value (``fail_reason``, ``buyer_name``, a schedule's ``imp_uid`` ...), so an optional
field may be null and a required one may not. ``check`` validates an answer field by field:
required present, no field the definition does not name, each value of the right type.
"""

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

STRING, INTEGER, NUMBER, BOOLEAN = "string", "integer", "number", "boolean"


@dataclass(frozen=True)
class ArrayOf:
    items: Any  # a JSON type name or a Definition


@dataclass(frozen=True)
class Definition:
    name: str
    fields: dict[str, Any]  # field -> JSON type name, Definition or ArrayOf
    required: frozenset[str] = frozenset()
    max_length: dict[str, int] = field(default_factory=dict)
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)


AUTH = Definition(
    "AuthAnnotation",
    {"access_token": STRING, "expired_at": INTEGER, "now": INTEGER},
    required=frozenset({"access_token", "expired_at", "now"}),
)

CUSTOMER = Definition(
    "CustomerAnnotation",
    {
        "customer_uid": STRING,
        "pg_provider": STRING,
        "pg_id": STRING,
        "sandbox": BOOLEAN,
        "customer_id": STRING,
        "card_name": STRING,
        "card_code": STRING,
        "card_issuer_code": STRING,
        "card_issuer_name": STRING,
        "card_publisher_code": STRING,
        "card_publisher_name": STRING,
        "card_number": STRING,
        "card_type": INTEGER,
        "customer_name": STRING,
        "customer_tel": STRING,
        "customer_email": STRING,
        "customer_addr": STRING,
        "customer_postcode": STRING,
        "inserted": INTEGER,
        "updated": INTEGER,
    },
    required=frozenset(
        {"customer_uid", "pg_provider", "pg_id", "card_name", "inserted", "updated", "sandbox"}
    ),
    max_length={
        "customer_uid": 80,
        "pg_provider": 16,
        "pg_id": 80,
        "customer_name": 20,
        "customer_tel": 20,
        "customer_email": 200,
        "customer_addr": 200,
        "customer_postcode": 8,
    },
)

PAYMENT_CANCEL = Definition(
    "PaymentCancelAnnotation",
    {
        "pg_tid": STRING,
        "amount": NUMBER,
        "cancelled_at": INTEGER,
        "reason": STRING,
        "cancellation_id": STRING,
        "receipt_url": STRING,
    },
    required=frozenset({"pg_tid", "amount", "reason", "cancelled_at", "cancellation_id"}),
)

# The spec lists "reason" as required here without describing it; it is kept as a string field.
VBANK_DEPOSIT = Definition(
    "VbankDepositAnnotation",
    {"pg_tid": STRING, "amount": NUMBER, "reason": STRING, "depositor_name": STRING, "deposited_at": INTEGER},
    required=frozenset({"pg_tid", "amount", "reason", "depositor_name", "deposited_at"}),
)

PROMOTION = Definition("PaymentAnnotation.promotion", {"id": STRING, "discount": NUMBER})

PAYMENT_STATUSES = ("ready", "paid", "failed", "cancelled")

PAYMENT = Definition(
    "PaymentAnnotation",
    {
        "imp_uid": STRING,
        "merchant_uid": STRING,
        "pay_method": STRING,
        "channel": STRING,
        "pg_provider": STRING,
        "emb_pg_provider": STRING,
        "pg_tid": STRING,
        "pg_id": STRING,
        "sandbox": BOOLEAN,
        "escrow": BOOLEAN,
        "apply_num": STRING,
        "bank_code": STRING,
        "bank_name": STRING,
        "card_code": STRING,
        "card_name": STRING,
        "card_issuer_code": STRING,
        "card_issuer_name": STRING,
        "card_publisher_code": STRING,
        "card_publisher_name": STRING,
        "card_quota": INTEGER,
        "card_number": STRING,
        "card_type": INTEGER,
        "vbank_code": STRING,
        "vbank_name": STRING,
        "vbank_num": STRING,
        "vbank_holder": STRING,
        "vbank_date": INTEGER,
        "vbank_issued_at": INTEGER,
        "name": STRING,
        "amount": NUMBER,
        "cancel_amount": NUMBER,
        "currency": STRING,
        "buyer_name": STRING,
        "buyer_email": STRING,
        "buyer_tel": STRING,
        "buyer_addr": STRING,
        "buyer_postcode": STRING,
        "custom_data": STRING,
        "user_agent": STRING,
        "status": STRING,
        "started_at": INTEGER,
        "paid_at": INTEGER,
        "failed_at": INTEGER,
        "cancelled_at": INTEGER,
        "fail_reason": STRING,
        "cancel_reason": STRING,
        "receipt_url": STRING,
        "cancel_history": ArrayOf(PAYMENT_CANCEL),
        "deposit_history": ArrayOf(VBANK_DEPOSIT),
        "cancel_receipt_urls": ArrayOf(STRING),
        "cash_receipt_issued": BOOLEAN,
        "customer_uid": STRING,
        "customer_uid_usage": STRING,
        "promotion": PROMOTION,
    },
    required=frozenset(
        {"imp_uid", "merchant_uid", "amount", "cancel_amount", "currency", "status", "sandbox"}
    ),
    max_length={
        "imp_uid": 32,
        "merchant_uid": 40,
        "pay_method": 20,
        "pg_provider": 16,
        "emb_pg_provider": 16,
        "pg_tid": 64,
        "pg_id": 80,
        "apply_num": 20,
        "vbank_num": 32,
        "name": 40,
        "buyer_name": 16,
        "buyer_email": 64,
        "buyer_tel": 16,
        "buyer_addr": 128,
        "buyer_postcode": 8,
    },
    choices={
        "status": PAYMENT_STATUSES,
        "customer_uid_usage": ("issue", "payment", "payment.scheduled"),
    },
)

SCHEDULE_RESULT = Definition(
    "ScheduleResultAnnotation",
    {
        "customer_uid": STRING,
        "merchant_uid": STRING,
        "imp_uid": STRING,
        "pg_provider": STRING,
        "pg_id": STRING,
        "customer_id": STRING,
        "schedule_at": INTEGER,
        "executed_at": INTEGER,
        "revoked_at": INTEGER,
        "amount": NUMBER,
        "currency": STRING,
        "name": STRING,
        "buyer_name": STRING,
        "buyer_email": STRING,
        "buyer_tel": STRING,
        "buyer_addr": STRING,
        "buyer_postcode": STRING,
        "custom_data": STRING,
        "schedule_status": STRING,
        "payment_status": STRING,
        "fail_reason": STRING,
        "promotion_id": STRING,
    },
    max_length={
        "merchant_uid": 40,
        "imp_uid": 32,
        "pg_provider": 16,
        "pg_id": 64,
        "name": 40,
        "buyer_name": 16,
        "buyer_email": 64,
        "buyer_tel": 16,
        "buyer_addr": 128,
        "buyer_postcode": 8,
    },
    choices={
        "schedule_status": ("scheduled", "executed", "revoked"),
        "payment_status": ("paid", "failed", "cancelled"),
    },
)

PAGED_PAYMENT = Definition(
    "PagedPaymentAnnotation",
    {"total": INTEGER, "previous": INTEGER, "next": INTEGER, "list": ArrayOf(PAYMENT)},
    required=frozenset({"total", "previous", "next"}),
)

# ResponseAnnotation plus ``response``. NOTES: every answer carries all three; message and response
# are null on success and on refusal respectively.
ENVELOPE = Definition(
    "ResponseAnnotation",
    {"code": INTEGER, "message": STRING, "response": None},
    required=frozenset({"code"}),
)

_PYTHON_TYPES = {STRING: (str,), INTEGER: (int,), NUMBER: (int, float), BOOLEAN: (bool,)}


def check(kind: Any, value: Any, where: str = "response") -> list[str]:
    """Every way ``value`` differs from ``kind`` (a JSON type name, ArrayOf or Definition)."""
    if isinstance(kind, Definition):
        return _check_definition(kind, value, where)
    if isinstance(kind, ArrayOf):
        if not isinstance(value, list):
            return [f"{where}: expected an array, got {type(value).__name__}"]
        return [
            problem for i, item in enumerate(value) for problem in check(kind.items, item, f"{where}[{i}]")
        ]
    wanted = _PYTHON_TYPES[kind]
    if isinstance(value, bool) and bool not in wanted:
        return [f"{where}: expected {kind}, got boolean"]
    if not isinstance(value, wanted):
        return [f"{where}: expected {kind}, got {type(value).__name__}"]
    return []


def _check_definition(definition: Definition, value: Any, where: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where}: expected {definition.name} (an object), got {type(value).__name__}"]
    problems = [
        f"{where}.{name}: required by {definition.name}, missing"
        for name in sorted(definition.required - value.keys())
    ]
    for name, item in value.items():
        path = f"{where}.{name}"
        if name not in definition.fields:
            problems.append(f"{path}: not a field of {definition.name}")
        elif item is None:
            if name in definition.required:
                problems.append(f"{path}: required by {definition.name}, null")
        else:
            problems += check(definition.fields[name], item, path)
            limit = definition.max_length.get(name)
            if limit is not None and isinstance(item, str) and len(item) > limit:
                problems.append(f"{path}: longer than {limit}")
            allowed = definition.choices.get(name)
            if allowed is not None and item not in allowed:
                problems.append(f"{path}: {item!r} is not one of {allowed}")
    return problems


def assert_valid(kind: Any, value: Any) -> None:
    problems = check(kind, value)
    assert not problems, "\n".join(problems)


def answer(response, status: HTTPStatus, kind: Any) -> Any:
    """A success: the HTTP status, the envelope (code 0), and ``response`` checked against ``kind``."""
    body = envelope(response, status)
    assert body["code"] == 0, body
    assert_valid(kind, body["response"])
    return body["response"]


def refusal(response, status: HTTPStatus, code: int) -> str:
    """A refusal: the HTTP status, the envelope with this code, a message and a null ``response``."""
    body = envelope(response, status)
    assert (body["code"], body["response"]) == (code, None), body
    assert isinstance(body["message"], str) and body["message"], body
    assert "Traceback" not in response.text
    return body["message"]


def envelope(response, status: HTTPStatus) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:500])
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"code", "message", "response"}, body
    problems = [
        p
        for name in ("code", "message")
        if body[name] is not None
        for p in check(ENVELOPE.fields[name], body[name], name)
    ]
    assert body["code"] is not None and not problems, problems
    return body
