"""The sandbox's authorization endpoint: validation, the consent page and its
signed form."""

from __future__ import annotations

from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from test_sandbox_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    REDIRECT_URI,
    FakeClock,
    Sandbox,
    SandboxFactory,
    jwt_payload,
    redirect_query,
)
from test_sandbox_support import clock as clock
from test_sandbox_support import make_sandbox as make_sandbox
from test_sandbox_support import sandbox as sandbox

from flask_rocketpunch.sandbox import SAMPLE_USERS


def test_deny_redirects_with_access_denied_description_and_state(
    sandbox: Sandbox,
) -> None:
    params = sandbox.params()
    response = sandbox.decide(sandbox.consent(params), decision="deny")
    query = redirect_query(response, REDIRECT_URI)
    assert query["error"] == "access_denied"
    assert query["error_description"]
    assert query["state"] == params["state"]
    assert "code" not in query
    assert sandbox.provider.codes == {}


@pytest.mark.parametrize(
    ("overrides", "title"),
    [
        ({"client_id": "nobody"}, "Unknown application"),
        ({"redirect_uri": REDIRECT_URI + "/"}, "redirect_uri mismatch"),
        ({"redirect_uri": REDIRECT_URI.upper()}, "redirect_uri mismatch"),
        ({"redirect_uri": REDIRECT_URI + "?x=1"}, "redirect_uri mismatch"),
        ({"redirect_uri": None}, "Missing redirect_uri"),
        ({"client_id": None}, "Missing client_id"),
    ],
)
def test_unknown_client_or_redirect_mismatch_shows_400_page_without_redirect(
    sandbox: Sandbox, overrides: dict[str, str | None], title: str
) -> None:
    response = sandbox.authorize(sandbox.params(**overrides))
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert response.headers["Content-Type"].startswith("text/html")
    assert title in response.text
    assert sandbox.provider.codes == {}


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "profile admin"}, "invalid_scope"),
        ({"scope": None}, "invalid_scope"),
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"code_challenge": "too-short"}, "invalid_request"),
    ],
)
def test_invalid_authorization_request_redirects_with_error_and_state(
    sandbox: Sandbox, overrides: dict[str, str | None], error: str
) -> None:
    params = sandbox.params(**overrides)
    response = sandbox.authorize(params)
    assert response.status_code == 302
    query = redirect_query(response, REDIRECT_URI)
    assert query["error"] == error
    assert query["error_description"]
    assert query["state"] == params["state"]


def test_plain_pkce_is_also_rejected_when_the_consent_form_is_forged(
    sandbox: Sandbox,
) -> None:
    form = sandbox.consent(sandbox.params())
    response = sandbox.decide(form, code_challenge_method="plain")
    assert redirect_query(response, REDIRECT_URI)["error"] == "invalid_request"


def test_repeated_authorization_parameter_is_invalid_request(sandbox: Sandbox) -> None:
    url = sandbox.url("/oauth/authorize")
    params = [*sandbox.params().items(), ("scope", "email")]
    response = sandbox.session.get(url, params=params, allow_redirects=False)
    assert redirect_query(response, REDIRECT_URI)["error"] == "invalid_request"


def test_redirect_keeps_the_query_of_the_registered_redirect_uri(
    sandbox: Sandbox,
) -> None:
    redirect_uri = "http://client.test/cb?tenant=a%20b"
    sandbox.provider.register_client(CLIENT_ID, CLIENT_SECRET, redirect_uri)
    response = sandbox.decide(
        sandbox.consent(sandbox.params(redirect_uri=redirect_uri))
    )
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["tenant"] == ["a b"]
    assert "code" in query


def test_consent_page_is_not_framable_cacheable_or_cookie_setting(
    sandbox: Sandbox,
) -> None:
    response = sandbox.authorize(sandbox.params())
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in response.headers


def test_decision_with_forged_or_tampered_consent_token_is_rejected(
    sandbox: Sandbox,
) -> None:
    form = sandbox.consent(sandbox.params())
    forged = sandbox.decide(form, consent_token="1800000000." + "0" * 64)
    assert forged.status_code == 400
    assert "Location" not in forged.headers
    tampered = sandbox.decide(form, scope="profile")
    assert tampered.status_code == 400
    missing = dict(form.hidden)
    del missing["consent_token"]
    no_token = sandbox.session.post(
        urljoin(form.url, form.action),
        data={**missing, "decision": "approve", "user": SAMPLE_USERS[0].sub},
        allow_redirects=False,
    )
    assert no_token.status_code == 400
    assert sandbox.provider.codes == {}


def test_consent_form_expires(sandbox: Sandbox, clock: FakeClock) -> None:
    form = sandbox.consent(sandbox.params())
    clock.advance(901)
    assert sandbox.decide(form).status_code == 400


def test_decision_needs_a_known_user_and_a_decision(sandbox: Sandbox) -> None:
    form = sandbox.consent(sandbox.params())
    assert sandbox.decide(form, user="nobody").status_code == 400
    assert sandbox.decide(form, decision="maybe").status_code == 400


def test_user_can_be_chosen_by_preferred_username(sandbox: Sandbox) -> None:
    token = sandbox.login(user="alex")
    assert jwt_payload(token["access_token"])["sub"] == SAMPLE_USERS[2].sub


# -- the consent form's signed token -------------------------------------------


def test_consent_form_is_accepted_until_its_fifteen_minutes_end(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    form = sandbox.consent(sandbox.params())
    clock.advance(900)
    assert sandbox.decide(form).status_code == 302


def test_consent_form_stamped_in_the_future_is_rejected(
    sandbox: Sandbox, clock: FakeClock
) -> None:
    form = sandbox.consent(sandbox.params())
    clock.advance(-60)
    assert sandbox.decide(form).status_code == 400
    assert sandbox.provider.codes == {}


@pytest.mark.parametrize(
    "change",
    [
        {"state": "another-state"},
        {"scope": "profile"},
        {"code_challenge": "A" * 43},
        {"prompt": "none"},
        {"client_id": "other"},
    ],
)
def test_consent_token_is_bound_to_every_authorization_parameter(
    sandbox: Sandbox, change: dict[str, str]
) -> None:
    sandbox.provider.register_client("other", "other-secret", REDIRECT_URI)
    form = sandbox.consent(sandbox.params())
    response = sandbox.decide(form, **change)
    assert response.status_code == 400
    assert "Consent form rejected" in response.text
    assert sandbox.provider.codes == {}


def test_consent_token_without_its_state_is_rejected(sandbox: Sandbox) -> None:
    form = sandbox.consent(sandbox.params())
    del form.hidden["state"]
    assert sandbox.decide(form).status_code == 400


def test_consent_token_altered_by_one_character_is_rejected(sandbox: Sandbox) -> None:
    form = sandbox.consent(sandbox.params())
    token = form.hidden["consent_token"]
    for index in (0, len(token) // 2, len(token) - 1):
        # Not A-D for A-D: base64's last character has two padding bits.
        flipped = "A" if token[index] not in "ABCD" else "Q"
        altered = token[:index] + flipped + token[index + 1 :]
        assert sandbox.decide(form, consent_token=altered).status_code == 400
    assert sandbox.decide(form).status_code == 302


def test_consent_token_of_another_sandbox_is_rejected(
    make_sandbox: SandboxFactory,
) -> None:
    first: Sandbox = make_sandbox()
    second: Sandbox = make_sandbox()
    params = first.params()
    token = first.consent(params).hidden["consent_token"]
    form = second.consent(params)
    assert second.decide(form, consent_token=token).status_code == 400
    assert second.decide(form).status_code == 302
