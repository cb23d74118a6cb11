"""The rate throttles hold under concurrency: N requests released together, exactly ``limit`` pass.

Runs on the suite's cache: local memory in the SQLite pass, Redis in the PostgreSQL + Redis pass.
"""

import sys
import threading
from types import SimpleNamespace

import pytest

from billing.throttling import (
    RegistrationAddressThrottle,
    RegistrationUserThrottle,
    SignInAccountThrottle,
    SignInAddressThrottle,
    SignUpAddressThrottle,
    TokenAddressThrottle,
    count_in_window,
)

pytestmark = pytest.mark.django_db

THREADS = 30


@pytest.fixture
def fast_switching():
    """Switch threads as often as the interpreter can, so a read-then-write counter would interleave."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def fake_request(user_pk=1, address="198.51.100.9"):
    return SimpleNamespace(
        user=SimpleNamespace(pk=user_pk, is_authenticated=True),
        META={"REMOTE_ADDR": address},
        POST={"username": "gildong"},
    )


def allowed_at_once(make_throttle, request, threads=THREADS) -> int:
    barrier = threading.Barrier(threads)
    results = []
    lock = threading.Lock()

    def attempt():
        throttle = make_throttle()
        barrier.wait()
        allowed = throttle.allow_request(request, None)
        with lock:
            results.append(allowed)

    workers = [threading.Thread(target=attempt) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert len(results) == threads
    return results.count(True)


@pytest.mark.parametrize(
    ("throttle_class", "scope", "limit"),
    [
        (RegistrationUserThrottle, "registration_user", 10),
        (RegistrationAddressThrottle, "registration_address", 7),
        (TokenAddressThrottle, "token_address", 5),
        (SignInAddressThrottle, "login_address", 8),
        (SignInAccountThrottle, "login_account", 3),
        (SignUpAddressThrottle, "signup_address", 4),
    ],
)
def test_exactly_the_limit_passes_when_requests_arrive_together(
    throttle_rates, fast_switching, throttle_class, scope, limit
):
    throttle_rates(**{scope: f"{limit}/hour"})

    assert allowed_at_once(throttle_class, fake_request()) == limit
    assert not throttle_class().allow_request(fake_request(), None)


def test_refused_hits_do_not_hold_anyone_back_past_the_window():
    start = 60 * 16_667 + 20.0  # 20 s into a 60 s window

    counts = [count_in_window("throttle_probe", 60, now=start + i) for i in range(5)]
    next_window = count_in_window("throttle_probe", 60, now=start + 40)

    assert [count for count, _ in counts] == [1, 2, 3, 4, 5]
    assert counts[0][1] == pytest.approx(40)
    assert next_window == (1, pytest.approx(60))


def test_a_refused_request_waits_at_most_the_window(throttle_rates):
    throttle_rates(registration_user="1/minute")
    RegistrationUserThrottle().allow_request(fake_request(), None)
    throttle = RegistrationUserThrottle()

    assert not throttle.allow_request(fake_request(), None)
    assert 0 < throttle.wait() <= 60
