"""Exchange a username and password for a DRF token.

The token never expires by itself; ``python manage.py drf_create_token <username>`` makes one too,
and ``drf_create_token -r <username>`` replaces it (the old one stops working).
"""

from http import HTTPStatus

from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.parsers import FormParser

from billing.throttling import SignInAccountThrottle, TokenAddressThrottle

from . import schema
from .errors import exception_handler
from .parsers import BoundedJSONParser

TOKEN_EXAMPLE = {"token": "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}


@method_decorator(sensitive_post_parameters("password"), name="dispatch")
class ObtainTokenView(ObtainAuthToken):
    """POST ``username`` and ``password``; answers ``{"token": ...}`` (the same token on every call)."""

    # No authentication here: a stale token or a session without its CSRF token must not stop a login.
    authentication_classes = []
    throttle_classes = [TokenAddressThrottle, SignInAccountThrottle]
    parser_classes = [BoundedJSONParser, FormParser]
    permission_classes = []

    def get_exception_handler(self):
        return exception_handler  # billing's error shape, whatever the host's REST_FRAMEWORK

    @extend_schema(
        operation_id="auth_token_create",
        tags=["auth"],
        summary="Get an API token",
        description=(
            "Send it on every call as `Authorization: Token <token>`. "
            "Throttled per client address and per account."
        ),
        auth=[],
        request=AuthTokenSerializer,
        responses={
            HTTPStatus.OK: OpenApiResponse(
                AuthTokenSerializer,
                examples=[OpenApiExample("Token", value=TOKEN_EXAMPLE)],
            ),
            HTTPStatus.BAD_REQUEST: OpenApiResponse(
                schema.ValidationErrorSerializer,
                description="Missing fields, or a wrong username or password.",
                examples=[
                    OpenApiExample(
                        "Wrong password",
                        value={
                            "error": "invalid",
                            "detail": "The request has invalid fields.",
                            "fields": {"non_field_errors": ["Unable to log in with provided credentials."]},
                        },
                    )
                ],
            ),
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE: schema.UNSUPPORTED_MEDIA_TYPE,
            HTTPStatus.TOO_MANY_REQUESTS: schema.THROTTLED,
        },
        examples=[
            OpenApiExample(
                "Login", request_only=True, value={"username": "demo", "password": "demo-pass-1234"}
            )
        ],
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
