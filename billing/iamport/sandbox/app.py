"""The sandbox's WSGI app: i'mport V1's routes wired to the handlers of each resource, offline.

Every answer, errors included, is ``{"code", "message", "response"}``. Refusals the real API
answers with HTTP 200 (a declined card, an unknown customer_uid on a charge) are HTTP 200 here
too; 401 and 404 where the real API uses them; 400 for a missing or wrong-typed parameter.
An unexpected error still answers the envelope (HTTP 500) and never shows a traceback.
Control endpoints live under ``/__sandbox__/``, a path the real API never uses, and are never
subject to injected faults.

This module owns the app's state (store, clock, faults, call counts) and the routing; the handlers
live with their resource: ``tokens``, ``billing_keys``, ``payments``, ``schedules``, ``control``.
"""

import datetime
import json
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any

from .billing_keys import BillingKeyHandlers
from .control import ControlHandlers
from .faults import Faults, with_faults
from .http import PartialAnswer, Refusal, Request, envelope
from .payments import PaymentHandlers
from .schedules import ScheduleHandlers
from .store import Store
from .tokens import TokenHandlers
from .webhooks import ATTEMPTS, BACKOFF_SECONDS, WebhookSender

logger = logging.getLogger(__name__)


class SandboxApp(TokenHandlers, BillingKeyHandlers, PaymentHandlers, ScheduleHandlers, ControlHandlers):
    """i'mport V1 as a WSGI app: the state and the routing here, each resource's handlers mixed in."""

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
            payload = envelope(None, code=-1, message="서버 내부 오류가 발생했습니다. (internal error)")
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8", "replace")
        start_response(
            f"{int(status)} {HTTPStatus(status).phrase}",
            [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def _answer(self, environ: dict[str, Any]) -> tuple[int, dict]:
        try:
            return self._dispatch(Request(environ))
        except PartialAnswer as partial:
            return partial.status, envelope(partial.found)
        except Refusal as refusal:
            return refusal.status, envelope(None, code=refusal.code, message=refusal.message)

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
            return HTTPStatus.OK, envelope(handler(request, **arguments))
        return self._with_faults(request, name, lambda: handler(request, **arguments))

    def _with_faults(self, request: Request, name: str, handle: Callable[[], Any]) -> tuple[int, dict]:
        def call() -> Any:
            if not name.endswith("/users/getToken"):
                self._authenticate(request)
            return handle()

        return HTTPStatus.OK, envelope(with_faults(self.faults, name, call))

    # --- clock ------------------------------------------------------------------------------------
    def now(self) -> int:
        return int(self._clock() + self._clock_offset)

    def today(self) -> datetime.date:
        return datetime.datetime.fromtimestamp(
            self.now(), tz=datetime.timezone(datetime.timedelta(hours=9))
        ).date()

    # --- state ------------------------------------------------------------------------------------
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


_UID = r"[^/]+"


def _routes(app: SandboxApp) -> list[tuple[str, re.Pattern, str, Callable]]:
    """(method, path pattern, route name, handler); the name is "METHOD /path/{template}"."""
    table: list[tuple[str, str, Callable[..., Any]]] = [
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
