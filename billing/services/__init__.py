"""The writes: every change to a billing key or a payment goes through here, one module per subject.

- ``billing_keys``: register a card, delete a key, re-read one;
- ``payments``: charge a key, register and pay at once, refund, re-read a payment;
- ``notifications``: i'mport's webhooks;
- ``reconciliation``: the pass that settles unknown and stale records (``manage.py reconcile``);
- ``mirrors``: the one place an i'mport answer becomes a row;
- ``calls``: the one way a service calls i'mport and records the call;
- ``errors``: what the services raise, in billing's own terms.

Only the services (and below them ``billing.iamport``) know that i'mport exists: callers use the
names re-exported here (``from billing import services; services.register_card(...)``).
"""

from .billing_keys import delete_billing_key, new_customer_uid, register_card, sync_billing_key
from .errors import (
    BillingError,
    BillingKeyError,
    IamportCallFailed,
    PaymentConflict,
    PaymentError,
    RefundNotAllowed,
)
from .mirrors import (
    BILLING_KEY_MIRRORED_FIELDS,
    PAYMENT_MIRRORED_FIELDS,
    from_unix,
    mirror_customer,
    mirror_key_from_payment,
    mirror_payment,
)
from .notifications import handle_payment_notification
from .payments import (
    charge_billing_key,
    new_merchant_uid,
    refund_payment,
    register_card_and_pay,
    sync_payment,
)
from .reconciliation import ReconciliationReport, compare_with_iamport, reconcile, settle_created_records

# The names these had before the services became a package; callers written against them keep working.
sync_from_customer = mirror_customer
sync_from_payment = mirror_payment
MIRRORED_FIELDS = BILLING_KEY_MIRRORED_FIELDS

__all__ = [
    "BILLING_KEY_MIRRORED_FIELDS",
    "MIRRORED_FIELDS",
    "PAYMENT_MIRRORED_FIELDS",
    "BillingError",
    "BillingKeyError",
    "IamportCallFailed",
    "PaymentConflict",
    "PaymentError",
    "ReconciliationReport",
    "RefundNotAllowed",
    "charge_billing_key",
    "compare_with_iamport",
    "delete_billing_key",
    "from_unix",
    "handle_payment_notification",
    "mirror_customer",
    "mirror_key_from_payment",
    "mirror_payment",
    "new_customer_uid",
    "new_merchant_uid",
    "reconcile",
    "refund_payment",
    "register_card",
    "register_card_and_pay",
    "settle_created_records",
    "sync_billing_key",
    "sync_from_customer",
    "sync_from_payment",
    "sync_payment",
]
