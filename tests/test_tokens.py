"""Token: validating a token response, expiry, storage form, repr."""

from __future__ import annotations

import typing as t

import pytest

from flask_rocketpunch.exceptions import ProviderError
from flask_rocketpunch.scopes import parse_scopes
from flask_rocketpunch.tokens import Token

NOW = 1_700_000_000.0
ACCESS = "at-secret-3f9c1e"
REFRESH = "rt-secret-77ab02"


def response(**fields: object) -> dict[str, object]:
    """A valid token response, with ``fields`` replaced (``None`` removes)."""
    data: dict[str, object] = {
        "access_token": ACCESS,
        "token_type": "Bearer",
        "expires_in": 900,
        "refresh_token": REFRESH,
        "scope": "profile email",
    }
    for key, value in fields.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def invalid(data: object) -> ProviderError:
    with pytest.raises(ProviderError) as info:
        Token.from_response(data, now=NOW)
    assert info.value.reason == "invalid_response"
    return info.value


def test_valid_response_gives_token_with_absolute_expiry() -> None:
    token = Token.from_response(response(), now=NOW)
    assert token.access_token == ACCESS
    assert token.refresh_token == REFRESH
    assert token.token_type == "Bearer"
    assert token.expires_at == NOW + 900
    assert token.scopes == frozenset({"profile", "email"})
    assert token.expires_in(NOW + 100) == 800


@pytest.mark.parametrize("field", ["access_token", "token_type", "expires_in"])
def test_missing_required_field_is_refused_naming_it(field: str) -> None:
    exc = invalid(response(**{field: None}))
    assert field in str(exc)
    assert "ROCKETPUNCH_TOKEN_URL" in str(exc)


def test_empty_access_token_is_refused() -> None:
    invalid(response(access_token=""))


def test_non_string_access_token_is_refused() -> None:
    invalid(response(access_token=12345))


@pytest.mark.parametrize("token_type", ["mac", "MAC", "DPoP", "basic", "Bearerx"])
def test_non_bearer_token_type_is_refused(token_type: str) -> None:
    exc = invalid(response(token_type=token_type))
    assert "Bearer" in str(exc)


def test_very_long_token_type_is_cut_in_the_message() -> None:
    exc = invalid(response(token_type="x" * 5000))
    assert len(str(exc)) < 400


@pytest.mark.parametrize("token_type", ["bearer", "BEARER", "BeArEr"])
def test_bearer_token_type_is_case_insensitive(token_type: str) -> None:
    token = Token.from_response(response(token_type=token_type), now=NOW)
    assert token.token_type == "Bearer"


def test_expires_in_as_string_of_digits_is_accepted() -> None:
    token = Token.from_response(response(expires_in="3600"), now=NOW)
    assert token.expires_at == NOW + 3600


def test_expires_in_as_float_is_accepted() -> None:
    token = Token.from_response(response(expires_in=59.5), now=NOW)
    assert token.expires_at == NOW + 59.5


def test_expires_in_zero_is_accepted_and_already_needs_refresh() -> None:
    token = Token.from_response(response(expires_in=0), now=NOW)
    assert token.needs_refresh(NOW, 0)


@pytest.mark.parametrize(
    "value",
    [
        -1,
        -0.5,
        True,
        False,
        float("nan"),
        float("inf"),
        "",
        "ten",
        "-5",
        "1.5e3",
        [900],
        {"s": 900},
    ],
    ids=repr,
)
def test_expires_in_that_is_not_a_number_of_seconds_is_refused(value: object) -> None:
    exc = invalid(response(expires_in=value))
    assert "expires_in" in str(exc)


@pytest.mark.parametrize(
    "value",
    ["\u00b2", "\u2463", "9" * 400, 10**400],
    ids=["superscript-two", "circled-digit", "400-digit-string", "400-digit-int"],
)
def test_exotic_expires_in_is_an_invalid_response_not_a_crash(value: object) -> None:
    """A broken provider must give a ProviderError (a clear 502), never a
    ValueError or OverflowError escaping as a 500."""
    invalid(response(expires_in=value))


@pytest.mark.parametrize(
    "body",
    [None, [], ["access_token"], "access_token=x", 42, b"{}"],
    ids=repr,
)
def test_body_that_is_not_a_json_object_is_refused(body: object) -> None:
    exc = invalid(body)
    assert "not a JSON object" in str(exc)


def test_non_string_refresh_token_is_refused() -> None:
    invalid(response(refresh_token=123))


def test_non_string_scope_is_refused() -> None:
    invalid(response(scope=["profile"]))


def test_scope_from_response_wins_over_requested() -> None:
    token = Token.from_response(
        response(scope="profile"), now=NOW, requested_scopes=["profile", "email"]
    )
    assert token.scopes == frozenset({"profile"})


def test_requested_scopes_are_granted_when_response_has_no_scope() -> None:
    token = Token.from_response(
        response(scope=None), now=NOW, requested_scopes=["profile", "email"]
    )
    assert token.scopes == frozenset({"profile", "email"})


