"""Routes of the subscriptions API, mounted under /api/v1/ before billing's (which ends in a catch-all)."""

from django.urls import path

from . import views

app_name = "subscriptions_api"

urlpatterns = [
    path("plans/", views.PlanListView.as_view(), name="plan-list"),
    path("subscriptions/", views.SubscriptionListCreateView.as_view(), name="subscription-list"),
    path("subscriptions/<int:pk>/", views.SubscriptionDetailView.as_view(), name="subscription-detail"),
    path(
        "subscriptions/<int:pk>/cancel/", views.SubscriptionCancelView.as_view(), name="subscription-cancel"
    ),
    path(
        "subscriptions/<int:pk>/resume/", views.SubscriptionResumeView.as_view(), name="subscription-resume"
    ),
    path("subscriptions/<int:pk>/card/", views.SubscriptionCardView.as_view(), name="subscription-card"),
    path(
        "subscriptions/<int:pk>/renewals/",
        views.SubscriptionRenewalsView.as_view(),
        name="subscription-renewals",
    ),
]
