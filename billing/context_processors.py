"""Context for every page: whether the built-in i'mport sandbox answers instead of i'mport."""

from django.conf import settings
from django.http import HttpRequest


def billing(request: HttpRequest) -> dict:
    # The sandbox answers in-process, or over HTTP with its published credentials: either way no real
    # card is charged, and every page says so.
    in_sandbox = settings.IAMPORT_USE_BUILTIN_SANDBOX or settings.IAMPORT_API_KEY == "sandbox_key"
    return {"iamport_sandbox": in_sandbox}
