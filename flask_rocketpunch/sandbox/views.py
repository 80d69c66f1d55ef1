"""The sandbox provider's HTTP edge: a blueprint and a standalone app."""

from __future__ import annotations

import json
import time
import typing as t
from collections.abc import Callable, Mapping
from urllib.parse import quote

from flask import Blueprint, Flask, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from werkzeug.datastructures import MultiDict
from werkzeug.utils import redirect
from werkzeug.wrappers import Response

from .errors import (
    APIError,
    AuthorizationError,
    InvalidAuthorizationRequest,
    TokenError,
)
from .models import AccessToken, AuthorizationRequest
from .provider import SandboxProvider
from .users import SandboxUser

#: Size of the body the ``token_huge`` fault answers with.
HUGE_BODY_SIZE = 5 * 1024 * 1024

EXTENSION_KEY = "rocketpunch_sandbox"
"""``app.extensions[EXTENSION_KEY]`` maps blueprint names to their providers."""

_RECORD_KEY = "flask_rocketpunch.sandbox.record"
_FORM_FIELDS = frozenset({"decision", "user", "consent_token"})
_OAUTH_FAULT_ERRORS = {
    400: "invalid_request",
    401: "invalid_client",
    403: "unauthorized_client",
    503: "temporarily_unavailable",
}
_NOT_REDIRECTED = (
    "This error is not sent back to the application, because its identity or"
    " redirect URI could not be trusted. If you develop it, check the client id"
    " and that the redirect URI registered with the sandbox matches the one sent,"
    " character for character."
)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_HTML_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
}


