"""i'mport's payment endpoints (the ``ledger`` fixture), faked at the transport behind ``responses``.

Answers are shaped like the V1 spec's ``PaymentAnnotation``. ``fault(endpoint, ...)`` makes the next
call to one endpoint fail: an exception (``requests.ReadTimeout``), optionally *after* the ledger
was changed (the request reached i'mport, its answer was lost), or a given HTTP answer.
"""

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import requests
import responses

from tests.support.cards import DECLINING_CARD
from tests.support.iamport import IamportMock, envelope

BASE = IamportMock.base_url
DECLINING_CUSTOMERS_PREFIX = "cu_decline"
DECLINE_REASON = "잔액부족 (insufficient funds)"


@dataclass
class Fault:
    exc: Exception | None = None
    after: bool = False
    status: int = HTTPStatus.OK
    body: Any = None
    times: int = 1  # how many calls in a row fail so (a read is repeated once by the client)
    then: Callable[[], None] | None = None  # run when the fault strikes (e.g. a webhook lands meanwhile)


class Gate:
    """Holds the calls to one endpoint until ``release()``: i'mport busy while the test arranges a race."""

    def __init__(self) -> None:
        self.arrived = 0
        self.condition = threading.Condition()
        self.released = threading.Event()

    def pass_through(self) -> None:
        with self.condition:
            self.arrived += 1
            self.condition.notify_all()
        assert self.released.wait(60), "the test never released i'mport"

    def wait_for(self, count: int, timeout: float = 30) -> bool:
        """Block until ``count`` calls are held (True), or ``timeout`` passed (False)."""
        with self.condition:
            return self.condition.wait_for(lambda: self.arrived >= count, timeout)

    def release(self) -> None:
        self.released.set()


