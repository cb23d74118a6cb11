"""Scheduled payments: schedule, unschedule, read one, and run those whose time has come.

A schedule holds its merchant_uid from the moment it is made; running it is a payment like any
other (``_new_payment``), made by ``run_due_schedules`` (the server calls it once a second, tests
through ``/__sandbox__/run-due``).
"""

import json
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from .http import Refusal, Request, bad_request
from .store import Store
from .validators import check_customer_uid, optional_text, required_text, scheduled_order_fields


class ScheduleHandlers:
    """Mixed into ``SandboxApp``.

    Charges through ``PaymentHandlers`` (``_new_payment``, ``_notify``) and issues a key for a new
    customer_uid through ``BillingKeyHandlers`` (``_checked_card``, ``_issue``).
    """

    store: Store
    now: Callable[[], int]
    _checked_card: Callable[[dict], Any]
    _issue: Callable[..., dict]
    _refuse_used_merchant_uid: Callable[[str], None]
    _new_payment: Callable[..., dict]
    _notify: Callable[..., None]

    def schedule(self, request: Request) -> list[dict]:
        body = request.body()
        customer_uid = required_text(body, "customer_uid")
        check_customer_uid(customer_uid)
        schedules = body.get("schedules")
        if isinstance(schedules, str):  # a form field holding the list as JSON, as some clients send it
            try:
                schedules = json.loads(schedules)
            except ValueError:
                raise bad_request("schedules 파라미터의 형식이 올바르지 않습니다.") from None
        if isinstance(schedules, dict):
            schedules = [schedules]
        if not isinstance(schedules, list) or not schedules:
            raise bad_request("schedules 파라미터가 누락되었습니다. (missing schedules)")
        now = self.now()
        orders = [scheduled_order_fields(item, index, now) for index, item in enumerate(schedules)]
        merchant_uids = [order["merchant_uid"] for order in orders]
        if len(set(merchant_uids)) < len(merchant_uids):
            raise Refusal(
                HTTPStatus.OK, 1, "schedules 안에 중복된 merchant_uid가 있습니다. (duplicate merchant_uid)"
            )
        with self.store.write_lock:
            found = self.store.get_customer(customer_uid)
            if found is None and optional_text(body, "card_number") is None:
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
                    "customer_id": optional_text(body, "customer_id") or customer.get("customer_id"),
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
        customer_uid = required_text(body, "customer_uid")
        wanted = body.get("merchant_uid")
        if wanted in (None, "", []):
            wanted = None
        elif isinstance(wanted, str | int) and not isinstance(wanted, bool):
            wanted = [str(wanted)]
        elif isinstance(wanted, list) and all(isinstance(uid, str) for uid in wanted):
            wanted = list(dict.fromkeys(wanted))
        else:
            raise bad_request("merchant_uid 파라미터의 형식이 올바르지 않습니다.")
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
