"""The one place that speaks HTTP to i'mport.

``IamportClient`` owns a pooled ``requests.Session``, the base URL, the REST API
keys and the timeouts. Its access token lives in Django's cache, so every worker
of a deployment (with a shared cache such as Redis) uses the same token until
shortly before it expires; a 401 refreshes it once and retries. The client never
touches models: services call it and record what it answered.
"""

import hashlib
import logging
import os
import threading
import time
from typing import Any
from urllib.parse import quote

import requests
from django.core.cache import BaseCache, cache
from django.views.decorators.debug import sensitive_variables
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NewConnectionError

from . import ratelimit
from .errors import (
    IamportAuthError,
    IamportError,
    IamportNotFound,
    IamportOutcomeUnknown,
    IamportRefused,
    IamportUnavailable,
)
from .types import AccessToken, CardDetails, CustomerAnswer, PaymentAnswer

logger = logging.getLogger(__name__)

# Never use a token in its last minute: a request started then could arrive after expiry.
TOKEN_SAFETY_MARGIN = 60
# How long a process waits for another one that is already fetching the token.
TOKEN_WAIT_SECONDS = 5.0
# How long a process reuses the token it last saw without asking the cache again (a round trip per call).
# At most half the safety margin: a token read from the cache just before it left is still never used late.
TOKEN_MEMO_SECONDS = TOKEN_SAFETY_MARGIN / 2


