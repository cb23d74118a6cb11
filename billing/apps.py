from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_delete, post_save


class BillingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "billing"
    verbose_name = "Billing"

    def ready(self):
        from rest_framework.authtoken.models import Token

        from billing import checks  # noqa: F401 - registers billing's system checks
        from billing.api.authentication import forget_token, forget_user_tokens

        # The API's token cache forgets a token as soon as it or its user changes (see there).
        post_delete.connect(forget_token, sender=Token, dispatch_uid="billing.forget_token")
        post_save.connect(
            forget_user_tokens, sender=settings.AUTH_USER_MODEL, dispatch_uid="billing.forget_user_tokens"
        )
