"""Run functions in threads released together by a barrier; collect what each returned or raised."""

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection


class Together:
    """``Together(f, g).start()``: each in its own thread, all released at once; ``join()``: results."""

    def __init__(self, *functions: Callable[[], Any]):
        self.functions = functions
        self.results: list[Any] = [None] * len(functions)
        self.barrier = threading.Barrier(len(functions))
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(len(functions))]

    def _run(self, i: int) -> None:
        try:
            self.barrier.wait(30)
            self.results[i] = self.functions[i]()
        except BaseException as exc:  # handed to the test
            self.results[i] = exc
        finally:
            connection.close()  # each thread's own database connection

    def start(self) -> "Together":
        for thread in self.threads:
            thread.start()
        return self

    def finished(self) -> int:
        return sum(not thread.is_alive() for thread in self.threads)

    def wait_until_finished(self, count: int, timeout: float) -> bool:
        """True once ``count`` threads have finished; False when ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        while self.finished() < count and time.monotonic() < deadline:
            for thread in self.threads:
                thread.join(0.02)
        return self.finished() >= count

    def join(self, timeout: float = 60) -> list[Any]:
        for thread in self.threads:
            thread.join(timeout)
        assert not any(thread.is_alive() for thread in self.threads), "a thread is still running"
        return self.results
