"""The sandbox's WSGI app: i'mport V1's paths, envelope, statuses and token rules, offline.

Every answer, errors included, is ``{"code", "message", "response"}``. Refusals the real API
answers with HTTP 200 (a declined card, an unknown customer_uid on a charge) are HTTP 200 here
too; 401 and 404 where the real API uses them; 400 for a missing or wrong-typed parameter.
An unexpected error still answers the envelope (HTTP 500) and never shows a traceback.
Control endpoints live under ``/__sandbox__/``, a path the real API never uses, and are never
subject to injected faults.
"""

import datetime
import json
import logging
import math
import random
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl

from .cards import check_card
from .store import Store
from .webhooks import ATTEMPTS, BACKOFF_SECONDS, WebhookSender

logger = logging.getLogger(__name__)

TOKEN_LIFETIME = 30 * 60
TOKEN_EXTENSION = 5 * 60
TOKEN_LAST_MINUTE = 60
PAGE_SIZE = 20
PAYMENT_STATUSES = ("ready", "paid", "failed", "cancelled")


class Refusal(Exception):
    """An answer other than success: HTTP status, i'mport code and message."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _bad_request(message: str) -> Refusal:
    return Refusal(HTTPStatus.BAD_REQUEST, -1, message)


@dataclass
class Faults:
    """Injected trouble for resilience tests. Applies to API paths only, never to /__sandbox__/."""

    latency_ms: int = 0
    error_rate: float = 0.0
    hang: str | None = None  # "before": never apply the change; "after": apply it, then hang
    hang_seconds: float = 30.0
    token_ttl: int = TOKEN_LIFETIME

    def update(self, values: dict[str, Any]) -> None:
        """Validate everything first, then apply: a refused update changes nothing."""
        changed = {}
        for name, value in values.items():
            if name not in self.__dataclass_fields__:
                raise Refusal(HTTPStatus.BAD_REQUEST, 1, f"unknown fault {name!r}")
            changed[name] = _fault_value(name, value)
        for name, value in changed.items():
            setattr(self, name, value)


def _fault_value(name: str, value: Any) -> Any:
    if name == "hang":
        if value not in (None, "", "before", "after"):
            raise Refusal(HTTPStatus.BAD_REQUEST, 1, "hang must be 'before', 'after' or null")
        return value or None
    defaults = {"latency_ms": 0, "error_rate": 0.0, "hang_seconds": 30.0, "token_ttl": TOKEN_LIFETIME}
    if value is None or value == "":
        return defaults[name]
    kind = float if name in ("error_rate", "hang_seconds") else int
    try:
        if isinstance(value, bool | list | dict):
            raise TypeError
        number = kind(float(value))
    except (TypeError, ValueError, OverflowError):
        raise Refusal(HTTPStatus.BAD_REQUEST, 1, f"{name} has the wrong type") from None
    if not math.isfinite(number) or number < 0 or (name == "error_rate" and number > 1):
        raise Refusal(HTTPStatus.BAD_REQUEST, 1, f"{name} is out of range")
    if name == "token_ttl" and number == 0:
        return TOKEN_LIFETIME
    return number


class Request:
    def __init__(self, environ: dict[str, Any]):
        self.method = str(environ.get("REQUEST_METHOD") or "GET").upper()
        self.path = environ.get("PATH_INFO") or "/"
        self.query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        self.authorization = environ.get("HTTP_AUTHORIZATION", "")
        self.token_header = environ.get("HTTP_X_IMPTOKENHEADER", "")
        self.content_type = environ.get("CONTENT_TYPE", "")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise _bad_request("Content-Length가 올바르지 않습니다.") from None
        self.raw_body = environ["wsgi.input"].read(length) if length > 0 else b""
        self._body: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        """JSON or form-encoded (``schedules[0][merchant_uid]=...`` nests), as the real API accepts both."""
        if self._body is None:
            self._body = self._parse_body()
        return self._body

    def _parse_body(self) -> dict[str, Any]:
        if not self.raw_body.strip():
            return {}
        if "json" in self.content_type or self.raw_body.lstrip()[:1] in (b"{", b"["):
            try:
                data = json.loads(self.raw_body)
                json.dumps(data, ensure_ascii=False).encode()  # lone surrogates cannot be stored or shown
            except (ValueError, UnicodeError, RecursionError):
                raise _bad_request("요청 본문의 JSON 형식이 올바르지 않습니다. (malformed JSON)") from None
            if not isinstance(data, dict):
                raise _bad_request("요청 본문은 JSON 객체여야 합니다. (body must be an object)")
            return data
        try:
            pairs = parse_qsl(self.raw_body.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            raise _bad_request("요청 본문을 읽을 수 없습니다. (undecodable body)") from None
        return _nest_form(pairs)


_FORM_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])+)")


def _nest_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``a=1``, ``b[]=1&b[]=2``, ``s[0][x]=1`` (PHP/jQuery style) into plain dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _FORM_KEY.fullmatch(key)
        parts = [match[1], *re.findall(r"\[([^\[\]]*)\]", match[2])] if match else [key]
        node = root
        for index, part in enumerate(parts):
            name = part if part != "" else str(len(node))
            if index == len(parts) - 1:
                if isinstance(node.get(name), dict):
                    raise _bad_request(f"{parts[0]} 파라미터의 형식이 올바르지 않습니다.")
                node[name] = value
            else:
                child = node.setdefault(name, {})
                if not isinstance(child, dict):
                    raise _bad_request(f"{parts[0]} 파라미터의 형식이 올바르지 않습니다.")
                node = child
    return {key: _listify(value) for key, value in root.items()}


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    items = {key: _listify(item) for key, item in value.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items


class SandboxApp:
    def __init__(
        self,
        state_path: str | Path,
        *,
        imp_key: str = "sandbox_key",
        imp_secret: str = "sandbox_secret",  # noqa: S107 - the sandbox's published test secret
        webhook_url: str | None = None,
        clock: Callable[[], float] | None = None,
        webhook_attempts: int = ATTEMPTS,
        webhook_backoff: Sequence[float] = BACKOFF_SECONDS,
    ):
        self.store = Store(state_path)
        self.imp_key, self.imp_secret = imp_key, imp_secret
        self.webhook_url = webhook_url
        self._clock = clock or time.time
        self._clock_offset = 0.0
        self.faults = Faults()
        self._stats: Counter[str] = Counter()
        self._stats_lock = threading.Lock()
        self.webhooks = WebhookSender(attempts=webhook_attempts, backoff=webhook_backoff)
        self._routes = _routes(self)

    # --- WSGI ---------------------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        try:
            status, payload = self._answer(environ)
        except Exception:
            # The traceback goes to the server's log, never into the answer.
            logger.exception(
                "sandbox: unexpected error on %s %s", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO")
            )
            status = HTTPStatus.INTERNAL_SERVER_ERROR
            payload = _envelope(None, code=-1, message="서버 내부 오류가 발생했습니다. (internal error)")
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8", "replace")
        start_response(
            f"{int(status)} {HTTPStatus(status).phrase}",
            [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _answer(self, environ: dict[str, Any]) -> tuple[int, dict]:
        try:
            return self._dispatch(Request(environ))
        except _PartialAnswer as partial:
            return partial.status, _envelope(partial.found)
        except Refusal as refusal:
            return refusal.status, _envelope(None, code=refusal.code, message=refusal.message)

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
        arguments = {key: value for key, value in match.groupdict().items() if value is not None}
        if "/__sandbox__/" in name:
            return HTTPStatus.OK, _envelope(handler(request, **arguments))
        return self._with_faults(request, name, lambda: handler(request, **arguments))

    def _with_faults(self, request: Request, name: str, handle: Callable[[], Any]) -> tuple[int, dict]:
        faults = self.faults
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000)
        if faults.error_rate and random.random() < faults.error_rate:  # noqa: S311 - not security
            raise Refusal(HTTPStatus.SERVICE_UNAVAILABLE, -1, "일시적인 오류입니다. (injected fault)")
        # A hang holds every API call but getToken: a client that times out cannot read its way out either.
        hangs = faults.hang and not name.endswith("/users/getToken")
        if hangs and faults.hang == "before":
            time.sleep(faults.hang_seconds)
            raise Refusal(HTTPStatus.GATEWAY_TIMEOUT, -1, "처리 시간이 초과되었습니다. (injected hang)")
        if not name.endswith("/users/getToken"):
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
        ttl = self.faults.token_ttl
        # A shortened lifetime (the token_ttl fault) shortens the last-minute window and the extension too.
        last_minute, extension = min(TOKEN_LAST_MINUTE, ttl // 2), min(TOKEN_EXTENSION, ttl)
        with self.store.write_lock:
            rows = self.store.query("SELECT token, expired_at FROM tokens WHERE expired_at > ? LIMIT 1", now)
            if rows:
                token, expired_at = rows[0]
                if expired_at - now <= last_minute:
                    expired_at += extension  # asked in its last minute: extended, as i'mport does
                    self.store.execute("UPDATE tokens SET expired_at = ? WHERE token = ?", expired_at, token)
            else:
                token, expired_at = secrets.token_hex(20), now + ttl
                self.store.execute("DELETE FROM tokens WHERE expired_at <= ?", now)
                self.store.execute("INSERT INTO tokens (token, expired_at) VALUES (?, ?)", token, expired_at)
        return {"access_token": token, "now": now, "expired_at": expired_at}

    def _authenticate(self, request: Request) -> None:
        """``Authorization: Bearer <token>``, the bare token, or the older ``X-ImpTokenHeader``."""
        header = request.authorization.strip()
        if header[:7].lower() == "bearer ":
            header = header[7:].strip()
        token = header or request.token_header.strip()
        rows = self.store.query("SELECT expired_at FROM tokens WHERE token = ?", token) if token else []
        if not rows or rows[0][0] <= self.now():
            raise Refusal(HTTPStatus.UNAUTHORIZED, -1, "Unauthorized")

    # --- billing keys -------------------------------------------------------------------------------
    def issue_billing_key(self, request: Request, customer_uid: str) -> dict:
        _check_customer_uid(customer_uid)
        body = request.body()
        card = self._checked_card(body)
        with self.store.write_lock:
            return self._issue(customer_uid, body, card)

    def _issue(self, customer_uid: str, body: dict, card, *, buyer_fallback: bool = False) -> dict:
        now = self.now()
        existing = self.store.get_customer(customer_uid)

        def customer_field(field: str) -> str | None:
            value = _text(body, field)
            if value is None and buyer_fallback:  # onetime saves buyer_* as the key's customer_*
                value = _text(body, field.replace("customer_", "buyer_"))
            return value

        annotation = {
            "customer_uid": customer_uid,
            "pg_provider": _pg_provider(body),
            "pg_id": _pg_id(body),
            "sandbox": True,
            "customer_id": _text(body, "customer_id"),
            "card_name": card.card_name,
            "card_code": card.card_code,
            "card_issuer_code": None,
            "card_issuer_name": None,
            "card_publisher_code": None,
            "card_publisher_name": None,
            "card_number": card.masked_number,
            "card_type": 0,
            **{field: customer_field(field) for field in _CUSTOMER_FIELDS},
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
            if self.store.scheduled_of_customer(customer_uid):
                raise Refusal(
                    HTTPStatus.OK,
                    1,
                    "예약된 결제가 있는 빌링키는 삭제할 수 없습니다. 예약을 먼저 취소하세요. "
                    "(revoke its schedules first)",
                )
            self.store.delete_customer(customer_uid)
        return annotation

    def get_billing_keys(self, request: Request) -> list[dict]:
        wanted = request.query.get("customer_uid[]") or request.query.get("customer_uid") or []
        wanted = [uid for uid in wanted if uid]
        if not wanted:
            raise _bad_request("customer_uid[] 파라미터가 필요합니다. (missing customer_uid[])")
        found = [c[0] for c in (self.store.get_customer(uid) for uid in dict.fromkeys(wanted)) if c]
        if not found:
            raise _customer_not_found()
        if len(found) < len(dict.fromkeys(wanted)):
            raise _PartialAnswer(found)
        return found

    def customer_payments(self, request: Request, customer_uid: str) -> dict:
        if self.store.get_customer(customer_uid) is None:
            raise _customer_not_found()
        page = _positive_int(request.query.get("page", ["1"])[-1] or "1", "page")
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
        customer_uid = _required_text(body, "customer_uid")
        _check_customer_uid(customer_uid)
        if body.get("name") is None:
            raise _bad_request("name 파라미터가 누락되었습니다. (missing name)")
        order = _order(body)
        with self.store.write_lock:
            found = self.store.get_customer(customer_uid)
            if found is None:
                raise Refusal(HTTPStatus.OK, 1, "등록되지 않은 customer_uid입니다. (unknown customer_uid)")
            self._refuse_used_merchant_uid(order["merchant_uid"])
            annotation, charges_fail = found
            payment = self._new_payment(
                order,
                body,
                card=annotation,
                customer_uid=customer_uid,
                usage="payment",
                fails=charges_fail,
                notice_url=_text(body, "notice_url"),
            )
        self._notify(payment)
        return payment

    def pay_onetime(self, request: Request) -> dict:
        body = request.body()
        order = _order(body)
        customer_uid = _text(body, "customer_uid")
        if customer_uid:
            _check_customer_uid(customer_uid)
        card = self._checked_card(body)
        with self.store.write_lock:
            self._refuse_used_merchant_uid(order["merchant_uid"])
            shown = {
                "card_name": card.card_name,
                "card_code": card.card_code,
                "card_number": card.masked_number,
                "card_type": 0,
                "pg_provider": _pg_provider(body),
                "pg_id": _pg_id(body),
            }
            if customer_uid:
                self._issue(customer_uid, body, card, buyer_fallback=True)
            payment = self._new_payment(
                order,
                body,
                card=shown,
                customer_uid=customer_uid,
                usage="issue" if customer_uid else None,
                fails=card.charges_fail,
                notice_url=_text(body, "notice_url"),
            )
        self._notify(payment)
        return payment

    def get_payment(self, request: Request, imp_uid: str) -> dict:
        payment = self.store.get_payment(imp_uid)
        if payment is None:
            raise Refusal(HTTPStatus.NOT_FOUND, 1, "존재하지 않는 결제정보입니다. (unknown imp_uid)")
        return payment

    def find_payment(self, request: Request, merchant_uid: str, payment_status: str | None = None) -> dict:
        if payment_status is not None and payment_status not in PAYMENT_STATUSES:
            raise _bad_request("payment_status는 ready, paid, failed, cancelled 중 하나여야 합니다.")
        payment = self.store.latest_payment_for(merchant_uid, payment_status)
        if payment is None:
            raise Refusal(HTTPStatus.NOT_FOUND, 1, "존재하지 않는 결제정보입니다. (unknown merchant_uid)")
        return payment

    def cancel_payment(self, request: Request) -> dict:
        body = request.body()
        imp_uid, merchant_uid = _text(body, "imp_uid"), _text(body, "merchant_uid")
        if not imp_uid and not merchant_uid:
            raise _bad_request(
                "imp_uid 또는 merchant_uid 중 하나는 필요합니다. (missing imp_uid/merchant_uid)"
            )
        amount = _amount(body, "amount")
        checksum = _amount(body, "checksum")
        reason = _text(body, "reason") or ""
        if amount is not None and amount < 0:
            raise Refusal(HTTPStatus.OK, 1, "취소 금액은 0 이상이어야 합니다. (negative amount)")
        with self.store.write_lock:
            payment = (
                self.store.get_payment(imp_uid) if imp_uid else self.store.latest_payment_for(merchant_uid)
            )
            if payment is None or (imp_uid and merchant_uid and payment["merchant_uid"] != merchant_uid):
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
        if body.get("enable_webhook") not in (False, "false"):
            self._notify(payment, cancellation_id=cancellation["cancellation_id"])
        return payment

    # --- scheduled payments -------------------------------------------------------------------------
    def schedule(self, request: Request) -> list[dict]:
        body = request.body()
        customer_uid = _required_text(body, "customer_uid")
        _check_customer_uid(customer_uid)
        schedules = body.get("schedules")
        if isinstance(schedules, str):  # a form field holding the list as JSON, as some clients send it
            try:
                schedules = json.loads(schedules)
            except ValueError:
                raise _bad_request("schedules 파라미터의 형식이 올바르지 않습니다.") from None
        if isinstance(schedules, dict):
            schedules = [schedules]
        if not isinstance(schedules, list) or not schedules:
            raise _bad_request("schedules 파라미터가 누락되었습니다. (missing schedules)")
        now = self.now()
        orders = [_scheduled_order(item, index, now) for index, item in enumerate(schedules)]
        merchant_uids = [order["merchant_uid"] for order in orders]
        if len(set(merchant_uids)) < len(merchant_uids):
            raise Refusal(
                HTTPStatus.OK, 1, "schedules 안에 중복된 merchant_uid가 있습니다. (duplicate merchant_uid)"
            )
        with self.store.write_lock:
            found = self.store.get_customer(customer_uid)
            if found is None and _text(body, "card_number") is None:
                raise Refusal(
                    HTTPStatus.OK,
                    1,
                    "등록되지 않은 customer_uid입니다. 카드정보가 필요합니다. (unknown customer_uid)",
                )
            # An existing key is used as it is; card data only issues one for a new customer_uid.
            card = None if found else self._checked_card(body)
            for merchant_uid in merchant_uids:
                self._refuse_used_merchant_uid(merchant_uid)
            customer = found[0] if found else self._issue(customer_uid, body, card)
            results = []
            for order in orders:
                schedule = {
                    "customer_uid": customer_uid,
                    "merchant_uid": order["merchant_uid"],
                    "imp_uid": None,
                    "pg_provider": customer["pg_provider"],
                    "pg_id": customer["pg_id"],
                    "customer_id": _text(body, "customer_id") or customer.get("customer_id"),
                    "schedule_at": order["schedule_at"],
                    "executed_at": 0,
                    "revoked_at": 0,
                    "amount": order["amount"],
                    "currency": order["currency"],
                    "name": order["name"],
                    **{
                        f"buyer_{field}": order[f"buyer_{field}"] or customer.get(f"customer_{field}")
                        for field in ("name", "email", "tel", "addr", "postcode")
                    },
                    "custom_data": order["custom_data"],
                    "schedule_status": "scheduled",
                    "payment_status": None,
                    "fail_reason": None,
                    "promotion_id": order["promotion_id"],
                }
                self.store.put_schedule(schedule, notice_url=order["notice_url"])
                results.append(schedule)
        return results

    def unschedule(self, request: Request) -> list[dict]:
        body = request.body()
        customer_uid = _required_text(body, "customer_uid")
        wanted = body.get("merchant_uid")
        if wanted in (None, "", []):
            wanted = None
        elif isinstance(wanted, str | int) and not isinstance(wanted, bool):
            wanted = [str(wanted)]
        elif isinstance(wanted, list) and all(isinstance(uid, str) for uid in wanted):
            wanted = list(dict.fromkeys(wanted))
        else:
            raise _bad_request("merchant_uid 파라미터의 형식이 올바르지 않습니다.")
        revoked = []
        with self.store.write_lock:
            if wanted is None:
                candidates = self.store.scheduled_of_customer(customer_uid)
            else:
                candidates = [found[0] for uid in wanted if (found := self.store.get_schedule(uid))]
            now = self.now()
            for schedule in candidates:
                if schedule["customer_uid"] != customer_uid or schedule["schedule_status"] != "scheduled":
                    continue
                schedule.update(schedule_status="revoked", revoked_at=now)
                self.store.update_schedule(schedule)
                revoked.append(schedule)
        if not revoked:
            raise Refusal(HTTPStatus.OK, 1, "취소할 예약결제 기록이 존재하지 않습니다. (nothing to revoke)")
        return revoked

    def get_schedule(self, request: Request, merchant_uid: str) -> dict:
        found = self.store.get_schedule(merchant_uid)
        if found is None:
            raise Refusal(HTTPStatus.NOT_FOUND, 1, "결제예약건이 존재하지 않습니다. (unknown schedule)")
        return self._schedule_view(found[0])

    def _schedule_view(self, schedule: dict) -> dict:
        """A refund after execution shows as payment_status ``cancelled``, as i'mport reports it."""
        if schedule["imp_uid"]:
            payment = self.store.get_payment(schedule["imp_uid"])
            if payment:
                schedule["payment_status"] = payment["status"]
        return schedule

    def run_due_schedules(self) -> int:
        """Execute every ``scheduled`` schedule whose time has come; the number executed."""
        executed = 0
        for merchant_uid in self.store.due_schedules(self.now()):
            with self.store.write_lock:
                found = self.store.get_schedule(merchant_uid)
                if found is None or found[0]["schedule_status"] != "scheduled":
                    continue  # revoked, or run by another caller meanwhile
                schedule, notice_url = found
                payment = self._execute(schedule, notice_url)
            self._notify(payment)
            executed += 1
        return executed

    def _execute(self, schedule: dict, notice_url: str | None) -> dict:
        customer = self.store.get_customer(schedule["customer_uid"])
        card, fails = customer if customer else ({}, True)
        payment = self._new_payment(
            {key: schedule[key] for key in ("merchant_uid", "amount", "name")},
            schedule,
            card=card,
            customer_uid=schedule["customer_uid"],
            usage="payment.scheduled",
            fails=fails,
            fail_reason=None if customer else "등록되지 않은 customer_uid입니다. (unknown customer_uid)",
            notice_url=notice_url,
        )
        schedule.update(
            schedule_status="executed",
            executed_at=payment["started_at"],
            imp_uid=payment["imp_uid"],
            payment_status=payment["status"],
            fail_reason=payment["fail_reason"],
        )
        self.store.update_schedule(schedule)
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

    def _refuse_used_merchant_uid(self, merchant_uid: str) -> None:
        """merchant_uid is unique: refused once paid (or refunded), or held by a schedule not revoked.

        A merchant_uid whose payment failed may be tried again, as at i'mport.
        """
        earlier = self.store.latest_payment_for(merchant_uid)
        if earlier and earlier["status"] in ("paid", "cancelled"):
            raise Refusal(
                HTTPStatus.OK, 1, "이미 결제가 완료된 merchant_uid입니다. (merchant_uid already paid)"
            )
        scheduled = self.store.get_schedule(merchant_uid)
        if scheduled and scheduled[0]["schedule_status"] in ("scheduled", "executed"):
            raise Refusal(
                HTTPStatus.OK, 1, "이미 결제예약된 merchant_uid입니다. (merchant_uid already scheduled)"
            )

    def _new_payment(
        self,
        order: dict,
        body: dict,
        *,
        card: dict,
        customer_uid: str | None,
        usage: str | None,
        fails: bool,
        notice_url: str | None,
        fail_reason: str | None = None,
    ) -> dict:
        now = self.now()
        imp_uid = f"imps_{self.store.next_number('imp_uid'):012d}"
        payment = _payment_annotation(order, body, card=card, imp_uid=imp_uid, now=now)
        payment["customer_uid"], payment["customer_uid_usage"] = customer_uid, usage
        if fails:
            payment.update(
                status="failed",
                failed_at=now,
                fail_reason=fail_reason or "잔액이 부족합니다. (insufficient funds)",
            )
        else:
            payment.update(
                status="paid",
                paid_at=now,
                apply_num=f"{secrets.randbelow(10**8):08d}",
                receipt_url=f"https://sandbox.iamport.local/receipts/{imp_uid}",
            )
        self.store.put_payment(payment, created=now, notice_url=notice_url)
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
        if isinstance(advance, str):
            try:
                advance = float(advance)
            except ValueError:
                advance = None
        if isinstance(advance, bool) or not isinstance(advance, int | float) or not math.isfinite(advance):
            raise Refusal(HTTPStatus.BAD_REQUEST, 1, "advance must be a number of seconds")
        self._clock_offset += advance
        return {"now": self.now()}

    def control_run_due(self, request: Request) -> dict:
        return {"executed": self.run_due_schedules()}

    def control_stats(self, request: Request) -> dict:
        return self.stats()

    def reset(self) -> None:
        self.store.reset()
        self.faults = Faults()
        self._clock_offset = 0.0
        with self._stats_lock:
            self._stats.clear()

    def stats(self) -> dict[str, Any]:
        """Calls per route (``"POST /subscribe/customers/{customer_uid}": 3``) and webhook counts."""
        with self._stats_lock:
            calls = dict(self._stats)
        return {"calls": calls, "webhooks": self.webhooks.counts()}


