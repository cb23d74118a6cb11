"""The JSON API, version 1. Each module contributes the routes of one resource."""

from http import HTTPStatus

from django.http import HttpRequest, JsonResponse
from django.urls import path, re_path

from . import billing_keys, payments
from .tokens import ObtainTokenView

app_name = "billing_api"


def no_such_endpoint(request: HttpRequest) -> JsonResponse:
    """An API client gets the API's error shape for an unknown path, not the site's HTML 404 page."""
    return JsonResponse(
        {"error": "not_found", "detail": "No such endpoint. Paths end with a slash; see /api/docs/."},
        status=HTTPStatus.NOT_FOUND,
    )


urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="token"),
    *billing_keys.urlpatterns,
    *payments.urlpatterns,
    re_path(r"^.*$", no_such_endpoint),
]
