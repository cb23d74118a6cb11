"""The control endpoints under ``/__sandbox__/``: faults, reset, clock, run-due, stats.

A path the real API never uses; these are never subject to injected faults.
"""

import math
from collections.abc import Callable
from dataclasses import asdict
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from .http import Refusal, Request

if TYPE_CHECKING:
    from .faults import Faults  # imports .tokens: at run time, a cycle


class ControlHandlers:
    """Mixed into ``SandboxApp``, whose ``faults``, clock, ``reset`` and ``stats`` these expose."""

    faults: "Faults"
    _clock_offset: float
    now: Callable[[], int]
    reset: Callable[[], None]
    run_due_schedules: Callable[[], int]
    stats: Callable[[], dict[str, Any]]

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
