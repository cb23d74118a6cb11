from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    # The shop's own login page, at its own address (LOGIN_URL names it).
    path("members/sign-in/", auth_views.LoginView.as_view(), name="sign-in"),
    # Step 4 of docs/install.md.
    path("billing/", include("billing.urls")),
    path("api/billing/", include("billing.api.urls")),
    path("admin/", admin.site.urls),
]
