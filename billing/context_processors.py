"""Context for every page: whether the built-in i'mport sandbox answers instead of i'mport."""

from django.http import HttpRequest

from billing.conf import sandbox_in_use


def billing(request: HttpRequest) -> dict:
    # The sandbox answers in-process, or over HTTP with its published credentials: either way no real
    # card is charged, and every page says so.
    in_sandbox = sandbox_in_use()
    return {"iamport_sandbox": in_sandbox}