class _PartialAnswer(Refusal):
    """Some of the customer_uids asked for exist: HTTP 207 with what was found (code 0)."""

    def __init__(self, found: list[dict]):
        super().__init__(HTTPStatus.MULTI_STATUS, 0, "일부 customer_uid를 찾을 수 없습니다.")
        self.found = found


_CUSTOMER_FIELDS = ("customer_name", "customer_tel", "customer_email", "customer_addr", "customer_postcode")
_UID = r"[^/]+"


def _routes(app: SandboxApp) -> list[tuple[str, re.Pattern, str, Callable]]:
    """(method, path pattern, route name, handler); the name is "METHOD /path/{template}"."""
    table = [
        ("POST", "/users/getToken", app.get_token),
        ("GET", "/subscribe/customers", app.get_billing_keys),
        ("POST", "/subscribe/customers/{customer_uid}", app.issue_billing_key),
        ("GET", "/subscribe/customers/{customer_uid}", app.get_billing_key),
        ("DELETE", "/subscribe/customers/{customer_uid}", app.delete_billing_key),
        ("GET", "/subscribe/customers/{customer_uid}/payments", app.customer_payments),
        ("POST", "/subscribe/payments/again", app.pay_again),
        ("POST", "/subscribe/payments/onetime", app.pay_onetime),
        ("POST", "/subscribe/payments/schedule", app.schedule),
        ("POST", "/subscribe/payments/unschedule", app.unschedule),
        ("GET", "/subscribe/payments/schedule/{merchant_uid}", app.get_schedule),
        ("GET", "/payments/find/{merchant_uid}", app.find_payment),
        ("GET", "/payments/find/{merchant_uid}/{payment_status}", app.find_payment),
        ("POST", "/payments/cancel", app.cancel_payment),
        ("GET", "/payments/{imp_uid}", app.get_payment),
        ("GET", "/__sandbox__/faults", app.control_faults),
        ("POST", "/__sandbox__/faults", app.control_faults),
        ("POST", "/__sandbox__/reset", app.control_reset),
        ("POST", "/__sandbox__/clock", app.control_clock),
        ("POST", "/__sandbox__/run-due", app.control_run_due),
        ("GET", "/__sandbox__/stats", app.control_stats),
    ]
    return [
        (method, re.compile(re.sub(r"\{(\w+)\}", rf"(?P<\1>{_UID})", path)), f"{method} {path}", handler)
        for method, path, handler in table
    ]


