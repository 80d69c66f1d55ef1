"""The sandbox's records: clients, codes, tokens, recorded requests, and
the fault switches that make it misbehave."""

from __future__ import annotations

import dataclasses
import typing as t
from collections.abc import Mapping

_SECRET_PARAMS = frozenset(
    {
        "client_secret",
        "code",
        "code_verifier",
        "refresh_token",
        "access_token",
        "token",
        "consent_token",
    }
)
_SECRET_HEADERS = frozenset({"authorization", "cookie"})


@dataclasses.dataclass
class Faults:
    """Switches that make the sandbox misbehave. All are off by default.

    Flip them in tests (``provider.faults.token_status = 503``) and call
    :meth:`reset` or :meth:`SandboxProvider.reset` to turn them all off.

    .. versionadded:: 0.1
    """

    #: The token endpoint answers this status with a JSON error body
    #: (``server_error``, ``temporarily_unavailable``, ``invalid_request``,
    #: ``invalid_client``...; 429 is the rate limit's ``C0010`` with
    #: ``Retry-After: 1``). Nothing is consumed.
    token_status: int | None = None
    #: Seconds the token endpoint sleeps before answering.
    token_delay: float = 0.0
    #: The token endpoint answers 200, ``application/json``, with a body that
    #: is not JSON. The grant is processed (a code is spent) first.
    token_malformed: bool = False
    #: The token endpoint answers its JSON with a ``text/html`` content type.
    token_wrong_content_type: bool = False
    #: Fields removed from a successful token response.
    token_missing_fields: tuple[str, ...] = ()
    #: Replaces ``token_type`` in a successful token response, e.g. ``"mac"``.
    token_type_override: str | None = None
    #: A successful token response is padded to several megabytes.
    token_huge: bool = False
    #: Every ``refresh_token`` grant fails with ``invalid_grant``.
    refresh_invalid_grant: bool = False
    #: Scopes an approval never grants, as if the user unticked them on the
    #: consent page: the code (and its token's ``scope``) carries the
    #: requested scopes minus these.
    withhold_scopes: tuple[str, ...] = ()
    #: ``/oauth/userinfo`` and ``/api/v1/profiles/me`` answer this status with
    #: an API error body (403 gives ``C0011``, 401 ``C0001``, 5xx ``C9999``).
    userinfo_status: int | None = None
    #: The sample ``/api/v1`` endpoints answer this status with an API error.
    api_status: int | None = None
    #: API endpoints and userinfo answer 429 ``C0010`` with this ``Retry-After``.
    rate_limit_retry_after: int | None = None
    #: The token endpoint answers 429 ``C0010`` with this ``Retry-After``, as
    #: when the App Key spent its budget. Nothing is consumed.
    token_rate_limit_retry_after: int | None = None
    #: :class:`~flask_rocketpunch.sandbox.SandboxTransport` raises
    #: :exc:`requests.ConnectionError`. A real server cannot emulate this:
    #: stop it instead.
    connect_refused: bool = False
    #: :class:`~flask_rocketpunch.sandbox.SandboxTransport` raises
    #: :exc:`requests.ReadTimeout`; over HTTP the back-channel endpoints
    #: (token, revocation, userinfo, metadata, API) sleep
    #: :attr:`timeout_delay` seconds before answering. The consent page a
    #: browser opens is never delayed.
    timeout: bool = False
    #: How long the HTTP server sleeps when :attr:`timeout` is on.
    timeout_delay: float = 2.0

    def reset(self) -> None:
        """Turn every fault off."""
        for field in dataclasses.fields(self):
            setattr(self, field.name, field.default)


@dataclasses.dataclass(frozen=True, repr=False)
class RecordedRequest:
    """One request the sandbox received.

    :param endpoint: The endpoint name without the blueprint prefix, e.g.
        ``"authorize"``, ``"token"``, ``"revoke"``, ``"userinfo"``.
    :param method: The HTTP method.
    :param path: The request path (including any mount prefix).
    :param params: Query and form parameters (first value of each), secrets
        included.
    :param headers: The request headers.
    :param status: The response status, once the response was produced.
    """

    endpoint: str
    method: str
    path: str
    params: Mapping[str, str]
    headers: Mapping[str, str]
    status: int | None = None

    def __repr__(self) -> str:
        params = {
            k: ("***" if k in _SECRET_PARAMS else v) for k, v in self.params.items()
        }
        headers = {
            k: ("***" if k.lower() in _SECRET_HEADERS else v)
            for k, v in self.headers.items()
        }
        return (
            f"RecordedRequest(endpoint={self.endpoint!r}, method={self.method!r},"
            f" path={self.path!r}, params={params!r}, headers={headers!r},"
            f" status={self.status!r})"
        )


