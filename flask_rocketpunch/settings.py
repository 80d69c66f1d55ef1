"""Configuration: every ``ROCKETPUNCH_*`` key, its default, and validation."""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import ipaddress
import math
import typing as t
from urllib.parse import urlsplit

from .exceptions import ConfigurationError
from .i18n import N_, english
from .languages import LANGUAGES, normalize_language
from .locales import SUPPORTED, supported
from .sandbox.flavors import FLAVORS
from .scopes import parse_scopes

#: Production endpoints, from Rocketpunch's current OpenAPI description.
AUTHORIZE_URL = "https://developers.rocketpunch.com/oauth/authorize"
TOKEN_URL = "https://openapi.rocketpunch.com/oauth/token"
REVOKE_URL = "https://openapi.rocketpunch.com/oauth/revoke"
USERINFO_URL = "https://openapi.rocketpunch.com/oauth/userinfo"
API_BASE_URL = "https://openapi.rocketpunch.com/api/v1/"

#: Where the in-process sandbox answers back-channel calls. The ``.invalid``
#: top-level domain never resolves (RFC 2606), so nothing leaves the process.
SANDBOX_ORIGIN = "http://rocketpunch-sandbox.invalid"

CLIENT_AUTH_METHODS = ("client_secret_post", "client_secret_basic")
#: What ``ROCKETPUNCH_STORAGE_URL`` may name (a SQLAlchemy driver may follow
#: a ``+``, as in ``postgresql+psycopg://``).
STORAGE_SCHEMES = ("redis", "rediss", "unix", "postgresql", "sqlite")
SANDBOX_FLAVORS = tuple(FLAVORS)

Timeout: t.TypeAlias = float | tuple[float, float]


def _key(default: t.Any, *, unset: str | None = None, secret: bool = False) -> t.Any:
    """A :class:`Settings` field read from ``ROCKETPUNCH_<NAME>``.

    :param default: the key's default in ``app.config``.
    :param unset: what ``flask rocketpunch check`` shows when the value is
        ``None``.
    :param secret: never shown, only whether it is set.
    """
    return dataclasses.field(
        repr=not secret, metadata={"default": default, "unset": unset}
    )


@dataclasses.dataclass(frozen=True)
class Settings:
    """The validated configuration of one app. Built by :func:`load_settings`;
    the OAuth logic takes it as a plain argument. Each field is the key
    ``ROCKETPUNCH_<FIELD NAME IN UPPER CASE>``; :data:`DEFAULTS` and
    ``flask rocketpunch check`` are made from these fields."""

    client_id: str = _key(None)
    client_secret: str = _key(None, secret=True)
    #: The App Key sent as ``X-RP-API-Key`` to the API; the client id unless
    #: set. Not a secret: it identifies the app, as the client id does.
    app_key: str = _key(None, unset=N_("(the client id)"))
    scopes: frozenset[str] = _key(["profile"])
    redirect_uri: str | None = _key(None, unset=N_("(computed from the request)"))
    url_prefix: str = _key("/auth/rocketpunch")
    #: ``None`` in sandbox mode: the consent page's URL is computed per request.
    authorize_url: str | None = _key(AUTHORIZE_URL, unset=N_("(sandbox consent page)"))
    token_url: str = _key(TOKEN_URL)
    revoke_url: str | None = _key(REVOKE_URL, unset=N_("(no revocation)"))
    userinfo_url: str = _key(USERINFO_URL)
    api_base_url: str = _key(API_BASE_URL)
    client_auth: str = _key("client_secret_post")
    login_redirect: str = _key("/")
    refresh_leeway: float = _key(300)
    use_pkce: bool = _key(True)
    timeout: float | tuple[float, float] = _key(5.0)
    sandbox: bool = _key(False)
    sandbox_flavor: str = _key("current")
    sandbox_force: bool = _key(False)
    insecure_transport: bool = _key(False)
    login_ttl: float = _key(600)
    max_pending_logins: int = _key(5)
    storage_url: str | None = _key(None, unset=N_("(tokens in the session cookie)"))
    #: The ``Accept-Language`` sent to Rocketpunch; ``None``: the request's.
    language: str | None = _key(
        None, unset=N_("(the request's best match; outside a request none: Korean)")
    )
    #: The language of pages and messages when neither Flask-Babel nor the
    #: request's ``Accept-Language`` chooses one of ours.
    default_locale: str = _key("en")

    def lease(self, given: float | None, owner: str) -> float:
        """The refresh lease a shared coordinator uses: ``given``, checked,
        or :attr:`refresh_lease` when none was given.

        :param given: the lease passed to the coordinator or storage.
        :param owner: who was given it, for the message.
        :raises ConfigurationError: the lease is not longer than two token
            endpoint calls (``ROCKETPUNCH_TIMEOUT``).
        """
        if given is None:
            return self.refresh_lease
        twice = self.refresh_lease - 1
        if not (math.isfinite(given) and given > twice):
            raise ConfigurationError(
                f"{owner}(lease={given!r}) is too short for ROCKETPUNCH_TIMEOUT:"
                f" it must be longer than twice the timeout ({twice:g} seconds),"
                " so that a process still waiting for Rocketpunch's answer never"
                " loses its turn to another, which would send the same refresh"
                " token again and log the user out. Use a lease above"
                f" {twice:g} seconds, or leave it out to use"
                f" {self.refresh_lease:g}."
            )
        return given

    @property
    def refresh_lease(self) -> float:
        """How long one process may hold the right to refresh a token before
        another may take over: twice the longest token endpoint call
        (``TIMEOUT``), plus a second."""
        total = sum(self.timeout) if isinstance(self.timeout, tuple) else self.timeout
        return 2 * total + 1

    def rows(self) -> list[tuple[str, str]]:
        """Each key (without the prefix) and its effective value as text, for
        people: secrets masked, unset values explained."""
        out = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not field.repr:
                text = mask(value)
            elif value is None:
                text = field.metadata["unset"] or "None"
            elif isinstance(value, frozenset):
                text = " ".join(sorted(value))
            elif isinstance(value, float):
                text = f"{value:g}"
            elif field.name == "storage_url":
                text = without_password(value)
            else:
                text = str(value)
            out.append((field.name.upper(), text))
        return out


