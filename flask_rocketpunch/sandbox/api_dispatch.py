"""Serve every ``/api/v1`` operation of the OpenAPI description.

One view per operation, made by :func:`operation_view` from the shipped
description: it checks the faults, the app key and bearer token the
operation's security asks for, counts the call against the rate limit,
checks the scope, converts and validates the parameters and body, and
hands a :class:`~.api_call.Call` to the operation's handler.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import request
from werkzeug.wrappers import Response

from . import api_codes, api_event_parts, api_events, api_jobs, api_posts, api_views
from .api_call import LANGUAGES, Call, Reply
from .api_request import read_body, read_parameters
from .errors import APIError, require_scope
from .models import AccessToken
from .openapi import Operation, api_operations
from .provider import SandboxProvider
from .ratelimit import rate_limit_exceeded
from .registry import current_provider
from .responses import api_error_response, json_response

#: The header carrying the app key (the client id).
APP_KEY_HEADER = "X-RP-API-Key"

#: Every operation's handler, by ``operationId``.
HANDLERS: Mapping[str, Callable[[Call], Reply]] = {
    **api_posts.HANDLERS,
    **api_jobs.HANDLERS,
    **api_events.HANDLERS,
    **api_event_parts.HANDLERS,
    **api_codes.HANDLERS,
}

#: Operations recorded under the names the sandbox gave them before it
#: served the whole description (:meth:`SandboxProvider.requests_to`);
#: every other operation is recorded under its ``operationId``.
RECORDED_AS: Mapping[str, str] = {
    "searchPosts": "posts",
    "createPost": "posts",
    "getMyCompanyPermissions": "company_permissions",
}

#: What the guide flavor serves of ``/api/v1`` (the rest is its 404).
_GUIDE_VIEWS: Mapping[str, Callable[[], Response]] = {
    "searchPosts": api_views.posts,
    "createPost": api_views.posts,
    "getMyCompanyPermissions": api_views.company_permissions,
}


def _invalid_key(message: str) -> APIError:
    return APIError(401, "C0001", message, details=APP_KEY_HEADER)


def authenticate(
    provider: SandboxProvider, operation: Operation
) -> tuple[str, AccessToken | None]:
    """The app key and bearer token of the request, as the operation needs.

    Public reads need the app key; a bearer token beside it is optional
    (it makes ``owned`` true on the user's posts). User operations need both,
    and the key must be the token's client id.

    :param provider: The provider answering.
    :param operation: The operation called.
    :raise APIError: 401 ``C0001``.
    """
    authorization = request.headers.get("Authorization")
    token = None
    if operation.user or (authorization or "").lower().startswith("bearer"):
        token = provider.authenticate_bearer(authorization)
    key = request.headers.get(APP_KEY_HEADER)
    if not key:
        if provider.require_app_key or token is None:
            raise _invalid_key(
                f"The {APP_KEY_HEADER} header (your App Key) is required."
            )
        return token.client_id, token
    if provider.get_client(key) is None:
        raise _invalid_key(f"The {APP_KEY_HEADER} header is not a registered App Key.")
    if token is not None and token.client_id != key:
        raise _invalid_key(
            f"The {APP_KEY_HEADER} header is not the App Key of the access token's app."
        )
    return key, token


def _serve(
    provider: SandboxProvider, operation: Operation, path: Mapping[str, str]
) -> Response:
    faults = provider.faults
    if faults.rate_limit_retry_after is not None:
        raise rate_limit_exceeded()
    app_key, token = authenticate(provider, operation)
    if faults.api_status is not None:
        raise provider.fault_error(faults.api_status)
    user = token.user_sub if token is not None else None
    limits = provider.rate_limit(app_key, operation.operation_id, user)
    if operation.scope is not None and token is not None:
        require_scope(token, operation.scope)
    params = read_parameters(operation, request, path)
    body, files = read_body(operation, request)
    language = request.accept_languages.best_match(LANGUAGES, default="ko")
    call = Call(
        operation, provider.catalog, app_key, token, params, body, files, language
    )
    status, payload = HANDLERS[operation.operation_id](call)
    response = Response(status=204) if status == 204 else json_response(payload, status)
    response.headers.update(limits)
    return response


def operation_view(operation: Operation) -> Callable[..., Response]:
    """The view serving one operation.

    :param operation: The operation.
    """

    def view(**path: str) -> Response:
        provider = current_provider()
        if not provider.flavor_spec.coded_errors:
            return _GUIDE_VIEWS.get(operation.operation_id, api_views.not_found)()
        try:
            return _serve(provider, operation, path)
        except APIError as error:
            return api_error_response(provider, error)

    view.__name__ = operation.operation_id
    view.__doc__ = (
        f"``{operation.method} {operation.path}`` ({operation.operation_id})."
    )
    return view


def api_routes() -> list[tuple[str, Callable[..., Response], list[str]]]:
    """``(rule, view, methods)`` for every operation of the description."""
    return [(op.rule, operation_view(op), [op.method]) for op in api_operations()]
