"""The sandbox provider's OAuth state machine, free of Flask.

:class:`SandboxProvider` keeps registered clients, authorization codes,
access and refresh tokens and the grants they belong to, and answers
authorization, token, revocation and bearer-authenticated requests. Its
parts live beside it: the flavor rules (``flavors``), the authorization
request checks (``authorize``), client authentication (``clientauth``), the
access-token JWT (``jwt``), the consent token (``consent``), the request
recorder (``recorder``), the rate limiter (``ratelimit``) and the sample API
(``sample_api``). The views in ``views`` and ``api_views`` translate HTTP to
and from its methods.
"""

from __future__ import annotations

import collections
import dataclasses
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from ..crypto import pkce_challenge
from ..scopes import parse_scopes, split_scopes
from .authorize import check_owner_only, parse_authorization_request
from .catalog import Catalog
from .clientauth import client_credentials
from .consent import ConsentSigner, ConsentStore
from .errors import (
    APIError,
    AuthorizationError,
    TokenError,
    add_query,
    fault_error,
    require_scope,
)
from .flavors import FLAVORS, Flavor, FlavorSpec
from .jwt import encode_jwt, has_valid_signature
from .models import (
    AccessToken,
    AuthorizationCode,
    AuthorizationRequest,
    Faults,
    RecordedRequest,
    RefreshToken,
    SandboxClient,
    TokenResponse,
)
from .ratelimit import (
    OPERATION_LIMITS,
    PER_DAY,
    RateLimiter,
    RateLimitExceeded,
    RateLimitStatus,
)
from .recorder import RequestRecorder
from .sample_api import SampleAPI
from .shared import SharedState
from .users import SAMPLE_USERS, SandboxUser

s256 = pkce_challenge
"""Return the PKCE S256 code challenge of a verifier (RFC 7636 4.2)."""

CODE_TTL = 300
REFRESH_TOKEN_TTL = 30 * 24 * 3600

_VERIFIER_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_INVALID_CODE = "Authorization code expired or already used."