class IamportClient:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        api_secret: str,
        connect_timeout: float = 3.05,
        read_timeout: float = 30.0,
        pool_size: int = 32,
        session: requests.Session | None = None,
        token_cache: BaseCache | None = None,
    ):
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._api_secret = api_secret
        self.timeout = (connect_timeout, read_timeout)
        self.session = session or requests.Session()
        if session is None:
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
            self.session.mount("https://", adapter)
            self.session.mount("http://", adapter)
            # Proxy and CA-bundle variables are read once, here: with trust_env requests re-reads the whole
            # environment (and looks for ~/.netrc) on every call, about a tenth of a registration's CPU.
            self.session.proxies.update(requests.utils.get_environ_proxies(self.base_url))
            ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            self.session.verify = ca_bundle or True
            self.session.trust_env = False
        key_digest = hashlib.sha256(f"{self.base_url}|{api_key}".encode()).hexdigest()[:16]
        self._token_cache_key = f"iamport:token:{key_digest}"
        self._token_lock_key = f"iamport:token-lock:{key_digest}"
        self._token_thread_lock = threading.Lock()
        # Where the access token is shared by every worker of the deployment (Django's default cache if None).
        self._cache = token_cache if token_cache is not None else cache
        self._token_memo: tuple[str, float] = ("", 0.0)  # (token, monotonic time it may be used until)

    def __repr__(self) -> str:
        return f"IamportClient(base_url={self.base_url!r})"

    # --- billing keys ----------------------------------------------------------------------------
    @sensitive_variables("card", "body", "kwargs")
    def issue_billing_key(
        self, customer_uid: str, card: CardDetails, *, pg: str = "", channel_key: str = "", **customer: str
    ) -> CustomerAnswer:
        body: dict[str, Any] = {**card.as_params(), **customer}
        if pg:
            body["pg"] = pg
        if channel_key:
            body["channel_key"] = channel_key
        answer = self._call("POST", _path("subscribe", "customers", customer_uid), json=body)
        return CustomerAnswer.from_annotation(answer)

    def get_billing_key(self, customer_uid: str) -> CustomerAnswer:
        return CustomerAnswer.from_annotation(
            self._call("GET", _path("subscribe", "customers", customer_uid))
        )

    def get_billing_keys(self, customer_uids: list[str]) -> list[CustomerAnswer]:
        """Many at once; those i'mport does not know are simply absent from the answer."""
        answer = self._call("GET", "/subscribe/customers", params={"customer_uid[]": customer_uids})
        return [CustomerAnswer.from_annotation(item) for item in answer or ()]

    def delete_billing_key(self, customer_uid: str, *, reason: str = "") -> CustomerAnswer:
        params = {"reason": reason} if reason else None
        return CustomerAnswer.from_annotation(
            self._call("DELETE", _path("subscribe", "customers", customer_uid), params=params)
        )

    # --- payments ----------------------------------------------------------------------------------
    def pay_again(
        self, *, customer_uid: str, merchant_uid: str, amount: int, name: str, **extra: Any
    ) -> PaymentAnswer:
        body = {"customer_uid": customer_uid, "merchant_uid": merchant_uid, "amount": amount, "name": name}
        return PaymentAnswer.from_annotation(
            self._call("POST", "/subscribe/payments/again", json={**body, **extra})
        )

    @sensitive_variables("card", "body")
    def pay_onetime(
        self,
        *,
        merchant_uid: str,
        amount: int,
        name: str,
        card: CardDetails,
        customer_uid: str = "",
        pg: str = "",
        **extra: Any,
    ) -> PaymentAnswer:
        body: dict[str, Any] = {
            "merchant_uid": merchant_uid,
            "amount": amount,
            "name": name,
            **card.as_params(),
        }
        if customer_uid:
            body["customer_uid"] = customer_uid
        if pg:
            body["pg"] = pg
        return PaymentAnswer.from_annotation(
            self._call("POST", "/subscribe/payments/onetime", json={**body, **extra})
        )

    def get_payment(self, imp_uid: str) -> PaymentAnswer:
        return PaymentAnswer.from_annotation(self._call("GET", _path("payments", imp_uid)))

    def find_payment(self, merchant_uid: str) -> PaymentAnswer:
        return PaymentAnswer.from_annotation(self._call("GET", _path("payments", "find", merchant_uid)))

    def cancel_payment(
        self, *, merchant_uid: str, amount: int | None, reason: str, checksum: int | None = None
    ) -> PaymentAnswer:
        """Refund ``amount`` won (``None``: all that is left). ``checksum`` guards against a double refund."""
        body: dict[str, Any] = {"merchant_uid": merchant_uid, "reason": reason}
        if amount is not None:
            body["amount"] = amount
        if checksum is not None:
            body["checksum"] = checksum
        return PaymentAnswer.from_annotation(self._call("POST", "/payments/cancel", json=body))

    # --- token -------------------------------------------------------------------------------------
    def fetch_token(self) -> AccessToken:
        """Ask i'mport for the access token (the same one while it is valid) and cache it."""
        try:
            ratelimit.wait_turn()
            response = self.session.post(
                self.base_url + "/users/getToken",
                json={"imp_key": self._api_key, "imp_secret": self._api_secret},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            # Asking for a token changes nothing, so every failure here is plain unavailability.
            raise IamportUnavailable("i'mport could not be reached for an access token") from exc
        if response.status_code == 401:
            raise IamportAuthError(_message_of(response), http_status=401, code=_code_of(response))
        data = _answer_of(response, write=False)
        token = AccessToken(
            access_token=data["access_token"], now=int(data["now"]), expired_at=int(data["expired_at"])
        )
        # Judged against i'mport's clock (now), not ours: a skewed local clock must not keep a dead token.
        lifetime = token.seconds_left - TOKEN_SAFETY_MARGIN
        if lifetime > 0:
            self._cache.set(self._token_cache_key, token.access_token, timeout=lifetime)
            self._remember(token.access_token, min(lifetime, TOKEN_MEMO_SECONDS))
        return token

    def _remember(self, token: str, seconds: float) -> str:
        self._token_memo = (token, time.monotonic() + seconds)
        return token

    def access_token(self) -> str:
        token, until = self._token_memo
        if token and time.monotonic() < until:
            return token
        token = self._cache.get(self._token_cache_key)
        if token:
            return self._remember(token, TOKEN_MEMO_SECONDS)
        # One fetch per process at a time, and (through cache.add) one per deployment:
        # the others wait briefly for the token the first one stores.
        with self._token_thread_lock:
            token = self._cache.get(self._token_cache_key)
            if token:
                return token
            if self._cache.add(self._token_lock_key, "1", timeout=int(TOKEN_WAIT_SECONDS) + 5):
                try:
                    return self.fetch_token().access_token
                finally:
                    self._cache.delete(self._token_lock_key)
            deadline = time.monotonic() + TOKEN_WAIT_SECONDS
            while time.monotonic() < deadline:
                time.sleep(0.05)
                token = self._cache.get(self._token_cache_key)
                if token:
                    return token
            return self.fetch_token().access_token

    def forget_token(self, token: str) -> None:
        """Drop the cached token, unless another worker already replaced it with a fresh one."""
        self._token_memo = ("", 0.0)
        if self._cache.get(self._token_cache_key) == token:
            self._cache.delete(self._token_cache_key)

    # --- transport ---------------------------------------------------------------------------------
    @sensitive_variables("kwargs")
    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        write = method != "GET"
        token = self.access_token()
        response = self._send(method, path, token, write=write, **kwargs)
        if response.status_code == 401:
            # i'mport refused the token before doing anything: refreshing and sending again is safe.
            self.forget_token(token)
            token = self.fetch_token().access_token
            response = self._send(method, path, token, write=write, **kwargs)
            if response.status_code == 401:
                raise IamportAuthError(_message_of(response), code=_code_of(response), http_status=401)
        return _answer_of(response, write=write)

    @sensitive_variables("kwargs")
    def _send(self, method: str, path: str, token: str, *, write: bool, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"}
        attempts = 1 if write else 2  # reads are safe to repeat once
        for attempt in range(attempts):
            try:
                ratelimit.wait_turn()  # IAMPORT_MAX_CALLS_PER_SECOND, shared by every process
                return self.session.request(
                    method, self.base_url + path, headers=headers, timeout=self.timeout, **kwargs
                )
            except requests.RequestException as exc:
                error = _transport_error(exc, write=write)
                if attempt + 1 < attempts:
                    logger.info(
                        "i'mport %s %s failed (%s), reading once more", method, path, type(error).__name__
                    )
                    continue
                raise error from exc
        raise AssertionError("unreachable")


def _path(*segments: str) -> str:
    """An API path from its segments, each quoted whole: an id can never add a segment, a query or a
    fragment ("../x", "a/b", "?", "#", "%2F" stay inside their own segment)."""
    return "".join("/" + _segment(segment) for segment in segments)


def _segment(value: str) -> str:
    # Empty, "." or ".." would name another resource (requests turns even "%2E%2E" back into "..").
    if value in ("", ".", ".."):
        raise ValueError("not an id i'mport can have in a path")
    return quote(str(value), safe="")


def _transport_error(exc: requests.RequestException, *, write: bool) -> IamportError:
    """Did the request leave this machine? Only then can i'mport have acted on it."""
    if isinstance(exc, requests.ConnectTimeout) or _never_connected(exc):
        return IamportUnavailable("i'mport could not be reached")
    if write and isinstance(exc, requests.Timeout | requests.ConnectionError):
        return IamportOutcomeUnknown("i'mport did not answer in time; the request may have been carried out")
    return IamportUnavailable("i'mport did not answer")


def _never_connected(exc: requests.RequestException) -> bool:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(exc, requests.ConnectionError) and isinstance(reason, NewConnectionError)


def _answer_of(response: requests.Response, *, write: bool) -> Any:
    """Map an HTTP answer to its ``response`` payload or to the one error class that fits.

    The single place where status codes and i'mport's ``code`` are classified.
    """
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    message = (body.get("message") if isinstance(body, dict) else None) or ""
    if status == 401:
        raise IamportAuthError(message or "access refused", code=code, http_status=status)
    if status == 404:
        raise IamportNotFound(message or "not found", code=code, http_status=status)
    if status == 504 and write:
        raise IamportOutcomeUnknown("i'mport's gateway timed out", code=code, http_status=status)
    if status >= 500:
        raise IamportUnavailable(message or "i'mport failed on its side", code=code, http_status=status)
    if not isinstance(body, dict) or not isinstance(code, int):
        if write and 200 <= status < 300:
            raise IamportOutcomeUnknown("i'mport's answer could not be read", http_status=status)
        raise IamportUnavailable("i'mport's answer could not be read", http_status=status)
    if code != 0:
        raise IamportRefused(message or "refused", code=code, http_status=status)
    if status >= 400:
        raise IamportRefused(message or "refused", code=code, http_status=status)
    return body.get("response")


def _message_of(response: requests.Response) -> str:
    try:
        return response.json().get("message") or ""
    except (ValueError, AttributeError):
        return ""


def _code_of(response: requests.Response) -> int | None:
    try:
        return response.json().get("code")
    except (ValueError, AttributeError):
        return None
