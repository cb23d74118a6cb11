"""The customer pages in a real browser: Debian's Chromium driven by Playwright, axe-core for accessibility.

The site runs on pytest-django's ``live_server`` with the built-in sandbox in-process (each test has
its own sandbox state). Nothing is skipped: without Chromium or axe-core the suite fails and says how
to install them (``.ci/run`` does it before the tests).
"""

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.conftest import PASSWORD

# Playwright's sync API keeps an asyncio loop in this thread; Django's ORM, called by the tests between
# browser steps (never from inside the loop), would take it for async code and refuse.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", HERE.parents[1] / "browser-screenshots"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

WIDTHS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 800}}
LOCALES = {"ko": "ko-KR", "en": "en-US"}

# Latin letters a Korean page may show: formats printed on cards, and card companies' own names.
ALLOWED_LATIN = {"MM", "YY", "YYMMDD", "BC", "KB", "NH"}
HANGUL = re.compile(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z']+")


@dataclass
class View:
    """One browser: a language and a width."""

    lang: str
    width: str


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    if not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need it. "
            "Install it with `apt-get install -y chromium fonts-noto-cjk` (as root; .ci/run does it), "
            "or point CHROMIUM at another Chromium binary.",
            pytrace=False,
        )
    if not AXE.exists():
        pytest.fail(
            f"axe-core is not installed ({AXE} is missing): "
            "run `npm ci --prefix tests/browser` (.ci/run does it).",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


EVERY_VIEW = [View("ko", "phone"), View("ko", "desktop"), View("en", "phone"), View("en", "desktop")]


def view_id(view: View) -> str:
    return f"{view.lang}-{view.width}"


@pytest.fixture
def context(chromium, view, live_server, sandbox) -> Iterator[BrowserContext]:
    ctx = chromium.new_context(
        locale=LOCALES[view.lang],
        viewport=WIDTHS[view.width],
        is_mobile=view.width == "phone",
        has_touch=view.width == "phone",
        base_url=live_server.url,
    )
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context) -> Page:
    return context.new_page()


@pytest.fixture
def customer(django_user_model):
    return django_user_model.objects.create_user("gildong", "gildong@example.com", PASSWORD)


@pytest.fixture
def signed_in(page, customer) -> Page:
    page.goto("/accounts/login/")
    page.fill("#id_username", customer.username)
    page.fill("#id_password", PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url("**/billing/cards/")
    return page


def look_at(page: Page, view: View, name: str) -> None:
    """Screenshot the page, then check it: its language, no sideways scrolling, no serious axe violation."""
    page.wait_for_load_state("load")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-{view.lang}-{view.width}.png"), full_page=True)

    assert page.evaluate("document.documentElement.lang") == view.lang
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name}: {overflow}px of sideways scrolling at {view.width} width"

    text = page.evaluate("document.body.innerText")
    if view.lang == "ko":
        english = {w for w in LATIN_WORD.findall(text) if w not in ALLOWED_LATIN and not _is_data(w)}
        assert not english, f"{name}: English on the Korean page: {sorted(english)}"
    else:
        korean = {w for w in re.findall(r"\S+", text) if HANGUL.search(w)}
        assert not korean, f"{name}: Korean on the English page: {sorted(korean)}"

    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.help + ' ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    assert not violations, f"{name} ({view.lang}, {view.width}): {violations}"


def _is_data(word: str) -> bool:
    # The test accounts' usernames and e-mail addresses are ASCII data, not page text.
    return word.lower() in {"gildong", "newcomer", "example", "com"}