#: Every key with its default, in one place (names without the prefix).
DEFAULTS: dict[str, t.Any] = {
    field.name.upper(): field.metadata["default"]
    for field in dataclasses.fields(Settings)
}


def mask(value: object) -> str:
    """Show that a secret is set without showing it."""
    if not value:
        return N_("(not set)")
    return f"******** ({len(str(value))} characters)"


def without_password(url: str) -> str:
    """``url`` with the password of its user part masked, for display."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")
    user = netloc[0].partition(":")[0]
    return parts._replace(netloc=f"{user}:********@{netloc[2]}").geturl()


PLAIN_HTTP_REDIRECT = N_(
    "The redirect URI %(uri)s uses plain http:// on a public host. If the app"
    " runs behind a proxy that terminates TLS, wrap it with"
    " werkzeug.middleware.proxy_fix.ProxyFix, or set ROCKETPUNCH_REDIRECT_URI"
    " to the https:// URL."
)


def plain_http_redirect_warning(
    uri: str, translate: cabc.Callable[..., str] = english
) -> str | None:
    """The warning for a redirect URI in plain ``http://`` on a host that is
    not loopback (the app is most likely behind a proxy that terminates TLS),
    or ``None``.

    :param uri: the redirect URI.
    :param translate: gettext for ``flask rocketpunch check``; English (for
        logs) by default.
    """
    parts = urlsplit(uri)
    if parts.scheme != "http" or is_loopback_host(parts.hostname):
        return None
    return translate(PLAIN_HTTP_REDIRECT, uri=uri)


#: Client ids that look like a real app's (the Rocketpunch console's App Key
#: prefix): the sandbox refuses them unless forced.
REAL_CLIENT_ID_PREFIXES = ("rp_app_",)


def sandbox_refusal(settings: Settings, *, debug: bool) -> str | None:
    """Why the sandbox must not be served with ``settings``, or ``None``.

    It is refused in an app that runs with debug and testing off (as in
    production, where anyone could log in as a sample user) and with a
    client id that looks like a real app's (production settings), unless
    ``ROCKETPUNCH_SANDBOX_FORCE`` is on.

    :param settings: the app's settings, with ``sandbox`` on.
    :param debug: whether the app runs in debug or testing mode.
    """
    if settings.sandbox_force:
        return None
    force = (
        " To serve the sandbox anyway (a demo, or a test server without debug),"
        " set ROCKETPUNCH_SANDBOX_FORCE = True; never in production."
    )
    if not debug:
        return (
            "ROCKETPUNCH_SANDBOX is on, but the app runs with debug and testing"
            " off, as in production, where the sandbox would let anyone log in as"
            " a sample user. In production, turn the sandbox off and set"
            " ROCKETPUNCH_CLIENT_ID and ROCKETPUNCH_CLIENT_SECRET. In development,"
            " run in debug mode (flask run --debug, or FLASK_DEBUG=1; app.run("
            "debug=True) comes too late: set app.debug = True before init_app)."
            " In tests, set TESTING = True." + force
        )
    if settings.client_id.lower().startswith(REAL_CLIENT_ID_PREFIXES):
        return (
            "ROCKETPUNCH_SANDBOX is on, but ROCKETPUNCH_CLIENT_ID looks like a"
            " real Rocketpunch app's (it starts with"
            f" {' or '.join(REAL_CLIENT_ID_PREFIXES)}): these look like production"
            " settings. Unset ROCKETPUNCH_CLIENT_ID and ROCKETPUNCH_CLIENT_SECRET"
            " while the sandbox is on (it needs none), or turn the sandbox off." + force
        )
    return None


def _missing(key: str) -> ConfigurationError:
    return ConfigurationError(
        f"ROCKETPUNCH_{key} is not set. Set it in app.config or in the environment"
        f" as FLASK_ROCKETPUNCH_{key} (with app.config.from_prefixed_env()), or set"
        " ROCKETPUNCH_SANDBOX = True to use the built-in sandbox provider."
    )


def is_loopback_host(host: str | None) -> bool:
    """Whether ``host`` is ``localhost`` or a loopback address."""
    if not host:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_url(key: str, url: object, insecure: bool) -> str:
    if not isinstance(url, str) or not url:
        raise ConfigurationError(
            f"ROCKETPUNCH_{key} must be an absolute URL, got {url!r}."
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError(
            f"ROCKETPUNCH_{key} must be an absolute http(s) URL, got {url!r}."
        )
    if parts.scheme == "http" and not insecure and not is_loopback_host(parts.hostname):
        raise ConfigurationError(
            f"ROCKETPUNCH_{key} is {url!r}: plain http:// sends secrets and tokens"
            " in clear. Use https://, or set ROCKETPUNCH_INSECURE_TRANSPORT = True"
            " for this app if the network is trusted (loopback hosts are always"
            " allowed)."
        )
    return url


def _timeout(value: object) -> Timeout:
    def ok(v: object) -> bool:
        return (
            isinstance(v, (int, float))
            and not isinstance(v, bool)
            and math.isfinite(v)
            and v > 0
        )

    if ok(value):
        return float(t.cast(float, value))
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(map(ok, value)):
        return (float(value[0]), float(value[1]))
    raise ConfigurationError(
        "ROCKETPUNCH_TIMEOUT must be a positive number of seconds or a"
        f" (connect, read) pair, got {value!r}."
    )


def _number(key: str, value: object, minimum: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            value = float(str(value))
        except ValueError:
            raise ConfigurationError(
                f"ROCKETPUNCH_{key} must be a number, got {value!r}."
            ) from None
    if not math.isfinite(value) or value < minimum:
        raise ConfigurationError(
            f"ROCKETPUNCH_{key} must be a finite number of at least {minimum},"
            f" got {value!r}."
        )
    return float(value)


def _flag(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def _choice(key: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ConfigurationError(
            f"ROCKETPUNCH_{key} must be one of {allowed}, got {value!r}."
        )
    return str(value)


def _endpoints(
    config: cabc.Mapping[str, t.Any], get: cabc.Callable[[str], t.Any]
) -> dict[str, t.Any]:
    """The provider URLs (and, in sandbox mode, the flavor's default scopes
    and PKCE), checked: ``https://`` unless loopback or allowed."""
    insecure = _flag(get("INSECURE_TRANSPORT"))
    if not _flag(get("SANDBOX")):
        revoke_url = get("REVOKE_URL")
        return {
            "authorize_url": _check_url(
                "AUTHORIZE_URL", get("AUTHORIZE_URL"), insecure
            ),
            "token_url": _check_url("TOKEN_URL", get("TOKEN_URL"), insecure),
            "revoke_url": None
            if revoke_url is None
            else _check_url("REVOKE_URL", revoke_url, insecure),
            "userinfo_url": _check_url("USERINFO_URL", get("USERINFO_URL"), insecure),
            "api_base_url": _check_url("API_BASE_URL", get("API_BASE_URL"), insecure),
        }
    spec = FLAVORS[_choice("SANDBOX_FLAVOR", get("SANDBOX_FLAVOR"), SANDBOX_FLAVORS)]
    out: dict[str, t.Any] = {
        "authorize_url": None,
        "token_url": f"{SANDBOX_ORIGIN}/oauth/token",
        "revoke_url": f"{SANDBOX_ORIGIN}/oauth/revoke" if spec.revocation else None,
        "userinfo_url": SANDBOX_ORIGIN + spec.userinfo_path,
        "api_base_url": f"{SANDBOX_ORIGIN}/api/v1/",
    }
    if "ROCKETPUNCH_SCOPES" not in config:
        out["scopes"] = list(spec.client_scopes)
    if "ROCKETPUNCH_USE_PKCE" not in config:
        out["use_pkce"] = spec.requires_pkce
    return out


