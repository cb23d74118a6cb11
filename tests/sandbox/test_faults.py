"""Fault injection over HTTP: latency, a share of 5xx, hanging before or after the change, short tokens."""

from http import HTTPStatus

import pytest
import requests

from . import spec_types
from .conftest import CARD, KEY, SECRET


def test_faults_are_read_and_set_at_the_control_endpoint(served):
    before = spec_types.envelope(served.http.get(served.base_url + "/__sandbox__/faults", timeout=5), 200)

    after = served.control(
        "faults", {"latency_ms": 5, "error_rate": "0.5", "hang": "after", "hang_seconds": 1}
    )

    assert before["response"] == {
        "latency_ms": 0,
        "error_rate": 0.0,
        "hang": None,
        "hang_seconds": 30.0,
        "token_ttl": 1800,
    }
    assert after == {
        "latency_ms": 5,
        "error_rate": 0.5,
        "hang": "after",
        "hang_seconds": 1.0,
        "token_ttl": 1800,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"nonsense": 1},
        {"latency_ms": "slow"},
        {"latency_ms": -1},
        {"error_rate": 2},
        {"hang": "sometimes"},
        {"hang_seconds": "Infinity"},
        {"token_ttl": [1]},
        {"latency_ms": 5, "error_rate": 7},
    ],
)
def test_bad_fault_settings_are_refused_and_change_nothing(served, body):
    response = served.http.post(served.base_url + "/__sandbox__/faults", json=body, timeout=5)

    spec_types.refusal(response, HTTPStatus.BAD_REQUEST, 1)
    assert served.control("faults")["latency_ms"] == 0


def test_latency_delays_every_api_answer(served):
    served.register("cu_slow")
    served.control("faults", {"latency_ms": 500})

    with pytest.raises(requests.ReadTimeout):
        served.get("/subscribe/customers/cu_slow", timeout=(2, 0.1))
    served.control("faults", {"latency_ms": 0})

    spec_types.answer(served.get("/subscribe/customers/cu_slow", timeout=(2, 0.1)), 200, spec_types.CUSTOMER)


def test_an_error_rate_of_one_answers_503_to_every_api_call_but_not_to_controls(served):
    served.register("cu_err")
    served.control("faults", {"error_rate": 1})

    spec_types.refusal(served.get("/subscribe/customers/cu_err"), HTTPStatus.SERVICE_UNAVAILABLE, -1)
    spec_types.refusal(
        served.http.post(
            served.base_url + "/users/getToken", json={"imp_key": KEY, "imp_secret": SECRET}, timeout=5
        ),
        HTTPStatus.SERVICE_UNAVAILABLE,
        -1,
    )
    assert served.control("faults")["error_rate"] == 1.0

    served.control("faults", {"error_rate": 0})
    spec_types.answer(served.get("/subscribe/customers/cu_err"), HTTPStatus.OK, spec_types.CUSTOMER)


@pytest.mark.parametrize(("hang", "applied"), [("after", True), ("before", False)])
def test_a_hang_after_applies_the_change_and_a_hang_before_does_not(served, hang, applied):
    served.token()
    served.control("faults", {"hang": hang, "hang_seconds": 0.5})

    with pytest.raises(requests.ReadTimeout):
        served.post("/subscribe/customers/cu_hang", json=CARD, timeout=(2, 0.2))
    served.control("faults", {"hang": None})

    read = served.get("/subscribe/customers/cu_hang")
    if applied:
        spec_types.answer(read, HTTPStatus.OK, spec_types.CUSTOMER)
    else:
        spec_types.refusal(read, HTTPStatus.NOT_FOUND, 1)


def test_a_hang_does_not_hold_get_token(served):
    served.control("faults", {"hang": "before", "hang_seconds": 5})

    response = served.http.post(
        served.base_url + "/users/getToken", json={"imp_key": KEY, "imp_secret": SECRET}, timeout=(2, 2)
    )

    spec_types.answer(response, HTTPStatus.OK, spec_types.AUTH)
    served.control("faults", {"hang": None})


def test_a_short_token_lifetime(served):
    served.control("faults", {"token_ttl": 120})

    auth = served.http.post(
        served.base_url + "/users/getToken", json={"imp_key": KEY, "imp_secret": SECRET}, timeout=5
    )
    auth = spec_types.answer(auth, HTTPStatus.OK, spec_types.AUTH)
    served.register("cu_ttl")

    assert auth["expired_at"] - auth["now"] == 120
    served.control("clock", {"advance": 121})
    spec_types.refusal(
        served.get("/subscribe/customers/cu_ttl", token=auth["access_token"]), HTTPStatus.UNAUTHORIZED, -1
    )


def test_reset_clears_state_and_faults(served):
    served.register("cu_reset")
    served.control("faults", {"latency_ms": 1})

    assert served.control("reset") == {"reset": True}

    assert served.control("faults")["latency_ms"] == 0
    spec_types.refusal(
        served.get("/subscribe/customers/cu_reset", token=served.token()), HTTPStatus.NOT_FOUND, 1
    )
