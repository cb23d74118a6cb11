"""Payments: charge a key (``again``), charge card data (``onetime``), read, find, and cancel (refund).

Whether a charge succeeds is decided by the card (see ``cards``): the sandbox never calls anyone but
the merchant's webhook, which hears of every payment, as i'mport's notification does.
"""

import secrets
from collections.abc import Callable
from http import HTTPStatus
from typing import Any, cast

from .http import Refusal, Request, bad_request
from .store import Store
from .validators import (
    amount_value,
    card_quota_of,
    check_customer_uid,
    custom_data_of,
    optional_text,
    order_fields,
    pg_id_of,
    pg_provider_of,
    required_text,
)
from .webhooks import WebhookSender

PAYMENT_STATUSES = ("ready", "paid", "failed", "cancelled")


class PaymentHandlers:
    """Mixed into ``SandboxApp``; ``_new_payment`` and ``_notify`` also serve scheduled payments."""

    store: Store
    webhooks: WebhookSender
    webhook_url: str | None
    now: Callable[[], int]
    _checked_card: Callable[[dict], Any]
    _issue: Callable[..., dict]

    def pay_again(self, request: Request) -> dict:
        body = request.body()
        customer_uid = required_text(body, "customer_uid")
        check_customer_uid(customer_uid)
        if body.get("name") is None:
            raise bad_request("name 파라미터가 누락되었습니다. (missing name)")
        order = order_fields(body)
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
                notice_url=optional_text(body, "notice_url"),
            )
        self._notify(payment)
        return payment

    def pay_onetime(self, request: Request) -> dict:
        body = request.body()
        order = order_fields(body)
        customer_uid = optional_text(body, "customer_uid")
        if customer_uid:
            check_customer_uid(customer_uid)
        card = self._checked_card(body)
        with self.store.write_lock:
            self._refuse_used_merchant_uid(order["merchant_uid"])
            shown = {
                "card_name": card.card_name,
                "card_code": card.card_code,
                "card_number": card.masked_number,
                "card_type": 0,
                "pg_provider": pg_provider_of(body),
                "pg_id": pg_id_of(body),
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
                notice_url=optional_text(body, "notice_url"),
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
            raise bad_request("payment_status는 ready, paid, failed, cancelled 중 하나여야 합니다.")
        payment = self.store.latest_payment_for(merchant_uid, payment_status)
        if payment is None:
            raise Refusal(HTTPStatus.NOT_FOUND, 1, "존재하지 않는 결제정보입니다. (unknown merchant_uid)")
        return payment

    def cancel_payment(self, request: Request) -> dict:
        body = request.body()
        imp_uid, merchant_uid = optional_text(body, "imp_uid"), optional_text(body, "merchant_uid")
        if not imp_uid and not merchant_uid:
            raise bad_request(
                "imp_uid 또는 merchant_uid 중 하나는 필요합니다. (missing imp_uid/merchant_uid)"
            )
        amount = amount_value(body, "amount")
        checksum = amount_value(body, "checksum")
        reason = optional_text(body, "reason") or ""
        if amount is not None and amount < 0:
            raise Refusal(HTTPStatus.OK, 1, "취소 금액은 0 이상이어야 합니다. (negative amount)")
        with self.store.write_lock:
            payment = (
                self.store.get_payment(imp_uid)
                if imp_uid
                else self.store.latest_payment_for(cast(str, merchant_uid))  # one of the two is set
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
            cancellation: dict[str, Any] = {
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
        "card_quota": card_quota_of(body),
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
        "currency": optional_text(body, "currency") or "KRW",
        "buyer_name": optional_text(body, "buyer_name"),
        "buyer_email": optional_text(body, "buyer_email"),
        "buyer_tel": optional_text(body, "buyer_tel"),
        "buyer_addr": optional_text(body, "buyer_addr"),
        "buyer_postcode": optional_text(body, "buyer_postcode"),
        "custom_data": custom_data_of(body),
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
