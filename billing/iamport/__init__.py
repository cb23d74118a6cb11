"""Everything that speaks to i'mport: the client, its errors, its answer types, and the sandbox."""

import threading

from billing.conf import billing_cache, billing_settings

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
        base_url=billing_settings.API_URL,
        api_key=billing_settings.API_KEY,
        api_secret=billing_settings.API_SECRET,
        connect_timeout=billing_settings.CONNECT_TIMEOUT,
        read_timeout=billing_settings.READ_TIMEOUT,
        pool_size=billing_settings.POOL_SIZE,
        token_cache=billing_cache(),
    )
    if billing_settings.SANDBOX:
        from .sandbox import SandboxAdapter, make_app

        app = make_app(billing_settings.SANDBOX_STATE)
        client.session.mount(client.base_url, SandboxAdapter(app))
    return client
