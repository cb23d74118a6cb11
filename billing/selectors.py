"""The reads. Every query a view runs starts here, already scoped to its owner."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from .models import BillingKey

# What a customer sees as "my cards": failed attempts and deleted keys stay for support staff only.
VISIBLE_TO_CUSTOMER = (BillingKey.Status.PENDING, BillingKey.Status.ACTIVE, BillingKey.Status.UNKNOWN)


def billing_keys_of(owner: AbstractBaseUser) -> QuerySet[BillingKey]:
    return BillingKey.objects.filter(owner=owner, status__in=VISIBLE_TO_CUSTOMER).order_by(
        "-created_at", "-id"
    )


def billing_key_of(owner: AbstractBaseUser, customer_uid: str) -> BillingKey:
    """The owner's key, or 404: someone else's customer_uid looks exactly like one that does not exist."""
    return get_object_or_404(billing_keys_of(owner), customer_uid=customer_uid)
