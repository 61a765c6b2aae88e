"""The PDF of the whole book: printed from the single-page build and checked page by page.

Marked ``site``: `make test` runs this file after tests/test_site.py and before the browser
test, whose link check then finds the PDF the site links to. The PDF is printed once per
session (book/_ext/print_pdf.py, as `make pdf` does) into _build/html/klcourse.pdf.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from conftest import HTML, ROOT, toc_pages

pytestmark = pytest.mark.site

PDF = HTML / "klcourse.pdf"
PRINT_SCRIPT = ROOT / "book" / "_ext" / "print_pdf.py"
CHAPTERS = [page for page in toc_pages() if re.match(r"book/\d\d_", page)]
# Raw TeX that MathJax would have typeset; code may print it (matplotlib labels, docstrings).
RAW_TEX = ("$$", "\\frac", "\\begin{", "\\end{", "\\mathrm{", "\\left", "\\(", "\\[")


@pytest.fixture(scope="session")
def pdf_build(site_build: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    sys.path.insert(0, str(PRINT_SCRIPT.parent))
    from print_pdf import INSTALL_HINT, chromium_executable

    if chromium_executable() is None:
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL_HINT + " (CI=true: the PDF is required)")
        pytest.skip(INSTALL_HINT)
    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(PRINT_SCRIPT)], cwd=ROOT, capture_output=True,
                            text=True, check=False, timeout=1800)
    print(f"printing the book took {time.perf_counter() - start:.0f} s: {result.stdout.strip()}")
    return result


@pytest.fixture(scope="session")
def reader(pdf_build: subprocess.CompletedProcess[str]) -> Any:
    assert pdf_build.returncode == 0, (pdf_build.stdout + pdf_build.stderr)[-5000:]
    from pypdf import PdfReader

    return PdfReader(PDF)


def normalise(text: str) -> str:
    """Ligatures undone (ﬁ -> fi) and runs of white space made one space."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()


@pytest.fixture(scope="session")
def extracted(reader: Any) -> tuple[list[str], str]:
    """Each page's text, and all the text set in other than a monospaced (code) font."""
    prose: list[str] = []

    def keep_prose(text: str, cm: Any, tm: Any, font: Any, size: Any) -> None:
        name = str(font.get("/BaseFont", "")) if font is not None else ""
        if not re.search(r"mono|courier|code", name, re.IGNORECASE):
            prose.append(text)

    pages = [normalise(page.extract_text(visitor_text=keep_prose)) for page in reader.pages]
    return pages, "".join(prose)


@pytest.fixture(scope="session")
def page_texts(extracted: tuple[list[str], str]) -> list[str]:
    return extracted[0]


def source_title(page: str) -> str:
    """The first heading of a page's source (Markdown file or notebook)."""
    path = ROOT / f"{page}.md"
    if path.exists():
        text = path.read_text()
    else:
        cells = json.loads((ROOT / f"{page}.ipynb").read_text())["cells"]
        text = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    match = re.search(r"^# (.+)$", text, re.MULTILINE)
    assert match, f"{page} has no title"
    return normalise(re.sub(r"[*_`]", "", match.group(1)))


def test_pdf_is_written_into_the_site(pdf_build: subprocess.CompletedProcess[str]) -> None:
    assert pdf_build.returncode == 0, (pdf_build.stdout + pdf_build.stderr)[-5000:]
    assert PDF.is_file()
    size = PDF.stat().st_size
    assert 1e6 < size < 60e6, f"{size / 1e6:.1f} MB"
    assert PDF.read_bytes()[:5] == b"%PDF-"


def test_page_count_is_sane(reader: Any) -> None:
    pages = len(reader.pages)
    # Each chapter runs to dozens of pages; a few pages would mean lost chapters, thousands a
    # layout gone wrong (a figure per page, say).
    assert 10 * len(toc_pages()) <= pages <= 800, pages


def test_title_page_and_contents(page_texts: list[str]) -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert normalise(config["title"]) in page_texts[0]
    assert normalise(config["author"]) in page_texts[0]
    assert page_texts[1].startswith("Contents"), page_texts[1][:200]


@pytest.fixture(scope="session")
def first_page_of_text(reader: Any) -> int:
    """The page the introduction starts on, from the contents' first line (from 1)."""
    contents = reader.pages[1].extract_text(extraction_mode="layout")
    match = re.search(r"^\s*Introduction\s+(\d+)\s*$", contents, re.MULTILINE)
    assert match, "the contents do not start with the introduction's page"
    return int(match.group(1))


