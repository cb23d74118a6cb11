"""The JSON API, version 1. Each module contributes the routes of one resource."""

from http import HTTPStatus

from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from . import billing_keys, payments
from .tokens import ObtainTokenView

app_name = "billing_api"


@csrf_exempt  # it changes nothing; a CSRF refusal would be the site's HTML 403 instead of the API's 404
def no_such_endpoint(request: HttpRequest) -> JsonResponse:
    """An API client gets the API's error shape for an unknown path, not the site's HTML 404 page.

    Also where an id that is not in its format (``billing.identifiers``) ends: it matches no route."""
    return JsonResponse(
        {"error": "not_found", "detail": _("No such endpoint. Paths end with a slash; see /api/docs/.")},
        status=HTTPStatus.NOT_FOUND,
    )


urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="token"),
    *billing_keys.urlpatterns,
    *payments.urlpatterns,
    re_path(r"^[\s\S]*$", no_such_endpoint),  # [\s\S], not ".": a path with a newline in it too
]
