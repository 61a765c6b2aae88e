"""The built site in a real browser: Debian's Chromium, driven headless by Playwright.

Every page of ``_toc.yml`` is served from ``_build/html`` on 127.0.0.1 and visited once, in
the light and (for the chapters) the dark colour scheme; what the browser saw is recorded in a
:class:`PageReport`, and the tests below each check one promise the site makes to a reader.
Full-page screenshots land in ``_build/screenshots/`` (``dark/`` for the dark scheme).

Marked ``site``: `make test` runs it after building the book. Without Chromium the tests are
skipped with the command that installs it, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import re
import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from conftest import HTML, ROOT, toc_pages

pytestmark = pytest.mark.site

SCREENSHOTS = ROOT / "_build" / "screenshots"
CHAPTERS = [page for page in toc_pages() if re.match(r"book/\d\d_", page)]
# Besides --headless (Playwright adds it): no sandbox for root, no GPU, and none of the
# background traffic that a machine without internet access refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "Chromium is not installed, so the browser test cannot run. Install Debian's package with "
    "`sudo apt-get install chromium` (`make test` does this itself when run as root), or point "
    "the CHROMIUM environment variable at a Chromium executable."
)


def chromium_executable() -> str | None:
    """The Chromium to drive: $CHROMIUM, else `chromium` on the PATH, else Debian's path."""
    for candidate in (os.environ.get("CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the built site quietly and remembers the status of every response."""

    statuses: list[tuple[str, int]]

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.statuses.append((self.path, int(code) if str(code).isdigit() else 0))

    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Server:
    """The local HTTP server: its base URL and every (path, status) it answered."""

    base: str
    statuses: list[tuple[str, int]]

    def url(self, page: str) -> str:
        return f"{self.base}/{page}.html"


@pytest.fixture(scope="session")
def server(site_build: Any) -> Iterator[Server]:
    assert (HTML / "index.html").exists(), "the site was not built"
    statuses: list[tuple[str, int]] = []
    handler = type("Handler", (_Handler,), {"statuses": statuses})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(HTML)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", statuses)
    httpd.shutdown()
    httpd.server_close()


@dataclass
class PageReport:
    """What the browser saw on one page."""

    console_errors: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


# Runs in the page once it has loaded and MathJax has finished typesetting.
INSPECT_PAGE = """
() => {
  const main = document.querySelector('main') || document.body;
  const prose = main.cloneNode(true);
  prose.querySelectorAll('pre, code, script, style, mjx-container, .highlight').forEach(e => e.remove());
  const opaque = img => {
    if (!img.complete || img.naturalWidth === 0) return null;
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d');
    context.drawImage(img, 0, 0);
    const corners = [[0, 0], [img.naturalWidth - 1, img.naturalHeight - 1]];
    return corners.every(([x, y]) => context.getImageData(x, y, 1, 1).data[3] === 255);
  };
  const figures = Array.from(main.querySelectorAll('img')).filter(img => img.src.includes('/_images/'));
  return {
    theme: document.documentElement.dataset.theme || null,
    images: Array.from(document.images).map(img => ({
      src: img.src, loaded: img.complete && img.naturalWidth > 0,
      alt: img.getAttribute('alt') || '',
      caption: (img.closest('figure')?.querySelector('figcaption')?.textContent || '').trim(),
    })),
    figuresOpaque: figures.map(img => ({src: img.src, opaque: opaque(img)})),
    mathNodes: main.querySelectorAll('.math').length,
    untypesetMath: Array.from(main.querySelectorAll('.math')).filter(e => !e.querySelector('mjx-container')).length,
    mathErrors: main.querySelectorAll('mjx-merror').length,
    proseText: prose.textContent,
    visibleText: document.body.innerText,
    errorOutputs: main.querySelectorAll('.output.traceback, .output.error, .output.stderr').length,
    links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
    ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
    copyButtons: main.querySelectorAll('button.copybtn').length,
    wideCode: Array.from(main.querySelectorAll('div.highlight pre'))
      .filter(pre => !pre.closest('.cell_output, .output') && pre.scrollWidth > pre.clientWidth + 1)
      .map(pre => pre.textContent.split('\\n').reduce((a, b) => (b.length > a.length ? b : a), '')),
    codeCells: main.querySelectorAll('.cell_input .highlight').length,
    wideMath: Array.from(main.querySelectorAll('div.math, mjx-container[display="true"]'))
      .filter(e => e.scrollWidth > e.clientWidth + 1)
      .map(e => (e.closest('[id]') ? e.closest('[id]').id + ': ' : '') + e.textContent.slice(0, 60)),
    equationRefs: Array.from(main.querySelectorAll('a[href*="#equation-"]')).map(a => a.textContent.trim()),
    solutions: main.querySelectorAll('.solution.dropdown').length,
    downloads: Array.from(document.querySelectorAll('a[href$=".ipynb"]')).map(a => a.href),
  };
}
"""

WAIT_FOR_MATHJAX = """
async () => {
  if (window.MathJax && window.MathJax.startup && window.MathJax.startup.promise) {
    await window.MathJax.startup.promise;
  }
  return true;
}
"""


def visit(browser: Any, server: Server, page: str, *, scheme: str, screenshot: Path) -> PageReport:
    """Load one page, wait for its math, record what it shows and save a screenshot."""
    report = PageReport()
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    # A full-page screenshot of a long chapter took over Playwright's default 30 s on a
    # loaded 2-core machine (CI, session 6); the pages were fine.
    context.set_default_timeout(120_000)

    def route(request_route: Any) -> None:
        url = request_route.request.url
        if url.startswith((server.base, "data:")):
            request_route.continue_()
        else:  # the site must work offline: nothing may come from elsewhere
            report.external_requests.append(url)
            request_route.abort()

    context.route("**/*", route)
    tab = context.new_page()
    tab.on("console", lambda message: report.console_errors.append(message.text) if message.type == "error" else None)
    tab.on("pageerror", lambda error: report.console_errors.append(str(error)))
    tab.on("requestfailed", lambda request: report.failed_requests.append(request.url))
    tab.goto(server.url(page), wait_until="load")
    tab.wait_for_function("() => !document.querySelector('.math') || window.MathJax !== undefined")
    tab.evaluate(WAIT_FOR_MATHJAX)
    tab.wait_for_load_state("networkidle")
    report.facts = tab.evaluate(INSPECT_PAGE)
    if page in CHAPTERS and scheme == "light":
        report.facts["solution_toggle"] = check_solution_toggle(tab)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(screenshot), full_page=True)
    context.close()
    return report


def check_solution_toggle(tab: Any) -> tuple[bool, bool] | None:
    """Whether the first solution's body is hidden, and whether one click reveals it."""
    solution = tab.locator(".solution.dropdown").first
    if solution.count() == 0:
        return None
    body = solution.locator(":scope > :not(.admonition-title)").first
    hidden_before = not body.is_visible()
    solution.locator("button.toggle-button").first.click()
    body.wait_for(state="visible", timeout=5_000)
    return hidden_before, body.is_visible()


@pytest.fixture(scope="session")
def reports(browser: Any, server: Server) -> dict[str, PageReport]:
    """Every toc page visited in the light scheme (key: page) and every chapter in the dark one
    (key: ``dark:`` + page)."""
    seen: dict[str, PageReport] = {}
    for page in toc_pages():
        seen[page] = visit(browser, server, page, scheme="light", screenshot=SCREENSHOTS / f"{Path(page).name}.png")
    for page in CHAPTERS:
        seen[f"dark:{page}"] = visit(
            browser, server, page, scheme="dark", screenshot=SCREENSHOTS / "dark" / f"{Path(page).name}.png"
        )
    return seen


@pytest.mark.parametrize("page", toc_pages())
def test_page_loads_without_javascript_errors(reports: dict[str, PageReport], page: str) -> None:
    report = reports[page]
    assert not report.console_errors, f"{page}: console errors {report.console_errors}"
    assert not report.failed_requests, f"{page}: failed requests {report.failed_requests}"
    assert not report.external_requests, f"{page}: the site asked for outside resources {report.external_requests}"


def test_server_never_answered_an_error(reports: dict[str, PageReport], server: Server) -> None:
    errors = sorted({(path, status) for path, status in server.statuses if status >= 400})
    assert server.statuses, "the local server answered nothing"
    assert not errors, f"the local server answered errors: {errors}"


@pytest.mark.parametrize("page", toc_pages())
def test_every_image_loaded_and_is_described(reports: dict[str, PageReport], page: str) -> None:
    images = reports[page].facts["images"]
    broken = [image["src"] for image in images if not image["loaded"]]
    assert not broken, f"{page}: images that did not load {broken}"
    for image in images:
        if "/_images/" in image["src"]:  # a figure of the course (theme logos are not)
            described = image["caption"] or (image["alt"] and not image["alt"].endswith(".png"))
            assert described, f"{page}: figure {image['src']} has neither alt text nor a caption"


@pytest.mark.parametrize("page", toc_pages())
def test_mathjax_typeset_every_equation(reports: dict[str, PageReport], page: str) -> None:
    facts = reports[page].facts
    assert facts["untypesetMath"] == 0, f"{page}: {facts['untypesetMath']} of {facts['mathNodes']} equations not typeset"
    assert facts["mathErrors"] == 0, f"{page}: MathJax reported {facts['mathErrors']} TeX errors"
    for raw in ("$$", "\\begin", "\\end{", "\\(", "\\["):
        assert raw not in facts["proseText"], f"{page}: raw {raw!r} left in the visible text"


@pytest.mark.parametrize("page", toc_pages())
def test_code_fits_without_scrolling_sideways(reports: dict[str, PageReport], page: str) -> None:
    """At a laptop's 1280 pixels, no code block hides the end of its lines behind a scroll bar."""
    wide = reports[page].facts["wideCode"]
    assert not wide, f"{page}: code blocks wider than the column; their longest lines: {wide}"


@pytest.mark.parametrize("page", toc_pages())
def test_equations_fit_the_column(reports: dict[str, PageReport], page: str) -> None:
    """A displayed equation wider than the column would hide its end behind a scroll bar."""
    wide = reports[page].facts["wideMath"]
    assert not wide, f"{page}: equations wider than the column: {wide}"


def test_chapters_have_typeset_math(reports: dict[str, PageReport]) -> None:
    # Guards the check above against passing vacuously (for instance if MathJax never ran).
    for page in CHAPTERS:
        assert reports[page].facts["mathNodes"] > 10, f"{page}: hardly any equations found"


@pytest.mark.parametrize("page", toc_pages())
def test_no_traceback_or_error_output(reports: dict[str, PageReport], page: str) -> None:
    facts = reports[page].facts
    assert "Traceback (most recent call last)" not in facts["visibleText"], f"{page} shows a traceback"
    assert facts["errorOutputs"] == 0, f"{page} shows {facts['errorOutputs']} error or stderr outputs"


def test_internal_links_resolve(reports: dict[str, PageReport], server: Server) -> None:
    """Every link to the local site answers 200, and every #fragment exists on its page."""
    targets: dict[str, set[str]] = {}
    for report in reports.values():
        for link in report.facts["links"]:
            if link.startswith(server.base):
                url, fragment = urldefrag(link)
                targets.setdefault(url.split("?")[0], set()).add(fragment)
    assert len(targets) > 20, "suspiciously few internal links"
    problems = []
    for url, fragments in sorted(targets.items()):
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                body = response.read().decode("utf-8", errors="replace")
        except urllib.error.HTTPError as error:
            problems.append(f"{url}: HTTP {error.code}")
            continue
        ids = set(re.findall(r'\sid="([^"]+)"', body))
        missing = sorted(f for f in fragments if f and f not in ids)
        if missing and urlsplit(url).path.endswith((".html", "/")):
            problems.append(f"{url}: no element with id {missing}")
    assert not problems, "\n".join(problems)


def test_search_finds_reverse(browser: Any, server: Server) -> None:
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(f"{server.base}/search.html?q=reverse", wait_until="load")
    tab.wait_for_function("() => document.querySelectorAll('#search-results ul.search li').length > 0", timeout=30_000)
    hits = tab.eval_on_selector_all("#search-results ul.search li a", "links => links.map(a => a.href)")
    context.close()
    assert any(re.search(r"/book/0[35]_", hit) for hit in hits), f"'reverse' did not find chapters 3 or 5: {hits}"


@pytest.mark.parametrize("page", CHAPTERS)
def test_chapter_page_features(reports: dict[str, PageReport], server: Server, page: str) -> None:
    facts = reports[page].facts
    assert facts["copyButtons"] >= facts["codeCells"] > 0, f"{page}: copy buttons {facts['copyButtons']}, code cells {facts['codeCells']}"
    numbered = [ref for ref in facts["equationRefs"] if re.fullmatch(r"\(\d+\.\d+\)", ref)]
    assert numbered, f"{page}: no numbered equation reference"
    assert facts["solutions"] > 0, f"{page}: no exercise solutions"
    hidden_before, shown_after = facts["solution_toggle"]
    assert hidden_before and shown_after, f"{page}: the first solution is not collapsed, or does not open on a click"
    notebook = f"{server.base}/_sources/{page}.ipynb"
    assert notebook in facts["downloads"], f"{page}: no download link for {notebook}: {facts['downloads']}"
    with urllib.request.urlopen(notebook, timeout=10) as response:
        assert json.loads(response.read())["nbformat"] == 4


@pytest.mark.parametrize("page", CHAPTERS)
def test_figures_are_opaque_in_dark_mode(reports: dict[str, PageReport], page: str) -> None:
    """In the dark scheme a transparent figure would put black axes on a dark page."""
    facts = reports[f"dark:{page}"].facts
    assert facts["theme"] == "dark", f"{page}: the dark colour scheme was not applied ({facts['theme']})"
    transparent = [figure["src"] for figure in facts["figuresOpaque"] if not figure["opaque"]]
    assert facts["figuresOpaque"], f"{page}: no figures found"
    assert not transparent, f"{page}: figures with a transparent background {transparent}"


def test_screenshots_of_every_chapter(reports: dict[str, PageReport]) -> None:
    for page in CHAPTERS:
        for path in (SCREENSHOTS / f"{Path(page).name}.png", SCREENSHOTS / "dark" / f"{Path(page).name}.png"):
            assert path.exists() and path.stat().st_size > 10_000, f"missing screenshot {path}"


# The chapters with a figure a reader can move (issue: at least one in each of these).
INTERACTIVE = [
    "book/01_definition",
    "book/03_forward_vs_reverse",
    "book/05_rl_reverse_kl",
    "book/06_variational_inference",
    "book/07_kl_in_practice",
]


@pytest.mark.parametrize("page", INTERACTIVE)
def test_every_slider_moves_its_figure(browser: Any, server: Server, page: str) -> None:
    """Each slider of each live figure, moved to its far end, changes a KL the figure shows
    (which stays a finite number >= 0); printed, the page shows the static image instead."""
    from _interactive_browser import check_print_fallback, move_every_slider

    context = browser.new_context()
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    try:
        moves = move_every_slider(tab, f"{server.base}/{page}.html")
        check_print_fallback(tab)
    finally:
        context.close()
    assert moves, f"{page}: no slider moved"
    assert not errors, f"{page}: JavaScript errors: {errors}"


def test_the_vega_bundle_loads_only_where_a_figure_is() -> None:
    """The bundle is served by the site itself and only pages with a live figure load it."""
    bundle = HTML / "_static" / "klcourse-vega" / "vega-bundle.js"
    assert bundle.is_file() and bundle.stat().st_size > 100_000
    for page in toc_pages():
        text = (HTML / f"{page}.html").read_text()
        loads = "klcourse-vega/vega-bundle.js" in text
        assert loads == (page in INTERACTIVE), f"{page}: loads the bundle: {loads}"
        assert not re.search(r"<script[^>]+src=\"https?://", text), f"{page}: a script from the web"
