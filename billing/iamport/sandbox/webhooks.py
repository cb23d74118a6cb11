"""Notifications as i'mport sends them: POST {imp_uid, merchant_uid, status}, off the request path."""

import logging
import queue
import threading
import time
from collections.abc import Sequence

import requests

logger = logging.getLogger(__name__)

ATTEMPTS = 3
BACKOFF_SECONDS = (0.2, 1.0)
TIMEOUT = (2, 5)


class WebhookSender:
    """One background thread delivering in order, with a bounded retry; never blocks an API answer.

    A delivery is attempted ``attempts`` times; between attempts it waits ``backoff[i]`` seconds
    (the last value repeats). An answer below 300 counts as delivered.
    """

    def __init__(
        self,
        *,
        attempts: int = ATTEMPTS,
        backoff: Sequence[float] = BACKOFF_SECONDS,
        timeout: tuple[float, float] = TIMEOUT,
    ):
        self.attempts = max(1, attempts)
        self.backoff = tuple(backoff) or (0.0,)
        self.timeout = timeout
        self._queue: queue.Queue[tuple[str, dict]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.delivered = 0
        self.failed = 0
        self.attempted = 0

    def send(self, url: str, body: dict) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
                self._thread.start()
        self._queue.put((url, body))

    def pending(self) -> int:
        return self._queue.unfinished_tasks

    def counts(self) -> dict[str, int]:
        return {
            "attempted": self.attempted,
            "delivered": self.delivered,
            "failed": self.failed,
            "pending": self.pending(),
        }

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """For tests and shutdown: True once everything queued was attempted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.01)
        return False

    def _run(self) -> None:
        session = requests.Session()
        while True:
            url, body = self._queue.get()
            try:
                self._deliver(session, url, body)
            except Exception:  # a webhook bug must not kill the sender thread
                logger.exception("webhook to %s could not be sent", url)
                self.failed += 1
            finally:
                self._queue.task_done()

    def _deliver(self, session: requests.Session, url: str, body: dict) -> None:
        for attempt in range(self.attempts):
            self.attempted += 1
            try:
                response = session.post(url, json=body, timeout=self.timeout)
                if response.status_code < 300:
                    self.delivered += 1
                    return
                logger.info("webhook to %s answered %s", url, response.status_code)
            except requests.RequestException as exc:
                logger.info("webhook to %s failed: %s", url, type(exc).__name__)
            if attempt + 1 < self.attempts:
                time.sleep(self.backoff[min(attempt, len(self.backoff) - 1)])
        self.failed += 1
        logger.warning(
            "webhook to %s for %s given up after %d attempts", url, body.get("merchant_uid"), self.attempts
        )
