"""/api/docs and /api/redoc render in a real browser that may reach only the server itself
(Playwright for Python driving Debian's chromium, as tests/console/test_browser.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connections

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TITLE = "Fiscal Gateway native API"

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("chromium") is None and not Path(CHROMIUM).exists(),
                       reason="Debian's chromium is not installed (apt-get install chromium)"),
]


@pytest.fixture
def offline_page(monkeypatch, live_server) -> Iterator[tuple[object, list[str]]]:  # type: ignore[no-untyped-def]
    """A page whose every request to another host is aborted and recorded."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    own = urlsplit(live_server.url).netloc
    refused: list[str] = []

    def only_own_host(route) -> None:  # type: ignore[no-untyped-def]
        url = route.request.url
        if urlsplit(url).netloc == own or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            refused.append(url)
            route.abort()

    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context()
            context.set_default_timeout(20_000)
            context.route("**/*", only_own_host)
            yield context.new_page(), refused
        finally:
            browser.close()
            connections.close_all()


def test_swagger_ui_renders_with_no_outside_host(live_server, offline_page) -> None:  # type: ignore[no-untyped-def]
    page, refused = offline_page
    page.goto(f"{live_server.url}/api/docs")
    page.locator(".swagger-ui .info .title").filter(has_text=TITLE).wait_for(timeout=60_000)
    page.locator(".opblock-summary-path").filter(has_text="/api/v1/notes").first.wait_for()
    assert refused == []


def test_redoc_renders_with_no_outside_host(live_server, offline_page) -> None:  # type: ignore[no-untyped-def]
    page, refused = offline_page
    page.goto(f"{live_server.url}/api/redoc")
    # ReDoc parses the whole document before it draws anything: slow on a busy machine.
    page.locator("h1").filter(has_text=TITLE).wait_for(timeout=90_000)
    page.get_by_text("notes_list").first.wait_for(state="attached")
    assert refused == []
