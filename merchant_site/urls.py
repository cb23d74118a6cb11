from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from billing import accounts
from billing import views as billing_views
from merchant_site import admin as site_admin  # noqa: F401 (re-registers Django's user and group admins)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="billing:card-list", permanent=False)),
    path("accounts/signup/", accounts.signup, name="signup"),
    # Django's auth pages without password reset: it would need outgoing mail, which the site does not
    # send (a forgotten password is reset by support staff: README, "Accounts").
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("billing/", include("billing.urls")),
    path("billing/", include("subscriptions.urls")),
    path("api/v1/", include("subscriptions.api.urls")),  # before billing's, whose last route is a catch-all
    path("api/v1/", include("billing.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),  # set_language: the language switch on every page
    path("healthz", billing_views.healthz, name="healthz"),
]
