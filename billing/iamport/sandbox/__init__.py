"""An offline, stateful stand-in for the i'mport (PortOne) V1 REST API.

It imports nothing from the billing app: any V1 client can be pointed at it.
``make_app`` builds the WSGI app, ``SandboxAdapter`` serves it in-process to a
``requests.Session``, and ``serve`` puts it on a port (``manage.py iamport_sandbox``).
"""

from .adapter import SandboxAdapter
from .app import Faults, SandboxApp
from .server import serve


def make_app(state_path, **options) -> SandboxApp:
    return SandboxApp(state_path, **options)


__all__ = ["Faults", "SandboxAdapter", "SandboxApp", "make_app", "serve"]
