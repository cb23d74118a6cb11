"""Serve ``requests`` calls from the sandbox's WSGI app in-process: the client runs unchanged, no port."""

from typing import cast
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from .wsgi import call_app


class SandboxAdapter(BaseAdapter):
    def __init__(self, app):
        super().__init__()
        self.app = app

    def send(
        self,
        request: requests.PreparedRequest,
        stream=False,
        timeout=None,
        verify=True,
        cert=None,
        proxies=None,
    ) -> requests.Response:
        url = urlsplit(cast(str, request.url))  # a prepared request always has its url and method
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        status, headers, content = call_app(
            self.app,
            method=cast(str, request.method),
            target=request.path_url,
            headers=request.headers.items(),
            body=body,
            server=(url.hostname or "sandbox", url.port or 443),
            scheme=url.scheme,
        )
        response = requests.Response()
        response.status_code = int(status.split(" ", 1)[0])
        response.reason = status.split(" ", 1)[1]
        response.headers = CaseInsensitiveDict(headers)
        response._content = content
        response.encoding = "utf-8"
        response.url = cast(str, request.url)
        response.request = request
        return response

    def close(self) -> None:
        pass
