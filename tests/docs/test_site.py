"""The built site, looked at in a real browser.

``make docs`` builds ``site/``; these tests serve it on 127.0.0.1 and open its pages in
headless Chromium (Debian's ``chromium``, driven by Playwright, which never downloads a
browser of its own). Every page must load without a script error or a request leaving the
machine; every construct and pattern page must show its architecture diagram; every image
must load with a non-zero size, every Mermaid diagram must render, and every internal link
must reach a page (and, with a fragment, an element of that page). One screenshot per page
type is kept under ``site/screenshots/`` for review.

``make test`` builds the site first and sets ``LAMBDA_BLUEPRINTS_SITE_REQUIRED``, so there a
missing site fails; a bare ``pytest`` run without a built site skips these tests.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest

from tests.conftest import ROOT

SITE = ROOT / "site"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
#: Flags for a closed network: no background services calling out.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The page types a screenshot is kept for: the first page of each folder, and the index.
SCREENSHOT_FOLDERS = ("", "constructs", "patterns", "protocols", "local-cloud")

#: Public names documented on the page of the construct they belong to.
#: Classes documented on the page of the construct they belong to.
NOT_ON_A_PAGE_OF_THEIR_OWN = {
    "LeaderboardApi",
    "ConsumerOptions",
    "StreamCapacity",
    "ApiAuthorization",
    "MappedIntegration",
    "MappedResponse",
    "HttpApiAuthorization",
}

#: True once every Mermaid block of a page has been drawn.
RENDERED = "() => [...document.querySelectorAll('div.mermaid')].every(b => b.querySelector('svg'))"

pytestmark = pytest.mark.enable_socket


def _pages() -> list[str]:
    """Site-relative URLs of every built page (``constructs/stream-trigger/``)."""
    pages = []
    for index in sorted(SITE.rglob("index.html")):
        relative = index.parent.relative_to(SITE).as_posix()
        if relative.startswith(("assets", "screenshots")) or relative == "404":
            continue
        pages.append("" if relative == "." else f"{relative}/")
    return pages


def _diagram_pages(pages: list[str]) -> list[str]:
    return [p for p in pages if p.startswith(("constructs/", "patterns/"))]


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    if not (SITE / "index.html").exists():
        if os.environ.get("LAMBDA_BLUEPRINTS_SITE_REQUIRED"):
            pytest.fail("site/ is not built: `make docs` builds it")
        pytest.skip("site/ is not built: run `make docs` first")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is not installed: `make setup` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class _Visit:
    """One page load: what it requested, what failed, and the page itself."""

    def __init__(self, context: Any, url: str) -> None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        self.context = context
        self.page = context.new_page()
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.failed: list[str] = []
        origin = urlsplit(url).netloc
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on(
            "request",
            lambda request: (
                None
                if urlsplit(request.url).netloc == origin or request.url.startswith("data:")
                else self.outside.append(request.url)
            ),
        )
        self.page.on("requestfailed", lambda request: self.failed.append(request.url))
        response = self.page.goto(url, wait_until="load")
        assert response is not None and response.status == 200, url
        # Mermaid renders after load: wait until every block holds its drawing (a block that
        # never renders is reported by the Mermaid test).
        with contextlib.suppress(PlaywrightTimeout):
            self.page.wait_for_function(RENDERED, timeout=5_000)

    def close(self) -> None:
        self.page.close()


@pytest.fixture(scope="module")
def visits(browser: Any, site_url: str) -> Iterator[dict[str, _Visit]]:
    # One browser context for the whole site, as one reader: scripts load once, then cached.
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened: dict[str, _Visit] = {}
    try:
        for page in _pages():
            opened[page] = _Visit(context, site_url + page)
        yield opened
    finally:
        for visit in opened.values():
            visit.close()
        context.close()


def test_the_site_has_a_page_for_every_public_construct_and_pattern() -> None:
    if not (SITE / "index.html").exists():
        pytest.skip("site/ is not built: run `make docs` first")
    import lambda_blueprints

    titles = {
        (SITE / p / "index.html").read_text().split("<title>", 1)[1].split(" - ", 1)[0]: p
        for p in _diagram_pages(_pages())
    }
    for name in lambda_blueprints.__all__:
        if name[0].isupper() and name not in NOT_ON_A_PAGE_OF_THEIR_OWN:
            assert name in titles, f"no construct or pattern page is titled {name}"
            html = (SITE / titles[name] / "index.html").read_text()
            assert 'id="lambda_blueprints.' in html, f"{name}'s page renders no reference"


def test_pages_load_offline_without_script_errors(visits: dict[str, _Visit]) -> None:
    assert "" in visits and len(visits) > 20
    for page, visit in visits.items():
        assert not visit.errors, (page, visit.errors)
        assert not visit.outside, (page, visit.outside)
        assert not visit.failed, (page, visit.failed)


def test_every_construct_page_renders_its_architecture_diagram(
    visits: dict[str, _Visit],
) -> None:
    pages = _diagram_pages(list(visits))
    assert len(pages) >= 10, pages
    for page in pages:
        sizes = visits[page].page.eval_on_selector_all(
            "article img[src*='diagrams/']",
            "images => images.map(i => [i.complete, i.naturalWidth, i.clientWidth])",
        )
        assert sizes, f"{page} shows no architecture diagram"
        for complete, natural_width, shown_width in sizes:
            assert complete and natural_width > 0 and shown_width > 0, (page, sizes)


def test_every_image_loads(visits: dict[str, _Visit]) -> None:
    for page, visit in visits.items():
        broken = visit.page.eval_on_selector_all(
            "img",
            "images => images.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)",
        )
        assert not broken, (page, broken)


def test_every_mermaid_diagram_renders(visits: dict[str, _Visit]) -> None:
    rendered = 0
    for page, visit in visits.items():
        blocks = visit.page.eval_on_selector_all(
            "div.mermaid", "blocks => blocks.map(b => !!b.querySelector('svg'))"
        )
        assert all(blocks), f"{page}: a Mermaid block did not render"
        rendered += len(blocks)
    assert rendered >= 3, "the protocol and local cloud pages have Mermaid diagrams"


def test_no_internal_link_is_broken(visits: dict[str, _Visit], site_url: str) -> None:
    ids: dict[str, set[str]] = {
        site_url + page: set(visit.page.eval_on_selector_all("[id]", "e => e.map(x => x.id)"))
        for page, visit in visits.items()
    }
    some_visit = next(iter(visits.values()))
    broken = []
    for page, visit in visits.items():
        hrefs = visit.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        for href in set(hrefs):
            if not href.startswith(site_url):
                continue
            target, fragment = urldefrag(href)
            if target in ids:
                if fragment and fragment not in ids[target]:
                    broken.append((page, href, "no such anchor"))
                continue
            status = some_visit.context.request.get(target).status
            if status != 200:
                broken.append((page, href, status))
    assert not broken, broken


def test_a_screenshot_of_each_page_type_is_kept(visits: dict[str, _Visit]) -> None:
    shots = SITE / "screenshots"
    shots.mkdir(exist_ok=True)
    for folder in SCREENSHOT_FOLDERS:
        page = next(p for p in visits if (p.split("/")[0] if folder else p) == folder)
        name = folder or "index"
        visits[page].page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        assert (shots / f"{name}.png").stat().st_size > 10_000
