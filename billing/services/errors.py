"""What the services raise: one tree, in billing's own terms.

::

    BillingError                  base of everything a service refuses or fails to do
      IamportCallFailed           i'mport refused, was unavailable, or did not answer in time
        BillingKeyError           ... while changing or reading a billing key (``billing_key``)
        PaymentError              ... while charging, refunding or reading a payment (``payment``)
      PaymentConflict             the request contradicts what is recorded
      RefundNotAllowed            refused here, before asking i'mport

Pages, the API and the admin catch these and never look at i'mport's own errors: ``refused``,
``unavailable`` and ``outcome_unknown`` say what kind of failure it was, ``code`` and ``message``
carry i'mport's code and message. The API maps them to HTTP answers in one place
(``billing.api.errors.exception_handler``).
"""

from typing import TYPE_CHECKING

from billing.iamport.errors import (
    IamportError,
    IamportNotFound,
    IamportOutcomeUnknown,
    IamportRefused,
    IamportUnavailable,
)

if TYPE_CHECKING:
    from billing.models import BillingKey, Payment


class BillingError(Exception):
    """Base of every service failure."""


class IamportCallFailed(BillingError):
    """A service could not do what was asked because of i'mport; ``cause`` says why."""

    def __init__(self, cause: IamportError):
        super().__init__(cause.message)
        self.cause = cause

    @property
    def message(self) -> str:
        """i'mport's message (or ours, when nothing came back): safe to show, it never holds card data."""
        return self.cause.message

    @property
    def code(self) -> int | None:
        """i'mport's ``code`` (-1 for a refusal), or ``None`` when i'mport did not answer."""
        return self.cause.code

    @property
    def refused(self) -> bool:
        """i'mport or the card company said no (a decline, an invalid card, an unknown record)."""
        return isinstance(self.cause, IamportRefused)

    @property
    def not_found(self) -> bool:
        """A refusal because i'mport has no such record (an unknown customer_uid or payment)."""
        return isinstance(self.cause, IamportNotFound)

    @property
    def unavailable(self) -> bool:
        """i'mport could not be reached or answered 5xx: nothing happened there."""
        return isinstance(self.cause, IamportUnavailable)

    @property
    def outcome_unknown(self) -> bool:
        """i'mport did not answer in time: something may have happened; the record says ``unknown``."""
        return isinstance(self.cause, IamportOutcomeUnknown)

    def records(self) -> dict[str, str]:
        """The local records this failure concerns, by their ids (``customer_uid``, ``merchant_uid``)."""
        return {}

    @classmethod
    def still_being_checked(cls, message: str) -> "IamportCallFailed":
        """An outcome that is not known yet (another process holds the call): ``outcome_unknown``."""
        return cls(IamportOutcomeUnknown(message))


class BillingKeyError(IamportCallFailed):
    """A billing-key service failed; ``billing_key`` is the row as recorded."""

    def __init__(self, billing_key: "BillingKey", cause: IamportError):
        super().__init__(cause)
        self.billing_key = billing_key

    def records(self) -> dict[str, str]:
        return {"customer_uid": self.billing_key.customer_uid}


class PaymentError(IamportCallFailed):
    """A payment service failed; ``payment`` is the row as recorded.

    ``registered_key`` is the billing key the same call registered (``register_card_and_pay``), if any.
    """

    def __init__(
        self, payment: "Payment", cause: IamportError, *, registered_key: "BillingKey | None" = None
    ):
        super().__init__(cause)
        self.payment = payment
        self.registered_key = registered_key

    def records(self) -> dict[str, str]:
        records = {"customer_uid": self.registered_key.customer_uid} if self.registered_key else {}
        return {**records, "merchant_uid": self.payment.merchant_uid}


class PaymentConflict(BillingError):
    """The request contradicts what is recorded (merchant_uid reused for another charge, charge in flight)."""

    def __init__(self, message: str, payment: "Payment | None" = None):
        super().__init__(message)
        self.message = message
        self.payment = payment


class RefundNotAllowed(BillingError):
    """Refused locally, before asking i'mport: nothing (or less than asked) is left to refund."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
