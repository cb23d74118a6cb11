"""The DEBUG error page (and every exception report) never shows card data."""

import json
import sys

import pytest
from django.test import RequestFactory
from django.views.debug import technical_500_response

from billing import cards

CARD = {"card_number": "5555-4444-3333-1111", "expiry": "2031-07", "birth": "880514", "pwd_2digit": "73"}
# Kept up here: the page shows the source lines around each frame, this test's own included.
NORMALIZED = ("2031-07", "880514")
VALUES = ("5555-4444-3333-1111", "5555444433331111", "2031-07", "880514", "'73'")


class Unexpected(Exception):
    pass


def _fail_while_holding_card_data(card_input: dict) -> None:
    value = card_input["birth"]  # ordinary names, as in any view or library frame
    digits = card_input["card_number"].replace("-", "")
    cleaned = dict(card_input)
    pin = card_input["pwd_2digit"]
    details = cards.validate_card_input(card_input)
    raise Unexpected(f"{len(value)} {len(digits)} {len(cleaned)} {len(pin)} {type(details).__name__}")


def _report(request) -> str:
    try:
        _fail_while_holding_card_data(CARD)
    except Unexpected:
        return technical_500_response(request, *sys.exc_info()).content.decode()
    raise AssertionError("unreachable")


@pytest.mark.parametrize("as_json", [False, True])
def test_the_technical_500_page_shows_no_card_value(settings, as_json):
    settings.DEBUG = True
    factory = RequestFactory()
    if as_json:
        request = factory.post("/api/v1/billing-keys/", json.dumps(CARD), content_type="application/json")
    else:
        request = factory.post("/billing/cards/new/", CARD)

    page = _report(request)

    assert "_fail_while_holding_card_data" in page  # the frame is there, its values are not
    assert "Unexpected" in page
    for value in VALUES:
        assert value not in page, value


def test_the_card_module_frames_are_hidden_even_when_the_request_carried_no_card(settings):
    settings.DEBUG = True
    request = RequestFactory().get("/somewhere/")  # nothing to match by content: the module rule must act
    try:
        cards.validate_card_input({**CARD, "pwd_2digit": "x"})  # raises with the other three normalized
    except Exception:
        page = technical_500_response(request, *sys.exc_info()).content.decode()

    assert "validate_card_input" in page
    for value in NORMALIZED:
        assert value not in page, value
