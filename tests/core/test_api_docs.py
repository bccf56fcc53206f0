"""/api/docs (Swagger UI) and /api/redoc load nothing from outside: every asset is ours,
collected by collectstatic and served by whitenoise."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.test import Client

DOCS_PAGES = ["/api/docs", "/api/redoc"]


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href", "spec-url"} and value:
                self.urls.append(value)

    def handle_data(self, data: str) -> None:
        self.inline.append(data)


@pytest.fixture
def served(settings, tmp_path) -> Client:  # type: ignore[no-untyped-def]
    """What a deployment serves: collectstatic into a fresh STATIC_ROOT, then a new handler
    (whitenoise indexes STATIC_ROOT when the middleware is built)."""
    settings.STATIC_ROOT = tmp_path / "static"
    call_command("collectstatic", "--noinput", "-v0")
    assert (settings.STATIC_ROOT / "drf_spectacular_sidecar").is_dir()
    return Client()


@pytest.mark.parametrize("page", DOCS_PAGES)
def test_docs_page_references_only_its_own_host(db, served: Client, page: str) -> None:
    response = served.get(page)
    assert response.status_code == 200
    # The browser is kept on this host whatever a bundle asks for (ReDoc's names a CDN logo).
    policy = response["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
    assert "http" not in policy
    html = response.content.decode()
    refs = _References()
    refs.feed(html)
    assert refs.urls, "the page references its assets"
    for url in refs.urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, url
    # Nor does any inline script or style name an outside host.
    assert not re.findall(r"https?://[^\s\"'<>]+", "".join(refs.inline))
    for url in refs.urls:
        asset = served.get(url)
        assert asset.status_code == 200, url
        if url.startswith("/static/"):
            assert b"".join(asset.streaming_content if asset.streaming else [asset.content])


def test_an_unknown_static_asset_is_a_404(db, served: Client) -> None:
    assert served.get("/static/drf_spectacular_sidecar/nope.js").status_code == 404
