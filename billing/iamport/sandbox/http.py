"""The sandbox's HTTP layer: a request parsed as i'mport parses it, the envelope, and refusals.

Every answer, errors included, is ``{"code", "message", "response"}``; a ``Refusal`` carries the
HTTP status, i'mport code and message of an answer other than success. Bodies may be JSON or
form-encoded with PHP-style nested keys, as the real API accepts both.
"""

import json
import re
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, parse_qsl


class Refusal(Exception):
    """An answer other than success: HTTP status, i'mport code and message."""

    def __init__(self, status: int, code: int, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def bad_request(message: str) -> Refusal:
    return Refusal(HTTPStatus.BAD_REQUEST, -1, message)


class PartialAnswer(Refusal):
    """Some of the customer_uids asked for exist: HTTP 207 with what was found (code 0)."""

    def __init__(self, found: list[dict]):
        super().__init__(HTTPStatus.MULTI_STATUS, 0, "일부 customer_uid를 찾을 수 없습니다.")
        self.found = found


def envelope(response: Any, *, code: int = 0, message: str | None = None) -> dict:
    return {"code": code, "message": message, "response": response}


class Request:
    def __init__(self, environ: dict[str, Any]):
        self.method = str(environ.get("REQUEST_METHOD") or "GET").upper()
        self.path = environ.get("PATH_INFO") or "/"
        self.query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        self.authorization = environ.get("HTTP_AUTHORIZATION", "")
        self.token_header = environ.get("HTTP_X_IMPTOKENHEADER", "")
        self.content_type = environ.get("CONTENT_TYPE", "")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise bad_request("Content-Length가 올바르지 않습니다.") from None
        self.raw_body = environ["wsgi.input"].read(length) if length > 0 else b""
        self._body: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        """JSON or form-encoded (``schedules[0][merchant_uid]=...`` nests), as the real API accepts both."""
        if self._body is None:
            self._body = self._parse_body()
        return self._body

    def _parse_body(self) -> dict[str, Any]:
        if not self.raw_body.strip():
            return {}
        if "json" in self.content_type or self.raw_body.lstrip()[:1] in (b"{", b"["):
            try:
                data = json.loads(self.raw_body)
                json.dumps(data, ensure_ascii=False).encode()  # lone surrogates cannot be stored or shown
            except (ValueError, UnicodeError, RecursionError):
                raise bad_request("요청 본문의 JSON 형식이 올바르지 않습니다. (malformed JSON)") from None
            if not isinstance(data, dict):
                raise bad_request("요청 본문은 JSON 객체여야 합니다. (body must be an object)")
            return data
        try:
            pairs = parse_qsl(self.raw_body.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            raise bad_request("요청 본문을 읽을 수 없습니다. (undecodable body)") from None
        return _nest_form(pairs)


_FORM_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])+)")


def _nest_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """``a=1``, ``b[]=1&b[]=2``, ``s[0][x]=1`` (PHP/jQuery style) into plain dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _FORM_KEY.fullmatch(key)
        parts = [match[1], *re.findall(r"\[([^\[\]]*)\]", match[2])] if match else [key]
        node = root
        for index, part in enumerate(parts):
            name = part if part != "" else str(len(node))
            if index == len(parts) - 1:
                if isinstance(node.get(name), dict):
                    raise bad_request(f"{parts[0]} 파라미터의 형식이 올바르지 않습니다.")
                node[name] = value
            else:
                child = node.setdefault(name, {})
                if not isinstance(child, dict):
                    raise bad_request(f"{parts[0]} 파라미터의 형식이 올바르지 않습니다.")
                node = child
    return {key: _listify(value) for key, value in root.items()}


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    items = {key: _listify(item) for key, item in value.items()}
    if items and all(key.isdigit() for key in items):
        return [items[key] for key in sorted(items, key=int)]
    return items