def _envelope(response: Any, *, code: int = 0, message: str | None = None) -> dict:
    return {"code": code, "message": message, "response": response}


def _customer_not_found() -> Refusal:
    return Refusal(HTTPStatus.NOT_FOUND, 1, "요청하신 customer_uid로 등록된 정보를 찾을 수 없습니다.")


def _check_customer_uid(customer_uid: str) -> None:
    if len(customer_uid) > 80:
        raise _bad_request("customer_uid는 80자 이하여야 합니다. (customer_uid too long)")


def _text(body: dict, field: str, where: str = "") -> str | None:
    value = body.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise _bad_request(f"{where}{field} 파라미터의 형식이 올바르지 않습니다. (wrong type)")
    return str(value)


def _required_text(body: dict, field: str, where: str = "") -> str:
    value = _text(body, field, where)
    if value is None:
        raise _bad_request(f"{where}{field} 파라미터가 누락되었습니다. (missing {where}{field})")
    return value


def _positive_int(value: Any, field: str) -> int:
    number = _integer(value, field)
    if number < 1:
        raise _bad_request(f"{field} 파라미터는 1 이상이어야 합니다.")
    return number


def _integer(value: Any, field: str) -> int:
    """An integer, written as one (JSON number or digits in a form field); anything else is a 400."""
    if isinstance(value, bool):
        raise _bad_request(f"{field} 파라미터는 정수여야 합니다. (wrong type)")
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,18}\s*", value):
        return int(value)
    raise _bad_request(f"{field} 파라미터는 정수여야 합니다. (wrong type)")


