"""The figures a reader can move: their JavaScript, served by the site itself.

Loaded by `_config.yml` (``sphinx.local_extensions``). A chapter shows a
figure with :func:`klcourse.interactive.show`, whose HTML holds the chart's
Vega-Lite spec and a static image, and draws the live chart with the
function the Vega bundle defines. This extension provides the bundle:

* **Once, in the built site's static folder.** Vega, Vega-Lite and
  vega-embed come from vl-convert (:func:`klcourse.interactive.vega_bundle`)
  and are written to ``_static/klcourse-vega/vega-bundle.js`` of the build's
  output when an HTML builder starts (the single-page build of the PDF
  included). The file is generated, never committed, and it is not in the
  book's own ``book/_static``, whose scripts every page would load. A build
  that finds the same bundle in place (the same vl-convert, the same
  wrapper) leaves it alone.
* **Only on the pages that show a figure**, as a module script: its
  top-level names stay in the module's scope, so nothing clashes with the
  globals of Sphinx's own scripts (``_`` for one); the module defines only
  ``window.klcourseVegaEmbed``. Every other page loads nothing more.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

from klcourse.interactive import (
    EMBED_FUNCTION,
    FIGURE_ATTRIBUTE,
    READY_EVENT,
    vega_bundle,
)

#: Where the bundle lives, relative to the output's ``_static`` folder.
BUNDLE = "klcourse-vega/vega-bundle.js"


def bundle_header() -> str:
    """The bundle's first line: what it was made from, to skip a rebuild."""
    made_from = "|".join(
        (
            metadata.version("vl-convert-python"),
            EMBED_FUNCTION,
            READY_EVENT,
            Path(__file__).read_text(),
        )
    )
    digest = hashlib.sha256(made_from.encode()).hexdigest()[:16]
    return f"/* Vega, Vega-Lite and vega-embed for klcourse ({digest}) */\n"


def write_bundle(static_dir: Path) -> Path:
    """Write the bundle under ``static_dir`` unless it is there already."""
    target = static_dir / BUNDLE
    header = bundle_header()
    if target.exists():
        with target.open(encoding="utf-8") as existing:
            if existing.readline() == header:
                return target
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(header + vega_bundle(), encoding="utf-8")
    return target


def _write_bundle_for_html(app: Sphinx) -> None:
    if app.builder.format == "html":
        write_bundle(Path(app.outdir) / "_static")


def _load_bundle_on_figure_pages(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: Any,
) -> None:
    # the attribute with its value: a figure's div, not a page (the API
    # reference) that merely names the attribute in its text
    if app.builder.format == "html" and f'{FIGURE_ATTRIBUTE}="' in context.get(
        "body", ""
    ):
        # Sphinx forgets a script added here when it moves to the next page
        app.add_js_file(BUNDLE, type="module")


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", _write_bundle_for_html)
    app.connect("html-page-context", _load_bundle_on_figure_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
