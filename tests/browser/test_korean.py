"""A Korean reader's journey in a real headless Chromium: the example app,
the sandbox's consent page and the error pages in Korean, and Korean text
drawn with real glyphs, not the empty boxes a browser draws without a CJK
font (CI installs Debian's fonts-noto-cjk for this).

Screenshots of every page are kept in ``test-artifacts/korean/`` for a
person to look at.
"""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

import pytest

from flask_rocketpunch.sandbox import SAMPLE_USERS

if t.TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

    from browser.conftest import LiveApp
else:
    from browser.lazy import expect

pytestmark = pytest.mark.browser

MINJI, SEOJUN, ALEX, *_ = SAMPLE_USERS
CONSENT_URL = re.compile(r"/_rocketpunch_sandbox/oauth/authorize\?")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "korean"

#: Measures an element's text against as many characters that no font has a
#: glyph for (U+0378 is unassigned), ASCII kept: drawn in the element's own
#: font, both as laid-out spans and on a canvas. Without a font for the text,
#: the browser draws each character as the same missing-glyph box, so the
#: widths and the pixels are the same.
MEASURE_GLYPHS = """
element => {
  const style = getComputedStyle(element);
  const text = element.textContent.trim();
  // The same text, each character outside ASCII replaced.
  const tofu = text.replace(/[^\\s\\x21-\\x7e]/gu, "\\u0378");
  const span = content => {
    const s = document.createElement("span");
    s.style.font = style.font;
    s.style.whiteSpace = "pre";
    s.style.position = "absolute";
    s.style.visibility = "hidden";
    s.textContent = content;
    document.body.appendChild(s);
    const width = s.getBoundingClientRect().width;
    s.remove();
    return width;
  };
  const pixels = content => {
    const canvas = document.createElement("canvas");
    canvas.width = 400;
    canvas.height = 80;
    const ctx = canvas.getContext("2d");
    ctx.font = style.font;
    ctx.fillStyle = "#000";
    ctx.textBaseline = "top";
    ctx.fillText(content, 4, 4);
    return Array.from(ctx.getImageData(0, 0, 400, 80).data).join(",");
  };
  return {
    text,
    font: style.fontFamily,
    width: span(text),
    tofuWidth: span(tofu),
    samePixels: pixels(text) === pixels(tofu),
  };
}
"""


def shoot(page: Page, name: str) -> None:
    """Keep a full-page screenshot in ``test-artifacts/korean/``."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def assert_real_glyphs(locator: Locator) -> None:
    """The locator's text is drawn with a font that has its glyphs."""
    measured = locator.evaluate(MEASURE_GLYPHS)
    assert measured["text"], measured
    assert abs(measured["width"] - measured["tofuWidth"]) > 1, (
        f"{measured['text']!r} is as wide as the same number of missing-glyph"
        f" boxes ({measured}): no font for it. Install fonts-noto-cjk."
    )
    assert not measured["samePixels"], (
        f"{measured['text']!r} is drawn exactly as missing-glyph boxes: no font"
        " for it. Install fonts-noto-cjk."
    )


@pytest.fixture
def korean(browser: Browser) -> t.Iterator[BrowserContext]:
    """A browser context of a Korean reader: ``Accept-Language: ko-KR``."""
    ctx = browser.new_context(locale="ko-KR")
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()


def test_a_korean_reader_logs_in_as_the_korean_sample_user(
    korean: BrowserContext, live_app: LiveApp
) -> None:
    page = korean.new_page()
    page.goto(f"{live_app.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("#login-button")).to_have_text("로켓펀치로 로그인")
    # The first screen shows the Korean sample user, in Korean glyphs.
    korean_user = page.locator(".sample-name", has_text=SEOJUN.name)
    expect(korean_user).to_be_visible()
    assert_real_glyphs(korean_user)
    shoot(page, "1-home")

    page.click("#login-button")
    expect(page).to_have_url(CONSENT_URL)
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("h1")).to_contain_text("로켓펀치 계정에 접근하려고 합니다")
    expect(page.get_by_role("button", name="허용", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="거부", exact=True)).to_be_visible()
    assert_real_glyphs(page.locator("h1"))
    assert_real_glyphs(page.locator(".user-name", has_text=SEOJUN.name))
    shoot(page, "2-consent")

    page.check(f'input[name="user"][value="{SEOJUN.sub}"]')
    page.get_by_role("button", name="허용", exact=True).click()
    expect(page).to_have_url(f"{live_app.url}/dashboard")
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    name = page.locator("#user-name")
    expect(name).to_have_text("박서준")
    expect(page.locator("h1")).to_have_text("대시보드")
    assert_real_glyphs(name)
    shoot(page, "3-dashboard")


def test_a_korean_reader_who_denies_sees_korean_pages(
    korean: BrowserContext, live_app: LiveApp
) -> None:
    page = korean.new_page()
    page.goto(f"{live_app.url}/")
    page.click("#login-button")
    expect(page).to_have_url(CONSENT_URL)
    page.get_by_role("button", name="거부", exact=True).click()

    expect(page.locator("#denied-message")).to_have_text(
        "로그인을 취소하셨습니다. 이 사이트에 공유된 정보는 없습니다."
    )
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    assert_real_glyphs(page.locator("#denied-message"))
    shoot(page, "4-denied")


def test_the_default_error_page_is_korean_for_a_korean_reader(
    korean: BrowserContext, live_app: LiveApp
) -> None:
    page = korean.new_page()
    response = page.goto(f"{live_app.url}/auth/rocketpunch/callback?state=forged")
    assert response is not None
    assert response.status == 400
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    title = page.locator("#rocketpunch-error-title")
    expect(title).to_have_text("로켓펀치 로그인에 실패했습니다")
    expect(page.locator("#rocketpunch-error-message")).to_contain_text(
        "로그인을 처음부터 다시 시작하세요"
    )
    expect(page.get_by_role("link", name="다시 시도")).to_be_visible()
    assert_real_glyphs(title)
    shoot(page, "5-error")


def test_an_english_reader_gets_english_pages(
    page: Page, live_app: LiveApp, context: BrowserContext
) -> None:
    page.set_extra_http_headers({"Accept-Language": "en-US,en;q=0.9"})
    page.goto(f"{live_app.url}/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.click("#login-button")
    expect(page).to_have_url(CONSENT_URL)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Approve", exact=True)).to_be_visible()
    # Korean names stay Korean, drawn with real glyphs on an English page.
    assert_real_glyphs(page.locator(".user-name", has_text=SEOJUN.name))
    shoot(page, "6-consent-english")
