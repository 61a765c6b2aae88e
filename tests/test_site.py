"""Build the book with warnings as errors and check the HTML of every page in _toc.yml.

Marked ``site``: `make test` runs it after the unit tests and nbval.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import urllib.parse
from pathlib import Path

import pytest
from conftest import HTML, ROOT, toc_pages

pytestmark = pytest.mark.site


def test_book_builds_without_warnings(site_build: subprocess.CompletedProcess[str]) -> None:
    log = site_build.stdout + site_build.stderr
    warnings = [line for line in log.splitlines() if "WARNING" in line and "Kernel is running over TCP" not in line]
    assert site_build.returncode == 0 and not warnings, "\n".join(warnings) or log[-5000:]


@pytest.mark.parametrize("page", toc_pages())
def test_page_has_html_without_errors(site_build: subprocess.CompletedProcess[str], page: str) -> None:
    path = HTML / f"{page}.html"
    assert path.exists(), f"{page} produced no HTML"
    html = path.read_text()
    assert "Traceback (most recent call last)" not in html
    for css_class in ("output traceback", "output error", "output stderr"):
        assert css_class not in html, f"{page} shows an {css_class!r} cell"


def page_text(path: Path) -> str:
    """The visible text of an HTML page: tags stripped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text()))


def test_hidden_check_cells_stay_hidden(site_build: subprocess.CompletedProcess[str]) -> None:
    for notebook in sorted((ROOT / "book").glob("*.ipynb")):
        text = page_text(HTML / "book" / f"{notebook.stem}.html")
        cells = [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]
        hidden = [c for c in cells if "remove-cell" in c.get("metadata", {}).get("tags", [])]
        shown = [c for c in cells if c not in hidden]
        assert hidden, f"{notebook.name} has no hidden check cells"
        lines = lambda cell: [line.strip() for line in "".join(cell["source"]).splitlines() if line.strip()]
        # The comparison can fail: visible cells' first lines are found in the same text.
        assert all(lines(c)[0] in text for c in shown), f"{notebook.name}: a visible cell is missing"
        # A hidden cell is recognised by its first line that no visible cell also contains
        # (`with torch.no_grad():` may open both kinds).
        visible_lines = {line for c in shown for line in lines(c)}
        for cell in hidden:
            own = [line for line in lines(cell) if line not in visible_lines and len(line) > 12]
            assert own, f"{notebook.name}: a hidden cell has no line of its own: {lines(cell)[0]}"
            assert own[0] not in text, f"{notebook.name}: hidden cell shows: {own[0]}"


def test_every_bibliography_entry_is_cited_and_every_citation_exists() -> None:
    """sphinxcontrib-bibtex warns about missing keys, but an unused entry passes silently."""
    entries = set(re.findall(r"^@\w+\{([^,\s]+),", (ROOT / "book" / "references.bib").read_text(), re.MULTILINE))
    sources = [p.read_text() for p in (ROOT / "book").glob("*.md")]
    sources += ["".join(c["source"]) for p in (ROOT / "book").glob("*.ipynb") for c in json.loads(p.read_text())["cells"]]
    cited = {key.strip() for text in sources for keys in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text)
             for key in keys.split(",")}
    assert entries, "no entries found in references.bib"
    assert not cited - entries, f"cited but not in references.bib: {sorted(cited - entries)}"
    assert not entries - cited, f"in references.bib but never cited: {sorted(entries - cited)}"


def glossary_ids(html_dir: Path) -> dict[str, str]:
    """The id and the text of every entry on the built glossary page."""
    page = (html_dir / "book" / "glossary.html").read_text()
    entries = re.findall(r'<dt[^>]*\bid="(term-[^"]+)"[^>]*>(.*?)</dt>', page, re.DOTALL)
    without_anchors = [(anchor, re.sub(r'<a class="headerlink".*?</a>', "", text)) for anchor, text in entries]
    return {anchor: html.unescape(re.sub(r"<[^>]+>", "", text)).strip() for anchor, text in without_anchors}


def glossary_links_from_chapters(html_dir: Path) -> set[str]:
    """Ids of glossary entries that some numbered chapter's page links to."""
    linked: set[str] = set()
    for page in sorted((html_dir / "book").glob("[0-9][0-9]_*.html")):
        hrefs = re.findall(r'href="glossary\.html#([^"]+)"', page.read_text())
        linked |= {urllib.parse.unquote(href) for href in hrefs}
    return linked


def unlinked_glossary_entries(html_dir: Path) -> list[str]:
    entries = glossary_ids(html_dir)
    assert entries, "no entries found on the glossary page"
    linked = glossary_links_from_chapters(html_dir)
    return sorted(text for anchor, text in entries.items() if anchor not in linked)


def test_every_glossary_entry_is_linked_from_a_chapter(site_build: subprocess.CompletedProcess[str]) -> None:
    unlinked = unlinked_glossary_entries(HTML)
    assert not unlinked, f"glossary entries that no chapter links to: {unlinked}"


def test_the_glossary_link_check_can_fail(tmp_path: Path) -> None:
    book = tmp_path / "book"
    book.mkdir()
    (book / "glossary.html").write_text(
        '<dl><dt id="term-Nat">Nat<a class="headerlink" href="#term-Nat" title="Link">#</a></dt><dd>unit</dd>'
        '<dt id="term-Jensen-Shannon-divergence">Jensen&#8211;Shannon divergence</dt><dd>JS</dd></dl>'
    )
    (book / "01_definition.html").write_text('<a href="glossary.html#term-Nat">nats</a>')
    (book / "intro.html").write_text('<a href="glossary.html#term-Jensen-Shannon-divergence">JS</a>')
    assert unlinked_glossary_entries(tmp_path) == ["Jensen–Shannon divergence"]
    (book / "02_properties.html").write_text('<a href="glossary.html#term%2DJensen-Shannon-divergence">JS</a>')
    assert unlinked_glossary_entries(tmp_path) == []
