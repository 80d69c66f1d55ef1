"""A requests transport adapter that serves requests from a WSGI app in-process."""

from __future__ import annotations

import http.client
import io
import threading
import typing as t
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

import requests
import urllib3
from flask import Flask
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.cookies import extract_cookies_to_jar
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

from .models import Faults
from .provider import SandboxProvider
from .registry import EXTENSION_KEY
from .views import create_sandbox_app

if t.TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment


class _OriginalResponse:
    """Stands in for the ``http.client.HTTPResponse`` urllib3 would wrap.

    requests reads cookies from its ``msg``; urllib3 may call ``close``.
    """

    def __init__(self, headers: Iterable[tuple[str, str]], method: str) -> None:
        self.msg = http.client.HTTPMessage()
        for key, value in headers:
            self.msg[key] = value
        self._method = method

    def close(self) -> None:
        pass

    def isclosed(self) -> bool:
        return True


def _read_timeout(timeout: object) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, tuple):
        read = t.cast(tuple[object, ...], timeout)[-1]
        return None if read is None else float(t.cast(float, read))
    if isinstance(timeout, urllib3.Timeout):
        value = timeout.read_timeout
        return float(value) if isinstance(value, (int, float)) else None
    return float(t.cast(float, timeout))


def _body_bytes(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    read = getattr(body, "read", None)
    if callable(read):
        return _body_bytes(read())
    if isinstance(body, Iterable):
        return b"".join(_body_bytes(chunk) for chunk in t.cast(Iterable[object], body))
    raise TypeError(f"Cannot send a request body of type {type(body).__name__}.")


class SandboxTransport(BaseAdapter):
    """A :mod:`requests` transport adapter that calls a WSGI app in-process.

    Mount it on a session for the provider's base URLs; requests to them never
    open a socket, so the sandbox works inside the app that calls it, even
    under a single-threaded WSGI server::

        transport = SandboxTransport(provider)
        session = requests.Session()
        session.mount("https://openapi.rocketpunch.com/", transport)

    Each request runs in a short-lived worker thread so that a read timeout
    is honoured: if the app takes longer (see :attr:`Faults.token_delay`),
    :exc:`requests.ReadTimeout` is raised. Safe to share between threads.

    :param app: A :class:`~flask_rocketpunch.sandbox.SandboxProvider` (served
        with :func:`~flask_rocketpunch.sandbox.create_sandbox_app`) or any
        WSGI app, e.g. a Flask app with the sandbox blueprint mounted.
    :param faults: The fault switches to honour (``connect_refused`` raises
        :exc:`requests.ConnectionError`, ``timeout`` raises
        :exc:`requests.ReadTimeout`). Found automatically for a provider, or a
        Flask app with exactly one sandbox blueprint registered.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        app: WSGIApplication | SandboxProvider,
        *,
        faults: Faults | None = None,
    ) -> None:
        super().__init__()
        if isinstance(app, SandboxProvider):
            if faults is None:
                faults = app.faults
            app = create_sandbox_app(app)
        elif faults is None and isinstance(app, Flask):
            providers = app.extensions.get(EXTENSION_KEY, {})
            if len(providers) == 1:
                faults = next(iter(providers.values())).faults
        #: The WSGI application requests are sent to.
        self.app: WSGIApplication = app
        #: The fault switches honoured before calling the app, if any.
        self.faults = faults

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Serve a prepared request with the WSGI app.

        :param request: The prepared request.
        :param stream: Accepted for compatibility; the body is buffered and
            can still be read with ``iter_content``.
        :param timeout: The read part limits how long the app may take.
        :param verify: Ignored, there is no TLS.
        :param cert: Ignored, there is no TLS.
        :param proxies: Ignored, there is no network.
        :raise requests.ConnectionError: The ``connect_refused`` fault is on.
        :raise requests.ReadTimeout: The ``timeout`` fault is on, or the app
            took longer than the read timeout.
        """
        if self.faults is not None and self.faults.connect_refused:
            raise requests.ConnectionError(
                "Connection refused (sandbox fault connect_refused).", request=request
            )
        if self.faults is not None and self.faults.timeout:
            raise requests.ReadTimeout(
                "Read timed out (sandbox fault timeout).", request=request
            )
        environ = self._environ(request)
        outcome: dict[str, object] = {}

        def call_app() -> None:
            try:
                app_iter, status, headers = run_wsgi_app(
                    self.app, environ, buffered=True
                )
                outcome["result"] = (status, headers, b"".join(app_iter))
            except BaseException as error:  # re-raised in the caller's thread
                outcome["error"] = error

        worker = threading.Thread(
            target=call_app, name="rocketpunch-sandbox-transport", daemon=True
        )
        read_timeout = _read_timeout(timeout)
        worker.start()
        worker.join(read_timeout)
        if worker.is_alive():
            raise requests.ReadTimeout(
                f"The sandbox did not answer within {read_timeout} seconds.",
                request=request,
            )
        if "error" in outcome:
            raise t.cast(BaseException, outcome["error"])
        status, headers, body = t.cast(tuple[str, Headers, bytes], outcome["result"])
        return self._build_response(request, status, headers, body)

    def close(self) -> None:
        """Nothing to release: there are no connections."""

    @staticmethod
    def _environ(request: requests.PreparedRequest) -> WSGIEnvironment:
        url = urlsplit(request.url or "/")
        headers = Headers()
        for key, value in request.headers.items():
            if key.lower() in ("content-length", "transfer-encoding", "host"):
                continue
            text = value.decode("latin-1") if isinstance(value, bytes) else value
            headers.add(key, text)
        data = _body_bytes(request.body)
        builder = EnvironBuilder(
            path=url.path or "/",
            base_url=f"{url.scheme}://{url.netloc}",
            query_string=url.query,
            method=request.method or "GET",
            headers=headers,
            data=data,
            content_length=len(data),
        )
        try:
            return builder.get_environ()
        finally:
            builder.close()

    def _build_response(
        self,
        request: requests.PreparedRequest,
        status: str,
        headers: Headers,
        body: bytes,
    ) -> requests.Response:
        code, _, reason = status.partition(" ")
        items = [
            (key, value)
            for key, value in headers.to_wsgi_list()
            if key.lower() != "transfer-encoding"
        ]
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(body),
            headers=urllib3.HTTPHeaderDict(items),
            status=int(code),
            reason=reason,
            preload_content=False,
            decode_content=True,
            original_response=t.cast(
                http.client.HTTPResponse,
                _OriginalResponse(items, request.method or "GET"),
            ),
            request_method=request.method,
            request_url=request.url,
        )
        response = requests.Response()
        response.status_code = int(code)
        response.reason = reason
        response.headers = CaseInsensitiveDict(dict(raw.headers.items()))
        response.raw = raw
        response.url = request.url or ""
        response.request = request
        response.encoding = get_encoding_from_headers(response.headers)
        # requests types ``connection`` as its HTTPAdapter; any adapter works.
        response.connection = t.cast(HTTPAdapter, self)
        extract_cookies_to_jar(response.cookies, request, raw)  # type: ignore[no-untyped-call]
        return response
