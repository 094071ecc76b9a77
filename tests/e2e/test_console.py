"""The template console in a real browser (Debian's headless Chromium, driven by Playwright),
against a running ``otp serve`` that keeps its templates in its SQLite file: a product owner
signs in, creates a template, previews it in two languages, publishes, and the customer
receives it; publishes a change, rolls back, and each time the customer receives what was
published. A script in a template stays text; forms from elsewhere are refused. Screenshots of
the main states are checked and kept in var/reports/console/."""

from __future__ import annotations

import hashlib
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.e2e.conftest import OTP, RunningService, service_env, start_service
from tests.outbox import newest_message

pytestmark = [pytest.mark.e2e]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "var" / "reports" / "console"
EDITOR, ENGINE = "editor-secret-key-42", "engine-secret-key-42"
KEYS = (
    f"ana:{hashlib.sha256(EDITOR.encode()).hexdigest()}:templates,"
    f"engine:{hashlib.sha256(ENGINE.encode()).hexdigest()}"
)
XSS = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningService]:
    workdir = Path(tmp_path_factory.mktemp("console"))
    # The bundled templates published first: a store with none is not ready (/readyz).
    imported = subprocess.run(
        [OTP, "templates", "import"], env=service_env(workdir, TEMPLATE_STORE="sqlite"),
        cwd=workdir, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    service = start_service(
        workdir, TEMPLATE_STORE="sqlite", HTTP_API_KEYS=KEYS, OTP_RESEND_COOLDOWN_SECONDS="0"
    )
    yield service
    assert service.stop() == 0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "chromium is not installed (make test installs it)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


def _png_size_and_colours(path: Path) -> tuple[int, int, int]:
    """Width, height and how many distinct bytes the pixel data holds: a blank page has few."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, at = b"", 8
    while at < len(data):
        length = struct.unpack(">I", data[at : at + 4])[0]
        if data[at + 4 : at + 8] == b"IDAT":
            chunks += data[at + 8 : at + 8 + length]
        at += 12 + length
    return width, height, len(set(zlib.decompress(chunks)))


def _shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    width, height, colours = _png_size_and_colours(path)
    assert width == 1280 and height >= 600, (name, width, height)
    assert colours > 40, f"{name} looks blank"
    return path


def _send(served: RunningService, language: str, client: str) -> str:
    body = {"templateName": "login", "channel": "SMS", "recipient": "+40722123456",
            "clientId": client, "language": language, "data": {"bank": "Banca"}}  # fmt: skip
    reply = httpx.post(f"{served.base_url}/v1/otp/generate", json=body,
                       headers={"Authorization": f"Bearer {ENGINE}"}, timeout=10)  # fmt: skip
    assert reply.status_code == 200, reply.text
    return newest_message(served.workdir / "outbox", ".sms")


def _text(page: Page, selector: str) -> str:
    return page.text_content(selector) or ""


def _click(page: Page, selector: str) -> None:
    """Clicks a button that posts a form, and waits for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


def _save(page: Page) -> None:
    _click(page, "#save")


def _language(page: Page, n: int, language: str, text: str) -> None:
    page.fill(f"input[name=language-{n}]", language)
    page.fill(f"textarea[name=text-{n}]", text)


def test_a_product_owner_publishes_and_rolls_back_in_the_browser(
    served: RunningService, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[Any] = []
    page.on("pageerror", lambda error: errors.append(error))
    base = served.base_url

    # Signing in: a key of the codes scope cannot; the editor's can.
    page.goto(f"{base}/console")
    assert page.url.endswith("/console/login")
    page.fill("#key", ENGINE)
    _click(page, "#sign-in")
    assert "templates scope" in _text(page, "#message")
    page.fill("#key", EDITOR)
    _click(page, "#sign-in")
    page.wait_for_selector("#templates")
    assert _text(page, "#user") == "ana"
    _shot(page, "1-templates")

    # A new SMS template in two languages, with a live preview while typing.
    page.fill("#new-name", "login")
    _click(page, "#create")
    page.wait_for_selector("#draft")
    page.fill("#parameters", "bank*: the bank's name")
    _language(page, 0, "en", "{{ bank }}: your code is {{ otpValue }}")
    expect(page.locator("#previews")).to_contain_text("Banca: your code is 012345")
    _save(page)
    _language(page, 1, "ro", "{{ bank }}: codul este {{ otpValue }}")
    _save(page)
    previews = {
        article.get_attribute("data-language"): (article.text_content() or "")
        for article in page.query_selector_all("#previews article")
    }
    assert "Banca: your code is 012345" in previews["en"]
    assert "Banca: codul este 012345" in previews["ro"]
    assert "GSM-7, 1 of at most" in previews["ro"]
    _shot(page, "2-draft-and-preview")

    # Publish: the customer receives version 1, in their language.
    page.fill("#note", "first text")
    _click(page, "#publish-button")
    page.wait_for_selector("#history")
    assert "Version 1 is sent to customers" in _text(page, "#status")
    assert "codul este" in _send(served, "ro", "c1")
    assert "your code is" in _send(served, "en", "c2")

    # A change, published as version 2.
    page.fill("textarea[name=text-1]", "{{ bank }}: folosiți codul {{ otpValue }}")
    _save(page)
    page.fill("#note", "clearer Romanian")
    _click(page, "#publish-button")
    page.wait_for_selector("tr.version[data-version='2']")
    assert "folosiți codul" in _send(served, "ro", "c3")

    # History with a diff, then a rollback to version 1 as version 3.
    _click(page, "tr.version[data-version='1'] a")
    page.wait_for_selector("#diff")
    assert "-[ro] text: {{ bank }}: codul este {{ otpValue }}" in _text(page, "#diff")
    _shot(page, "3-history-and-diff")
    page.fill("tr.version[data-version='1'] input[name=note]", "customers asked for it")
    _click(page, "tr.version[data-version='1'] button")
    page.wait_for_selector("tr.version[data-version='3']")
    assert "Version 3 is sent to customers" in _text(page, "#status")
    assert "= 1" in _text(page, "tr.version[data-version='3']")
    assert "codul este" in _send(served, "ro", "c4")

    # A script in a template's text stays text, in the page and in the live preview.
    page.fill("textarea[name=text-0]", XSS + " {{ otpValue }} {{ bank }}")
    expect(page.locator("#previews")).to_contain_text("<script>")
    _save(page)
    assert XSS in _text(page, "#previews")
    assert page.evaluate("window.pwned") is None
    assert page.query_selector("#previews img") is None
    assert not errors, errors
    page.close()


def test_a_form_from_another_site_or_without_its_token_is_refused(
    served: RunningService, browser: Browser
) -> None:
    page = browser.new_page()
    page.goto(f"{served.base_url}/console/login")
    page.fill("#key", EDITOR)
    _click(page, "#sign-in")
    page.wait_for_selector("#templates")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    page.close()
    form = {"revision": "0", "channel": "SMS", "languages": "0", "language-0": "en",
            "text-0": "{{ otpValue }}"}  # fmt: skip
    with httpx.Client(base_url=served.base_url, cookies=cookies, timeout=10) as client:
        no_token = client.post("/console/templates/forged/draft", data=form)
        assert no_token.status_code == 403
        other_site = client.post(
            "/console/templates/forged/draft",
            data={**form, "csrf": "x"},
            headers={"Origin": "https://evil.example"},
        )
        assert other_site.status_code == 403
        page_headers = client.get("/console").headers
        assert "script-src 'self'" in page_headers["content-security-policy"]
        assert "frame-ancestors 'none'" in page_headers["content-security-policy"]
    editor = httpx.get(f"{served.base_url}/v1/templates/forged",
                       headers={"Authorization": f"Bearer {EDITOR}"}, timeout=10)  # fmt: skip
    assert editor.json()["errorCode"] == "TEMPLATE_NOT_FOUND"  # nothing was saved


def test_a_mail_s_html_part_is_previewed_in_a_frame_where_no_script_runs(
    served: RunningService, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{served.base_url}/console/login")
    page.fill("#key", EDITOR)
    _click(page, "#sign-in")
    page.goto(f"{served.base_url}/console/templates/otp-mail")
    html = page.locator("textarea[name=html-0]")
    html.fill(html.input_value() + XSS)
    _save(page)
    frame_element = page.wait_for_selector("article[data-language='en'] iframe")
    assert frame_element is not None and frame_element.get_attribute("sandbox") == ""
    frame = frame_element.content_frame()
    assert frame is not None
    frame.wait_for_load_state()
    assert "012345" in frame.inner_text("body")  # the sample code, styled by its own CSS
    assert frame.evaluate("window.pwned") is None
    assert page.evaluate("window.pwned") is None
    for other in page.query_selector_all("#previews iframe"):
        shown = other.content_frame()
        assert shown is not None
        shown.wait_for_selector("body p")  # each language's HTML part has loaded
    _shot(page, "4-mail-preview")
    page.close()


def test_the_features_page_is_the_living_documentation_served_sandboxed(
    served: RunningService, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{served.base_url}/console/login")
    page.fill("#key", EDITOR)
    _click(page, "#sign-in")
    _click(page, "#features-link")
    assert "make docs" in _text(page, "#message")
    written = served.workdir / "var" / "reports" / "features.html"
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_text("<h1 id=t>Features</h1><script>document.title='ran'</script>")
    response = page.goto(f"{served.base_url}/console/features")
    assert response is not None and response.status == 200
    assert "sandbox allow-scripts" in response.headers["content-security-policy"]
    assert _text(page, "#t") == "Features"
    page.close()
