from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "subscriptions"
    verbose_name = "Subscriptions"

    def ready(self):
        from billing.signals import payment_status_changed

        from . import services

        # A webhook or reconcile that learns a renewal's payment is paid moves the renewal forward too.
        payment_status_changed.connect(
            services.on_payment_status_changed, dispatch_uid="subscriptions.on_payment_status_changed"
        )
