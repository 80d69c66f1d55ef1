"""The apps under test: ours, built with flask-rocketpunch, and its bare-Flask
twin, which does the same work by hand without the extension.

Both talk to the same sandbox provider served over real HTTP (its base URL
is passed in), each with its own registered client. The bare twin is what a
careful developer would write without an extension: a random ``state`` and an
S256 PKCE challenge on login, the state checked and the code exchanged with
``requests`` on the callback, the token kept in the session as the provider's
JSON, and API calls with the bearer token read from the session. It does
less than ours (no encryption, no refresh, no validation of the token
response): the ratios measure what the extension costs over that.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import typing as t
from urllib.parse import urlencode

import requests
from flask import Flask, abort, redirect, request, session

from flask_rocketpunch import RocketpunchOAuth, login_required_rocketpunch, rocketpunch
from flask_rocketpunch.storage import TOKEN_KEY, TokenStorage

if t.TYPE_CHECKING:
    from werkzeug.wrappers import Response as BaseResponse

#: The one secret key of every app here, so the twins read each other's
#: session cookies.
SECRET_KEY = "bench-secret"
#: The sandbox user who logs in.
USER = "minji"
#: The scope both apps ask for (ours by default).
SCOPE = "profile"
#: Seconds allowed for each call to the provider (ours forces one too).
TIMEOUT = 5.0

OURS_CLIENT_ID = "bench-ours"
BARE_CLIENT_ID = "bench-bare"
#: The callbacks as the Flask test client sees them (host ``localhost``).
OURS_REDIRECT_URI = "http://localhost/auth/rocketpunch/callback"
BARE_REDIRECT_URI = "http://localhost/callback"
OURS_LOGIN_PATH = "/auth/rocketpunch/login"
BARE_LOGIN_PATH = "/login"
#: Where the bare twin keeps the token JSON in its session.
BARE_TOKEN_KEY = "oauth_token"

#: The bare twin's HTTP session, made once per process as a developer would,
#: so its calls reuse pooled connections as ours do.
BARE_HTTP = requests.Session()


def make_ours(
    base_url: str, client_secret: str, storage: TokenStorage | None = None
) -> Flask:
    """Our app, pointed at the sandbox at ``base_url``: the extension's login
    and callback routes, ``/protected`` (a protected view returning
    ``"ok"``) and ``/api-call`` (a protected view making one API call).

    :param storage: where tokens are kept; by default the session cookie."""
    app = Flask("bench_ours")
    app.config.update(
        SECRET_KEY=SECRET_KEY,
        ROCKETPUNCH_CLIENT_ID=OURS_CLIENT_ID,
        ROCKETPUNCH_CLIENT_SECRET=client_secret,
        ROCKETPUNCH_AUTHORIZE_URL=f"{base_url}/oauth/authorize",
        ROCKETPUNCH_TOKEN_URL=f"{base_url}/oauth/token",
        ROCKETPUNCH_REVOKE_URL=f"{base_url}/oauth/revoke",
        ROCKETPUNCH_USERINFO_URL=f"{base_url}/oauth/userinfo",
        ROCKETPUNCH_API_BASE_URL=f"{base_url}/api/v1/",
        ROCKETPUNCH_TIMEOUT=TIMEOUT,
    )
    RocketpunchOAuth(app, storage=storage)

    @app.get("/protected")
    @login_required_rocketpunch
    def protected() -> str:
        return "ok"

    @app.get("/api-call")
    @login_required_rocketpunch
    def api_call() -> str:
        rocketpunch.get("posts")
        return "ok"

    return app


def _s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def make_bare(
    base_url: str, client_secret: str, *, protected_key: str = TOKEN_KEY
) -> Flask:
    """The bare-Flask twin of :func:`make_ours`, with the same routes.

    :param protected_key: the session key ``/protected`` checks; by default
        the one where ours keeps its (encrypted) token, so both apps read the
        same cookie.
    """
    app = Flask("bench_bare")
    app.config["SECRET_KEY"] = SECRET_KEY
    authorize_url = f"{base_url}/oauth/authorize"
    token_url = f"{base_url}/oauth/token"
    posts_url = f"{base_url}/api/v1/posts"

    @app.get("/protected")
    def protected() -> str | BaseResponse:
        if session.get(protected_key) is None:
            return redirect(BARE_LOGIN_PATH)
        return "ok"

    @app.get(BARE_LOGIN_PATH)
    def login() -> BaseResponse:
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(48)
        session["oauth_state"] = state
        session["oauth_verifier"] = verifier
        query = urlencode(
            {
                "client_id": BARE_CLIENT_ID,
                "redirect_uri": BARE_REDIRECT_URI,
                "response_type": "code",
                "scope": SCOPE,
                "state": state,
                "code_challenge": _s256(verifier),
                "code_challenge_method": "S256",
            }
        )
        return redirect(f"{authorize_url}?{query}", 302)

    @app.get("/callback")
    def callback() -> BaseResponse:
        expected = session.pop("oauth_state", None)
        verifier = session.pop("oauth_verifier", None)
        state = request.args.get("state", "")
        if not expected or not hmac.compare_digest(state, expected):
            abort(400)
        code = request.args.get("code")
        if not code or not verifier:
            abort(400)
        answer = BARE_HTTP.post(
            token_url,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": BARE_REDIRECT_URI,
                "client_id": BARE_CLIENT_ID,
                "client_secret": client_secret,
                "code_verifier": verifier,
            },
            timeout=TIMEOUT,
        )
        if answer.status_code != 200:
            abort(502)
        session[BARE_TOKEN_KEY] = answer.json()
        return redirect("/")

    @app.get("/api-call")
    def api_call() -> str | BaseResponse:
        token = session.get(BARE_TOKEN_KEY)
        if not token:
            return redirect(BARE_LOGIN_PATH)
        answer = BARE_HTTP.get(
            posts_url,
            headers={
                "Authorization": f"Bearer {token['access_token']}",
                "X-RP-API-Key": BARE_CLIENT_ID,
            },
            timeout=TIMEOUT,
        )
        if answer.status_code >= 400:
            abort(502)
        return "ok"

    return app
