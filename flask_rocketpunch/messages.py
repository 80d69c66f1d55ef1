"""What a person reads when something goes wrong, in their language.

Exceptions keep their English :attr:`~flask_rocketpunch.RocketpunchError.message`
for developers and logs; the default error pages and the ``message`` of JSON
errors show the text chosen here instead, by the error's type and its
``reason``/``error``/``code``, translated from the gettext catalogs.

To give a new error its own text: add the English sentences here, marked with
:func:`~flask_rocketpunch.i18n.N_` (a title and a message, in
:data:`BY_TYPE` for a type that always says the same, or in :func:`describe`
when it depends on the error's data), run ``make messages`` and translate the
new entries of every ``.po`` file.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import typing as t

from .exceptions import (
    NO_SECRET_KEY,
    APIError,
    ConfigurationError,
    NoLoginInFlightError,
    OAuthError,
    ProviderError,
    RateLimitError,
    ReauthorizationRequired,
    RocketpunchError,
    ScopeRefusedError,
    StateExpiredError,
    StateMismatchError,
    StorageError,
    UnsafeURLError,
)
from .i18n import N_, Translator

#: Titles of the default error page.
LOGIN_FAILED = N_("Login with Rocketpunch failed")
REQUEST_FAILED = N_("A request to Rocketpunch failed")
LOGIN_CANCELLED = N_("Login cancelled")
LOGIN_NEEDED = N_("Log in with Rocketpunch")
SETUP_PROBLEM = N_("This site's Rocketpunch login is not set up correctly")
STORAGE_FAILED = N_("Your login could not be read or saved")
MORE_PERMISSIONS = N_("More Rocketpunch permissions needed")

#: RFC 6749 error codes (authorization response, section 4.1.2.1, and token
#: endpoint, section 5.2) and what to tell the person logging in.
OAUTH_ERRORS: cabc.Mapping[str, str] = {
    "access_denied": N_(
        "You chose not to connect your Rocketpunch account. Nothing was shared"
        " with this site."
    ),
    "invalid_request": N_(
        "The login request was incomplete or malformed. Start the login again"
        " from this site."
    ),
    "unauthorized_client": N_("This site is not allowed to log in with Rocketpunch."),
    "unsupported_response_type": N_(
        "Rocketpunch does not support the kind of login this site asked for."
    ),
    "invalid_scope": N_("This site asked Rocketpunch for permissions it cannot have."),
    "server_error": N_("Rocketpunch had an internal error. Try again in a moment."),
    "temporarily_unavailable": N_(
        "Rocketpunch is temporarily unavailable. Try again in a moment."
    ),
    "invalid_grant": N_(
        "Rocketpunch did not accept this login: its one-time code was already"
        " used or has expired. Start the login again from this site."
    ),
    "invalid_client": N_(
        "Rocketpunch did not recognise this site. If you run it, check"
        " ROCKETPUNCH_CLIENT_ID, ROCKETPUNCH_CLIENT_SECRET and"
        " ROCKETPUNCH_CLIENT_AUTH."
    ),
    "unsupported_grant_type": N_(
        "Rocketpunch does not support the kind of login this site asked for."
    ),
}
OAUTH_OTHER = N_("Rocketpunch could not complete the login (%(error)s).")

#: :class:`~flask_rocketpunch.ProviderError` reasons.
PROVIDER_ERRORS: cabc.Mapping[str, str] = {
    "timeout": N_("Rocketpunch did not answer in time. Try again in a moment."),
    "connection": N_("Rocketpunch could not be reached. Try again in a moment."),
    "server_error": N_(
        "Rocketpunch is having trouble right now. Try again in a moment."
    ),
    "invalid_response": N_(
        "Rocketpunch sent an answer this site could not read. Try again later;"
        " if it keeps happening, tell the people who run this site."
    ),
    "rejected": N_("Rocketpunch turned down a request from this site."),
    "refresh_pending": N_(
        "Your login is being renewed in another window or tab. Try again in a moment."
    ),
}


@dataclasses.dataclass(frozen=True)
class Texts:
    """A title and a message, untranslated (English), and the values of
    their placeholders."""

    title: str
    message: str
    values: cabc.Mapping[str, t.Any] = dataclasses.field(default_factory=dict)

    def translated(self, translator: Translator) -> tuple[str, str]:
        """The title and the message in ``translator``'s language."""
        return (
            translator.gettext(self.title, **self.values),
            translator.gettext(self.message, **self.values),
        )