@dataclasses.dataclass(frozen=True, repr=False)
class SandboxClient:
    """A registered OAuth client application.

    :param client_id: The client identifier.
    :param client_secret: The client secret.
    :param redirect_uri: The one registered redirect URI, matched exactly: an
        absolute URL, or a path starting with ``/`` that stands for that
        path on the origin and script root the authorization request
        arrives on (see :meth:`redirect_uri_at`).
    :param name: The application name shown on the consent page.
    :param owners: The ``sub`` of each user who owns the app: only they may
        grant the owner-only scopes (``post:write``, ``company:manage:read``).
    """

    client_id: str
    client_secret: str
    redirect_uri: str
    name: str = "Example App"
    owners: tuple[str, ...] = ()

    def redirect_uri_at(self, url_root: str | None) -> str | None:
        """The absolute redirect URI for a request that arrived at ``url_root``.

        An absolute registered URI is returned as it is. A path is joined to
        ``url_root`` (the request's scheme, host and script root, as
        :attr:`flask.Request.url_root`); without one it has no absolute
        form and ``None`` is returned.

        :param url_root: The root URL the request arrived on, if known.
        """
        if not self.redirect_uri.startswith("/"):
            return self.redirect_uri
        if url_root is None:
            return None
        return url_root.rstrip("/") + self.redirect_uri

    def __repr__(self) -> str:
        return (
            f"SandboxClient(client_id={self.client_id!r}, client_secret='***',"
            f" redirect_uri={self.redirect_uri!r}, name={self.name!r},"
            f" owners={self.owners!r})"
        )


@dataclasses.dataclass(frozen=True, repr=False)
class AuthorizationCode:
    """An issued authorization code and what it is bound to."""

    code: str
    client_id: str
    redirect_uri: str
    user_sub: str
    scopes: frozenset[str]
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: float
    grant_id: str
    used: bool = False

    def __repr__(self) -> str:
        return (
            f"AuthorizationCode(client_id={self.client_id!r}, user_sub="
            f"{self.user_sub!r}, scopes={sorted(self.scopes)!r}, used={self.used!r})"
        )


@dataclasses.dataclass(frozen=True, repr=False)
class AccessToken:
    """An issued access token."""

    token: str
    client_id: str
    user_sub: str
    scopes: frozenset[str]
    issued_at: float
    expires_at: float
    grant_id: str
    revoked: bool = False

    def __repr__(self) -> str:
        return (
            f"AccessToken(client_id={self.client_id!r}, user_sub={self.user_sub!r},"
            f" scopes={sorted(self.scopes)!r}, expires_at={self.expires_at!r},"
            f" revoked={self.revoked!r})"
        )


@dataclasses.dataclass(frozen=True, repr=False)
class RefreshToken:
    """An issued refresh token. ``used`` is set once it was rotated away."""

    token: str
    client_id: str
    user_sub: str
    scopes: frozenset[str]
    expires_at: float
    grant_id: str
    revoked: bool = False
    used: bool = False

    def __repr__(self) -> str:
        return (
            f"RefreshToken(client_id={self.client_id!r}, user_sub={self.user_sub!r},"
            f" scopes={sorted(self.scopes)!r}, revoked={self.revoked!r},"
            f" used={self.used!r})"
        )


class _TokenResponseBase(t.TypedDict):
    access_token: str
    token_type: str
    expires_in: int
    scope: str


class TokenResponse(_TokenResponseBase, total=False):
    """A successful token endpoint response (RFC 6749 section 5.1)."""

    refresh_token: str


@dataclasses.dataclass(frozen=True)
class AuthorizationRequest:
    """A validated authorization request.

    :param client: The client that asked.
    :param redirect_uri: The redirect URI, equal to the registered one.
    :param scopes: The requested scopes, in request order.
    :param state: The ``state`` to echo, if any.
    :param code_challenge: The PKCE challenge, if any.
    :param code_challenge_method: The PKCE method, if any.
    :param params: The original parameters, for the consent form.
    """

    client: SandboxClient
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    params: Mapping[str, str]
