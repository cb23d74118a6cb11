"""Forms of the customer web pages."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from billing.conf import billing_settings

from .cards import NORMALIZERS


class CardInput(forms.TextInput):
    """A text input that never renders a value back: a card field is typed again after an error."""

    def format_value(self, value):
        return None


def _card_field(label: str, help_text: str, **attrs: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        help_text=help_text,
        max_length=32,
        strip=True,
        widget=CardInput(attrs={"autocomplete": "off", "spellcheck": "false", **attrs}),
    )


class CardRegistrationForm(forms.Form):
    """The four card fields, with i'mport's own names. Values are validated, never kept.

    ``pay_now`` also takes the merchant's first payment (amount and name from settings) in the same call.
    """

    card_number = _card_field(
        _("Card number"), _("16 digits, dashes optional."), inputmode="numeric", autocomplete="cc-number"
    )
    expiry = _card_field(_("Expiry"), _("YYYY-MM, for example 2030-07."), placeholder="YYYY-MM")
    birth = _card_field(
        _("Date of birth"),
        _("YYMMDD. For a corporate card, the 10-digit business registration number."),
        inputmode="numeric",
    )
    pwd_2digit = forms.CharField(
        label=_("First two digits of the card PIN"),
        max_length=2,
        widget=forms.PasswordInput(
            render_value=False, attrs={"inputmode": "numeric", "autocomplete": "off", "maxlength": "2"}
        ),
    )

    pay_now = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The merchant's plan, from settings: the customer can take it or not, never change the amount.
        self.fields["pay_now"].label = _("Pay the first payment now (₩%(amount)s — %(name)s)") % {
            "amount": f"{billing_settings.FIRST_PAYMENT_AMOUNT:,}",
            "name": billing_settings.FIRST_PAYMENT_NAME,
        }

    def clean(self):
        cleaned = super().clean()
        for name, normalize in NORMALIZERS.items():
            if name in cleaned:
                try:
                    cleaned[name] = normalize(cleaned[name])
                except forms.ValidationError as error:
                    self.add_error(name, error)
        return cleaned


class SignUpForm(UserCreationForm):
    email = forms.EmailField(label=_("Email"), required=True)

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        # The host's user model (AUTH_USER_MODEL) may sign in by email and have no username at all.
        fields = tuple(dict.fromkeys((model.USERNAME_FIELD, model.get_email_field_name())))