def _json(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    # Serialised here, not with the host app's JSON provider: the sandbox must
    # not depend on the configuration of the app it is mounted in.
    response = Response(
        json.dumps(body, ensure_ascii=False), status, mimetype="application/json"
    )
    response.headers.update(headers or {})
    return response


def _first_values(data: MultiDict[str, str]) -> dict[str, str]:
    return {key: values[0] for key, values in data.lists() if values}


def _duplicated(data: MultiDict[str, str]) -> list[str]:
    return [key for key, values in data.lists() if len(values) > 1]


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
    ``GET /api/v1/profiles/me`` (guide flavor), ``GET|POST /api/v1/posts``,
    ``GET /api/v1/me/company-permissions`` and ``/static/<filename>``.

    Registering it stores the provider in
    ``app.extensions["rocketpunch_sandbox"][name]``, where
    :class:`~flask_rocketpunch.sandbox.SandboxTransport` finds it.

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

    @bp.record_once
    def remember_provider(state: BlueprintSetupState) -> None:
        state.app.extensions.setdefault(EXTENSION_KEY, {})[name] = provider

    @bp.before_request
    def record_request() -> None:
        endpoint = (request.endpoint or "").rpartition(".")[2]
        if endpoint == "static":
            return
        params = _first_values(request.args)
        if request.mimetype in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            params.update(_first_values(request.form))
        request.environ[_RECORD_KEY] = provider.record(
            endpoint, request.method, request.path, params, dict(request.headers)
        )
        if provider.faults.timeout:
            time.sleep(provider.faults.timeout_delay)

    @bp.after_request
    def record_status(response: Response) -> Response:
        index = request.environ.get(_RECORD_KEY)
        if isinstance(index, int):
            provider.record_status(index, response.status_code)
        return response

    # -- helpers -------------------------------------------------------------

    def html(template: str, status: int = 200, **context: object) -> Response:
        body = render_template(f"rocketpunch_sandbox/{template}", **context)
        response = Response(body, status, mimetype="text/html")
        response.headers.update(_HTML_HEADERS)
        return response

    def error_page(title: str, message: str, hint: str | None = None) -> Response:
        return html("error.html", 400, title=title, message=message, hint=hint)

    def redirect_to(location: str) -> Response:
        response = redirect(location, 302)
        response.headers.update(_HTML_HEADERS)
        return response

    def picture_url(user: SandboxUser) -> str | None:
        if user.picture is not None:
            return user.picture
        if user.avatar is None:
            return None
        if provider.public_url is not None:
            return f"{provider.public_url.rstrip('/')}/static/{quote(user.avatar)}"
        return url_for(".static", filename=user.avatar, _external=True)

    def oauth_error(error: TokenError) -> Response:
        headers = dict(_NO_STORE)
        if error.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="rocketpunch"'
        body = {"error": error.error, "error_description": error.description}
        return _json(body, error.status, headers)

    def api_error(error: APIError) -> Response:
        headers: dict[str, str] = {}
        if error.www_authenticate is not None:
            headers["WWW-Authenticate"] = error.www_authenticate
        if error.status == 429:
            retry = provider.faults.rate_limit_retry_after
            headers["Retry-After"] = str(
                retry if retry is not None else provider.retry_after()
            )
            headers["X-RP-RateLimit-Remaining"] = "0"
        return _json(provider.error_body(error), error.status, headers)

    def api_call(
        handler: Callable[[AccessToken], object],
        *,
        fault: int | None = None,
        status: int = 200,
    ) -> Response:
        try:
            if provider.faults.rate_limit_retry_after is not None:
                raise APIError(429, "C0010", "Rate limit exceeded.")
            token = provider.authenticate_bearer(request.headers.get("Authorization"))
            if fault is not None:
                raise provider.fault_error(fault)
            remaining = provider.count_api_call(token.client_id)
            body = handler(token)
        except APIError as error:
            return api_error(error)
        return _json(body, status, {"X-RP-RateLimit-Remaining": str(remaining)})

    def not_found() -> Response:
        return api_error(APIError(404, "C0008", "Resource not found."))

    # -- authorization endpoint ------------------------------------------------

    @bp.route("/oauth/authorize", methods=["GET", "POST"])
    def authorize() -> Response:
        # The consent form's own fields are never part of the request.
        data = request.args if request.method == "GET" else request.form
        params = {k: v for k, v in _first_values(data).items() if k not in _FORM_FIELDS}
        duplicated = [k for k in _duplicated(data) if k not in _FORM_FIELDS]
        try:
            auth_request = provider.validate_authorization_request(
                params, duplicated=duplicated
            )
        except InvalidAuthorizationRequest as error:
            return error_page(error.title, error.message, _NOT_REDIRECTED)
        except AuthorizationError as error:
            return redirect_to(error.location)
        if request.method == "GET":
            return consent_page(auth_request)
        return decide(auth_request)

    def consent_page(auth_request: AuthorizationRequest) -> Response:
        descriptions = provider.scopes_supported
        return html(
            "consent.html",
            client=auth_request.client,
            flavor=provider.flavor,
            scopes=[(s, descriptions[s]) for s in auth_request.scopes],
            users=[(user, picture_url(user)) for user in provider.users],
            params=sorted(auth_request.params.items()),
            consent_token=provider.consent_token(auth_request.params),
        )

    def decide(auth_request: AuthorizationRequest) -> Response:
        params = auth_request.params
        token = request.form.get("consent_token", "")
        if not provider.check_consent_token(params, token):
            return error_page(
                "Consent form rejected",
                "The consent form expired or was not served by this sandbox."
                " Start the login again from the application.",
            )
        decision = request.form.get("decision")
        if decision == "deny":
            return redirect_to(provider.deny(params))
        if decision != "approve":
            return error_page("No decision", "Choose Approve or Deny.")
        user = request.form.get("user", "")
        if provider.get_user(user) is None:
            return error_page("No user chosen", "Choose one of the sample users.")
        return redirect_to(provider.approve(params, user))

    # -- token and revocation endpoints ---------------------------------------

    @bp.post("/oauth/token")
    def token() -> Response:
        faults = provider.faults
        if faults.token_delay > 0:
            time.sleep(faults.token_delay)
        if faults.token_status is not None:
            status = faults.token_status
            error = _OAUTH_FAULT_ERRORS.get(status, "server_error")
            headers = dict(_NO_STORE)
            if status == 401:
                headers["WWW-Authenticate"] = 'Basic realm="rocketpunch"'
            if status == 429:
                headers["Retry-After"] = "1"
            fault_body = {
                "error": error,
                "error_description": f"The sandbox answered {status} (fault).",
            }
            return _json(fault_body, status, headers)
        duplicated = _duplicated(request.form)
        if duplicated:
            return oauth_error(
                TokenError(
                    "invalid_request",
                    f"Parameters must not be repeated: {', '.join(duplicated)}.",
                )
            )
        try:
            issued = provider.token_request(
                _first_values(request.form), request.headers.get("Authorization")
            )
        except TokenError as error:
            return oauth_error(error)
        body: dict[str, object] = dict(issued)
        for field in faults.token_missing_fields:
            body.pop(field, None)
        if faults.token_type_override is not None:
            body["token_type"] = faults.token_type_override
        if faults.token_huge:
            body["padding"] = "x" * HUGE_BODY_SIZE
        if faults.token_malformed:
            response = Response(
                "Service temporarily unavailable",
                200,
                mimetype="application/json",
            )
            response.headers.update(_NO_STORE)
            return response
        response = _json(body, 200, _NO_STORE)
        if faults.token_wrong_content_type:
            response.headers["Content-Type"] = "text/html; charset=utf-8"
        return response

    @bp.post("/oauth/revoke")
    def revoke() -> Response:
        try:
            provider.revoke_request(
                _first_values(request.form), request.headers.get("Authorization")
            )
        except TokenError as error:
            if error.status == 400 and provider.flavor_spec.coded_errors:
                return api_error(
                    APIError(400, "C0002", error.description, details="token")
                )
            return oauth_error(error)
        response = Response(b"", 200)
        response.headers.update(_NO_STORE)
        return response

    # -- user-context API ------------------------------------------------------

    @bp.get("/oauth/userinfo")
    def userinfo() -> Response:
        return api_call(
            lambda token: provider.claims(token, picture_url),
            fault=provider.faults.userinfo_status,
        )

    @bp.get("/api/v1/profiles/me")
    def profile() -> Response:
        if not provider.flavor_spec.serves_profiles_me:
            return not_found()
        return api_call(
            lambda token: provider.claims(token, picture_url),
            fault=provider.faults.userinfo_status,
        )

    @bp.get("/.well-known/oauth-authorization-server")
    def metadata() -> Response:
        if not provider.flavor_spec.metadata:
            return not_found()
        authorize_url = url_for(".authorize", _external=True)
        public_url = provider.public_url
        return _json(
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

    @bp.route("/api/v1/posts", methods=["GET", "POST"])
    def posts() -> Response:
        if request.method == "GET":
            try:
                page = int(request.args.get("page", "1"))
                page_size = int(request.args.get("pageSize", "20"))
            except ValueError:
                return api_error(
                    APIError(400, "C0005", "page and pageSize must be integers.")
                )
            return api_call(
                lambda token: provider.list_posts(page, page_size),
                fault=provider.faults.api_status,
            )

        def create(token: AccessToken) -> object:
            text = _post_text()
            if text is None:
                raise APIError(
                    400, "C0002", "request.text is required.", details="text"
                )
            return provider.create_post(token, text)

        return api_call(create, fault=provider.faults.api_status, status=201)

    @bp.get("/api/v1/me/company-permissions")
    def company_permissions() -> Response:
        return api_call(provider.company_permissions, fault=provider.faults.api_status)

    @bp.route("/api/v1/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def api_not_found(rest: str) -> Response:
        return not_found()

    return bp


def _post_text() -> str | None:
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
