"""The shop's own emails, hooked on billing's signals (docs/install.md, "Signals")."""

from django.core.mail import send_mail
from django.dispatch import receiver

from billing.signals import billing_key_registered, payment_failed, payment_paid


@receiver(billing_key_registered)
def card_registered(sender, instance, **kwargs):
    send_mail(
        "Card registered", f"Your card {instance.masked_card_number} is saved.", None, [instance.owner.email]
    )


@receiver(payment_paid)
def receipt(sender, instance, **kwargs):
    send_mail("Receipt", f"We charged {instance.amount} won.", None, [instance.owner.email])


@receiver(payment_failed)
def payment_declined(sender, instance, **kwargs):
    send_mail("Payment failed", "Please update your card.", None, [instance.owner.email])
