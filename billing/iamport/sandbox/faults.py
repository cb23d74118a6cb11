"""Injected trouble for resilience tests: latency, random 503s, hangs and a short token lifetime.

``Faults`` holds the switches (set through ``/__sandbox__/faults``, validated all or nothing);
``with_faults`` applies them around one API call. Control endpoints are never subject to them.
"""

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from .http import Refusal
from .tokens import TOKEN_LIFETIME


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


def with_faults(faults: Faults, route: str, call: Callable[[], Any]) -> Any:
    """Run one API call (authentication included) under the injected faults; its answer."""
    if faults.latency_ms:
        time.sleep(faults.latency_ms / 1000)
    if faults.error_rate and random.random() < faults.error_rate:  # noqa: S311 - not security
        raise Refusal(HTTPStatus.SERVICE_UNAVAILABLE, -1, "일시적인 오류입니다. (injected fault)")
    # A hang holds every API call but getToken: a client that times out cannot read its way out either.
    hangs = faults.hang and not route.endswith("/users/getToken")
    if hangs and faults.hang == "before":
        time.sleep(faults.hang_seconds)
        raise Refusal(HTTPStatus.GATEWAY_TIMEOUT, -1, "처리 시간이 초과되었습니다. (injected hang)")
    response = call()
    if hangs:
        time.sleep(faults.hang_seconds)
    return response