def _redirect_uri(value: object) -> str | None:
    if value is None:
        return None
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        raise ConfigurationError(
            "ROCKETPUNCH_REDIRECT_URI must be an absolute http(s) URL without a"
            f" fragment, got {value!r}."
        )
    return str(value)


def _storage_url(value: object) -> str | None:
    if not value:
        return None
    scheme = urlsplit(str(value)).scheme
    if scheme.split("+")[0] not in STORAGE_SCHEMES:
        # The URL itself is not shown: it may hold a password.
        raise ConfigurationError(
            "ROCKETPUNCH_STORAGE_URL must start with one of"
            f" {', '.join(s + '://' for s in STORAGE_SCHEMES)}, got a URL with"
            f" the scheme {scheme!r}."
        )
    return str(value)


def _app_key(value: object, client_id: str) -> str:
    if value is None or value == "":
        return client_id
    text = str(value)
    if not text.isprintable() or text != text.strip():
        raise ConfigurationError(
            "ROCKETPUNCH_APP_KEY must be the App Key shown in Rocketpunch's"
            " developer console (it starts with 'rp_app_'), without spaces or"
            " line breaks; leave it unset to send the client id."
        )
    return text


def _language(value: object) -> str | None:
    if value is None or value == "":
        return None
    language = normalize_language(value) if isinstance(value, str) else None
    if language is None:
        raise ConfigurationError(
            f"ROCKETPUNCH_LANGUAGE must be one of {', '.join(LANGUAGES)} (the"
            f" languages Rocketpunch answers in), got {value!r}. Leave it unset"
            " to follow each request's Accept-Language."
        )
    return language


