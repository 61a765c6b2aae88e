"""Print the whole book to one PDF: ``make pdf`` runs this after the site.

1. Jupyter Book builds the single-page HTML (``--builder singlehtml``) into
   ``_build/singlehtml``. The notebooks' outputs come from the execution
   cache the site's build filled, so no notebook runs again.
2. The page is served on 127.0.0.1 and opened in Debian's Chromium, headless,
   driven by Playwright; nothing is fetched from elsewhere.
3. Once MathJax has typeset every equation and every image has loaded, the
   page gains a title page, a table of contents whose entries link to their
   chapters and sections, and print rules (each chapter starts a page,
   folded solutions and hidden code open, long lines wrap), and is printed
   to A4 once.
4. pypdf then writes into the PDF what only the printed pages know: each
   contents entry's page number (the page its link lands on) and the
   bookmarks. The PDF is saved as ``_build/html/klcourse.pdf``, where the
   site links to it.

Run ``python book/_ext/print_pdf.py --help`` for the options.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import io
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SINGLE_HTML = ROOT / "_build" / "singlehtml"
DEFAULT_OUTPUT = ROOT / "_build" / "html" / "klcourse.pdf"
# Besides --headless (Playwright adds it): no sandbox for root, no GPU, and
# none of the background traffic that a machine offline refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = (
    "Chromium is needed to print the book: install Debian's package with "
    "`sudo apt-get install chromium` (`make pdf` does it when run as root), "
    "or point the CHROMIUM environment variable at a Chromium executable."
)

PRINT_CSS = """
@media print {
  html, body { background: white !important; }
  .bd-header, .bd-sidebar-primary, .bd-sidebar-secondary, .bd-footer,
  .bd-header-article, .bd-footer-article, .bd-footer-content,
  .prev-next-area, .headerlink, button, .skip-link, #pst-back-to-top,
  .pst-async-banner-revealer, .onlyprint, .klcourse-screen-only {
    display: none !important; }
  /* One plain column. Chromium also writes no link targets for elements
     inside the theme's flex and grid containers: block layout keeps the
     contents' and cross-references' links working in the PDF. */
  .bd-container, .bd-container__inner, .bd-main, .bd-content,
  .bd-article-container, .bd-article { display: block !important;
    width: auto !important; max-width: none !important;
    margin: 0 !important; padding: 0 !important;
    overflow: visible !important; }
  .bd-main .bd-content .bd-article h1:first-of-type { display: block; }
  span[id^="document-"] + section { break-before: page; }
  h1, h2, h3, h4 { break-after: avoid; }
  figure, img, .cell_output img, mjx-container[display="true"] {
    break-inside: avoid; }
  img { max-width: 100% !important; height: auto !important; }
  pre { white-space: pre-wrap !important; overflow-wrap: anywhere;
    overflow: visible !important; }
  .admonition.toggle-hidden .admonition-title ~ * { height: auto !important;
    opacity: 1 !important; visibility: visible !important; }
  .toggle-hidden { display: block !important; }
  a { text-decoration: none; }
}
.klcourse-title-page { break-after: page; text-align: center;
  padding-top: 70mm; }
.klcourse-title-page h1 { font-size: 2.6rem; margin-bottom: 1.2rem; }
.klcourse-title-page .subtitle { font-size: 1.3rem; font-style: italic; }
.klcourse-title-page .author { margin-top: 3rem; font-size: 1.1rem; }
.klcourse-contents { break-after: page; }
.klcourse-contents ol { list-style: none; padding-left: 0; }
.klcourse-contents ol ol { padding-left: 1.5rem; margin-bottom: 0.4rem; }
.klcourse-contents li > a { display: flex; gap: 0.4rem;
  color: inherit !important; }
