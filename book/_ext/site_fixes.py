"""Small fixes to the generated HTML, loaded by `_config.yml` (``sphinx.local_extensions``).

Inline scripts registered by extensions after the HTML builder starts (sphinx-togglebutton's
selector, sphinx-thebe's settings) reach each page twice with Sphinx 7.4, once with the file
name ``None`` and once with ``''``. The second copy of ``const THEBE_JS_URL = ...`` is a
JavaScript error in the reader's console; this drops the repeated copies.

sphinx-book-theme also leaves pydata-sphinx-theme's ``default_mode`` empty, so every page
logs "Got invalid theme mode" before falling back to ``auto``; this sets ``auto`` (follow the
reader's system setting) explicitly.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _drop_repeated_inline_scripts(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: Any,
) -> None:
    seen: set[str] = set()
    kept = []
    for script in context.get("script_files", []):
        inline = not getattr(script, "filename", None)
        body = (
            getattr(script, "attributes", {}).get("body") if inline else None
        )
        if body is not None:
            if body in seen:
                continue
            seen.add(body)
        kept.append(script)
    if "script_files" in context:
        context["script_files"] = kept
    if not context.get("default_mode"):
        context["default_mode"] = "auto"


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect(
        "html-page-context", _drop_repeated_inline_scripts, priority=900
    )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
