"""Everything that speaks to i'mport: the client, its errors, its answer types, and the sandbox."""

import threading

from django.conf import settings

from .client import IamportClient

_client: IamportClient | None = None
_client_lock = threading.Lock()


def get_client() -> IamportClient:
    """The process-wide client, built once from settings (one connection pool per process).

    With no keys configured in DEBUG (or in the test suite) it talks to the built-in
    sandbox in-process, through a transport adapter: the same client code, no port.
    """
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = build_client_from_settings()
    return _client


def reset_client() -> None:
    """Forget the process-wide client (tests that change settings call this)."""
    global _client
    with _client_lock:
        _client = None


def build_client_from_settings() -> IamportClient:
    client = IamportClient(
        base_url=settings.IAMPORT_API_URL,
        api_key=settings.IAMPORT_API_KEY,
        api_secret=settings.IAMPORT_API_SECRET,
        connect_timeout=settings.IAMPORT_CONNECT_TIMEOUT,
        read_timeout=settings.IAMPORT_READ_TIMEOUT,
        pool_size=settings.IAMPORT_POOL_SIZE,
    )
    if settings.IAMPORT_USE_BUILTIN_SANDBOX:
        from .sandbox import SandboxAdapter, make_app

        app = make_app(settings.IAMPORT_SANDBOX_STATE)
        client.session.mount(client.base_url, SandboxAdapter(app))
    return client
