"""Routes of the subscriptions API, mounted under /api/v1/ before billing's (which ends in a catch-all).

Ids are matched as any segment and parsed by the views, so a malformed id answers the API's JSON 404.
"""

from django.urls import path

from . import views

app_name = "subscriptions_api"

urlpatterns = [
    path("plans/", views.PlanListView.as_view(), name="plan-list"),
    path("subscriptions/", views.SubscriptionListCreateView.as_view(), name="subscription-list"),
    path("subscriptions/<str:pk>/", views.SubscriptionDetailView.as_view(), name="subscription-detail"),
    path(
        "subscriptions/<str:pk>/cancel/", views.SubscriptionCancelView.as_view(), name="subscription-cancel"
    ),
    path(
        "subscriptions/<str:pk>/resume/", views.SubscriptionResumeView.as_view(), name="subscription-resume"
    ),
    path("subscriptions/<str:pk>/card/", views.SubscriptionCardView.as_view(), name="subscription-card"),
    path(
        "subscriptions/<str:pk>/renewals/",
        views.SubscriptionRenewalsView.as_view(),
        name="subscription-renewals",
    ),
]
