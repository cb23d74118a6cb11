"""Request types for views that only a signed-in user reaches, for the type checker.

``login_required`` (pages) and ``IsAuthenticated`` (API) turn anonymous requests away before the
view runs, so there ``request.user`` is the host's user model (``AUTH_USER_MODEL``), never
``AnonymousUser``. Annotating such a view's ``request`` with these says so; nothing changes at run time.
"""

from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest
from rest_framework.request import Request


# The stubs narrow ``user`` to the checked settings' AUTH_USER_MODEL; billing takes any host user model.
class AuthenticatedHttpRequest(HttpRequest):
    user: AbstractBaseUser  # type: ignore[assignment]


class AuthenticatedRequest(Request):
    user: AbstractBaseUser  # type: ignore[assignment]
