"""Billing keys (``/subscribe/customers``): issue from card data, read one or many, delete, list payments.

A key's annotation keeps the card masked; the full number, expiry, birth and PIN digits are checked
(see ``cards``) and dropped. A key with live schedules cannot be deleted, as at i'mport.
"""

import datetime
from collections.abc import Callable
from http import HTTPStatus

from .cards import check_card
from .http import PartialAnswer, Refusal, Request, bad_request
from .store import Store
from .validators import (
    check_customer_uid,
    optional_text,
    pg_id_of,
    pg_provider_of,
    positive_int,
    required_text,
)

PAGE_SIZE = 20  # payments per page of GET /subscribe/customers/{customer_uid}/payments, as at i'mport
_CUSTOMER_FIELDS = ("customer_name", "customer_tel", "customer_email", "customer_addr", "customer_postcode")


class BillingKeyHandlers:
    """Mixed into ``SandboxApp``; also issues the key that a onetime payment or a schedule brings."""

    store: Store
    now: Callable[[], int]
    today: Callable[[], datetime.date]

    def issue_billing_key(self, request: Request, customer_uid: str) -> dict:
        check_customer_uid(customer_uid)
        body = request.body()
        card = self._checked_card(body)
        with self.store.write_lock:
            return self._issue(customer_uid, body, card)

    def _issue(self, customer_uid: str, body: dict, card, *, buyer_fallback: bool = False) -> dict:
        now = self.now()
        existing = self.store.get_customer(customer_uid)

        def customer_field(field: str) -> str | None:
            value = optional_text(body, field)
            if value is None and buyer_fallback:  # onetime saves buyer_* as the key's customer_*
                value = optional_text(body, field.replace("customer_", "buyer_"))
            return value

        annotation = {
            "customer_uid": customer_uid,
            "pg_provider": pg_provider_of(body),
            "pg_id": pg_id_of(body),
            "sandbox": True,
            "customer_id": optional_text(body, "customer_id"),
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
            raise bad_request("customer_uid[] 파라미터가 필요합니다. (missing customer_uid[])")
        found = [c[0] for c in (self.store.get_customer(uid) for uid in dict.fromkeys(wanted)) if c]
        if not found:
            raise _customer_not_found()
        if len(found) < len(dict.fromkeys(wanted)):
            raise PartialAnswer(found)
        return found

    def customer_payments(self, request: Request, customer_uid: str) -> dict:
        if self.store.get_customer(customer_uid) is None:
            raise _customer_not_found()
        page = positive_int(request.query.get("page", ["1"])[-1] or "1", "page")
        total, items = self.store.payments_of_customer(
            customer_uid, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE
        )
        return {
            "total": total,
            "previous": page - 1 if page > 1 else 0,
            "next": page + 1 if page * PAGE_SIZE < total else 0,
            "list": items,
        }

    def _checked_card(self, body: dict):
        for field in ("card_number", "expiry"):
            required_text(body, field)
        card = check_card(
            optional_text(body, "card_number") or "",
            optional_text(body, "expiry") or "",
            optional_text(body, "birth") or "",
            optional_text(body, "pwd_2digit") or "",
            today=self.today(),
        )
        if card.refusal:
            raise Refusal(HTTPStatus.OK, -1, card.refusal)
        return card


def _customer_not_found() -> Refusal:
    return Refusal(HTTPStatus.NOT_FOUND, 1, "요청하신 customer_uid로 등록된 정보를 찾을 수 없습니다.")
