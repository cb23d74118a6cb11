"""``POST /users/getToken`` and the token check every other API call goes through.

One token is live at a time, as at i'mport: asked again it is the same token; asked in its last
minute it is extended. Authentication accepts ``Authorization: Bearer``, the bare token, or the
older ``X-ImpTokenHeader``.
"""

import secrets
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING

from .http import Refusal, Request
from .store import Store

if TYPE_CHECKING:
    from .faults import Faults  # imports .tokens: at run time, a cycle

TOKEN_LIFETIME = 30 * 60
TOKEN_EXTENSION = 5 * 60
TOKEN_LAST_MINUTE = 60


class TokenHandlers:
    """Mixed into ``SandboxApp``, whose ``store``, credentials, ``faults`` and clock it uses."""

    store: Store
    faults: "Faults"
    imp_key: str
    imp_secret: str
    now: Callable[[], int]

    def get_token(self, request: Request) -> dict:
        body = request.body()
        if body.get("imp_key") != self.imp_key or body.get("imp_secret") != self.imp_secret:
            raise Refusal(HTTPStatus.UNAUTHORIZED, -1, "imp_key, imp_secret 정보가 올바르지 않습니다.")
        now = self.now()
        ttl = self.faults.token_ttl
        # A shortened lifetime (the token_ttl fault) shortens the last-minute window and the extension too.
        last_minute, extension = min(TOKEN_LAST_MINUTE, ttl // 2), min(TOKEN_EXTENSION, ttl)
        with self.store.write_lock:
            rows = self.store.query("SELECT token, expired_at FROM tokens WHERE expired_at > ? LIMIT 1", now)
            if rows:
                token, expired_at = rows[0]
                if expired_at - now <= last_minute:
                    expired_at += extension  # asked in its last minute: extended, as i'mport does
                    self.store.execute("UPDATE tokens SET expired_at = ? WHERE token = ?", expired_at, token)
            else:
                token, expired_at = secrets.token_hex(20), now + ttl
                self.store.execute("DELETE FROM tokens WHERE expired_at <= ?", now)
                self.store.execute("INSERT INTO tokens (token, expired_at) VALUES (?, ?)", token, expired_at)
        return {"access_token": token, "now": now, "expired_at": expired_at}

    def _authenticate(self, request: Request) -> None:
        """``Authorization: Bearer <token>``, the bare token, or the older ``X-ImpTokenHeader``."""
        header = request.authorization.strip()
        if header[:7].lower() == "bearer ":
            header = header[7:].strip()
        token = header or request.token_header.strip()
        rows = self.store.query("SELECT expired_at FROM tokens WHERE token = ?", token) if token else []
        if not rows or rows[0][0] <= self.now():
            raise Refusal(HTTPStatus.UNAUTHORIZED, -1, "Unauthorized")
