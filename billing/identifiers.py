"""The formats of the ids that travel between us, our callers and i'mport.

An id from outside (a URL, a webhook body, an API body) is checked here before it is used in a
query or in a call to i'mport: anything else is answered 4xx without a look-up. ``customer_uid`` and
``merchant_uid`` are ours (``cu_`` / ``pay_`` plus hex when generated; an API caller may choose a
``merchant_uid`` in the same alphabet); ``imp_uid`` is i'mport's (``imp_`` and digits; ``imps_`` in
its test mode and in the sandbox).
"""

import re

from django.urls import register_converter

# i'mport's own limits: customer_uid up to 80 characters, merchant_uid up to 40.
CUSTOMER_UID_PATTERN = r"[A-Za-z0-9_-]{1,80}"
MERCHANT_UID_PATTERN = r"[A-Za-z0-9_-]{1,40}"
IMP_UID_PATTERN = r"imps?_[0-9]{1,20}"

_CUSTOMER_UID = re.compile(CUSTOMER_UID_PATTERN, re.ASCII)
_MERCHANT_UID = re.compile(MERCHANT_UID_PATTERN, re.ASCII)
_IMP_UID = re.compile(IMP_UID_PATTERN, re.ASCII)


def is_customer_uid(value: object) -> bool:
    return isinstance(value, str) and _CUSTOMER_UID.fullmatch(value) is not None


def is_merchant_uid(value: object) -> bool:
    return isinstance(value, str) and _MERCHANT_UID.fullmatch(value) is not None


def is_imp_uid(value: object) -> bool:
    return isinstance(value, str) and _IMP_UID.fullmatch(value) is not None


class CustomerUidConverter:
    """``<customer_uid:...>`` in a URL: a path with anything else is simply not a route (404)."""

    regex = CUSTOMER_UID_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


class MerchantUidConverter(CustomerUidConverter):
    regex = MERCHANT_UID_PATTERN


register_converter(CustomerUidConverter, "customer_uid")
register_converter(MerchantUidConverter, "merchant_uid")
