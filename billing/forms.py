"""Forms of the customer web pages."""

import re
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from billing.conf import billing_settings

from .cards import NORMALIZERS, CardDetails
from .display import format_won

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise  # gettext_lazy's type; django-stubs-ext is a dev requirement


class CardInput(forms.TextInput):
    """A text input that never renders a value back: a card field is typed again after an error."""

    def format_value(self, value):
        return None


def _card_field(label: "str | StrPromise", help_text: "str | StrPromise", **attrs: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        max_length=32,
        strip=True,
        widget=CardInput(
            attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "off", **attrs}
        ),
    )


# As the card shows it: MM/YY (or MM/YYYY), with optional spaces around the slash.
_CARD_EXPIRY = re.compile(r"(\d{1,2})\s*/\s*(\d{2}|\d{4})", re.ASCII)  # ASCII digits only, as billing.cards
# As i'mport wants it, which the form keeps accepting: YYYY-MM (or YYYYMM).
_IAMPORT_EXPIRY = re.compile(r"\d{4}-?\d{2}", re.ASCII)


def expiry_as_iamport_wants(value: str) -> str:
    """``07/30`` -> ``2030-07``; ``YYYY-MM`` passes; anything else is refused in the form's words."""
    value = (value or "").strip()
    match = _CARD_EXPIRY.fullmatch(value)
    if match:
        month, year = int(match[1]), match[2]
        return f"{'20' + year if len(year) == 2 else year}-{month:02d}"
    if _IAMPORT_EXPIRY.fullmatch(value):
        return value
    raise forms.ValidationError(
        _("Enter the expiry as it is printed on the card, MM/YY (for example 07/30)."), code="invalid"
    )


class CardRegistrationForm(forms.Form):
    """The four card fields, with i'mport's own names. Values are validated, never kept.

    ``pay_now`` also takes the merchant's first payment (amount and name from settings) in the same call.
    The expiry is typed as the card shows it (MM/YY) and sent as i'mport wants it (YYYY-MM).
    """

    card_number = _card_field(
        _("Card number"),
        _("The 14 to 16 digits on the front of the card."),
        inputmode="numeric",
        autocomplete="cc-number",
        maxlength="23",
        placeholder="0000 0000 0000 0000",
    )
    expiry = _card_field(
        _("Expiry date (MM/YY)"),
        _("Month and year as printed on the card, for example 07/30."),
        inputmode="numeric",
        autocomplete="cc-exp",
        maxlength="7",
        placeholder="MM/YY",
    )
    birth = _card_field(
        _("Date of birth, or business registration number"),
        _(
            "Personal card: your date of birth as 6 digits, YYMMDD (15 March 1990 is 900315). "
            "Corporate card: the 10-digit business registration number."
        ),
        inputmode="numeric",
        maxlength="12",
    )
    pwd_2digit = forms.CharField(
        label=_("First two digits of the card PIN"),
        help_text=_("Only the first two of the four digits."),
        max_length=2,
        widget=forms.PasswordInput(
            render_value=False, attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": "2"}
        ),
    )

    pay_now = forms.BooleanField(
        required=False,
        help_text=_(
            "Charged to this card by the merchant's plan; you can also register the card without paying now."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The merchant's plan, from settings: the customer can take it or not, never change the amount.
        self.fields["pay_now"].label = _("Pay the first payment now (%(amount)s, %(name)s)") % {
            "amount": format_won(billing_settings.FIRST_PAYMENT_AMOUNT),
            "name": gettext(billing_settings.FIRST_PAYMENT_NAME),
        }

    @sensitive_variables()  # the expiry is card data
    def clean_expiry(self):
        return expiry_as_iamport_wants(self.cleaned_data["expiry"])

    @sensitive_variables()  # every local holds card data
    def card_details(self) -> CardDetails:
        """The validated card, as the services take it (call after ``is_valid()``)."""
        data = self.cleaned_data
        return CardDetails(
            number=data["card_number"],
            expiry=data["expiry"],
            birth=data["birth"],
            pwd_2digit=data["pwd_2digit"],
        )

    @sensitive_variables()  # every local holds card data
    def clean(self):
        cleaned = cast(dict[str, Any], super().clean())  # Form.clean returns cleaned_data
        for name, normalize in NORMALIZERS.items():
            if name in cleaned:
                try:
                    cleaned[name] = normalize(cleaned[name])
                except forms.ValidationError as error:
                    self.add_error(name, error)
        return cleaned


class SignUpForm(UserCreationForm):
    email = forms.EmailField(label=_("Email"), required=True)

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]  # django-stubs lacks it
        model = get_user_model()
        # The host's user model (AUTH_USER_MODEL) may sign in by email and have no username at all.
        fields = tuple(dict.fromkeys((model.USERNAME_FIELD, model.get_email_field_name())))
