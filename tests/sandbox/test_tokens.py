"""getToken and the token rules: the same token while valid, extended in its last minute, 401 after."""

from http import HTTPStatus

import pytest

from . import spec_types
from .conftest import KEY, SECRET, TIMEOUT


def get_token(api, **kwargs) -> dict:
    response = api.http.post(api.base_url + "/users/getToken", timeout=TIMEOUT, **kwargs)
    return spec_types.answer(response, HTTPStatus.OK, spec_types.AUTH)


@pytest.mark.parametrize("body", ["json", "data"])
def test_a_token_lives_thirty_minutes_and_is_the_same_while_valid(api, body):
    first = get_token(api, **{body: {"imp_key": KEY, "imp_secret": SECRET}})
    second = get_token(api, **{body: {"imp_key": KEY, "imp_secret": SECRET}})

    assert first["expired_at"] - first["now"] == 30 * 60
    assert second["access_token"] == first["access_token"]
    assert second["expired_at"] == first["expired_at"]


def test_asked_in_its_last_minute_a_token_is_extended_by_five_minutes(api):
    first = get_token(api, json={"imp_key": KEY, "imp_secret": SECRET})
    api.control("clock", {"advance": 30 * 60 - 30})

    extended = get_token(api, json={"imp_key": KEY, "imp_secret": SECRET})

    assert extended["access_token"] == first["access_token"]
    assert extended["expired_at"] == first["expired_at"] + 5 * 60


def test_an_expired_token_is_refused_with_401_and_a_new_one_is_issued(api):
    api.register("cu_token")
    old = get_token(api, json={"imp_key": KEY, "imp_secret": SECRET})["access_token"]
    api.control("clock", {"advance": 30 * 60 + 1})

    spec_types.refusal(api.get("/subscribe/customers/cu_token", token=old), HTTPStatus.UNAUTHORIZED, -1)
    new = get_token(api, json={"imp_key": KEY, "imp_secret": SECRET})["access_token"]

    assert new != old
    spec_types.answer(api.get("/subscribe/customers/cu_token", token=new), HTTPStatus.OK, spec_types.CUSTOMER)


@pytest.mark.parametrize(
    "header",
    [
        lambda token: {"Authorization": f"Bearer {token}"},
        lambda token: {"Authorization": f"bearer {token}"},
        lambda token: {"Authorization": token},
        lambda token: {"X-ImpTokenHeader": token},
    ],
    ids=["bearer", "lowercase-bearer", "bare", "x-imptokenheader"],
)
def test_the_token_is_accepted_as_bearer_bare_or_in_the_old_header(api, header):
    api.register("cu_header")
    token = api.token()

    response = api.http.get(api.base_url + "/subscribe/customers/cu_header", headers=header(token), timeout=5)

    spec_types.answer(response, HTTPStatus.OK, spec_types.CUSTOMER)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer "}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "x"}],
)
def test_a_missing_or_unknown_token_is_401(api, headers):
    response = api.http.get(api.base_url + "/payments/imps_1", headers=headers, timeout=5)

    spec_types.refusal(response, HTTPStatus.UNAUTHORIZED, -1)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"json": {"imp_key": KEY, "imp_secret": "wrong"}},
        {"json": {"imp_key": "wrong", "imp_secret": SECRET}},
        {"json": {"imp_key": KEY}},
        {"json": {}},
        {"json": {"imp_key": [KEY], "imp_secret": {"a": 1}}},
        {"data": {"imp_key": KEY, "imp_secret": "wrong"}},
        {},
    ],
    ids=["bad-secret", "bad-key", "no-secret", "empty", "wrong-types", "form-bad-secret", "no-body"],
)
def test_bad_credentials_are_401(api, kwargs):
    response = api.http.post(api.base_url + "/users/getToken", timeout=5, **kwargs)

    spec_types.refusal(response, HTTPStatus.UNAUTHORIZED, -1)
