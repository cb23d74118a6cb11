"""Exchange a username and password for a DRF token."""

from rest_framework.authtoken.views import ObtainAuthToken


class ObtainTokenView(ObtainAuthToken):
    """POST ``username`` and ``password``; answers ``{"token": ...}``."""