class SandboxProvider:
    """A complete stand-in for Rocketpunch's OAuth server and user API.

    Serve it with :func:`~flask_rocketpunch.sandbox.create_sandbox_app`, mount
    :func:`~flask_rocketpunch.sandbox.create_sandbox_blueprint`, call it
    in-process with :class:`~flask_rocketpunch.sandbox.SandboxTransport`, or
    over real HTTP with :class:`~flask_rocketpunch.sandbox.SandboxServer`.

    All state is guarded by locks, so one provider can serve many threads.

    :param flavor: ``"current"`` behaves as the OpenAPI description (PKCE S256
        required, rotation, scopes ``profile`` and ``email``, 15 minute access
        tokens); ``"guide"`` as the July 2026 guide (no PKCE, no rotation,
        scopes ``profile:read`` and ``profile:email``, one hour tokens,
        ``{"error": {"message": ...}}`` API errors). See
        :data:`~flask_rocketpunch.sandbox.FLAVORS`.
    :param users: The accounts shown on the consent page.
    :param clock: Returns the current time in seconds since the epoch.
        Inject a fake one to test expiry.
    :param access_token_ttl: Access token lifetime in seconds; defaults to 900
        (current) or 3600 (guide).
    :param rate_limit_per_minute: The global calls per App Key (client id)
        and clock minute, reported in ``X-RP-RateLimit-Remaining``.
    :param enforce_rate_limit: Answer 429 ``C0010`` once an App Key spends a
        budget (per minute, per day, or an operation's own). Defaults to the
        flavor's: on in the current flavor, off in the guide's. Turn it off
        for load tests; the calls are still counted and reported.
    :param rate_limit_per_day: The global calls per App Key and UTC day
        (current flavor).
    :param skip_consent: Skip the consent page when the signed-in user
        already approved every requested scope for the client, as
        Rocketpunch does. ``False`` always shows it.
    :param public_url: The browser-facing URL the sandbox blueprint is mounted
        at, e.g. ``"http://localhost:5000/_rocketpunch_sandbox"``. When set,
        ``picture`` claims and the metadata's ``authorization_endpoint`` use
        it instead of the URL of the request being answered (useful when the
        API is called through :class:`SandboxTransport` at another origin).
        May also be set later as an attribute.
    :param require_app_key: ``/api/v1`` calls need ``X-RP-API-Key``, the
        App Key (a registered client id); public reads need only it, user
        operations need it beside the bearer token. When off, a bearer
        token alone is accepted, its client standing for the key.
    :param inline_pictures: When ``public_url`` is not set, give the sample
        users' avatars as ``data:`` URIs instead of URLs built from the
        request being answered. The in-app sandbox
        (:func:`~flask_rocketpunch.sandbox.mount_in_app`) does this: it knows
        no public address of its own and must not take one from a request's
        ``Host`` header.
    :param shared: Lets several processes serve this sandbox together (see
        :class:`~flask_rocketpunch.sandbox.SharedState`): keys derived from
        their shared secret, codes and refresh tokens that carry their own
        signed record, and spent or revoked marks in a shared file. The
        in-app sandbox uses one.

    .. versionadded:: 0.1
    .. versionchanged:: 0.2
        The ``shared`` parameter.
    """

    def __init__(
        self,
        flavor: Flavor = "current",
        users: Iterable[SandboxUser] = SAMPLE_USERS,
        clock: Callable[[], float] = time.time,
        *,
        access_token_ttl: int | None = None,
        rate_limit_per_minute: int = 60,
        enforce_rate_limit: bool | None = None,
        public_url: str | None = None,
        inline_pictures: bool = False,
        shared: SharedState | None = None,
        require_app_key: bool = True,
        rate_limit_per_day: int = PER_DAY,
        skip_consent: bool = True,
    ) -> None:
        spec = FLAVORS.get(flavor)
        if spec is None:
            names = " or ".join(repr(name) for name in FLAVORS)
            raise ValueError(f"flavor must be {names}, not {flavor!r}.")
        self.flavor: Flavor = flavor
        #: What this flavor does, see :class:`FlavorSpec`.
        self.flavor_spec: FlavorSpec = spec
        self.users: tuple[SandboxUser, ...] = tuple(users)
        if not self.users:
            raise ValueError("The sandbox needs at least one user.")
        self.clock = clock
        self.access_token_ttl = (
            spec.access_token_ttl if access_token_ttl is None else access_token_ttl
        )
        self.public_url = public_url
        self.inline_pictures = inline_pictures
        #: ``/api/v1`` calls need the ``X-RP-API-Key`` header (the App Key,
        #: a registered client id), as the OpenAPI description says. Turn
        #: off for a client that sends only its bearer token: the token's
        #: client then stands for the key.
        self.require_app_key = require_app_key
        #: The fault switches, see :class:`Faults`.
        self.faults = Faults()
        self._recorder = RequestRecorder()
        self._limiter = RateLimiter(
            rate_limit_per_minute,
            spec.enforces_rate_limits
            if enforce_rate_limit is None
            else enforce_rate_limit,
            self._now,
            per_day=rate_limit_per_day if spec.operation_limits else None,
            operation_limits=OPERATION_LIMITS if spec.operation_limits else {},
        )
        #: Skip the consent page when a consent covers the request.
        self.skip_consent = skip_consent
        self._consents = ConsentStore()
        self._api = SampleAPI(self.users, self._now)
        #: What several processes serving this sandbox share, if any.
        self.shared = shared
        #: The current flavor's sample companies, posts, jobs and events,
        #: see :class:`~flask_rocketpunch.sandbox.catalog.Catalog`.
        self.catalog = Catalog(self.users, self._now)
        self._consent = ConsentSigner(
            self._now, key=None if shared is None else shared.key("consent")
        )
        self._lock = threading.Lock()
        self._signing_key = (
            secrets.token_bytes(32) if shared is None else shared.key("access-tokens")
        )
        self._clients: dict[str, SandboxClient] = {}
        self._codes: dict[str, AuthorizationCode] = {}
        self._access_tokens: dict[str, AccessToken] = {}
        self._refresh_tokens: dict[str, RefreshToken] = {}

    def _now(self) -> float:
        # The parts read the clock through here, so replacing ``clock`` works.
        return self.clock()

    # -- configuration ----------------------------------------------------

    @property
    def scopes_supported(self) -> Mapping[str, str]:
        """The scopes this flavor knows, mapped to their descriptions."""
        return self.flavor_spec.scopes

    @property
    def profile_scope(self) -> str:
        """The scope that reads the profile: ``profile`` or ``profile:read``."""
        return self.flavor_spec.profile_scope

    @property
    def email_scope(self) -> str:
        """The scope that adds the email: ``email`` or ``profile:email``."""
        return self.flavor_spec.email_scope

    @property
    def requires_pkce(self) -> bool:
        """Whether PKCE S256 is required (current flavor)."""
        return self.flavor_spec.requires_pkce

    @property
    def rotates_refresh_tokens(self) -> bool:
        """Whether each refresh returns a new refresh token (current flavor)."""
        return self.flavor_spec.rotates_refresh_tokens

    @property
    def rate_limit_per_minute(self) -> int:
        """The per-client limit reported in ``X-RP-RateLimit-Remaining``."""
        return self._limiter.per_minute

    @rate_limit_per_minute.setter
    def rate_limit_per_minute(self, value: int) -> None:
        self._limiter.per_minute = value

    @property
    def enforce_rate_limit(self) -> bool:
        """Whether calls beyond the limit are answered 429 ``C0010``."""
        return self._limiter.enforce

    @enforce_rate_limit.setter
    def enforce_rate_limit(self, value: bool) -> None:
        self._limiter.enforce = value

    def register_client(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        name: str = "Example App",
        owners: Iterable[str] | None = None,
    ) -> SandboxClient:
        """Register (or replace) a client application.

        :param client_id: The client identifier.
        :param client_secret: The client secret.
        :param redirect_uri: The one redirect URI, matched character for
            character. A path starting with ``/`` (such as
            ``"/auth/rocketpunch/callback"``) accepts exactly that path on the
            origin and script root each authorization request arrives on.
        :param name: The application name shown on the consent page.
        :param owners: The users (``sub`` or ``preferred_username``) who own
            the app and alone may grant the owner-only scopes; by default
            the provider's first user (``minji`` among the sample users).
        :raise ValueError: The redirect URI starts with ``//``, or an owner
            is not a user of this provider.
        """
        if redirect_uri.startswith("//"):
            raise ValueError(
                f"The redirect URI {redirect_uri!r} is ambiguous: give an absolute"
                " URL, or a path starting with a single '/'."
            )
        subs = []
        for owner in (self.users[0].sub,) if owners is None else owners:
            account = self.get_user(owner)
            if account is None:
                raise ValueError(f"No sandbox user {owner!r} to own the app.")
            subs.append(account.sub)
        client = SandboxClient(
            client_id, client_secret, redirect_uri, name, tuple(subs)
        )
        with self._lock:
            self._clients[client_id] = client
        return client

    def get_client(self, client_id: str) -> SandboxClient | None:
        """Return the registered client with this id, if any.

        :param client_id: The client identifier.
        """
        with self._lock:
            return self._clients.get(client_id)

    def get_user(self, key: str) -> SandboxUser | None:
        """Find a user by ``sub`` or ``preferred_username``.

        :param key: The ``sub`` or ``preferred_username``.
        """
        for user in self.users:
            if key in (user.sub, user.preferred_username):
                return user
        return None

    # -- inspection -------------------------------------------------------

    @property
    def codes(self) -> dict[str, AuthorizationCode]:
        """A snapshot of issued authorization codes, by code."""
        with self._lock:
            return dict(self._codes)

    @property
    def access_tokens(self) -> dict[str, AccessToken]:
        """A snapshot of issued access tokens, by token."""
        with self._lock:
            return dict(self._access_tokens)

    @property
    def refresh_tokens(self) -> dict[str, RefreshToken]:
        """A snapshot of issued refresh tokens, by token."""
        with self._lock:
            return dict(self._refresh_tokens)

    @property
    def clients(self) -> dict[str, SandboxClient]:
        """A snapshot of registered clients, by client id."""
        with self._lock:
            return dict(self._clients)

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, oldest first."""
        return self._recorder.requests

    def requests_to(self, endpoint: str) -> list[RecordedRequest]:
        """The recorded requests to one endpoint, e.g. ``"token"``.

        :param endpoint: The endpoint name.
        """
        return self._recorder.requests_to(endpoint)

    def grant_counts(self) -> collections.Counter[str]:
        """Count the ``grant_type`` values the token endpoint received.

        Failed requests count too: ``grant_counts()["refresh_token"] == 1``
        proves exactly one refresh was attempted.
        """
        return self._recorder.grant_counts()

    def record(
        self,
        endpoint: str,
        method: str,
        path: str,
        params: Mapping[str, str],
        headers: Mapping[str, str],
    ) -> int:
        """Record a received request and return its index.

        :param endpoint: The endpoint name.
        :param method: The HTTP method.
        :param path: The request path.
        :param params: Query and form parameters.
        :param headers: The request headers.
        """
        return self._recorder.record(endpoint, method, path, params, headers)

    def record_status(self, index: int, status: int) -> None:
        """Attach the response status to a recorded request.

        :param index: The index :meth:`record` returned.
        :param status: The response status.
        """
        self._recorder.record_status(index, status)

    def reset(self) -> None:
        """Forget codes, tokens, consents, recorded requests, rate counters
        and every change to the sample data, and turn every fault off.
        Registered clients are kept.
        """
        with self._lock:
            self._codes.clear()
            self._access_tokens.clear()
            self._refresh_tokens.clear()
        self._recorder.clear()
        self._limiter.clear()
        self._consents.forget()
        self._api.clear()
        self.catalog.reset()
        self.faults.reset()

    # -- authorization endpoint ---------------------------------------------

    def validate_authorization_request(
        self,
        params: Mapping[str, str],
        *,
        duplicated: Iterable[str] = (),
        url_root: str | None = None,
    ) -> AuthorizationRequest:
        """Check an authorization request (RFC 6749 4.1.1, RFC 7636 4.3).

        :param params: The request parameters.
        :param duplicated: Names of parameters sent more than once.
        :param url_root: The root URL the request arrived on
            (:attr:`flask.Request.url_root`), against which a client's
            redirect URI registered as a path is resolved. The views always
            pass it. Without it (a call from code, outside a request), such
            a path matches on the origin the ``redirect_uri`` parameter names.
        :raise InvalidAuthorizationRequest: Unknown client or redirect URI
            mismatch: show an error page, do not redirect.
        :raise AuthorizationError: Any other problem, to redirect back.
        """
        return parse_authorization_request(
            params,
            self.get_client,
            self.flavor_spec,
            duplicated=duplicated,
            url_root=url_root,
        )

    def consent_token(self, params: Mapping[str, str]) -> str:
        """Sign the authorization parameters for the consent form.

        The token proves the decision was posted from a consent page this
        provider rendered within the last 15 minutes, for exactly these
        parameters, not forged by another site.

        :param params: The authorization request parameters.
        """
        return self._consent.sign(params)

    def check_consent_token(self, params: Mapping[str, str], token: str) -> bool:
        """Verify a token from :meth:`consent_token` for these parameters.

        :param params: The authorization request parameters.
        :param token: The token from the form.
        """
        return self._consent.verify(params, token)

    def consent_covers(self, request: AuthorizationRequest, user: str) -> bool:
        """Whether the consent page may be skipped: :attr:`skip_consent` is
        on, and ``user`` already approved every requested scope for the
        client (and may still grant them).

        :param request: The validated authorization request.
        :param user: The user's ``sub`` or ``preferred_username``.
        """
        account = self.get_user(user)
        if not self.skip_consent or account is None:
            return False
        client_id = request.client.client_id
        if not self._consents.covers(account.sub, client_id, request.scopes):
            return False
        try:
            check_owner_only(request, account.sub, self.flavor_spec)
        except AuthorizationError:
            return False
        return True

    @property
    def consents(self) -> dict[tuple[str, str], frozenset[str]]:
        """A snapshot of the consents given: the approved scopes by
        ``(user sub, client id)``."""
        return self._consents.snapshot()

    def forget_consent(
        self, user: str | None = None, client_id: str | None = None
    ) -> int:
        """Withdraw consents, as a user disconnecting an app from their
        account would; the next login shows the consent page again. Tokens
        already issued stay valid. Return how many were withdrawn.

        :param user: Only this user's (``sub`` or ``preferred_username``);
            every user's when ``None``.
        :param client_id: Only for this client; every client's when ``None``.
        :raise LookupError: No such user.
        """
        sub = None
        if user is not None:
            account = self.get_user(user)
            if account is None:
                raise LookupError(f"No sandbox user {user!r}.")
            sub = account.sub
        return self._consents.forget(sub, client_id)

    def signed_in_cookie(self, user_sub: str) -> str:
        """The signed value of the cookie that keeps ``user_sub`` signed in
        to the sandbox in a browser.

        :param user_sub: The user's ``sub``.
        """
        return self._consent.sign_user(user_sub)

    def signed_in_user(self, cookie: str | None) -> str | None:
        """The ``sub`` of the user a signed-in cookie names, if it is valid.

        :param cookie: The cookie's value.
        """
        sub = self._consent.signed_in_user(cookie)
        return sub if sub is not None and self.get_user(sub) is not None else None

    def approve(
        self, params: Mapping[str, str], user: str, *, url_root: str | None = None
    ) -> str:
        """Approve an authorization request as a user; return the redirect URL.

        This is what the consent page's Approve button does; test helpers may
        call it directly. The code is bound to the redirect URI the request
        used.

        :param params: The authorization request parameters.
        :param user: The user's ``sub`` or ``preferred_username``.
        :param url_root: See :meth:`validate_authorization_request`.
        :raise InvalidAuthorizationRequest: See
            :meth:`validate_authorization_request`.
        :raise AuthorizationError: See :meth:`validate_authorization_request`;
            also ``invalid_scope`` when ``user`` does not own the app and the
            request asks for an owner-only scope.
        :raise LookupError: No such user.
        """
        request = self.validate_authorization_request(params, url_root=url_root)
        account = self.get_user(user)
        if account is None:
            raise LookupError(f"No sandbox user {user!r}.")
        check_owner_only(request, account.sub, self.flavor_spec)
        self._consents.remember(account.sub, request.client.client_id, request.scopes)
        record = AuthorizationCode(
            code="",
            client_id=request.client.client_id,
            redirect_uri=request.redirect_uri,
            user_sub=account.sub,
            scopes=frozenset(request.scopes) - frozenset(self.faults.withhold_scopes),
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            expires_at=self.clock() + CODE_TTL,
            grant_id=secrets.token_hex(8),
        )
        code = (
            secrets.token_urlsafe(32)
            if self.shared is None
            else self.shared.seal_code(record)
        )
        with self._lock:
            self._codes[code] = dataclasses.replace(record, code=code)
        if self.shared is not None:
            self.shared.ledger.forget_before(self.clock() - CODE_TTL)
        return add_query(request.redirect_uri, {"code": code, "state": request.state})

    def deny(self, params: Mapping[str, str], *, url_root: str | None = None) -> str:
        """Deny an authorization request; return the redirect URL.

        :param params: The authorization request parameters.
        :param url_root: See :meth:`validate_authorization_request`.
        """
        request = self.validate_authorization_request(params, url_root=url_root)
        return AuthorizationError(
            "access_denied",
            "The user denied the authorization request.",
            request.redirect_uri,
            request.state,
        ).location

    # -- token endpoint -------------------------------------------------------

    def authenticate_client(
        self, form: Mapping[str, str], authorization: str | None
    ) -> SandboxClient:
        """Authenticate a client by HTTP Basic or by body parameters.

        :param form: The form parameters.
        :param authorization: The ``Authorization`` header, if any.
        :raise TokenError: ``invalid_client`` (401) or ``invalid_request``.
        """
        client_id, secret = client_credentials(form, authorization)
        client = self.get_client(client_id)
        if client is None or not hmac.compare_digest(
            secret.encode(), client.client_secret.encode()
        ):
            raise TokenError("invalid_client", "Client authentication failed.", 401)
        return client

    def token_request(
        self, form: Mapping[str, str], authorization: str | None = None
    ) -> TokenResponse:
        """Handle a token endpoint request (RFC 6749 4.1.3 and 6).

        :param form: The form parameters.
        :param authorization: The ``Authorization`` header, if any.
        :raise TokenError: With the RFC 6749 5.2 error code.
        :raise RateLimitExceeded: The client's App Key spent its budget.
        """
        client = self.authenticate_client(form, authorization)
        self._limiter.count(client.client_id)
        grant_type = form.get("grant_type")
        if not grant_type:
            raise TokenError("invalid_request", "grant_type is required.")
        if grant_type == "authorization_code":
            return self._exchange_code(client, form)
        if grant_type == "refresh_token":
            return self._refresh(client, form)
        raise TokenError(
            "unsupported_grant_type", f"grant_type {grant_type!r} is not supported."
        )

    def _check_verifier(self, verifier: str | None) -> None:
        if not self.requires_pkce:
            return
        if not verifier:
            raise TokenError("invalid_request", "code_verifier is required (PKCE).")
        if not _VERIFIER_RE.fullmatch(verifier):
            # RFC 7636 4.6: a verifier that cannot match is invalid_grant.
            raise TokenError(
                "invalid_grant",
                "code_verifier must be 43-128 characters of [A-Za-z0-9._~-].",
            )

    def _exchange_code(
        self, client: SandboxClient, form: Mapping[str, str]
    ) -> TokenResponse:
        code = form.get("code")
        redirect_uri = form.get("redirect_uri")
        verifier = form.get("code_verifier")
        if not code:
            raise TokenError("invalid_request", "code is required.")
        if not redirect_uri:
            raise TokenError("invalid_request", "redirect_uri is required.")
        self._check_verifier(verifier)
        now = self.clock()
        with self._lock:
            record = self._code_locked(code)
            if record is None or record.client_id != client.client_id:
                raise TokenError("invalid_grant", "Authorization code is invalid.")
            if record.used or not self._spend(f"code:{code}", record.expires_at):
                # RFC 6749 4.1.2: revoke what the code already issued.
                self._revoke_grant_locked(record.grant_id)
                raise TokenError("invalid_grant", _INVALID_CODE)
            self._codes[code] = dataclasses.replace(record, used=True)
            if now >= record.expires_at:
                raise TokenError("invalid_grant", _INVALID_CODE)
            if redirect_uri != record.redirect_uri:
                raise TokenError(
                    "invalid_grant",
                    "redirect_uri does not match the authorization request.",
                )
            if (
                self.requires_pkce
                and record.code_challenge is not None
                and not hmac.compare_digest(s256(verifier or ""), record.code_challenge)
            ):
                raise TokenError("invalid_grant", "PKCE verification failed.")
            return self._issue_locked(
                client.client_id,
                record.user_sub,
                record.scopes,
                record.grant_id,
                with_refresh=True,
            )

    def _live_refresh_token_locked(
        self, client: SandboxClient, token: str
    ) -> RefreshToken:
        record = self._refresh_token_locked(token)
        if record is None or record.client_id != client.client_id:
            raise TokenError("invalid_grant", "Refresh token is invalid.")
        if record.revoked or self._marked(f"grant:{record.grant_id}"):
            raise TokenError("invalid_grant", "Refresh token has been revoked.")
        if record.used or self._marked(f"refresh:{token}"):
            raise TokenError("invalid_grant", "Refresh token was already used.")
        if self.clock() >= record.expires_at:
            raise TokenError("invalid_grant", "Refresh token has expired.")
        return record

    def _refresh(self, client: SandboxClient, form: Mapping[str, str]) -> TokenResponse:
        token = form.get("refresh_token")
        if not token:
            raise TokenError("invalid_request", "refresh_token is required.")
        if self.faults.refresh_invalid_grant:
            raise TokenError("invalid_grant", "Refresh token is invalid.")
        with self._lock:
            record = self._live_refresh_token_locked(client, token)
            scopes = record.scopes
            if "scope" in form:
                scopes = parse_scopes(form["scope"])
                if not scopes or not scopes <= record.scopes:
                    raise TokenError(
                        "invalid_scope",
                        "scope may only narrow the originally granted scopes.",
                    )
            rotate = self.rotates_refresh_tokens
            if rotate:
                if not self._spend(f"refresh:{token}", record.expires_at):
                    raise TokenError("invalid_grant", "Refresh token was already used.")
                self._refresh_tokens[token] = dataclasses.replace(record, used=True)
            return self._issue_locked(
                client.client_id,
                record.user_sub,
                scopes,
                record.grant_id,
                with_refresh=rotate,
                refresh_scopes=record.scopes,
            )

    def issue_token(
        self,
        user_id: str,
        client_id: str,
        scopes: str | Iterable[str],
        expires_in: int | None = None,
    ) -> TokenResponse:
        """Issue a token response directly, without the authorization flow.

        For test helpers that log a user in without a browser. The tokens are
        real: they work at every endpoint, refresh, rotate and revoke.

        :param user_id: The user's ``sub`` or ``preferred_username``.
        :param client_id: A registered client id.
        :param scopes: The granted scopes, a list or a space-separated string.
        :param expires_in: The access token lifetime; defaults to the
            provider's ``access_token_ttl``. Zero or negative gives an already
            expired token.
        :raise LookupError: Unknown user or client.
        :raise ValueError: A scope this flavor does not know, or an
            owner-only scope for a user who does not own the client.
        """
        user = self.get_user(user_id)
        if user is None:
            raise LookupError(f"No sandbox user {user_id!r}.")
        client = self.get_client(client_id)
        if client is None:
            raise LookupError(f"No registered client {client_id!r}.")
        granted = split_scopes(scopes)
        unknown = [s for s in granted if s not in self.scopes_supported]
        if unknown:
            raise ValueError(f"Unknown scope for the {self.flavor} flavor: {unknown}.")
        reserved = [s for s in granted if s in self.flavor_spec.owner_only_scopes]
        if reserved and user.sub not in client.owners:
            raise ValueError(
                f"Only the owners of {client_id!r} may grant {reserved}, and"
                f" {user.preferred_username!r} is not one: log in as an owner"
                " (register_client(owners=...)) or leave these scopes out."
            )
        with self._lock:
            return self._issue_locked(
                client_id,
                user.sub,
                frozenset(granted),
                secrets.token_hex(8),
                with_refresh=True,
                expires_in=expires_in,
            )

    def _issue_locked(
        self,
        client_id: str,
        user_sub: str,
        scopes: frozenset[str],
        grant_id: str,
        *,
        with_refresh: bool,
        refresh_scopes: frozenset[str] | None = None,
        expires_in: int | None = None,
    ) -> TokenResponse:
        now = self.clock()
        ttl = self.access_token_ttl if expires_in is None else expires_in
        scope = " ".join(self._ordered(scopes))
        claims: dict[str, object] = {
            "iss": "rocketpunch-sandbox",
            "sub": user_sub,
            "client_id": client_id,
            "scope": scope,
            "iat": int(now),
            "exp": int(now + ttl),
            "jti": secrets.token_hex(12),
        }
        if self.shared is not None:
            # So that any process can tell which grant a token belongs to.
            claims["gid"] = grant_id
        access = encode_jwt(claims, self._signing_key)
        self._access_tokens[access] = AccessToken(
            access, client_id, user_sub, scopes, now, now + ttl, grant_id
        )
        response: TokenResponse = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": scope,
        }
        if with_refresh:
            prefix = self.flavor_spec.refresh_token_prefix
            record = RefreshToken(
                "",
                client_id,
                user_sub,
                refresh_scopes if refresh_scopes is not None else scopes,
                now + REFRESH_TOKEN_TTL,
                grant_id,
            )
            refresh = (
                prefix + secrets.token_urlsafe(32)
                if self.shared is None
                else self.shared.seal_refresh_token(record, prefix)
            )
            self._refresh_tokens[refresh] = dataclasses.replace(record, token=refresh)
            response["refresh_token"] = refresh
        return response

    def _ordered(self, scopes: Iterable[str]) -> list[str]:
        order = list(self.scopes_supported)
        return sorted(scopes, key=lambda s: (order.index(s) if s in order else 99, s))

    def verify_access_token_signature(self, token: str) -> bool:
        """Whether a JWT-looking token carries this provider's signature.

        :param token: The access token.
        """
        return has_valid_signature(token, self._signing_key)

    # -- revocation -----------------------------------------------------------

    def revoke_request(
        self, form: Mapping[str, str], authorization: str | None = None
    ) -> None:
        """Handle a revocation request (RFC 7009).

        Revoking a refresh token revokes its whole grant (every access and
        refresh token descending from the same authorization); revoking an
        access token revokes only it. Unknown tokens, and tokens of another
        client, are ignored: the answer is still a success.

        :param form: The form parameters.
        :param authorization: The ``Authorization`` header, if any.
        :raise TokenError: Client authentication failed or ``token`` missing.
        :raise RateLimitExceeded: The client's App Key spent its budget.
        """
        client = self.authenticate_client(form, authorization)
        self._limiter.count(client.client_id)
        token = form.get("token")
        if not token:
            raise TokenError("invalid_request", "token is required.")
        with self._lock:
            self._revoke_locked(token, client.client_id)

    def revoke(self, token: str) -> bool:
        """Revoke a token directly; return whether it was known.

        :param token: An access or refresh token.
        """
        with self._lock:
            return self._revoke_locked(token, None)

    def _revoke_locked(self, token: str, client_id: str | None) -> bool:
        refresh = self._refresh_token_locked(token)
        if refresh is not None and client_id in (None, refresh.client_id):
            self._revoke_grant_locked(refresh.grant_id)
            return True
        access = self._access_token_locked(token)
        if access is not None and client_id in (None, access.client_id):
            if token in self._access_tokens:
                self._access_tokens[token] = dataclasses.replace(access, revoked=True)
            self._mark(f"access:{token}", access.expires_at)
            return True
        return False

    def _revoke_grant_locked(self, grant_id: str) -> None:
        for key, rt in self._refresh_tokens.items():
            if rt.grant_id == grant_id:
                self._refresh_tokens[key] = dataclasses.replace(rt, revoked=True)
        for key, at in self._access_tokens.items():
            if at.grant_id == grant_id:
                self._access_tokens[key] = dataclasses.replace(at, revoked=True)
        self._mark(f"grant:{grant_id}", self.clock() + REFRESH_TOKEN_TTL)

    # -- what other processes issued, spent and revoked ------------------------------

    def _code_locked(self, code: str) -> AuthorizationCode | None:
        record = self._codes.get(code)
        if record is None and self.shared is not None:
            record = self.shared.open_code(code)
        return record

    def _refresh_token_locked(self, token: str) -> RefreshToken | None:
        record = self._refresh_tokens.get(token)
        if record is None and self.shared is not None:
            record = self.shared.open_refresh_token(
                token, self.flavor_spec.refresh_token_prefix
            )
        return record

    def _access_token_locked(self, token: str) -> AccessToken | None:
        record = self._access_tokens.get(token)
        if record is None and self.shared is not None:
            record = self.shared.open_access_token(token, self._signing_key)
        return record

    def _spend(self, name: str, until: float) -> bool:
        """Mark ``name`` spent for every process; whether this call did."""
        if self.shared is None:
            return True  # the record's own ``used`` flag is the whole story
        return self.shared.ledger.spend(name, until)

    def _mark(self, name: str, until: float) -> None:
        if self.shared is not None:
            self.shared.ledger.spend(name, until)

    def _marked(self, *names: str) -> bool:
        return self.shared is not None and self.shared.ledger.is_marked(*names)

    # -- bearer authentication and the user-context API ----------------------

    def authenticate_bearer(self, authorization: str | None) -> AccessToken:
        """Return the valid access token in an ``Authorization`` header.

        :param authorization: The ``Authorization`` header, if any.
        :raise APIError: 401 ``C0001`` with a ``WWW-Authenticate`` challenge.
        """
        realm = 'Bearer realm="rocketpunch"'
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise APIError(
                401,
                "C0001",
                "A Bearer access token is required.",
                www_authenticate=realm,
            )
        with self._lock:
            record = self._access_token_locked(token)
        if record is None or not self.verify_access_token_signature(token):
            problem = "The access token is invalid."
        elif record.revoked or self._marked(
            f"access:{token}", f"grant:{record.grant_id}"
        ):
            problem = "The access token has been revoked."
        elif self.clock() >= record.expires_at:
            problem = "The access token has expired."
        else:
            return record
        raise APIError(
            401,
            "C0001",
            problem,
            www_authenticate=(
                f'{realm}, error="invalid_token", error_description="{problem}"'
            ),
        )

    def require_scope(self, token: AccessToken, scope: str) -> None:
        """Raise 403 ``C0011`` unless the token carries ``scope``.

        :param token: The authenticated access token.
        :param scope: The required scope.
        :raise APIError: The scope is missing.
        """
        require_scope(token, scope)

    def rate_limit(
        self,
        app_key: str,
        operation: str | None = None,
        user: str | None = None,
    ) -> dict[str, str]:
        """Count one API call; return the rate limit headers of its answer.

        :param app_key: The App Key (``X-RP-API-Key``, or the client id of
            the bearer token).
        :param operation: The OpenAPI ``operationId`` (``"createPost"``) or
            operation identifier (``"post.create"``), for the
            operation-specific limits.
        :param user: The ``sub`` of the token's user, if any: operation
            limits count per App Key and user.
        :raise RateLimitExceeded: 429 ``C0010`` when ``enforce_rate_limit``
            is on and a limit is exceeded.
        """
        return self.rate_limit_headers(self._limiter.count(app_key, operation, user))

    def rate_limit_left(self, app_key: str) -> dict[str, str]:
        """The rate limit headers of an App Key's minute, without counting
        a call: for the answers of the token and revocation endpoints, which
        count their call before they know it succeeds.

        :param app_key: The App Key (the client id).
        """
        return self.rate_limit_headers(self._limiter.peek(app_key))

    def rate_limit_headers(self, status: RateLimitStatus) -> dict[str, str]:
        """The rate limit headers of ``status`` in this flavor's names.

        :param status: What a call left of its budgets.
        """
        return self.flavor_spec.rate_limit_headers(
            limit=status.limit,
            remaining=status.remaining,
            reset=status.reset,
            scope=status.scope,
            scope_remaining=status.scope_remaining,
        )

    def rate_limited(self, retry_after: int | None = None) -> RateLimitExceeded:
        """The 429 ``C0010`` a fault switch answers with.

        :param retry_after: The ``Retry-After`` seconds; by default until
            the current minute ends.
        """
        seconds = self.retry_after() if retry_after is None else retry_after
        reset = int(self.clock()) + seconds
        return RateLimitExceeded(
            "Rate limit exceeded.",
            retry_after=seconds,
            status=RateLimitStatus(self.rate_limit_per_minute, 0, reset),
        )

    def retry_after(self) -> int:
        """Seconds until the current rate limit window ends."""
        return self._limiter.retry_after()

    def claims(
        self,
        token: AccessToken,
        picture_url: Callable[[SandboxUser], str | None] = lambda user: user.picture,
    ) -> dict[str, str | None]:
        """The userinfo claims for a token's user, filtered by its scopes.

        :param token: The authenticated access token.
        :param picture_url: Returns the absolute picture URL of a user.
        :raise APIError: 403 ``C0011`` without the profile scope.
        """
        self.require_scope(token, self.profile_scope)
        user = self.get_user(token.user_sub)
        if user is None:
            raise APIError(404, "C0008", "The user no longer exists.")
        claims: dict[str, str | None] = {
            "sub": user.sub,
            "name": user.name,
            "preferred_username": user.preferred_username,
            "picture": picture_url(user),
        }
        if self.email_scope in token.scopes and user.email is not None:
            claims["email"] = user.email
        return claims

    def error_body(self, error: APIError) -> dict[str, object]:
        """The JSON body of an API error in this flavor's shape.

        :param error: The error.
        """
        return self.flavor_spec.error_body(
            error.code, error.message, error.details, self.clock(), error.status
        )

    def fault_error(self, status: int) -> APIError:
        """The API error a ``*_status`` fault answers with.

        :param status: The HTTP status to answer.
        """
        return fault_error(status, self.profile_scope)

    # -- sample API -------------------------------------------------------------

    def list_posts(self, page: int, page_size: int) -> dict[str, object]:
        """A page of posts (``GET /api/v1/posts``).

        :param page: The page number, from 1 (normalized).
        :param page_size: The page size, 1 to 50 (normalized).
        """
        return self._api.list_posts(page, page_size)

    def create_post(self, token: AccessToken, text: str) -> dict[str, object]:
        """Create a post as the token's user (``POST /api/v1/posts``).

        :param token: The authenticated access token (needs ``post:write``).
        :param text: The post body, up to 5,000 characters.
        :raise APIError: Missing scope or invalid text.
        """
        return self._api.create_post(token, text)

    def company_permissions(self, token: AccessToken) -> dict[str, object]:
        """The companies the token's user manages.

        :param token: The authenticated access token (needs
            ``company:manage:read``).
        :raise APIError: Missing scope.
        """
        return self._api.company_permissions(token)
