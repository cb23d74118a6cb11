"""Create (or reset) the demo customer login and print it. For the development site only."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-pass-1234"  # noqa: S105 - printed on purpose: a local demo login


class Command(BaseCommand):
    help = "Create the demo customer login (DEBUG only) and print it."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("The demo login exists only for the development site (DEBUG=1).")
        user, _ = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@example.com"}
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
        self.stdout.write(f"Demo login: username {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r}")