@pytest.mark.parametrize("page", toc_pages()[1:])
def test_every_page_is_in_the_pdf_after_the_contents(
    page_texts: list[str], first_page_of_text: int, page: str
) -> None:
    title = source_title(page)
    contents, body = page_texts[1 : first_page_of_text - 1], page_texts[first_page_of_text - 1 :]
    assert any(title in text for text in contents), f"{title!r} is not in the contents"
    assert any(title in text for text in body), f"{title!r} is not in the book's text"


def test_contents_page_numbers_land_on_their_chapters(
    reader: Any, page_texts: list[str], first_page_of_text: int
) -> None:
    """The page number printed on each chapter's contents line is where the chapter starts."""
    squeeze = lambda text: re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))
    contents = reader.pages[1 : first_page_of_text - 1]
    lines = [squeeze(line) for page in contents for line in page.extract_text(extraction_mode="layout").splitlines()]
    for number, page in enumerate(CHAPTERS, start=1):
        entry = f"{number}. {source_title(page)}"
        found = [match for line in lines if (match := re.fullmatch(re.escape(squeeze(entry)) + r"(\d+)", line))]
        assert found, f"no contents line for {entry!r}"
        target = int(found[0].group(1))
        assert entry in page_texts[target - 1], f"{entry!r} is not on page {target}, where the contents say"
        previous = page_texts[target - 2]
        assert entry not in previous, f"{entry!r} is already on page {target - 1}"


def test_every_section_keeps_its_number(reader: Any, first_page_of_text: int) -> None:
    """Every chapter has a section 'Summary': on the one page their ids collide, and a renamed
    section must keep its number (2.10, not 2)."""
    contents = reader.pages[1 : first_page_of_text - 1]
    lines = [normalise(line) for page in contents for line in page.extract_text(extraction_mode="layout").splitlines()]
    sections = [line for line in lines if re.match(r"\d+\.\d+\. ", line)]
    assert len(sections) >= 5 * len(CHAPTERS), sections
    unnumbered = [line for line in lines if re.match(r"\d+\. (Summary|Exercises)\b", line)]
    assert not unnumbered, unnumbered


def test_no_raw_tex_outside_code(extracted: tuple[list[str], str]) -> None:
    text = extracted[1]
    assert len(text) > 100_000, "hardly any prose found: the font filter is wrong"
    left = {raw: text.count(raw) for raw in RAW_TEX if raw in text}
    assert not left, f"raw TeX in the PDF's prose: {left}"


def test_equations_are_numbered(page_texts: list[str]) -> None:
    text = " ".join(page_texts)
    numbers = set(re.findall(r"\((\d)\.(\d+)\)", text))
    chapters = {chapter for chapter, _ in numbers}
    assert len(numbers) >= 30 and len(chapters) >= 5, sorted(numbers)


def image_objects(reader: Any) -> Iterator[int]:
    for page in reader.pages:
        objects = page["/Resources"].get("/XObject")
        if objects is None:
            continue
        for reference in objects.get_object().values():
            if reference.get_object().get("/Subtype") == "/Image":
                yield reference.idnum


def test_figures_are_embedded(reader: Any, site_build: subprocess.CompletedProcess[str]) -> None:
    figures = {src for page in toc_pages()
               for src in re.findall(r'<img[^>]+src="[^"]*_images/([^"]+)"', (HTML / f"{page}.html").read_text())}
    assert figures, "the site shows no figures"
    embedded = set(image_objects(reader))
    assert len(embedded) >= len(figures), f"{len(embedded)} images in the PDF, {len(figures)} figures on the site"


def test_internal_links_reach_their_targets(reader: Any) -> None:
    destinations = reader.trailer["/Root"]["/Dests"].get_object()
    links = [annotation.get_object() for page in reader.pages for annotation in page.get("/Annots", [])]
    internal = [link["/Dest"] for link in links if link.get("/Subtype") == "/Link" and "/Dest" in link]
    dangling = sorted({str(name) for name in internal if name not in destinations})
    # Cross-references (equations, figures, glossary, citations, sections) and the contents.
    assert len(internal) >= 300, len(internal)
    assert not dangling, f"links to no target: {dangling[:20]}"


def test_outline_lists_every_chapter(reader: Any) -> None:
    titles: list[str] = []

    def walk(items: list[Any]) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                titles.append(normalise(item.title))

    walk(reader.outline)
    for number, page in enumerate(CHAPTERS, start=1):
        assert f"{number}. {source_title(page)}" in titles, titles[:20]


def test_solutions_are_printed_open(page_texts: list[str]) -> None:
    text = " ".join(page_texts)
    assert text.count("Solution to Exercise") >= len(CHAPTERS)
