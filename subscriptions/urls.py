from django.urls import path

from . import views

app_name = "subscriptions"

urlpatterns = [
    path("plans/", views.plan_list, name="plan-list"),
    path("plans/<slug:code>/subscribe/", views.subscribe, name="subscribe"),
    path("subscriptions/", views.subscription_list, name="subscription-list"),
    path("subscriptions/<int:pk>/cancel/", views.cancel, name="cancel"),
    path("subscriptions/<int:pk>/resume/", views.resume, name="resume"),
    path("subscriptions/<int:pk>/card/", views.change_card, name="change-card"),
]
