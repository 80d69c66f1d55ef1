"""The rule that picks the language of a page, one case at a time, without
Flask (flask_rocketpunch.locales)."""

from __future__ import annotations

import pytest

from flask_rocketpunch.locales import (
    best_accepted,
    choose_locale,
    environment_locale,
    supported,
)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("ko", "ko"),
        ("ko_KR", "ko"),
        ("ko-KR", "ko"),
        ("KO", "ko"),
        ("en-GB", "en"),
        ("ja", None),
        ("kor", None),
        ("", None),
        (None, None),
    ],
)
def test_a_locale_names_one_of_our_languages_or_none(
    tag: str | None, expected: str | None
) -> None:
    assert supported(tag) == expected


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # What browsers send.
        ("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"),
        ("en-US,en;q=0.9,ko;q=0.8", "en"),
        # q values decide, not the order.
        ("en;q=0.5, ko;q=0.6", "ko"),
        ("ko;q=0.2, en", "en"),
        # q=0 means "not this one".
        ("ko;q=0, en", "en"),
        # A language we lack is skipped for the next one we have.
        ("ja, ko;q=0.1", "ko"),
        ("fr-CA, fr;q=0.9, en;q=0.3", "en"),
        # Nothing usable: the caller's default decides.
        ("ja, zh-CN", None),
        ("*", None),
        ("ja, *;q=0.5", None),
        ("", None),
        (None, None),
        # A malformed entry is skipped.
        ("ko;q=bogus", None),
        ("ko;q=bogus, en;q=0.1", "en"),
        (";;;,,", None),
    ],
)
def test_accept_language_best_match(header: str | None, expected: str | None) -> None:
    assert best_accepted(header) == expected


def test_the_header_decides_when_the_app_has_no_locale_selector() -> None:
    assert choose_locale("ko-KR,ko;q=0.9", default="en") == "ko"
    assert choose_locale("en-US", default="ko") == "en"


def test_unknown_languages_fall_back_to_the_default() -> None:
    assert choose_locale("ja, zh", default="ko") == "ko"
    assert choose_locale("ja, zh", default="en") == "en"
    assert choose_locale(None, default="ko") == "ko"
    # A default we have no catalog for counts as English.
    assert choose_locale(None, default="ja") == "en"


def test_the_apps_own_choice_wins_over_the_header() -> None:
    assert choose_locale("en-US", preferred="ko_KR", default="en") == "ko"
    assert choose_locale("ko-KR", preferred="en", default="ko") == "en"


def test_an_app_choice_we_cannot_show_falls_back_to_the_default_not_the_header() -> (
    None
):
    assert choose_locale("ko-KR", preferred="ja_JP", default="en") == "en"
    assert choose_locale("en", preferred="fr", default="ko") == "ko"


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "ko_KR.UTF-8"}, "ko"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "ko_KR.UTF-8", "LC_ALL": "en_GB.UTF-8"}, "en"),
        ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "ko_KR"}, "ko"),
        ({"LANG": "ko_KR.UTF-8", "LC_ALL": ""}, "ko"),
        ({"LANG": "de_DE@euro"}, None),
        ({"LANG": "C.UTF-8"}, None),
        ({"LC_ALL": "POSIX", "LANG": "ko_KR.UTF-8"}, None),
        ({}, None),
    ],
)
def test_the_command_line_reads_the_posix_locale_variables(
    environ: dict[str, str], expected: str | None
) -> None:
    assert environment_locale(environ) == expected