def _locale(value: object) -> str:
    language = supported(value)
    if language is None:
        raise ConfigurationError(
            f"ROCKETPUNCH_DEFAULT_LOCALE must be one of {', '.join(SUPPORTED)},"
            f" got {value!r}."
        )
    return language


def load_settings(config: cabc.Mapping[str, t.Any]) -> Settings:
    """Read and validate the ``ROCKETPUNCH_*`` keys of ``config``.

    :raises ConfigurationError: naming the key that is missing or wrong.
    """

    def get(key: str) -> t.Any:
        return config.get(f"ROCKETPUNCH_{key}", DEFAULTS[key])

    sandbox = _flag(get("SANDBOX"))
    flavor = _choice("SANDBOX_FLAVOR", get("SANDBOX_FLAVOR"), SANDBOX_FLAVORS)
    client_id = get("CLIENT_ID") or ("sandbox-client" if sandbox else None)
    client_secret = get("CLIENT_SECRET") or ("sandbox-secret" if sandbox else None)
    if not client_id:
        raise _missing("CLIENT_ID")
    if not client_secret:
        raise _missing("CLIENT_SECRET")
    urls = _endpoints(config, get)
    scopes = parse_scopes(urls.pop("scopes", get("SCOPES")))
    if not scopes:
        raise ConfigurationError("ROCKETPUNCH_SCOPES must name at least one scope.")
    prefix = str(get("URL_PREFIX"))
    if not prefix.startswith("/"):
        raise ConfigurationError(
            f"ROCKETPUNCH_URL_PREFIX must start with '/', got {prefix!r}."
        )
    if not urls["api_base_url"].endswith("/"):
        urls["api_base_url"] += "/"
    return Settings(
        client_id=str(client_id),
        client_secret=str(client_secret),
        scopes=scopes,
        redirect_uri=_redirect_uri(get("REDIRECT_URI")),
        url_prefix=prefix.rstrip("/"),
        client_auth=_choice("CLIENT_AUTH", get("CLIENT_AUTH"), CLIENT_AUTH_METHODS),
        login_redirect=str(get("LOGIN_REDIRECT")),
        refresh_leeway=_number("REFRESH_LEEWAY", get("REFRESH_LEEWAY"), 0),
        use_pkce=urls.pop("use_pkce", _flag(get("USE_PKCE"))),
        timeout=_timeout(get("TIMEOUT")),
        sandbox=sandbox,
        sandbox_flavor=flavor,
        sandbox_force=_flag(get("SANDBOX_FORCE")),
        insecure_transport=_flag(get("INSECURE_TRANSPORT")),
        login_ttl=_number("LOGIN_TTL", get("LOGIN_TTL"), 1),
        max_pending_logins=int(
            _number("MAX_PENDING_LOGINS", get("MAX_PENDING_LOGINS"), 1)
        ),
        storage_url=_storage_url(get("STORAGE_URL")),
        app_key=_app_key(get("APP_KEY"), str(client_id)),
        language=_language(get("LANGUAGE")),
        default_locale=_locale(get("DEFAULT_LOCALE")),
        **urls,
    )
