"""/docs (Swagger UI) and /redoc (ReDoc) render the API's operations in a real headless
Chromium against a real `edi278 serve`, on this machine, which has no internet: their
scripts and styles come from the package, never from a CDN."""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import stop_server, wait_until_serving

ROOT = Path(__file__).parents[1]
EDI278 = ROOT / ".venv" / "bin" / "edi278"
PACKAGE = ROOT / "edi278"
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--window-size=1400,1000")  # fmt: skip
# Where the CDN-hosted copies of Swagger UI, ReDoc and their fonts live.
CDN = re.compile(
    rb"cdn\.jsdelivr\.net|unpkg\.com|cdnjs\.cloudflare\.com|cdn\.redoc\.ly|cdn\.redocly\.com"
    rb"|fonts\.googleapis\.com|fonts\.gstatic\.com|fastapi\.tiangolo\.com/img"
)
OPERATIONS = ("/v1/x12/278", "/v1/reviews", "/v1/reviews/{tracking_number}", "/healthz")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    port = _free_port()
    state = tmp_path_factory.mktemp("var")
    process = subprocess.Popen(
        [str(EDI278), "serve", "--port", str(port), "--state-dir", str(state)],
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_serving(process, base)
    yield base
    stop_server(process)


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator[webdriver.Chrome]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Debian's chromium and chromium-driver are needed: apt-get install them")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})  # its requests
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    yield driver
    driver.quit()


def shown_text(browser: webdriver.Chrome, url: str, awaited: str) -> str:
    """The page's visible text once `awaited` shows (the UI built it from /openapi.json)."""
    browser.get_log("performance")  # forget what came before
    browser.get(url)
    WebDriverWait(browser, 30).until(
        lambda driver: awaited in driver.find_element(By.TAG_NAME, "body").text
    )
    return browser.find_element(By.TAG_NAME, "body").text


def requested(browser: webdriver.Chrome) -> set[str]:
    """Every address the browser asked for since the last page was opened."""
    events = (json.loads(entry["message"])["message"] for entry in browser.get_log("performance"))
    return {
        event["params"]["request"]["url"]
        for event in events
        if event["method"] == "Network.requestWillBeSent"
    }


def elsewhere(server: str, urls: set[str]) -> list[str]:
    """The addresses on the network that are not this server's (the browser's own
    chrome:// pages, data: and blob: URLs go nowhere)."""
    network = (url for url in urls if url.startswith(("http:", "https:", "ws:", "wss:")))
    return sorted(url for url in network if not url.startswith(f"{server}/"))


def test_swagger_ui_at_docs_shows_every_operation_offline(server, browser):
    text = shown_text(browser, f"{server}/docs", "/v1/x12/278")
    for path in OPERATIONS:
        assert path in text
    assert "Answer one X12 278 interchange" in text
    assert browser.title == "edi278: API"
    assert elsewhere(server, requested(browser)) == []


def test_redoc_at_redoc_shows_every_operation_offline(server, browser):
    text = shown_text(browser, f"{server}/redoc", "Answer one X12 278 interchange")
    assert elsewhere(server, requested(browser)) == []
    assert "A case by tracking number" in text
    assert "Liveness and the database" in text
    # ReDoc names the path in the operation's panel; its text is there, if not all shown
    panel = browser.find_element(By.TAG_NAME, "body").get_attribute("textContent")
    for path in OPERATIONS:
        assert path in panel


def test_the_pages_load_only_from_the_server_itself(server):
    """Every script, style and icon of both pages is a path on this server, served."""
    for page in ("/docs", "/redoc"):
        html = httpx.get(f"{server}{page}").text
        assets = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert assets, page
        for asset in assets:
            if asset.startswith("data:"):
                continue
            assert asset.startswith("/docs-assets/"), asset
            answer = httpx.get(f"{server}{asset}")
            assert (answer.status_code, len(answer.content) > 0) == (200, True), asset


def test_no_cdn_address_is_left_in_the_package():
    found = [
        str(path.relative_to(ROOT))
        for path in sorted(PACKAGE.rglob("*"))
        if path.is_file() and path.suffix != ".pyc" and CDN.search(path.read_bytes())
    ]
    assert found == []


def test_the_vendored_assets_are_package_data():
    """setup.cfg lists them, so an install (not only this checkout) carries them."""
    setup = (ROOT / "setup.cfg").read_text()
    assert "channels/static/*\n" in setup and "channels/static/*/*\n" in setup
    for asset in ("swagger-ui/swagger-ui-bundle.js", "swagger-ui/swagger-ui.css",
                  "swagger-ui/LICENSE", "redoc/redoc.standalone.js", "redoc/LICENSE"):  # fmt: skip
        assert (PACKAGE / "channels" / "static" / asset).is_file(), asset
