"""The languages Rocketpunch answers in, as its OpenAPI description names
them, and how a language tag is read as one of them."""

from __future__ import annotations

#: The languages Rocketpunch answers in, as its OpenAPI description spells
#: them; ``ko`` (Korean) is its default when no ``Accept-Language`` is sent.
LANGUAGES: tuple[str, ...] = (
    "ko",
    "en",
    "ja",
    "zh-CN",
    "zh-TW",
    "es",
    "fr",
    "de",
    "pt",
    "th",
    "vi",
)

#: Chinese tags that name a script or a region instead of ``zh-CN`` or
#: ``zh-TW``: Rocketpunch's ``zh-TW`` covers Taiwan and Hong Kong.
_CHINESE = {
    "zh-hk": "zh-TW",
    "zh-mo": "zh-TW",
    "zh-hant": "zh-TW",
    "zh-sg": "zh-CN",
    "zh-hans": "zh-CN",
}


def normalize_language(value: str) -> str | None:
    """``value`` as Rocketpunch spells one of its :data:`LANGUAGES` (any
    case; ``zh-HK`` and ``zh-Hant`` are ``zh-TW``, ``zh-Hans`` ``zh-CN``),
    or ``None`` when it is none of them."""
    lowered = value.strip().lower().replace("_", "-")
    for language in LANGUAGES:
        if lowered == language.lower():
            return language
    for prefix, language in _CHINESE.items():
        if lowered == prefix or lowered.startswith(prefix + "-"):
            return language
    return None