@dataclass
class PaymentsAtIamport:
    mock: IamportMock
    payments: dict[str, dict] = field(default_factory=dict)  # merchant_uid -> annotation
    customers: set[str] = field(default_factory=set)
    declined_customers: set[str] = field(default_factory=set)
    faults: dict[str, Fault] = field(default_factory=dict)
    counter: int = 0
    card_number: str = "424242******4242"  # as i'mport masks it; a test may make it answer unmasked
    card_type: Any = 0  # 0 credit, 1 check; a test may make it answer something else
    gates: dict[str, Gate] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)  # i'mport handles one call at a time
    local: threading.local = field(default_factory=threading.local)

    def install(self) -> "PaymentsAtIamport":
        m = self.mock.mock
        routes = [
            ("POST", BASE + "/subscribe/payments/again", "again", self._again),
            ("POST", BASE + "/subscribe/payments/onetime", "onetime", self._onetime),
            ("POST", BASE + "/payments/cancel", "cancel", self._cancel),
            ("GET", re.compile(BASE + r"/payments/find/[\w-]+$"), "find", self._find),
            ("GET", re.compile(BASE + r"/payments/imp_\w+$"), "get", self._get),
        ]
        for method, url, endpoint, handler in routes:
            m.add(responses.CallbackResponse(method, url, callback=self._gated(endpoint, handler)))
        return self

    def hold(self, endpoint: str) -> Gate:
        """Hold every call to ``endpoint`` (again, onetime, cancel, find, get) until the gate is released."""
        self.gates[endpoint] = Gate()
        return self.gates[endpoint]

    def _gated(self, endpoint: str, handler):
        def answer(request):
            gate = self.gates.get(endpoint)
            if gate is not None:
                gate.pass_through()
            with self.lock:
                result = handler(request)
            then, self.local.then = getattr(self.local, "then", None), None
            if then is not None:  # outside the lock: it may call i'mport itself
                then()
            return result

        return answer

    # --- test controls ------------------------------------------------------------------------
    def fault(self, endpoint: str, **kwargs: Any) -> None:
        """``endpoint``: again, onetime, cancel, find, get. Applies to the next ``times`` calls (one)."""
        self.faults[endpoint] = Fault(**kwargs)

    def _take_fault(self, endpoint: str) -> Fault | None:
        fault = self.faults.get(endpoint)
        if fault is None:
            return None
        fault.times -= 1
        if fault.times <= 0:
            del self.faults[endpoint]
        return fault

    def calls(self, method: str, fragment: str) -> int:
        return len(self.mock.calls_to(method, fragment))

    def add_paid(self, merchant_uid: str, amount: int, customer_uid: str = "cu_1") -> dict:
        return self._record(merchant_uid, amount, "order", customer_uid, "payment")

    # --- endpoints ----------------------------------------------------------------------------
    def _again(self, request):
        body = json.loads(request.body)
        return self._charge("again", body, usage="payment")

    def _onetime(self, request):
        body = json.loads(request.body)
        assert "card_number" in body
        if body.get("customer_uid"):
            self.customers.add(body["customer_uid"])
            if body["card_number"] == DECLINING_CARD:
                self.declined_customers.add(body["customer_uid"])
        return self._charge("onetime", body, usage="issue")

    def _charge(self, endpoint: str, body: dict, *, usage: str):
        fault = self._take_fault(endpoint)
        if fault and not fault.after:
            return self._fault_answer(fault)
        if body["merchant_uid"] in self.payments:
            return self._answer(envelope(code=-1, message="이미 사용된 merchant_uid 입니다."))
        if endpoint == "again" and body["customer_uid"] not in self.customers:
            return self._answer(envelope(code=1, message="등록되지 않은 구매자입니다."), HTTPStatus.NOT_FOUND)
        annotation = self._record(
            body["merchant_uid"], body["amount"], body["name"], body.get("customer_uid", ""), usage
        )
        if fault:
            return self._fault_answer(fault)
        return self._answer(envelope(annotation))

    def _cancel(self, request):
        body = json.loads(request.body)
        fault = self._take_fault("cancel")
        if fault and not fault.after:
            return self._fault_answer(fault)
        payment = self.payments.get(body["merchant_uid"])
        if payment is None:
            return self._answer(envelope(code=1, message="취소할 결제건이 존재하지 않습니다."))
        left = payment["amount"] - payment["cancel_amount"]
        if payment["status"] != "paid" or left <= 0:
            return self._answer(envelope(code=1, message="이미 전액취소된 주문입니다."))
        if "checksum" in body and body["checksum"] != left:
            return self._answer(envelope(code=1, message="checksum이 일치하지 않습니다."))
        amount = body.get("amount") or left
        if amount > left:
            return self._answer(envelope(code=1, message="취소 가능 금액을 초과합니다."))
        self.counter += 1
        now = int(time.time())
        payment["cancel_amount"] += amount
        payment["cancel_reason"] = body.get("reason") or ""
        payment["cancelled_at"] = now
        payment["cancel_history"].append(
            {
                "pg_tid": f"tid_c{self.counter}",
                "amount": amount,
                "cancelled_at": now,
                "reason": body.get("reason") or "",
                "cancellation_id": f"cancel_{self.counter}",
                "receipt_url": f"https://receipt.example/c{self.counter}",
            }
        )
        if payment["cancel_amount"] == payment["amount"]:
            payment["status"] = "cancelled"
        if fault:
            return self._fault_answer(fault)
        return self._answer(envelope(payment))

    def _find(self, request):
        fault = self._take_fault("find")
        if fault:
            return self._fault_answer(fault)
        payment = self.payments.get(request.path_url.rsplit("/", 1)[-1])
        if payment is None:
            return self._answer(
                envelope(code=1, message="존재하지 않는 결제정보입니다."), HTTPStatus.NOT_FOUND
            )
        return self._answer(envelope(payment))

    def _get(self, request):
        fault = self._take_fault("get")
        if fault:
            return self._fault_answer(fault)
        imp_uid = request.path_url.rsplit("/", 1)[-1]
        payment = next((p for p in self.payments.values() if p["imp_uid"] == imp_uid), None)
        if payment is None:
            return self._answer(
                envelope(code=1, message="존재하지 않는 결제정보입니다."), HTTPStatus.NOT_FOUND
            )
        return self._answer(envelope(payment))

    # --- helpers ------------------------------------------------------------------------------
    def _record(self, merchant_uid: str, amount: int, name: str, customer_uid: str, usage: str) -> dict:
        self.counter += 1
        now = int(time.time())
        declined = (
            customer_uid.startswith(DECLINING_CUSTOMERS_PREFIX) or customer_uid in self.declined_customers
        )
        annotation = {
            "imp_uid": f"imp_{self.counter:012d}",
            "merchant_uid": merchant_uid,
            "amount": amount,
            "cancel_amount": 0,
            "currency": "KRW",
            "pay_method": "card",
            "status": "failed" if declined else "paid",
            "name": name,
            "customer_uid": customer_uid,
            "customer_uid_usage": usage,
            "card_name": "국민KB카드",
            "card_code": "381",
            "card_number": self.card_number,
            "card_type": self.card_type,
            "pg_provider": "nice",
            "pg_tid": f"tid_{self.counter}",
            "paid_at": 0 if declined else now,
            "failed_at": now if declined else 0,
            "cancelled_at": 0,
            "fail_reason": DECLINE_REASON if declined else None,
            "cancel_reason": None,
            "receipt_url": "" if declined else f"https://receipt.example/{self.counter}",
            "cancel_history": [],
        }
        self.payments[merchant_uid] = annotation
        return annotation

    @staticmethod
    def _answer(body: Any, status: int = HTTPStatus.OK):
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    def _fault_answer(self, fault: Fault):
        self.local.then = fault.then
        if fault.exc is not None:
            return fault.exc
        return self._answer(fault.body, fault.status)


READ_TIMEOUT = requests.ReadTimeout("read timed out")
