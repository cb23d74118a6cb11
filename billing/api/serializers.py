"""Inputs and outputs of the billing-key API.

Card fields are write-only and validated by the same normalizers as the web form
(``billing.cards.NORMALIZERS``); their messages name the problem, never the value.
Outputs carry i'mport's masked card description only.
"""

import re
from typing import cast

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Field
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from rest_framework import serializers

from billing.cards import NORMALIZERS, CardDetails
from billing.models import BillingKey

from .payment_serializers import PaymentOutputSerializer

# Django's own username alphabet (UnicodeUsernameValidator): letters, digits and @ . + - _
_USERNAME = re.compile(r"[\w.@+-]+")


class CardField(serializers.CharField):
    """One card field: a JSON string, normalized by the web form's own routine, never echoed back."""

    default_error_messages = {"invalid": _("Must be a string.")}

    def __init__(self, name: str, **kwargs):
        self.normalize = NORMALIZERS[name]
        super().__init__(write_only=True, trim_whitespace=True, **kwargs)

    @sensitive_variables()
    def to_internal_value(self, data):
        # CharField would turn a number into a string; a card field sent as a number is a client bug.
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)

    @sensitive_variables()
    def run_validation(self, data=serializers.empty):
        value = super().run_validation(data)
        try:
            return self.normalize(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages, code=error.code) from None


class BillingKeyCreateSerializer(serializers.Serializer):
    """A card to register. Lengths as in the web form; anything else in the body is ignored."""

    card_number = CardField(
        "card_number", max_length=32, help_text="14 to 16 digits; dashes and spaces are fine."
    )
    expiry = CardField("expiry", max_length=32, help_text="YYYY-MM (or YYYYMM), not in the past.")
    birth = CardField(
        "birth",
        max_length=32,
        help_text="Date of birth as YYMMDD, or a corporate card's 10-digit business registration number.",
    )
    pwd_2digit = CardField("pwd_2digit", max_length=2, help_text="The first two digits of the card PIN.")
    pay_now = serializers.BooleanField(
        default=False,
        help_text="Also take the merchant's first payment (its plan's amount and name) with this card.",
    )

    @sensitive_variables()
    def validate(self, attrs):
        attrs["card"] = CardDetails(
            number=attrs.pop("card_number"),
            expiry=attrs.pop("expiry"),
            birth=attrs.pop("birth"),
            pwd_2digit=attrs.pop("pwd_2digit"),
        )
        return attrs


def _described(name: str) -> dict:
    """The model field's help text, so the API documents a field as the model does."""
    return {"read_only": True, "help_text": cast(Field, BillingKey._meta.get_field(name)).help_text}


class BillingKeySerializer(serializers.Serializer):
    """A billing key as mirrored from i'mport: the masked number and card name, never card data."""

    # Declared, not a ModelSerializer: that one rebuilds its fields from the model for every key
    # serialized, which was half a millisecond of each registration.
    customer_uid = serializers.CharField(**_described("customer_uid"))
    owner = serializers.CharField(source="owner.get_username", read_only=True, help_text="The customer.")
    status = serializers.ChoiceField(choices=BillingKey.Status.choices, **_described("status"))
    card_name = serializers.CharField(**_described("card_name"))
    masked_card_number = serializers.CharField(**_described("masked_card_number"))
    card_type = serializers.ChoiceField(
        choices=BillingKey.CardType.choices, allow_null=True, **_described("card_type")
    )
    pg_provider = serializers.CharField(**_described("pg_provider"))
    last_error_code = serializers.IntegerField(allow_null=True, **_described("last_error_code"))
    last_error_message = serializers.CharField(**_described("last_error_message"))
    created_at = serializers.DateTimeField(**_described("created_at"))
    updated_at = serializers.DateTimeField(**_described("updated_at"))


class BillingKeyRegisteredSerializer(BillingKeySerializer):
    """The key just registered; ``payment`` is the first payment when ``pay_now`` was asked, else null."""

    payment = PaymentOutputSerializer(read_only=True, allow_null=True)


class BillingKeyListQuerySerializer(serializers.Serializer):
    """Query parameters of the list. ``all`` and ``owner`` need the ``billing.view_billingkey`` permission."""

    all = serializers.BooleanField(
        default=False,
        help_text="Staff only: list every customer's keys, including failed and deleted ones.",
    )
    owner = serializers.CharField(
        required=False,
        max_length=150,
        help_text="Staff only: the owner's username or numeric id (implies `all`).",
    )
    status = serializers.ChoiceField(
        choices=BillingKey.Status.choices,
        required=False,
        error_messages={"invalid_choice": _("Not a known status.")},
        help_text="Only keys in this status.",
    )

    def validate_owner(self, value: str) -> str:
        # A user id is ASCII digits; "²" or "٤" look like one (str.isdigit) but are neither id nor username.
        if any(char.isdigit() and not char.isascii() for char in value):
            raise serializers.ValidationError("A user id has ASCII digits only.")
        if not _USERNAME.fullmatch(value):
            raise serializers.ValidationError("Not a username or a numeric user id.")
        return value
