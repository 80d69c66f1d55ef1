"""HTTP calls to the provider, shared by the flow and the API client:
bounded JSON reading, authenticated form posts, and one mapping of transport
failures to :class:`~flask_rocketpunch.ProviderError`."""

from __future__ import annotations

import collections.abc as cabc
import json
import logging
from urllib.parse import quote, urlsplit, urlunsplit

import requests

from .exceptions import ProviderError
from .settings import Settings

logger = logging.getLogger("flask_rocketpunch")

#: The largest token endpoint answer read, in bytes.
MAX_RESPONSE_BYTES = 256 * 1024


def describe(url: str) -> str:
    """``url`` without its query and fragment, for log lines."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def read_json(response: requests.Response, what: str) -> object:
    """Read a JSON answer of at most :data:`MAX_RESPONSE_BYTES`.

    :raises ProviderError: too large, not a JSON content type, or not JSON.
    """
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(65536):
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise ProviderError(
                f"{what} sent an answer larger than {MAX_RESPONSE_BYTES} bytes;"
                " it was not read. Check the configured URL.",
                reason="invalid_response",
                status_code=response.status_code,
            )
        chunks.append(chunk)
    body = b"".join(chunks)
    ctype = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    is_json_type = ctype == "application/json" or (
        ctype.startswith("application/") and ctype.endswith("+json")
    )
    if not is_json_type:
        raise ProviderError(
            f"{what} answered HTTP {response.status_code} with content type"
            f" {ctype or 'none'!r} instead of JSON. Check the configured URL.",
            reason="invalid_response",
            status_code=response.status_code,
        )
    try:
        return json.loads(body)
    except ValueError:
        raise ProviderError(
            f"{what} answered HTTP {response.status_code} with a body that is not"
            " valid JSON. Check the configured URL, or try again later.",
            reason="invalid_response",
            status_code=response.status_code,
        ) from None


def _client_auth(
    settings: Settings, data: dict[str, str]
) -> tuple[dict[str, str], tuple[str, str] | None]:
    if settings.client_auth == "client_secret_basic":
        # RFC 6749 section 2.3.1: form-encode each part before Basic.
        user = quote(settings.client_id, safe="")
        password = quote(settings.client_secret, safe="")
        return data, (user, password)
    return {
        **data,
        "client_id": settings.client_id,
        "client_secret": settings.client_secret,
    }, None


def post_form(
    http: requests.Session,
    settings: Settings,
    url: str,
    data: dict[str, str],
    *,
    what: str,
    headers: cabc.Mapping[str, str] | None = None,
) -> requests.Response:
    """POST an authenticated form to one of the provider's endpoints.

    :param headers: more headers to send, such as ``Accept-Language``.
    :raises ProviderError: if the provider cannot be reached or is too slow.
    """
    body, auth = _client_auth(settings, data)
    try:
        return http.post(
            url,
            data=body,
            auth=auth,
            timeout=settings.timeout,
            headers={"Accept": "application/json", **(headers or {})},
            allow_redirects=False,
            stream=True,
        )
    except requests.RequestException as exc:
        raise unreachable(exc, what, url, settings.timeout) from None


def unreachable(
    exc: requests.RequestException, what: str, url: str, timeout: object
) -> ProviderError:
    """The :class:`ProviderError` for a call to ``url`` that failed in
    transport (timeout or connection), logged without the URL's query.

    :param exc: what requests raised.
    :param what: the endpoint, for people ("Rocketpunch's token endpoint").
    :param url: the URL called.
    :param timeout: the timeout the call had.
    """
    if isinstance(exc, requests.Timeout):
        logger.warning("%s at %s did not answer in time.", what, describe(url))
        return ProviderError(
            f"{what} did not answer within {timeout} seconds. Try again later;"
            " if it persists, check ROCKETPUNCH_TIMEOUT and the network.",
            reason="timeout",
        )
    logger.warning(
        "%s at %s could not be reached (%s).", what, describe(url), type(exc).__name__
    )
    return ProviderError(
        f"{what} could not be reached. Try again later; if it persists, check"
        " the configured URL and the network.",
        reason="connection",
    )
