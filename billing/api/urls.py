"""The JSON API, version 1. Each module contributes the routes of one resource."""

from django.urls import path

from . import billing_keys, payments
from .auth import ObtainTokenView

app_name = "api"

urlpatterns = [
    path("auth/token/", ObtainTokenView.as_view(), name="token"),
    *billing_keys.urlpatterns,
    *payments.urlpatterns,
]
