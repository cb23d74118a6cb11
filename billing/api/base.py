"""What every billing API view is, whatever the host's ``REST_FRAMEWORK`` says.

A host project's DRF defaults (authentication, permissions, throttles, parsers, exception handler)
serve its own API; billing's views set their own here, so billing behaves the same in any host.
"""

from rest_framework import generics
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.views import APIView

from .authentication import CachedTokenAuthentication
from .errors import exception_handler
from .parsers import BoundedJSONParser


class BillingAPIView(APIView):
    authentication_classes = [CachedTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    # The views that throttle say so (get_throttles); the host's default throttles do not apply.
    throttle_classes = []
    # A JSON parser that answers 400 (not 500) to over-large or over-deep bodies.
    parser_classes = [BoundedJSONParser, FormParser, MultiPartParser]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]

    def get_exception_handler(self):
        # Errors always have billing's shape (billing.api.errors), whatever the host's EXCEPTION_HANDLER.
        return exception_handler


class BillingGenericAPIView(BillingAPIView, generics.GenericAPIView):
    pass
