"""The sandbox's WSGI app: i'mport V1's paths, envelope, statuses and token rules, offline.

Every answer, errors included, is ``{"code", "message", "response"}``. Refusals the real API
answers with HTTP 200 (a declined card, an unknown customer_uid on a charge) are HTTP 200 here
too; 401 and 404 where the real API uses them. Control endpoints live under ``/__sandbox__/``,
a path the real API never uses, and are never subject to injected faults.
"""

import datetime
import json
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from .cards import check_card
from .store import Store
from .webhooks import WebhookSender

TOKEN_LIFETIME = 30 * 60
TOKEN_EXTENSION = 5 * 60
PAGE_SIZE = 20


class Refusal(Exception):
    """An answer other than success: HTTP status, i'mport code and message."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Faults:
    """Injected trouble for resilience tests. Applies to API paths only, never to /__sandbox__/."""

    latency_ms: int = 0
    error_rate: float = 0.0
    hang: str | None = None  # "before": never apply the change; "after": apply it, then hang
    hang_seconds: float = 30.0
    token_ttl: int = TOKEN_LIFETIME

    def update(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name not in self.__dataclass_fields__:
                raise Refusal(HTTPStatus.BAD_REQUEST, 1, f"unknown fault {name!r}")
            if name == "hang" and value not in (None, "", "before", "after"):
                raise Refusal(HTTPStatus.BAD_REQUEST, 1, "hang must be 'before', 'after' or null")
            try:
                setattr(self, name, _FAULT_TYPES[name](value) if value not in (None, "") else None)
            except (TypeError, ValueError):
                raise Refusal(HTTPStatus.BAD_REQUEST, 1, f"{name} has the wrong type") from None
        self.latency_ms = self.latency_ms or 0
        self.error_rate = self.error_rate or 0.0
        self.hang_seconds = self.hang_seconds if self.hang_seconds is not None else 30.0
        self.token_ttl = self.token_ttl or TOKEN_LIFETIME


_FAULT_TYPES = {"latency_ms": int, "error_rate": float, "hang": str, "hang_seconds": float, "token_ttl": int}


class Request:
    def __init__(self, environ: dict[str, Any]):
        self.method = environ["REQUEST_METHOD"].upper()
        self.path = environ.get("PATH_INFO") or "/"
        self.query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        self.authorization = environ.get("HTTP_AUTHORIZATION", "")
        self.content_type = environ.get("CONTENT_TYPE", "")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        self.raw_body = environ["wsgi.input"].read(length) if length > 0 else b""

    def body(self) -> dict[str, Any]:
        """JSON or form-encoded, as the real API accepts both."""
        if not self.raw_body:
            return {}
        if "json" in self.content_type or self.raw_body.lstrip()[:1] in (b"{", b"["):
            try:
                data = json.loads(self.raw_body)
            except (ValueError, UnicodeDecodeError):
                raise Refusal(
                    HTTPStatus.BAD_REQUEST, -1, "요청 본문의 JSON 형식이 올바르지 않습니다."
                ) from None
            if not isinstance(data, dict):
                raise Refusal(HTTPStatus.BAD_REQUEST, -1, "요청 본문은 JSON 객체여야 합니다.")
            return data
        try:
            form = parse_qs(self.raw_body.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            raise Refusal(HTTPStatus.BAD_REQUEST, -1, "요청 본문을 읽을 수 없습니다.") from None
        return {key: values if key.endswith("[]") else values[-1] for key, values in form.items()}


class SandboxApp:
    def __init__(
        self,
        state_path: str | Path,
        *,
        imp_key: str = "sandbox_key",
        imp_secret: str = "sandbox_secret",  # noqa: S107 - the sandbox's published test secret
        webhook_url: str | None = None,
        clock: Callable[[], float] | None = None,
    ):
        self.store = Store(state_path)
        self.imp_key, self.imp_secret = imp_key, imp_secret
        self.webhook_url = webhook_url
        self._clock = clock or time.time
        self._clock_offset = 0.0
        self.faults = Faults()
        self._stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self.webhooks = WebhookSender()
        self._routes = _routes(self)

    # --- WSGI ---------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        try:
            status, payload = self._dispatch(request)
        except _PartialAnswer as partial:
            status, payload = partial.status, _envelope(partial.found)
        except Refusal as refusal:
            status, payload = refusal.status, _envelope(None, code=refusal.code, message=refusal.message)
        body = json.dumps(payload, ensure_ascii=False).encode()
        start_response(
            f"{int(status)} {HTTPStatus(status).phrase}",
            [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _dispatch(self, request: Request) -> tuple[int, dict]:
        route = next(
            (
                (name, handler, match)
                for method, pattern, name, handler in self._routes
                if method == request.method and (match := pattern.fullmatch(request.path))
            ),
            None,
        )
        if route is None:
            if any(pattern.fullmatch(request.path) for _, pattern, _, _ in self._routes):
                raise Refusal(HTTPStatus.METHOD_NOT_ALLOWED, -1, "허용되지 않는 HTTP 메서드입니다.")
            raise Refusal(HTTPStatus.NOT_FOUND, -1, "존재하지 않는 API 경로입니다.")
        name, handler, match = route
        with self._stats_lock:
            self._stats[name] += 1
        if name.startswith("control"):
            return HTTPStatus.OK, _envelope(handler(request, **match.groupdict()))
        return self._with_faults(request, name, lambda: handler(request, **match.groupdict()))

    def _with_faults(self, request: Request, name: str, handle: Callable[[], Any]) -> tuple[int, dict]:
        faults = self.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if faults.error_rate and random.random() < faults.error_rate:  # noqa: S311 - not security
            raise Refusal(HTTPStatus.SERVICE_UNAVAILABLE, -1, "일시적인 오류입니다. (injected fault)")
        # A hang holds every API call but getToken: a client that times out cannot read its way out either.
        hangs = faults.hang and name != "getToken"
        if hangs and faults.hang == "before":
            time.sleep(faults.hang_seconds)
            raise Refusal(HTTPStatus.GATEWAY_TIMEOUT, -1, "처리 시간이 초과되었습니다. (injected hang)")
        if name != "getToken":
            self._authenticate(request)
        response = handle()
        if hangs:
            time.sleep(faults.hang_seconds)
        return HTTPStatus.OK, _envelope(response)

    # --- clock, tokens ------------------------------------------------------------------------------
    def now(self) -> int:
        return int(self._clock() + self._clock_offset)

    def today(self) -> datetime.date:
        return datetime.datetime.fromtimestamp(
            self.now(), tz=datetime.timezone(datetime.timedelta(hours=9))
        ).date()

    def get_token(self, request: Request) -> dict:
        body = request.body()
        if body.get("imp_key") != self.imp_key or body.get("imp_secret") != self.imp_secret:
            raise Refusal(HTTPStatus.UNAUTHORIZED, -1, "imp_key, imp_secret 정보가 올바르지 않습니다.")
        now = self.now()
        with self.store.write_lock:
            rows = self.store.query("SELECT token, expired_at FROM tokens WHERE expired_at > ? LIMIT 1", now)
            if rows:
                token, expired_at = rows[0]
                if expired_at - now <= 60:
                    expired_at += TOKEN_EXTENSION  # asked in its last minute: extended, as i'mport does
                    self.store.execute("UPDATE tokens SET expired_at = ? WHERE token = ?", expired_at, token)
            else:
                token, expired_at = secrets.token_hex(20), now + self.faults.token_ttl
                self.store.execute("DELETE FROM tokens WHERE expired_at <= ?", now)
                self.store.execute("INSERT INTO tokens (token, expired_at) VALUES (?, ?)", token, expired_at)
        return {"access_token": token, "now": now, "expired_at": expired_at}

    def _authenticate(self, request: Request) -> None:
        token = request.authorization.removeprefix("Bearer ").strip()
        rows = self.store.query("SELECT expired_at FROM tokens WHERE token = ?", token) if token else []
        if not rows or rows[0][0] <= self.now():
            raise Refusal(HTTPStatus.UNAUTHORIZED, -1, "Unauthorized")

    # --- billing keys -------------------------------------------------------------------------------
    def issue_billing_key(self, request: Request, customer_uid: str) -> dict:
        return self._issue(customer_uid, request.body())

    def _issue(self, customer_uid: str, body: dict) -> dict:
        card = self._checked_card(body)
        now = self.now()
        existing = self.store.get_customer(customer_uid)
        annotation = {
            "customer_uid": customer_uid,
            "pg_provider": _pg_provider(body),
            "pg_id": "iamport00m",
            "sandbox": True,
            "customer_id": _text(body, "customer_id"),
            "card_name": card.card_name,
            "card_code": card.card_code,
            "card_number": card.masked_number,
            "card_type": 0,
            **{field: _text(body, field) for field in _CUSTOMER_FIELDS},
            "inserted": existing[0]["inserted"] if existing else now,
            "updated": now,
        }
        self.store.put_customer(annotation, charges_fail=card.charges_fail)
        return annotation

    def get_billing_key(self, request: Request, customer_uid: str) -> dict:
        found = self.store.get_customer(customer_uid)
        if found is None:
            raise _customer_not_found()
        return found[0]

    def delete_billing_key(self, request: Request, customer_uid: str) -> dict:
        with self.store.write_lock:
            annotation = self.get_billing_key(request, customer_uid)
            self.store.delete_customer(customer_uid)
        return annotation

    def get_billing_keys(self, request: Request) -> list[dict]:
        wanted = request.query.get("customer_uid[]") or request.query.get("customer_uid") or []
        if not wanted:
            raise Refusal(HTTPStatus.BAD_REQUEST, -1, "customer_uid[] 파라미터가 필요합니다.")
        found = [c[0] for c in (self.store.get_customer(uid) for uid in wanted) if c]
        if not found:
            raise _customer_not_found()
        if len(found) < len(wanted):
            raise _PartialAnswer(found)
        return found

    def customer_payments(self, request: Request, customer_uid: str) -> dict:
        if self.store.get_customer(customer_uid) is None:
            raise _customer_not_found()
        page = _positive_int(request.query.get("page", ["1"])[-1], "page")
        total, items = self.store.payments_of_customer(
            customer_uid, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        return {
            "total": total,
            "previous": page - 1 if page > 1 else 0,
            "next": page + 1 if page * PAGE_SIZE < total else 0,
            "list": items,
        }

    # --- payments -----------------------------------------------------------------------------------
    def pay_again(self, request: Request) -> dict:
        body = request.body()
        order = _order(body)
        customer_uid = _required_text(body, "customer_uid")
        with self.store.write_lock:
            found = self.store.get_customer(customer_uid)
            if found is None:
                raise Refusal(HTTPStatus.OK, 1, "등록되지 않은 customer_uid입니다. (unknown customer_uid)")
            self._refuse_settled_merchant_uid(order["merchant_uid"])
            annotation, charges_fail = found
            payment = self._new_payment(
                order, body, card=annotation, customer_uid=customer_uid, usage="payment", fails=charges_fail
            )
        self._notify(payment)
        return payment

    def pay_onetime(self, request: Request) -> dict:
        body = request.body()
        order = _order(body)
        card = self._checked_card(body)
        customer_uid = _text(body, "customer_uid")
        with self.store.write_lock:
            self._refuse_settled_merchant_uid(order["merchant_uid"])
            shown = {
                "card_name": card.card_name,
                "card_code": card.card_code,
                "card_number": card.masked_number,
                "card_type": 0,
                "pg_provider": _pg_provider(body),
            }
            if customer_uid:
                self._issue(customer_uid, body)
            payment = self._new_payment(
                order,
                body,
                card=shown,
                customer_uid=customer_uid or None,
                usage="issue" if customer_uid else None,
                fails=card.charges_fail,
            )
        self._notify(payment)
        return payment

    def get_payment(self, request: Request, imp_uid: str) -> dict:
        payment = self.store.get_payment(imp_uid)
        if payment is None:
            raise Refusal(HTTPStatus.NOT_FOUND, 1, "존재하지 않는 결제정보입니다. (unknown imp_uid)")
        return payment

    def find_payment(self, request: Request, merchant_uid: str, payment_status: str | None = None) -> dict:
        payment = self.store.latest_payment_for(merchant_uid)
        if payment is None or (payment_status and payment["status"] != payment_status):
            raise Refusal(HTTPStatus.NOT_FOUND, 1, "존재하지 않는 결제정보입니다. (unknown merchant_uid)")
        return payment

    def cancel_payment(self, request: Request) -> dict:
        body = request.body()
        imp_uid, merchant_uid = _text(body, "imp_uid"), _text(body, "merchant_uid")
        if not imp_uid and not merchant_uid:
            raise Refusal(HTTPStatus.OK, 1, "imp_uid 또는 merchant_uid 중 하나는 필요합니다.")
        amount = _optional_amount(body, "amount")
        checksum = _optional_amount(body, "checksum")
        with self.store.write_lock:
            payment = (
                self.store.get_payment(imp_uid) if imp_uid else self.store.latest_payment_for(merchant_uid)
            )
            if payment is None:
                raise Refusal(HTTPStatus.OK, 1, "취소할 결제건이 존재하지 않습니다. (unknown payment)")
            if payment["status"] != "paid":
                raise Refusal(
                    HTTPStatus.OK, 1, f"취소할 수 없는 상태입니다: {payment['status']} (not refundable)"
                )
            left = payment["amount"] - payment["cancel_amount"]
            if checksum is not None and checksum != left:
                raise Refusal(
                    HTTPStatus.OK,
                    1,
                    f"checksum이 취소가능잔액({left})과 일치하지 않습니다. (checksum mismatch)",
                )
            amount = amount or left
            if amount > left:
                raise Refusal(HTTPStatus.OK, 1, f"취소가능잔액({left})보다 큰 금액입니다. (over-refund)")
            now = self.now()
            reason = _text(body, "reason") or ""
            cancellation = {
                "pg_tid": f"cancel_{secrets.token_hex(8)}",
                "amount": amount,
                "cancelled_at": now,
                "reason": reason,
                "cancellation_id": f"cncl_{secrets.token_hex(10)}",
                "receipt_url": f"https://sandbox.iamport.local/receipts/{payment['imp_uid']}/cancel",
            }
            payment["cancel_amount"] += amount
            payment["cancel_history"] = [*payment["cancel_history"], cancellation]
            payment["cancel_receipt_urls"] = [*payment["cancel_receipt_urls"], cancellation["receipt_url"]]
            payment["cancel_reason"] = reason
            payment["cancelled_at"] = now
            if payment["cancel_amount"] == payment["amount"]:
                payment["status"] = "cancelled"
            self.store.put_payment(payment, created=now)
        self._notify(payment, cancellation_id=cancellation["cancellation_id"])
        return payment

    # --- helpers ------------------------------------------------------------------------------------
    def _checked_card(self, body: dict):
        for field in ("card_number", "expiry"):
            _required_text(body, field)
        card = check_card(
            _text(body, "card_number") or "",
            _text(body, "expiry") or "",
            _text(body, "birth") or "",
            _text(body, "pwd_2digit") or "",
            today=self.today(),
        )
        if card.refusal:
            raise Refusal(HTTPStatus.OK, -1, card.refusal)
        return card

    def _refuse_settled_merchant_uid(self, merchant_uid: str) -> None:
        earlier = self.store.latest_payment_for(merchant_uid)
        if earlier and earlier["status"] in ("paid", "cancelled"):
            raise Refusal(
                HTTPStatus.OK, 1, "이미 결제가 완료된 merchant_uid입니다. (merchant_uid already paid)"
            )

    def _new_payment(self, order: dict, body: dict, *, card: dict, customer_uid, usage, fails: bool) -> dict:
        now = self.now()
        imp_uid = f"imps_{self.store.next_number('imp_uid'):012d}"
        payment = _payment_annotation(order, body, card=card, imp_uid=imp_uid, now=now)
        payment["customer_uid"], payment["customer_uid_usage"] = customer_uid, usage
        if fails:
            payment.update(
                status="failed", failed_at=now, fail_reason="잔액이 부족합니다. (insufficient funds)"
            )
        else:
            payment.update(
                status="paid",
                paid_at=now,
                apply_num=f"{secrets.randbelow(10**8):08d}",
                receipt_url=f"https://sandbox.iamport.local/receipts/{imp_uid}",
            )
        self.store.put_payment(payment, created=now, notice_url=_text(body, "notice_url"))
        return payment

    def _notify(self, payment: dict, **extra: str) -> None:
        url = self.store.notice_url_of(payment["imp_uid"]) or self.webhook_url
        if url:
            self.webhooks.send(
                url,
                {
                    "imp_uid": payment["imp_uid"],
                    "merchant_uid": payment["merchant_uid"],
                    "status": payment["status"],
                    **extra,
                },
            )

    # --- control ------------------------------------------------------------------------------------
    def control_faults(self, request: Request) -> dict:
        if request.method == "POST":
            self.faults.update(request.body())
        return asdict(self.faults)

    def control_reset(self, request: Request) -> dict:
        self.reset()
        return {"reset": True}

    def control_clock(self, request: Request) -> dict:
        advance = request.body().get("advance", 0)
        if isinstance(advance, bool) or not isinstance(advance, int | float):
            raise Refusal(HTTPStatus.BAD_REQUEST, 1, "advance must be a number of seconds")
        self._clock_offset += advance
        return {"now": self.now()}

    def control_run_due(self, request: Request) -> dict:
        return {"executed": self.run_due_schedules()}

    def control_stats(self, request: Request) -> dict:
        return self.stats()

    def run_due_schedules(self) -> int:
        return 0  # scheduled payments are not part of the sandbox core

    def reset(self) -> None:
        self.store.reset()
        self.faults = Faults()
        self._clock_offset = 0.0
        with self._stats_lock:
            self._stats.clear()

    def stats(self) -> dict[str, int]:
        with self._stats_lock:
            return dict(self._stats)


class _PartialAnswer(Refusal):
    """Some of the customer_uids asked for exist: HTTP 207 with what was found (code 0)."""

    def __init__(self, found: list[dict]):
        super().__init__(HTTPStatus.MULTI_STATUS, 0, "일부 customer_uid를 찾을 수 없습니다.")
        self.found = found


_CUSTOMER_FIELDS = ("customer_name", "customer_tel", "customer_email", "customer_addr", "customer_postcode")
_UID = r"[^/]+"


def _routes(app: SandboxApp) -> list[tuple[str, re.Pattern, str, Callable]]:
    table = [
        ("POST", "/users/getToken", "getToken", app.get_token),
        ("GET", "/subscribe/customers", "getBillingKeys", app.get_billing_keys),
        ("POST", f"/subscribe/customers/(?P<customer_uid>{_UID})", "issueBillingKey", app.issue_billing_key),
        ("GET", f"/subscribe/customers/(?P<customer_uid>{_UID})", "getBillingKey", app.get_billing_key),
        (
            "DELETE",
            f"/subscribe/customers/(?P<customer_uid>{_UID})",
            "deleteBillingKey",
            app.delete_billing_key,
        ),
        (
            "GET",
            f"/subscribe/customers/(?P<customer_uid>{_UID})/payments",
            "customerPayments",
            app.customer_payments,
        ),
        ("POST", "/subscribe/payments/again", "payAgain", app.pay_again),
        ("POST", "/subscribe/payments/onetime", "payOnetime", app.pay_onetime),
        (
            "GET",
            f"/payments/find/(?P<merchant_uid>{_UID})(?:/(?P<payment_status>{_UID}))?",
            "findPayment",
            app.find_payment,
        ),
        ("POST", "/payments/cancel", "cancelPayment", app.cancel_payment),
        ("GET", f"/payments/(?P<imp_uid>{_UID})", "getPayment", app.get_payment),
        ("GET", "/__sandbox__/faults", "control.faults", app.control_faults),
        ("POST", "/__sandbox__/faults", "control.faults", app.control_faults),
        ("POST", "/__sandbox__/reset", "control.reset", app.control_reset),
        ("POST", "/__sandbox__/clock", "control.clock", app.control_clock),
        ("POST", "/__sandbox__/run-due", "control.runDue", app.control_run_due),
        ("GET", "/__sandbox__/stats", "control.stats", app.control_stats),
    ]
    return [(method, re.compile(path), name, handler) for method, path, name, handler in table]


def _envelope(response: Any, *, code: int = 0, message: str | None = None) -> dict:
    return {"code": code, "message": message, "response": response}


def _customer_not_found() -> Refusal:
    return Refusal(HTTPStatus.NOT_FOUND, 1, "요청하신 customer_uid로 등록된 정보를 찾을 수 없습니다.")


def _text(body: dict, field: str) -> str | None:
    value = body.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Refusal(HTTPStatus.BAD_REQUEST, -1, f"{field} 파라미터의 형식이 올바르지 않습니다.")
    return str(value)


def _required_text(body: dict, field: str) -> str:
    value = _text(body, field)
    if value is None:
        raise Refusal(HTTPStatus.BAD_REQUEST, -1, f"{field} 파라미터가 누락되었습니다. (missing {field})")
    return value


def _positive_int(value: Any, field: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Refusal(HTTPStatus.BAD_REQUEST, -1, f"{field} 파라미터는 숫자여야 합니다.") from None
    if number < 1:
        raise Refusal(HTTPStatus.BAD_REQUEST, -1, f"{field} 파라미터는 1 이상이어야 합니다.")
    return number


def _optional_amount(body: dict, field: str) -> int | None:
    value = body.get(field)
    if value is None or value == "" or value == 0 or value == "0":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise Refusal(HTTPStatus.OK, 1, f"{field}는 금액이어야 합니다.")
    try:
        number = float(value)
    except ValueError:
        raise Refusal(HTTPStatus.OK, 1, f"{field}는 금액이어야 합니다.") from None
    if number < 0 or number != int(number):
        raise Refusal(HTTPStatus.OK, 1, f"{field}는 0 이상의 정수 금액이어야 합니다.")
    return int(number)


def _order(body: dict) -> dict:
    merchant_uid = _required_text(body, "merchant_uid")
    if len(merchant_uid) > 40:
        raise Refusal(HTTPStatus.OK, 1, "merchant_uid는 40자 이하여야 합니다.")
    amount = _optional_amount(body, "amount")
    if amount is None:
        raise Refusal(HTTPStatus.OK, 1, "amount는 0보다 큰 금액이어야 합니다. (amount required)")
    name = _text(body, "name") or ""
    return {"merchant_uid": merchant_uid, "amount": amount, "name": name[:40]}


def _pg_provider(body: dict) -> str:
    pg = _text(body, "pg") or "nice"
    return pg.split(".", 1)[0]


def _payment_annotation(order: dict, body: dict, *, card: dict, imp_uid: str, now: int) -> dict:
    return {
        "imp_uid": imp_uid,
        "merchant_uid": order["merchant_uid"],
        "pay_method": "card",
        "channel": "api",
        "pg_provider": card.get("pg_provider") or "nice",
        "emb_pg_provider": None,
        "pg_tid": f"sandbox_{secrets.token_hex(8)}",
        "pg_id": "iamport00m",
        "sandbox": True,
        "escrow": False,
        "apply_num": "",
        "bank_code": None,
        "bank_name": None,
        "card_code": card.get("card_code"),
        "card_name": card.get("card_name"),
        "card_issuer_code": None,
        "card_issuer_name": None,
        "card_publisher_code": None,
        "card_publisher_name": None,
        "card_quota": int(body.get("card_quota") or 0) if str(body.get("card_quota") or "0").isdigit() else 0,
        "card_number": card.get("card_number"),
        "card_type": card.get("card_type"),
        "vbank_code": None,
        "vbank_name": None,
        "vbank_num": None,
        "vbank_holder": None,
        "vbank_date": 0,
        "vbank_issued_at": 0,
        "name": order["name"],
        "amount": order["amount"],
        "cancel_amount": 0,
        "currency": _text(body, "currency") or "KRW",
        "buyer_name": _text(body, "buyer_name"),
        "buyer_email": _text(body, "buyer_email"),
        "buyer_tel": _text(body, "buyer_tel"),
        "buyer_addr": _text(body, "buyer_addr"),
        "buyer_postcode": _text(body, "buyer_postcode"),
        "custom_data": _text(body, "custom_data"),
        "user_agent": "sorry_not_supported_anymore",
        "status": "ready",
        "started_at": now,
        "paid_at": 0,
        "failed_at": 0,
        "cancelled_at": 0,
        "fail_reason": None,
        "cancel_reason": None,
        "receipt_url": None,
        "cancel_history": [],
        "deposit_history": [],
        "cancel_receipt_urls": [],
        "cash_receipt_issued": False,
        "customer_uid": None,
        "customer_uid_usage": None,
    }