def _amount(body: dict, field: str, where: str = "") -> int | None:
    """A whole amount of money, or None when absent. Wrong type: 400; the sign is the caller's rule."""
    value = body.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _bad_request(f"{where}{field}는 금액(숫자)이어야 합니다. (wrong type)")
    try:
        number = float(value)
    except ValueError:
        raise _bad_request(f"{where}{field}는 금액(숫자)이어야 합니다. (wrong type)") from None
    if not math.isfinite(number) or abs(number) >= 1e15:
        raise _bad_request(f"{where}{field}는 금액(숫자)이어야 합니다. (out of range)")
    if number != int(number):
        raise Refusal(HTTPStatus.OK, 1, f"{where}{field}는 정수 금액이어야 합니다. (not a whole amount)")
    return int(number)


def _order(body: dict, where: str = "") -> dict:
    merchant_uid = _required_text(body, "merchant_uid", where)
    if len(merchant_uid) > 40:
        raise _bad_request(f"{where}merchant_uid는 40자 이하여야 합니다. (merchant_uid too long)")
    amount = _amount(body, "amount", where)
    if amount is None:
        raise _bad_request(f"{where}amount 파라미터가 누락되었습니다. (missing {where}amount)")
    if amount <= 0:
        raise Refusal(
            HTTPStatus.OK, 1, f"{where}amount는 0보다 큰 금액이어야 합니다. (amount must be positive)"
        )
    name = _text(body, "name", where) or ""
    if len(name) > 40:
        raise _bad_request(f"{where}name은 40자 이하여야 합니다. (name too long)")
    _card_quota(body, where)
    _custom_data(body, where)
    return {"merchant_uid": merchant_uid, "amount": amount, "name": name}


