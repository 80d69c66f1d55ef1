"""The sandbox provider's HTTP edge: a blueprint and a standalone app.

The views are plain module-level functions. Each finds the provider it
serves with :func:`~.registry.current_provider`, by the name its blueprint
was registered under, so one app can mount several sandboxes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Blueprint, Flask, request, url_for
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from ..i18n import N_
from . import api_dispatch, api_views
from .clientauth import client_credentials
from .errors import (
    APIError,
    AuthorizationError,
    InvalidAuthorizationRequest,
    TokenError,
)
from .models import AuthorizationRequest, TokenResponse
from .pictures import picture_url
from .provider import SandboxProvider
from .ratelimit import RateLimitExceeded
from .registry import current_provider, remember
from .responses import (
    NO_STORE,
    api_error_response,
    error_page,
    html_response,
    json_response,
    oauth_error_response,
    redirect_response,
    token_error_response,
)

#: Size of the body the ``token_huge`` fault answers with.
HUGE_BODY_SIZE = 5 * 1024 * 1024

#: The cookie that keeps a user signed in to the sandbox in a browser, as a
#: Rocketpunch login session would; scoped to the sandbox's own path.
SIGNED_IN_COOKIE = "rocketpunch_sandbox_user"

_RECORD_KEY = "flask_rocketpunch.sandbox.record"
#: The endpoints a browser opens: the ``timeout`` fault never delays them,
#: it stands for a back channel that does not answer.
_BROWSER_ENDPOINTS = frozenset({"authorize"})
_FORM_FIELDS = frozenset({"decision", "user", "consent_token"})
_OAUTH_FAULT_ERRORS = {
    400: "invalid_request",
    401: "invalid_client",
    403: "unauthorized_client",
    503: "temporarily_unavailable",
}
_NOT_REDIRECTED = N_(
    "This error is not sent back to the application, because its identity or"
    " redirect URI could not be trusted. If you develop it, check the client id"
    " and that the redirect URI registered with the sandbox matches the one sent,"
    " character for character."
)


def first_values(data: MultiDict[str, str]) -> dict[str, str]:
    """The first value of each parameter.

    :param data: Query or form parameters.
    """
    return {key: values[0] for key, values in data.lists() if values}


def duplicated(data: MultiDict[str, str]) -> list[str]:
    """The names of parameters sent more than once.

    :param data: Query or form parameters.
    """
    return [key for key, values in data.lists() if len(values) > 1]


# -- request recording ----------------------------------------------------------


def record_request() -> None:
    """Record the request with the provider; sleep before a back-channel
    endpoint (token, revocation, userinfo, API) if the ``timeout`` fault is
    on."""
    endpoint = (request.endpoint or "").rpartition(".")[2]
    if endpoint == "static":
        return
    endpoint = api_dispatch.RECORDED_AS.get(endpoint, endpoint)
    provider = current_provider()
    params = first_values(request.args)
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        params.update(first_values(request.form))
    request.environ[_RECORD_KEY] = provider.record(
        endpoint, request.method, request.path, params, dict(request.headers)
    )
    if provider.faults.timeout and endpoint not in _BROWSER_ENDPOINTS:
        time.sleep(provider.faults.timeout_delay)


def record_status(response: Response) -> Response:
    """Attach the response status to the recorded request."""
    index = request.environ.get(_RECORD_KEY)
    if isinstance(index, int):
        current_provider().record_status(index, response.status_code)
    return response


# -- authorization endpoint -----------------------------------------------------


def authorize() -> Response:
    """``GET|POST /oauth/authorize``: the consent page, and its decision."""
    provider = current_provider()
    # The consent form's own fields are never part of the request.
    data = request.args if request.method == "GET" else request.form
    params = {k: v for k, v in first_values(data).items() if k not in _FORM_FIELDS}
    repeated = [k for k in duplicated(data) if k not in _FORM_FIELDS]
    try:
        auth_request = provider.validate_authorization_request(
            params, duplicated=repeated, url_root=request.url_root
        )
    except InvalidAuthorizationRequest as error:
        return error_page(
            error.title, error.template, _NOT_REDIRECTED, values=error.values
        )
    except AuthorizationError as error:
        return redirect_response(error.location)
    if request.method == "POST":
        return _decide(provider, auth_request)
    signed_in = provider.signed_in_user(request.cookies.get(SIGNED_IN_COOKIE))
    if signed_in is not None and provider.consent_covers(auth_request, signed_in):
        # A consent already covers these scopes: no page, as Rocketpunch does.
        return redirect_response(
            provider.approve(auth_request.params, signed_in, url_root=request.url_root)
        )
    return _consent_page(provider, auth_request, signed_in)


def _consent_page(
    provider: SandboxProvider,
    auth_request: AuthorizationRequest,
    signed_in: str | None,
) -> Response:
    descriptions = provider.scopes_supported
    reserved = provider.flavor_spec.owner_only_scopes
    owners = auth_request.client.owners
    checked = signed_in or provider.users[0].sub
    return html_response(
        "consent.html",
        client=auth_request.client,
        flavor=provider.flavor,
        scopes=[(s, descriptions[s], s in reserved) for s in auth_request.scopes],
        owner_only=[s for s in auth_request.scopes if s in reserved],
        users=[
            (user, picture_url(provider, user), user.sub in owners)
            for user in provider.users
        ],
        checked=checked,
        params=sorted(auth_request.params.items()),
        consent_token=provider.consent_token(auth_request.params),
    )


def _cookie_path() -> str:
    # The sandbox's own root, e.g. "/_rocketpunch_sandbox" inside an app.
    return url_for(".authorize").removesuffix("/oauth/authorize") or "/"


def _signed_in(response: Response, provider: SandboxProvider, sub: str) -> Response:
    response.set_cookie(
        SIGNED_IN_COOKIE,
        provider.signed_in_cookie(sub),
        path=_cookie_path(),
        httponly=True,
        secure=request.is_secure,
        samesite="Lax",
    )
    return response


def _decide(provider: SandboxProvider, auth_request: AuthorizationRequest) -> Response:
    params = auth_request.params
    token = request.form.get("consent_token", "")
    if not provider.check_consent_token(params, token):
        return error_page(
            N_("Consent form rejected"),
            N_(
                "The consent form expired or was not served by this sandbox."
                " Start the login again from the application."
            ),
        )
    decision = request.form.get("decision")
    if decision == "deny":
        return redirect_response(provider.deny(params, url_root=request.url_root))
    if decision != "approve":
        return error_page(N_("No decision"), N_("Choose Approve or Deny."))
    account = provider.get_user(request.form.get("user", ""))
    if account is None:
        return error_page(N_("No user chosen"), N_("Choose one of the sample users."))
    try:
        location = provider.approve(params, account.sub, url_root=request.url_root)
    except AuthorizationError as error:
        # Owner-only scopes asked by someone who does not own the app.
        location = error.location
    return _signed_in(redirect_response(location), provider, account.sub)


# -- token and revocation endpoints ---------------------------------------------


def token() -> Response:
    """``POST /oauth/token``: the code and refresh grants, with their faults."""
    provider = current_provider()
    faults = provider.faults
    if faults.token_delay > 0:
        time.sleep(faults.token_delay)
    if faults.token_rate_limit_retry_after is not None:
        limited = provider.rate_limited(faults.token_rate_limit_retry_after)
        return api_error_response(provider, limited)
    if faults.token_status == 429:
        return api_error_response(provider, provider.rate_limited(1))
    if faults.token_status is not None:
        return _token_fault(faults.token_status)
    repeated = duplicated(request.form)
    if repeated:
        return oauth_error_response(
            "invalid_request",
            f"Parameters must not be repeated: {', '.join(repeated)}.",
        )
    form = first_values(request.form)
    authorization = request.headers.get("Authorization")
    try:
        issued = provider.token_request(form, authorization)
    except TokenError as error:
        return token_error_response(error)
    except RateLimitExceeded as error:
        return api_error_response(provider, error)
    response = _token_response(provider, issued)
    client_id = client_credentials(form, authorization)[0]
    response.headers.update(provider.rate_limit_left(client_id))
    return response


def _token_fault(status: int) -> Response:
    return oauth_error_response(
        _OAUTH_FAULT_ERRORS.get(status, "server_error"),
        f"The sandbox answered {status} (fault).",
        status,
        {"Retry-After": "1"} if status == 429 else None,
    )


def _token_response(provider: SandboxProvider, issued: TokenResponse) -> Response:
    faults = provider.faults
    if faults.token_malformed:
        response = Response(
            "Service temporarily unavailable", 200, mimetype="application/json"
        )
        response.headers.update(NO_STORE)
        return response
    body: dict[str, object] = dict(issued)
    for field in faults.token_missing_fields:
        body.pop(field, None)
    if faults.token_type_override is not None:
        body["token_type"] = faults.token_type_override
    if faults.token_huge:
        body["padding"] = "x" * HUGE_BODY_SIZE
    response = json_response(body, 200, NO_STORE)
    if faults.token_wrong_content_type:
        response.headers["Content-Type"] = "text/html; charset=utf-8"
    return response


def revoke() -> Response:
    """``POST /oauth/revoke``: RFC 7009 revocation (not in the guide)."""
    provider = current_provider()
    if not provider.flavor_spec.revocation:
        return api_views.not_found()
    form = first_values(request.form)
    authorization = request.headers.get("Authorization")
    try:
        provider.revoke_request(form, authorization)
    except TokenError as error:
        if error.status == 400 and provider.flavor_spec.coded_errors:
            invalid = APIError(400, "C0002", error.description, details="token")
            return api_error_response(provider, invalid)
        return token_error_response(error)
    except RateLimitExceeded as error:
        return api_error_response(provider, error)
    response = Response(b"", 200)
    response.headers.update(NO_STORE)
    response.headers.update(
        provider.rate_limit_left(client_credentials(form, authorization)[0])
    )
    return response


def metadata() -> Response:
    """``GET /.well-known/oauth-authorization-server`` (RFC 8414)."""
    provider = current_provider()
    if not provider.flavor_spec.metadata:
        return api_views.not_found()
    authorize_url = url_for(".authorize", _external=True)
    public_url = provider.public_url
    return json_response(
        {
            "issuer": authorize_url.removesuffix("/oauth/authorize"),
            "authorization_endpoint": (
                authorize_url
                if public_url is None
                else f"{public_url.rstrip('/')}/oauth/authorize"
            ),
            "token_endpoint": url_for(".token", _external=True),
            "revocation_endpoint": url_for(".revoke", _external=True),
            "userinfo_endpoint": url_for(".userinfo", _external=True),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": list(provider.scopes_supported),
        }
    )


def userinfo() -> Response:
    """``GET /oauth/userinfo`` (not in the guide, which has its profile)."""
    if not current_provider().flavor_spec.serves_userinfo:
        return api_views.not_found()
    return api_views.userinfo()


# -- the blueprint --------------------------------------------------------------

_API_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
_ROUTES: tuple[tuple[str, Callable[..., Response], list[str]], ...] = (
    ("/oauth/authorize", authorize, ["GET", "POST"]),
    ("/oauth/token", token, ["POST"]),
    ("/oauth/revoke", revoke, ["POST"]),
    ("/.well-known/oauth-authorization-server", metadata, ["GET"]),
    ("/oauth/userinfo", userinfo, ["GET"]),
    ("/api/v1/profiles/me", api_views.profile, ["GET"]),
    *api_dispatch.api_routes(),
    ("/api/v1/<path:rest>", api_views.api_not_found, _API_METHODS),
)


def create_sandbox_blueprint(
    provider: SandboxProvider, name: str = "rocketpunch_sandbox"
) -> Blueprint:
    """Create a blueprint serving every sandbox endpoint for ``provider``.

    Mount it in any Flask app, under any ``url_prefix``; it needs nothing from
    the host app's configuration, session or cookies::

        app.register_blueprint(
            create_sandbox_blueprint(provider), url_prefix="/_rocketpunch_sandbox"
        )

    Routes, relative to the prefix: ``GET|POST /oauth/authorize``,
    ``POST /oauth/token``, ``POST /oauth/revoke``, ``GET /oauth/userinfo``,
    ``GET /.well-known/oauth-authorization-server`` (current flavor),
    ``GET /api/v1/profiles/me`` (guide flavor), every ``/api/v1`` operation
    of Rocketpunch's OpenAPI description (current flavor; the guide flavor
    serves ``GET|POST /api/v1/posts`` and ``GET
    /api/v1/me/company-permissions`` of them) and ``/static/<filename>``.

    Registering it stores the provider in
    ``app.extensions["rocketpunch_sandbox"][name]``, where its views and
    :class:`~flask_rocketpunch.sandbox.SandboxTransport` find it.

    :param provider: The provider whose state the routes use.
    :param name: The blueprint name; endpoints are ``<name>.<endpoint>``.

    .. versionadded:: 0.1
    """
    bp = Blueprint(
        name,
        __name__,
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    )
    bp.record(remember(provider))
    bp.before_request(record_request)
    bp.after_request(record_status)
    for rule, view, methods in _ROUTES:
        # OPTIONS on an API path is the catch-all's 405, as on Rocketpunch.
        automatic = not rule.startswith("/api/")
        bp.add_url_rule(
            rule,
            view.__name__,
            view,
            methods=methods,
            provide_automatic_options=automatic,
        )
    return bp


def create_sandbox_app(provider: SandboxProvider | None = None) -> Flask:
    """Create a standalone Flask app serving the sandbox at the root.

    :param provider: The provider to serve; a new current-flavor provider
        with no registered client when not given (``app.extensions
        ["rocketpunch_sandbox"]["rocketpunch_sandbox"]`` holds it).

    .. versionadded:: 0.1
    """
    if provider is None:
        provider = SandboxProvider()
    app = Flask(__name__, static_folder=None, template_folder=None)
    app.register_blueprint(create_sandbox_blueprint(provider))
    return app
