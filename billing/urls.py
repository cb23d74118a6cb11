from django.urls import path

from . import identifiers, views, webhooks  # noqa: F401 (identifiers registers the URL converters)

app_name = "billing"

urlpatterns = [
    path("cards/", views.card_list, name="card-list"),
    path("cards/new/", views.card_new, name="card-new"),
    path("cards/<customer_uid:customer_uid>/delete/", views.card_delete, name="card-delete"),
    path("payments/", views.payment_list, name="payment-list"),
    path("webhooks/iamport/", webhooks.iamport_webhook, name="iamport-webhook"),
]
