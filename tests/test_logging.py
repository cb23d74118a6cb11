"""The logging filter that scrubs card-shaped numbers from every record the site's handlers write."""

import io
import logging

import pytest

from billing.logging_filters import RedactCardData
from tests.support.traces import production_handlers


@pytest.fixture
def log_output():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactCardData())
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


@pytest.mark.parametrize("number", ["4242-4242-4242-4242", "4242424242424242", "4242 4242 4242 4242"])
def test_a_card_number_in_a_message_is_removed(log_output, number):
    logger, stream = log_output

    logger.warning("upstream said %s", {"card_number": number, "customer_uid": "cu_1"})

    assert number not in stream.getvalue()
    assert "[card number removed]" in stream.getvalue()
    assert "cu_1" in stream.getvalue()


def test_a_card_number_in_an_exception_is_removed(log_output):
    logger, stream = log_output

    try:
        raise ValueError("bad body: card_number=4000-0000-0000-0002")
    except ValueError:
        logger.exception("request failed")

    assert "ValueError" in stream.getvalue()
    assert "4000-0000-0000-0002" not in stream.getvalue()


def test_ordinary_numbers_are_left_alone(log_output):
    logger, stream = log_output

    logger.info("order %s for %s won at %s", "pay_1234", 9900, 1764150000)

    assert stream.getvalue().strip() == "order pay_1234 for 9900 won at 1764150000"


@pytest.mark.parametrize("number", ["4242-4242-4242-4242", "4242424242424242"])
def test_the_handlers_the_settings_configure_scrub_card_numbers(number):
    handlers = production_handlers()
    assert handlers, "settings.LOGGING configures no handler"
    for handler in handlers:
        stream = io.StringIO()
        previous, handler.stream = handler.stream, stream  # not setStream: it flushes the old stream
        try:
            record = logging.LogRecord(
                "billing", logging.WARNING, __file__, 1, "answer %s", ({"n": number},), None
            )
            handler.handle(record)
        finally:
            handler.stream = previous
        assert stream.getvalue(), "the handler wrote nothing"
        assert number not in stream.getvalue()
