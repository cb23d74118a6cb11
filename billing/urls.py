from django.urls import path

from . import views, webhooks

app_name = "billing"

urlpatterns = [
    path("cards/", views.card_list, name="card-list"),
    path("cards/new/", views.card_new, name="card-new"),
    path("cards/<str:customer_uid>/delete/", views.card_delete, name="card-delete"),
    path("payments/", views.payment_list, name="payment-list"),
    path("webhooks/iamport/", webhooks.iamport_webhook, name="iamport-webhook"),
]
