"""The checks of an authorization request (RFC 6749 4.1.1, RFC 7636 4.3),
as pure functions of its parameters, the client and the flavor."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from ..i18n import N_
from ..scopes import split_scopes
from .errors import AuthorizationError, InvalidAuthorizationRequest
from .flavors import FlavorSpec
from .models import AuthorizationRequest, SandboxClient

_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")

Fail = Callable[[str, str], AuthorizationError]


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}/"


def client_and_redirect_uri(
    params: Mapping[str, str],
    get_client: Callable[[str], SandboxClient | None],
    url_root: str | None,
) -> tuple[SandboxClient, str]:
    """The client and the redirect URI of a request, both trusted.

    :param params: The request parameters.
    :param get_client: Looks a registered client up by id.
    :param url_root: The root URL the request arrived on, if it came over
        HTTP; otherwise a path redirect URI matches on the origin
        ``redirect_uri`` names.
    :raise InvalidAuthorizationRequest: Missing or unknown client, missing
        or mismatched redirect URI: nothing may be redirected.
    """
    client_id = params.get("client_id")
    if not client_id:
        raise InvalidAuthorizationRequest(
            N_("Missing client_id"),
            N_("The authorization request has no client_id parameter."),
        )
    client = get_client(client_id)
    if client is None:
        raise InvalidAuthorizationRequest(
            N_("Unknown application"),
            N_("No application is registered with client_id %(client_id)s."),
            client_id=repr(client_id),
        )
    redirect_uri = params.get("redirect_uri")
    if not redirect_uri:
        raise InvalidAuthorizationRequest(
            N_("Missing redirect_uri"),
            N_("The authorization request has no redirect_uri parameter."),
        )
    if url_root is None:
        url_root = _origin(redirect_uri)
    expected = client.redirect_uri_at(url_root)
    if redirect_uri != expected:
        raise InvalidAuthorizationRequest(
            N_("redirect_uri mismatch"),
            N_(
                "The redirect_uri %(sent)s does not match the registered"
                " redirect URI %(registered)s character for character."
            ),
            sent=repr(redirect_uri),
            registered=repr(expected or client.redirect_uri),
        )
    return client, redirect_uri


def requested_scopes(
    params: Mapping[str, str], spec: FlavorSpec, fail: Fail
) -> tuple[str, ...]:
    """The scopes asked for, in request order, all known to the flavor.

    :param params: The request parameters.
    :param spec: The provider's flavor.
    :param fail: Makes the error to redirect back with.
    """
    scopes = split_scopes(params.get("scope", ""))
    if not scopes:
        raise fail("invalid_scope", "scope is required.")
    unknown = [s for s in scopes if s not in spec.scopes]
    if unknown:
        raise fail("invalid_scope", f"Unknown scope: {' '.join(unknown)}.")
    return scopes


def pkce_challenge(
    params: Mapping[str, str], spec: FlavorSpec, fail: Fail
) -> tuple[str | None, str | None]:
    """The PKCE challenge and method, required as ``S256`` when the flavor
    requires PKCE and ignored otherwise.

    :param params: The request parameters.
    :param spec: The provider's flavor.
    :param fail: Makes the error to redirect back with.
    """
    if not spec.requires_pkce:
        return None, None
    challenge = params.get("code_challenge") or None
    method = params.get("code_challenge_method") or None
    if challenge is None:
        raise fail("invalid_request", "code_challenge is required (PKCE).")
    if method != "S256":
        raise fail(
            "invalid_request",
            "code_challenge_method must be S256; plain is not supported.",
        )
    if not _CHALLENGE_RE.fullmatch(challenge):
        raise fail("invalid_request", "code_challenge is not a valid S256 hash.")
    return challenge, method


def parse_authorization_request(
    params: Mapping[str, str],
    get_client: Callable[[str], SandboxClient | None],
    spec: FlavorSpec,
    *,
    duplicated: Iterable[str] = (),
    url_root: str | None = None,
) -> AuthorizationRequest:
    """Check an authorization request and return what it asks for.

    :param params: The request parameters.
    :param get_client: Looks a registered client up by id.
    :param spec: The provider's flavor.
    :param duplicated: Names of parameters sent more than once.
    :param url_root: See :func:`client_and_redirect_uri`.
    :raise InvalidAuthorizationRequest: Not to be redirected.
    :raise AuthorizationError: To be redirected back to the client.
    """
    client, redirect_uri = client_and_redirect_uri(params, get_client, url_root)
    state = params.get("state")

    def fail(error: str, description: str) -> AuthorizationError:
        return AuthorizationError(error, description, redirect_uri, state)

    repeated = sorted(set(duplicated))
    if repeated:
        raise fail(
            "invalid_request",
            f"Parameters must not be repeated: {', '.join(repeated)}.",
        )
    response_type = params.get("response_type")
    if not response_type:
        raise fail("invalid_request", "response_type is required.")
    if response_type != "code":
        raise fail(
            "unsupported_response_type",
            f"response_type {response_type!r} is not supported; use 'code'.",
        )
    scopes = requested_scopes(params, spec, fail)
    challenge, method = pkce_challenge(params, spec, fail)
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        scopes=scopes,
        state=state,
        code_challenge=challenge,
        code_challenge_method=method,
        params=dict(params),
    )


def check_owner_only(
    request: AuthorizationRequest, user_sub: str, spec: FlavorSpec
) -> None:
    """Refuse a request for owner-only scopes approved by someone who does
    not own the app. The OpenAPI description grants requested scopes
    together, so the request fails as a whole rather than losing a scope.

    :param request: The validated authorization request.
    :param user_sub: The ``sub`` of the user approving it.
    :param spec: The provider's flavor.
    :raise AuthorizationError: ``invalid_scope``, to redirect back.
    """
    reserved = [s for s in request.scopes if s in spec.owner_only_scopes]
    if reserved and user_sub not in request.client.owners:
        raise AuthorizationError(
            "invalid_scope",
            f"Only the owners of {request.client.name} may grant"
            f" {' '.join(reserved)}. Log in as an owner of the app, or ask"
            " without these scopes.",
            request.redirect_uri,
            request.state,
        )
