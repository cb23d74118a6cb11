"""``manage.py iamport_sandbox`` in a process of its own, for tests that talk to i'mport over HTTP."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from billing.iamport import reset_client

PROJECT_ROOT = Path(__file__).resolve().parents[2]
KEY, SECRET = "sandbox_key", "sandbox_secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def served_sandbox(state: Path, *options: str, log: Path | None = None) -> Iterator[str]:
    """Start the sandbox command on a free port; yield its URL once it answers; stop it afterwards.

    ``log``: a file that receives everything the command writes (its log lines included); without it,
    its error output is read only when it fails to start.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{state.parent / 'unused.sqlite3'}"}
    command = [sys.executable, "manage.py", "iamport_sandbox", "--host", "127.0.0.1", "--port", str(port)]
    with open(log or os.devnull, "wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own manage.py with fixed arguments
            [*command, "--state", str(state), *options],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=output,
            stderr=output if log else subprocess.PIPE,
            start_new_session=True,
        )
        try:
            wait_until_answering(url, process, log=log)
            yield url
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=10)


def wait_until_answering(
    url: str, process: subprocess.Popen, limit: float = 30.0, log: Path | None = None
) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            said = log.read_bytes() if log else process.stderr.read()
            raise AssertionError(f"the sandbox exited: {said.decode()[-2000:]}")
        try:
            requests.post(url + "/users/getToken", json={}, timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)  # polling a port that is not open yet; bounded by the deadline
    raise AssertionError("the sandbox did not start answering in time")


def point_the_site_at(settings, url: str) -> None:
    """The site's i'mport client, rebuilt to talk to ``url`` with the sandbox's credentials."""
    settings.BILLING = {
        **settings.BILLING,
        "SANDBOX": False,
        "API_URL": url,
        "API_KEY": KEY,
        "API_SECRET": SECRET,
    }
    reset_client()
