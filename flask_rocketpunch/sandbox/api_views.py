"""The sandbox's user-context API views: userinfo, the guide's profile, and
the sample ``/api/v1`` endpoints, each behind bearer authentication, the
rate limit and the fault switches."""

from __future__ import annotations

import json
import typing as t
from collections.abc import Callable

from flask import request
from werkzeug.wrappers import Response

from .errors import APIError
from .models import AccessToken
from .openapi import methods_of
from .pictures import picture_url
from .ratelimit import rate_limit_exceeded
from .registry import current_provider
from .responses import api_error_response, json_response


def api_call(
    handler: Callable[[AccessToken], object],
    *,
    fault: int | None = None,
    status: int = 200,
    operation: str | None = None,
) -> Response:
    """Authenticate the bearer, apply faults and the rate limit, then answer
    with what ``handler`` returns for the token, as JSON.

    :param handler: Makes the body from the authenticated access token.
    :param fault: A ``*_status`` fault to answer with instead, if on.
    :param status: The HTTP status of a success.
    :param operation: The OpenAPI ``operationId``, for its own rate limit.
    """
    provider = current_provider()
    try:
        if provider.faults.rate_limit_retry_after is not None:
            raise rate_limit_exceeded()
        token = provider.authenticate_bearer(request.headers.get("Authorization"))
        if fault is not None:
            raise provider.fault_error(fault)
        limits = provider.rate_limit(token.client_id, operation, token.user_sub)
        body = handler(token)
    except APIError as error:
        return api_error_response(provider, error)
    return json_response(body, status, limits)


def not_found() -> Response:
    """The flavor's 404 ``C0008``."""
    error = APIError(404, "C0008", "Resource not found.")
    return api_error_response(current_provider(), error)


def _claims() -> Response:
    provider = current_provider()
    return api_call(
        lambda token: provider.claims(token, lambda user: picture_url(provider, user)),
        fault=provider.faults.userinfo_status,
    )


def userinfo() -> Response:
    """``GET /oauth/userinfo``: the token's user, filtered by its scopes."""
    return _claims()


def profile() -> Response:
    """``GET /api/v1/profiles/me``: the same claims, in the guide flavor."""
    if not current_provider().flavor_spec.serves_profiles_me:
        return not_found()
    return _claims()


def posts() -> Response:
    """``GET /api/v1/posts`` (a page) and ``POST /api/v1/posts`` (create)."""
    provider = current_provider()
    fault = provider.faults.api_status
    if request.method == "POST":
        return api_call(_create_post, fault=fault, status=201, operation="createPost")
    try:
        page = int(request.args.get("page", "1"))
        page_size = int(request.args.get("pageSize", "20"))
    except ValueError:
        error = APIError(400, "C0005", "page and pageSize must be integers.")
        return api_error_response(provider, error)
    return api_call(lambda token: provider.list_posts(page, page_size), fault=fault)


def _create_post(token: AccessToken) -> object:
    text = _post_text()
    if text is None:
        raise APIError(400, "C0002", "request.text is required.", details="text")
    return current_provider().create_post(token, text)


def _post_text() -> str | None:
    """The ``text`` of a post: a JSON body, or a ``request`` JSON part of a
    form or multipart body, as the OpenAPI description allows."""
    data: object = request.get_json(silent=True)
    if data is None and "request" in request.form:
        try:
            data = json.loads(request.form["request"])
        except ValueError:
            return None
    if data is None and "request" in request.files:
        try:
            data = json.loads(request.files["request"].read())
        except ValueError:
            return None
    if isinstance(data, dict):
        text = t.cast(dict[str, object], data).get("text")
        if isinstance(text, str):
            return text
    return None


def company_permissions() -> Response:
    """``GET /api/v1/me/company-permissions``."""
    provider = current_provider()
    return api_call(provider.company_permissions, fault=provider.faults.api_status)


def api_not_found(rest: str) -> Response:
    """Any other ``/api/v1`` path or method: the flavor's 404, or in the
    current flavor a 405 with ``Allow`` for a path of the OpenAPI
    description called with a method it does not list."""
    provider = current_provider()
    allowed = methods_of(f"/api/v1/{rest}") if provider.flavor_spec.coded_errors else []
    if not allowed:
        return not_found()
    error = APIError(
        405,
        "C0002",
        f"{request.method} is not allowed here: use {', '.join(allowed)}.",
    )
    response = api_error_response(provider, error)
    response.headers["Allow"] = ", ".join(allowed)
    return response
