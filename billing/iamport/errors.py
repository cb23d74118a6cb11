"""What can go wrong when talking to i'mport.

::

    IamportError                 base: code, message, http_status
    ├── IamportAuthError         bad keys, or a token i'mport refuses even after one refresh
    ├── IamportRefused           i'mport answered with code != 0: declined, invalid card, not found ...
    │   └── IamportNotFound      HTTP 404: no such customer_uid / imp_uid / merchant_uid
    ├── IamportUnavailable       5xx or connection refused: nothing happened, safe to try again later
    └── IamportOutcomeUnknown    the request left and no answer came back: something may have happened

Only ``IamportOutcomeUnknown`` leaves the caller unsure; it is resolved by reading
i'mport, never by repeating the write.
"""


class IamportError(Exception):
    """Base of every error the client raises. ``message`` is i'mport's own text when it sent one."""

    def __init__(self, message: str = "", *, code: int | None = None, http_status: int | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, http_status={self.http_status!r})"


class IamportAuthError(IamportError):
    """The REST API key or secret is wrong, or i'mport keeps refusing our access token."""


class IamportRefused(IamportError):
    """i'mport received the request and said no (``code != 0``); nothing was changed."""


class IamportNotFound(IamportRefused):
    """The object named in the request does not exist at i'mport."""


class IamportUnavailable(IamportError):
    """i'mport could not be reached or failed on its side before acting; nothing happened."""


class IamportOutcomeUnknown(IamportError):
    """The request was sent but no answer arrived in time; i'mport may or may not have acted."""
