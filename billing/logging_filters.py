"""A last line of defence: scrub anything that looks like a card number from log records.

The code never logs card fields in the first place; this filter catches a third-party
library (or a future mistake) that formats a request body into a message or an exception.
"""

import logging
import re

# 13 to 19 digits, optionally grouped by dashes or spaces: the shape of a PAN.
_PAN = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")


def redact(text: str) -> str:
    return _PAN.sub("[card number removed]", text)


class RedactCardData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            # Formatted here so the traceback (exception messages included) is scrubbed too;
            # handlers reuse exc_text instead of formatting the exception again.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