#: Errors that always read the same, by type (the most specific type wins).
BY_TYPE: dict[type[RocketpunchError], Texts] = {
    NoLoginInFlightError: Texts(
        LOGIN_FAILED,
        N_(
            "This browser has no Rocketpunch login in progress: it was already"
            " completed, or the browser did not keep this site's cookie. Start"
            " the login again from this site."
        ),
    ),
    StateMismatchError: Texts(
        LOGIN_FAILED,
        N_(
            "This answer from Rocketpunch does not belong to a login started in"
            " this browser: it was already used, or the link came from somewhere"
            " else. Start the login again from this site."
        ),
    ),
    StateExpiredError: Texts(
        LOGIN_FAILED,
        N_(
            "The login took too long and has expired. Start the login again from"
            " this site."
        ),
    ),
    UnsafeURLError: Texts(
        REQUEST_FAILED,
        N_(
            "This site tried to send your Rocketpunch login somewhere other than"
            " Rocketpunch, and it was stopped. Nothing was sent. If you run this"
            " site, check the paths it calls."
        ),
    ),
    StorageError: Texts(
        STORAGE_FAILED,
        N_(
            "This site could not reach the place where it keeps logins. Nothing"
            " was lost: try again in a moment."
        ),
    ),
}


def describe(error: RocketpunchError, *, during_login: bool = False) -> Texts:
    """The title and message a person sees for ``error``.

    :param error: the error.
    :param during_login: whether it happened on the login or callback route
        (the title then says the login failed).
    """
    if isinstance(error, ScopeRefusedError):
        return Texts(
            MORE_PERMISSIONS,
            N_(
                "Rocketpunch did not grant %(scopes)s the last time it was asked"
                " for. To use this page, ask again and allow it on Rocketpunch's"
                " page, or log out and log in again, allowing it."
            ),
            {"scopes": ", ".join(sorted(error.scopes))},
        )
    for cls in type(error).__mro__:
        if cls in BY_TYPE:
            return BY_TYPE[cls]
    title = LOGIN_FAILED if during_login else REQUEST_FAILED
    if isinstance(error, OAuthError):
        if error.error == "access_denied":
            return Texts(LOGIN_CANCELLED, OAUTH_ERRORS["access_denied"])
        if error.error in OAUTH_ERRORS:
            if error.http_status == 500:
                title = SETUP_PROBLEM
            return Texts(title, OAUTH_ERRORS[error.error])
        return Texts(title, OAUTH_OTHER, {"error": error.error})
    if isinstance(error, RateLimitError):
        if error.retry_after is not None:
            return Texts(
                title,
                N_(
                    "This site made too many requests to Rocketpunch. Try again in"
                    " %(seconds)s seconds."
                ),
                {"seconds": error.retry_after},
            )
        return Texts(
            title,
            N_("This site made too many requests to Rocketpunch. Try again later."),
        )
    if isinstance(error, APIError):
        return Texts(title, *_api_message(error))
    if isinstance(error, ProviderError):
        return Texts(
            title,
            PROVIDER_ERRORS.get(error.reason, PROVIDER_ERRORS["server_error"]),
        )
    if isinstance(error, ReauthorizationRequired):
        if error.scopes:
            return Texts(
                LOGIN_NEEDED,
                N_(
                    "This page needs more permissions on your Rocketpunch account."
                    " Log in again to grant them."
                ),
            )
        return Texts(LOGIN_NEEDED, N_("Log in with Rocketpunch to continue."))
    if isinstance(error, ConfigurationError):
        if error.message == NO_SECRET_KEY:
            return Texts(
                SETUP_PROBLEM,
                N_(
                    "This site cannot keep logins because its SECRET_KEY is not"
                    " set. If you run it, set SECRET_KEY to a long random value."
                ),
            )
        return Texts(
            SETUP_PROBLEM,
            N_(
                "If you run this site, run `flask rocketpunch check` to see what"
                " is wrong."
            ),
        )
    return Texts(
        title, N_("Something went wrong with Rocketpunch. Try again in a moment.")
    )


def _api_message(error: APIError) -> tuple[str, dict[str, t.Any]]:
    if error.code == "C0011" or error.status_code == 403:
        return N_(
            "This site lacks a permission on your Rocketpunch account. Log in"
            " again to grant it."
        ), {}
    if error.status_code == 401:
        return N_("Rocketpunch no longer accepts your login. Log in again."), {}
    if error.status_code == 404:
        return N_("Rocketpunch could not find what this site asked for."), {}
    if error.status_code >= 500:
        return PROVIDER_ERRORS["server_error"], {}
    return N_("Rocketpunch turned down a request from this site (HTTP %(status)s)."), {
        "status": error.status_code
    }