.klcourse-contents li > a .title { flex: 0 1 auto; }
.klcourse-contents li > a .leader { flex: 1 1 auto;
  border-bottom: 1px dotted #999; margin-bottom: 0.35em; }
/* The gap for the page number, which pypdf writes in after printing. */
.klcourse-contents li > a .page { flex: 0 0 auto; min-width: 1.8rem; }
.klcourse-contents .part { font-weight: 600; margin-top: 1rem; }
.klcourse-contents .chapter > a { font-weight: 600; }
"""

# Runs in the page: opens everything a reader of the site would unfold,
# then adds the title page and the table of contents. `book` is
# {title, subtitle, author, parts: [{caption, docs: [docname]}]}; returns
# the pages not found and the contents' entries [{id, title, level}].
PREPARE_PAGE = """
(book) => {
  document.documentElement.dataset.theme = 'light';
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden')
    .forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('img').forEach(img => { img.loading = 'eager'; });
  const article = document.querySelector('article.bd-article')
    || document.querySelector('main') || document.body;
  const make = (tag, props = {}, children = []) => {
    const element = Object.assign(document.createElement(tag), props);
    children.forEach(child => element.append(child));
    return element;
  };
  const heading = section => section && section.querySelector('h1, h2, h3');
  const text = h => Array.from(h.childNodes)
    .filter(n => !(n.classList && n.classList.contains('headerlink')))
    .map(n => n.textContent).join('').trim();
  const entries = [];
  const entry = (section, cls, title = text(heading(section))) => {
    entries.push({id: section.id, title, level: cls === 'section' ? 1 : 0});
    const link = make('a', {href: '#' + section.id}, [
      make('span', {className: 'title', textContent: title}),
      make('span', {className: 'leader'}),
      make('span', {className: 'page'}),
    ]);
    return make('li', {className: cls}, [link]);
  };
  const contents = make('ol');
  const intro = article.querySelector('section');
  contents.append(entry(intro, 'chapter', 'Introduction'));
  const missing = [];
  for (const part of book.parts) {
    const caption = make('li', {className: 'part', textContent: part.caption});
    contents.append(caption);
    for (const doc of part.docs) {
      const marker = document.getElementById('document-' + doc);
      const section = marker && marker.nextElementSibling;
      if (!section || section.tagName !== 'SECTION') {
        missing.push(doc);
        continue;
      }
      const item = entry(section, 'chapter');
      const subsections = Array.from(section.children)
        .filter(child => child.tagName === 'SECTION' && heading(child));
      if (subsections.length) {
        const entries = subsections.map(s => entry(s, 'section'));
        item.append(make('ol', {}, entries));
      }
      contents.append(item);
    }
  }
  const titlePage = make('section', {className: 'klcourse-title-page'}, [
    make('h1', {textContent: book.title}),
    make('p', {className: 'subtitle', textContent: book.subtitle}),
    make('p', {className: 'author', textContent: book.author}),
  ]);
  const toc = make('nav', {className: 'klcourse-contents'}, [
    make('h1', {textContent: 'Contents'}), contents]);
  article.prepend(titlePage, toc);
  return {missing, entries};
}
"""

WAIT_FOR_PAGE = """
async () => {
  if (window.MathJax && window.MathJax.startup) {
    await window.MathJax.startup.promise;
  }
  await Promise.all(Array.from(document.images).map(img => img.decode()
    .catch(() => null)));
  await document.fonts.ready;
  return {
    untypeset: Array.from(document.querySelectorAll('.math'))
      .filter(e => !e.querySelector('mjx-container')).length,
    brokenImages: Array.from(document.images)
      .filter(img => !img.complete || img.naturalWidth === 0)
      .map(img => img.src),
  };
}
"""

FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#555;">'
    '<span class="pageNumber"></span></div>'
)


def chromium_executable() -> str | None:
    """The Chromium to drive: $CHROMIUM, `chromium` on the PATH, Debian's."""
    for candidate in (
        os.environ.get("CHROMIUM"),
        shutil.which("chromium"),
        "/usr/bin/chromium",
    ):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


def book_outline(root: Path) -> dict[str, Any]:
    """Title, author and the parts of ``_toc.yml``, for the title page."""
    config = yaml.safe_load((root / "_config.yml").read_text())
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    parts = [
        {
            "caption": part.get("caption", ""),
            "docs": [chapter["file"] for chapter in part["chapters"]],
        }
        for part in toc["parts"]
    ]
    return {
        "title": config["title"],
        "subtitle": "An executable course, with a tested Python package",
        "author": config["author"],
        "parts": parts,
    }


def build_single_page(root: Path) -> Path:
    """Build the single-page HTML with Jupyter Book; return its page."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run(
        [str(jupyter_book), "build", str(root), "--builder", "singlehtml"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        log = (result.stdout + result.stderr)[-5000:]
        raise RuntimeError(f"the single-page build failed:\n{log}")
    root_doc = yaml.safe_load((root / "_toc.yml").read_text())["root"]
    page = SINGLE_HTML / f"{root_doc}.html"
    if not page.is_file():
        raise RuntimeError(f"the single-page build wrote no {page}")
    return page


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve `directory` on 127.0.0.1 until the block ends; yield its URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def destinations(writer: Any) -> dict[str, tuple[int, float]]:
    """Every named link target of a PDF: its page index and its height.

    Chromium names a link's target after the element's id: the entry of the
    contents that links to ``#the-definition`` jumps to ``/the-definition``.
    """
    index_of = {
        page.indirect_reference.idnum: index
        for index, page in enumerate(writer.pages)
    }
    named = writer.root_object.get("/Dests")
    if named is None:
        return {}
    found = {}
    for name, target in named.get_object().items():
        page, _, _, top = target[:4]
        if page.idnum in index_of:
            found[str(name).lstrip("/")] = (index_of[page.idnum], float(top))
    return found


def stamp_page_numbers(
    page: Any, targets: dict[str, tuple[int, float]], bold: set[str]
) -> None:
    """Write, at the right end of each contents link, the page it leads to.

    The number is set in Helvetica (one of the fonts every PDF reader has),
    right-aligned in the gap the contents' layout leaves for it.
    """
    from pypdf.generic import (
        DecodedStreamObject,
        DictionaryObject,
        NameObject,
    )

    lines = []
    for annotation in page.get("/Annots", []):
        link = annotation.get_object()
        if "/Dest" not in link:
            continue
        name = str(link["/Dest"]).lstrip("/")
        _, bottom, right, top = (float(v) for v in link["/Rect"])
        size = 0.6 * (top - bottom)
        number = str(targets[name][0] + 1)
        width = 0.556 * size * len(number)  # Helvetica's digits: 556/1000
        font = "/KlcBold" if name in bold else "/KlcRegular"
        lines.append(
            f"BT {font} {size:.2f} Tf 1 0 0 1 {right - width:.2f} "
            f"{bottom + 0.3 * (top - bottom):.2f} Tm ({number}) Tj ET"
        )
    resources = page["/Resources"].get_object()
    fonts = resources.setdefault(NameObject("/Font"), DictionaryObject())
    for name, base in (
        ("/KlcRegular", "/Helvetica"),
        ("/KlcBold", "/Helvetica-Bold"),
    ):
        fonts.get_object()[NameObject(name)] = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject(base),
            }
        )
    stream = DecodedStreamObject()
    printed = page.get_contents().get_data()
    stream.set_data(
        b"q\n" + printed + b"\nQ\n0 g\n" + "\n".join(lines).encode()
    )
    page.replace_contents(stream)


def finish_pdf(
    pdf: bytes, entries: list[dict[str, Any]], output: Path, *, title: str
) -> int:
    """Add the contents' page numbers and the bookmarks; write `output`.

    Returns the number of pages. Raises RuntimeError if an entry of the
    contents has no target in the PDF.
    """
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import Fit

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    targets = destinations(writer)
    missing = [entry["id"] for entry in entries if entry["id"] not in targets]
    if missing:
        raise RuntimeError(f"contents entries with no target: {missing}")
    # The contents run from the second page to the introduction's first.
    first_text_page = targets[entries[0]["id"]][0]
    bold = {entry["id"] for entry in entries if entry["level"] == 0}
    for index in range(1, first_text_page):
        stamp_page_numbers(writer.pages[index], targets, bold)
    chapter = None
    for entry in entries:
        index, top = targets[entry["id"]]
        item = writer.add_outline_item(
            title=entry["title"],
            page_number=index,
            parent=chapter if entry["level"] else None,
            fit=Fit.xyz(top=top),
        )
        if entry["level"] == 0:
            chapter = item
    writer.page_mode = "/UseOutlines"
    writer.add_metadata({"/Title": title})
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("wb") as file:
        writer.write(file)
    return len(writer.pages)


def print_book(
    page: Path,
    output: Path,
    *,
    site: Path = SINGLE_HTML,
    root: Path = ROOT,
) -> dict[str, Any]:
    """Print the single-page HTML at `page` (a file under `site`) to `output`.

    Returns a summary: the number of pages and any request for a resource
    from outside the site (refused, and the book printed without it).
    """
    executable = chromium_executable()
    if executable is None:
        raise RuntimeError(INSTALL_HINT)
    from playwright.sync_api import sync_playwright

    # Sphinx writes the single page as the root document (book/intro.html)
    # but links its images, scripts and styles as if it were at the site's
    # root: it is printed from a copy there.
    at_root = site / "klcourse-book.html"
    shutil.copyfile(page, at_root)
    outline = book_outline(root)
    options: dict[str, Any] = {
        "format": "A4",
        "print_background": True,
        "display_header_footer": True,
        "header_template": "<span></span>",
        "footer_template": FOOTER,
        "margin": {
            "top": "16mm",
            "bottom": "18mm",
            "left": "15mm",
            "right": "15mm",
        },
        # Untagged: a tagged PDF (and Chromium's bookmarks, which need the
        # tags) doubles the file; pypdf adds the bookmarks instead.
        "tagged": False,
        "scale": 0.9,
    }
    with serve(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(color_scheme="light")
        outside: list[str] = []

        def route(request_route: Any) -> None:
            url = request_route.request.url
            if url.startswith((base, "data:")):
                request_route.continue_()
            else:  # printing needs nothing from elsewhere
                outside.append(url)
                request_route.abort()

        context.route("**/*", route)
        tab = context.new_page()
        tab.goto(f"{base}/{at_root.name}", wait_until="load", timeout=120_000)
        tab.add_style_tag(content=PRINT_CSS)
        prepared = tab.evaluate(PREPARE_PAGE, outline)
        if prepared["missing"]:
            raise RuntimeError(
                f"chapters missing from the single page: {prepared['missing']}"
            )
        tab.wait_for_load_state("networkidle")
        state = tab.evaluate(WAIT_FOR_PAGE)
        if state["untypeset"] or state["brokenImages"]:
            raise RuntimeError(f"the page is not ready to print: {state}")
        printed = tab.pdf(**options)
        browser.close()
    pages = finish_pdf(
        printed, prepared["entries"], output, title=outline["title"]
    )
    return {"pages": pages, "outside_requests": outside}


def main(argv: Sequence[str] | None = None) -> int:
    """Build the single-page HTML and print it; the command-line entry."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_OUTPUT,
        help="where to write the PDF (default: %(default)s)",
    )
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="print the single-page HTML already in _build/singlehtml",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        if args.no_build:
            root_doc = yaml.safe_load((ROOT / "_toc.yml").read_text())["root"]
            page = SINGLE_HTML / f"{root_doc}.html"
        else:
            page = build_single_page(ROOT)
        built = time.perf_counter()
        summary = print_book(page, args.output)
    except RuntimeError as error:
        print(f"print_pdf: {error}", file=sys.stderr)
        return 1
    done = time.perf_counter()
    size = args.output.stat().st_size / 1e6
    print(
        f"wrote {args.output}: {summary['pages']} pages, {size:.1f} MB; "
        f"single-page build {built - start:.0f} s, "
        f"printing {done - built:.0f} s"
    )
    if summary["outside_requests"]:
        print(
            "print_pdf: refused requests for resources from outside the "
            f"site: {summary['outside_requests']}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