@pytest.mark.parametrize("scope", ["", " ", "  "])
def test_empty_scope_means_no_scope_was_granted(scope: str) -> None:
    # RFC 6749 section 5.1: only an absent scope means "as requested".
    token = Token.from_response(
        response(scope=scope), now=NOW, requested_scopes=["profile"]
    )
    assert token.scopes == frozenset()
    assert not token.has_scopes(["profile"])


def test_refresh_with_empty_scope_drops_the_previous_scopes() -> None:
    previous = Token(ACCESS, NOW, REFRESH, frozenset({"profile", "email"}))
    token = Token.from_response(response(scope=""), now=NOW, previous=previous)
    assert token.scopes == frozenset()


def test_refresh_without_scope_keeps_previous_scopes() -> None:
    previous = Token(ACCESS, NOW, REFRESH, frozenset({"profile", "email"}))
    token = Token.from_response(
        response(scope=None), now=NOW, requested_scopes=["other"], previous=previous
    )
    assert token.scopes == frozenset({"profile", "email"})


def test_refresh_with_scope_uses_the_new_scope() -> None:
    previous = Token(ACCESS, NOW, REFRESH, frozenset({"profile", "email"}))
    token = Token.from_response(response(scope="profile"), now=NOW, previous=previous)
    assert token.scopes == frozenset({"profile"})


def test_refresh_without_refresh_token_keeps_the_old_one() -> None:
    previous = Token("old-access", NOW - 900, "rt-old", frozenset({"profile"}))
    token = Token.from_response(
        response(refresh_token=None, access_token="new-access"),
        now=NOW,
        previous=previous,
    )
    assert token.access_token == "new-access"
    assert token.refresh_token == "rt-old"


def test_refresh_with_empty_refresh_token_keeps_the_old_one() -> None:
    previous = Token("old-access", NOW - 900, "rt-old")
    token = Token.from_response(response(refresh_token=""), now=NOW, previous=previous)
    assert token.refresh_token == "rt-old"


def test_rotated_refresh_token_replaces_the_old_one() -> None:
    previous = Token("old-access", NOW - 900, "rt-old")
    token = Token.from_response(
        response(refresh_token="rt-new"), now=NOW, previous=previous
    )
    assert token.refresh_token == "rt-new"


def test_first_token_without_refresh_token_has_none() -> None:
    token = Token.from_response(response(refresh_token=None), now=NOW)
    assert token.refresh_token is None


def test_needs_refresh_honours_the_leeway() -> None:
    token = Token(ACCESS, expires_at=NOW + 600)
    assert not token.needs_refresh(NOW, 300)
    assert not token.needs_refresh(NOW + 299, 300)
    assert token.needs_refresh(NOW + 300, 300)
    assert not token.needs_refresh(NOW + 599, 0)
    assert token.needs_refresh(NOW + 600, 0)
    assert token.needs_refresh(NOW + 10_000, 0)


def test_has_scopes_is_a_subset_check() -> None:
    token = Token(ACCESS, NOW, scopes=frozenset({"profile", "email"}))
    assert token.has_scopes(["profile"])
    assert token.has_scopes([])
    assert not token.has_scopes(["profile", "posts"])


@pytest.mark.parametrize(
    "token",
    [
        Token(ACCESS, NOW + 900, REFRESH, frozenset({"profile", "email"})),
        Token(ACCESS, NOW + 900),
        Token(ACCESS, NOW + 900, None, frozenset({"profile:read"})),
    ],
    ids=["full", "bare", "no-refresh"],
)
def test_to_dict_from_dict_round_trip(token: Token) -> None:
    data = token.to_dict()
    assert Token.from_dict(data) == token


def test_to_dict_is_compact_and_json_safe() -> None:
    import json

    token = Token(ACCESS, NOW + 900.4, REFRESH, frozenset({"b", "a"}))
    data = token.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data == {"a": ACCESS, "e": round(NOW + 900.4), "r": REFRESH, "s": "a b"}


@pytest.mark.parametrize(
    "data",
    [{}, {"e": 1}, {"a": 1, "e": 1}, {"a": "x", "e": 1, "r": 5}, {"a": "x"}],
    ids=repr,
)
def test_from_dict_refuses_foreign_data(data: dict[str, t.Any]) -> None:
    with pytest.raises((KeyError, TypeError, ValueError)):
        Token.from_dict(data)


def test_repr_shows_neither_token() -> None:
    token = Token(ACCESS, NOW, REFRESH, frozenset({"profile"}))
    text = repr(token)
    assert ACCESS not in text
    assert REFRESH not in text
    assert "profile" in text
    assert str(token) == text


def test_parse_scopes_accepts_string_list_and_none() -> None:
    assert parse_scopes("a  b\tc") == frozenset({"a", "b", "c"})
    assert parse_scopes(["a b", "c"]) == frozenset({"a", "b", "c"})
    assert parse_scopes(None) == frozenset()
    assert parse_scopes("") == frozenset()