def _scheduled_order(item: Any, index: int, now: int) -> dict:
    where = f"schedules[{index}]."
    if not isinstance(item, dict):
        raise _bad_request(f"schedules[{index}]는 객체여야 합니다. (wrong type)")
    order = _order(item, where)
    if item.get("schedule_at") in (None, ""):
        raise _bad_request(f"{where}schedule_at 파라미터가 누락되었습니다. (missing {where}schedule_at)")
    order["schedule_at"] = _integer(item["schedule_at"], f"{where}schedule_at")
    if order["schedule_at"] <= now:
        raise _bad_request(f"{where}schedule_at은 현재 시각 이후여야 합니다. (schedule_at in the past)")
    if item.get("name") is None:
        raise _bad_request(f"{where}name 파라미터가 누락되었습니다. (missing {where}name)")
    order["currency"] = _text(item, "currency", where) or "KRW"
    for field in ("buyer_name", "buyer_email", "buyer_tel", "buyer_addr", "buyer_postcode"):
        order[field] = _text(item, field, where)
    order["custom_data"] = _custom_data(item, where)
    order["notice_url"] = _text(item, "notice_url", where)
    order["promotion_id"] = _text(item, "promotion_id", where)
    return order


def _pg_provider(body: dict) -> str:
    pg = _text(body, "pg") or "nice"
    return pg.split(".", 1)[0]


def _pg_id(body: dict) -> str:
    pg = _text(body, "pg") or ""
    return pg.split(".", 1)[1] if "." in pg else "iamport00m"


def _card_quota(body: dict, where: str = "") -> int:
    value = body.get("card_quota")
    return 0 if value in (None, "") else max(0, _integer(value, f"{where}card_quota"))


def _payment_annotation(order: dict, body: dict, *, card: dict, imp_uid: str, now: int) -> dict:
    return {
        "imp_uid": imp_uid,
        "merchant_uid": order["merchant_uid"],
        "pay_method": "card",
        "channel": "api",
        "pg_provider": card.get("pg_provider") or "nice",
        "emb_pg_provider": None,
        "pg_tid": f"sandbox_{secrets.token_hex(8)}",
        "pg_id": card.get("pg_id") or "iamport00m",
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
        "card_quota": _card_quota(body),
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
        "custom_data": _custom_data(body),
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


def _custom_data(body: dict, where: str = "") -> str | None:
    """custom_data is a string at i'mport; an object sent as JSON is kept as its JSON text."""
    value = body.get("custom_data")
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return _text(body, "custom_data", where)
