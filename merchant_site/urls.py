from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from billing import views as billing_views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="billing:card-list", permanent=False)),
    path("accounts/signup/", billing_views.signup, name="signup"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("billing/", include("billing.urls")),
    path("billing/", include("subscriptions.urls")),
    path("api/v1/", include("subscriptions.api.urls")),  # before billing's, whose last route is a catch-all
    path("api/v1/", include("billing.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("healthz", billing_views.healthz, name="healthz"),
]
