"""Publishing the book: repository and launch buttons, the PDF's link.

Loaded by `_config.yml` (``sphinx.local_extensions``). Three jobs:

* **Repository buttons only when the build knows its repository.** The
  repository comes from ``KLCOURSE_REPOSITORY`` (``owner/name``, set by a
  reader who builds a fork) or else from ``GITHUB_REPOSITORY`` (set by GitHub
  Actions); the branch from ``KLCOURSE_BRANCH`` (default ``main``). With a
  repository, every page gets repository, issue and edit buttons and every
  notebook Binder and Colab launch buttons. Without one there are none, and
  Jupyter Book's default repository (its own) is cleared, so no page can
  point at a repository the book was not built from.
  The Colab button opens the notebook's copy on the branch ``colab``, whose
  first cell installs klcourse on Colab (``colab.py``; the publishing
  workflow writes that branch).
* **A link to the whole book as a PDF** (``klcourse.pdf`` at the site's root,
  written by ``book/_ext/print_pdf.py``) in every page's download menu.
* **The single-page build works** (``book/_ext/print_pdf.py`` prints it).
  sphinx-exercise registers its nodes for the ``singlehtml`` builder by
  name, and Sphinx then stops looking up the ``html`` handlers every other
  extension registered (MyST-NB's hidden cells, for one), so the build fails
  on the first of them: the single-page builder is given every ``html``
  handler it has no handler of its own for. A cross-reference becomes
  ``<root page>.html#target``, which is wrong when the root page is not at
  the site's root (``book/intro``): on the one page a reference needs only
  its ``#target``. And the pages' ids, unique within a page, are not unique
  on the one page (every chapter has a ``#summary``, and docutils numbers
  citations ``#id1``, ``#id2``... on every page): an id that an earlier page
  already has is renamed ``<page>--<id>`` on the later page, and every
  reference to it follows, so that no link lands in the wrong chapter.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

from colab import COLAB_BRANCH
from docutils import nodes
from github_repo import (
    Repository,
    repository_from_environment,
)
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.config import Config

BINDERHUB_URL = "https://mybinder.org"
COLAB_URL = "https://colab.research.google.com"
PDF_NAME = "klcourse.pdf"


def theme_options(
    repository: Repository | None, options: Mapping[str, Any]
) -> dict[str, Any]:
    """sphinx-book-theme's options with the repository's buttons on or off.

    Parameters
    ----------
    repository : Repository or None
        The repository the build is for; None turns every repository and
        launch button off.
    options : Mapping[str, Any]
        The theme options so far (left unchanged).

    Returns
    -------
    dict
        A copy of `options` with the repository, its buttons and the launch
        buttons set.
    """
    updated = dict(options)
    launch = dict(updated.get("launch_buttons") or {})
    known = repository is not None
    updated.update(
        repository_url=repository.url if repository else "",
        repository_branch=repository.branch if repository else "",
        path_to_docs="",  # the book is built from the repository's root
        use_repository_button=known,
        use_issues_button=known,
        use_edit_page_button=known,
    )
    launch.update(
        binderhub_url=BINDERHUB_URL if known else "",
        colab_url=COLAB_URL if known else "",
    )
    updated["launch_buttons"] = launch
    return updated


def _configure_repository(app: Sphinx, config: Config) -> None:
    repository = repository_from_environment(os.environ)
    config.html_theme_options = theme_options(
        repository, config.html_theme_options
    )


Renamed = dict[tuple[str, str], str]


def _elements_by_document(
    tree: nodes.Node, docname: str
) -> Iterator[tuple[str, nodes.Element]]:
    """Every element of the assembled single page, with its page's name."""
    if isinstance(tree, addnodes.start_of_file):
        docname = tree["docname"]
    if isinstance(tree, nodes.Element):
        yield docname, tree
        for child in tree.children:
            yield from _elements_by_document(child, docname)


def _make_ids_unique(
    tree: nodes.Node, root_doc: str, renamed: Renamed
) -> None:
    """Rename ids that an earlier page of the single page already has."""
    owner: dict[str, str] = {}
    for docname, element in _elements_by_document(tree, root_doc):
        ids = element.get("ids", [])
        for position, node_id in enumerate(ids):
            first = owner.setdefault(node_id, docname)
            if first != docname:
                new_id = f"{docname.replace('/', '-')}--{node_id}"
                renamed[docname, node_id] = new_id
                ids[position] = new_id


def _point_references(
    tree: nodes.Node, root_doc: str, renamed: Renamed
) -> None:
    """References keep only their ``#target``, renamed where it was."""
    for docname, element in _elements_by_document(tree, root_doc):
        if not isinstance(element, nodes.reference):
            continue
        if "refid" in element:
            key = (docname, element["refid"])
            element["refid"] = renamed.get(key, element["refid"])
            continue
        uri = element.get("refuri", "")
        if not uri.startswith("#document-"):
            continue
        target_doc, separator, anchor = uri[len("#document-") :].partition("#")
        if separator:
            element["refuri"] = "#" + renamed.get((target_doc, anchor), anchor)


def _fix_single_page_builder(app: Sphinx) -> None:
    if app.builder.name != "singlehtml":
        return
    handlers = app.registry.translation_handlers
    single = handlers.setdefault("singlehtml", {})
    for node_name, visit_depart in handlers.get("html", {}).items():
        single.setdefault(node_name, visit_depart)
    builder: Any = app.builder
    root_doc = app.config.root_doc
    renamed: Renamed = {}  # kept for the toctrees, fixed after the pages
    assemble_secnumbers = builder.assemble_toc_secnumbers
    assemble_fignumbers = builder.assemble_toc_fignumbers

    def fix_refuris(tree: nodes.Node) -> None:
        _make_ids_unique(tree, root_doc, renamed)
        _point_references(tree, root_doc, renamed)

    # Section and figure numbers are looked up by the element's first id:
    # a renamed section or figure keeps its number under its new id.
    def secnumbers() -> dict[str, Any]:
        numbers = assemble_secnumbers()
        by_anchor = numbers.get(root_doc, {})
        for (docname, old_id), new_id in renamed.items():
            if f"{docname}/#{old_id}" in by_anchor:
                by_anchor[f"{docname}/#{new_id}"] = by_anchor[
                    f"{docname}/#{old_id}"
                ]
        return numbers

    def fignumbers() -> dict[str, Any]:
        numbers = assemble_fignumbers()
        for alias, by_id in numbers.get(root_doc, {}).items():
            docname = alias.rpartition("/")[0]
            for (renamed_doc, old_id), new_id in renamed.items():
                if renamed_doc == docname and old_id in by_id:
                    by_id[new_id] = by_id[old_id]
        return numbers

    builder.fix_refuris = fix_refuris
    builder.assemble_toc_secnumbers = secnumbers
    builder.assemble_toc_fignumbers = fignumbers


def _add_pdf_download(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: Any,
) -> None:
    if app.builder.name != "html":
        return
    for button in context.get("header_buttons", []):
        if button.get("label") == "download-buttons":
            button["buttons"].append(
                {
                    "type": "link",
                    "url": context["pathto"](PDF_NAME, 1),
                    "text": "book .pdf",
                    "tooltip": "Download the whole book as a PDF",
                    "icon": "fas fa-book",
                    "label": "download-book-pdf-button",
                }
            )


def colab_on_its_branch(url: str, branch: str) -> str:
    """A Colab launch link moved to the branch of the Colab copies.

    sphinx-book-theme opens ``<colab>/github/<owner>/<name>/blob/<branch>/
    <path>``; the copy that installs klcourse on Colab is on the branch
    `colab.COLAB_BRANCH` (written by the publishing workflow), so the link's
    branch becomes that one.

    Raises
    ------
    ValueError
        If `url` does not name `branch` where a Colab link names its branch.
    """
    marker = f"/blob/{branch}/"
    before, found, path = url.partition(marker)
    if not (found and before.startswith(f"{COLAB_URL}/github/")):
        raise ValueError(f"url: not a Colab link into branch {branch}: {url}")
    return f"{before}/blob/{COLAB_BRANCH}/{path}"


def _colab_copies(
    app: Sphinx,
    pagename: str,
    templatename: str,
    context: dict[str, Any],
    doctree: Any,
) -> None:
    branch = app.config.html_theme_options.get("repository_branch")
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group["buttons"]:
            if button.get("url", "").startswith(COLAB_URL):
                button["url"] = colab_on_its_branch(button["url"], branch)


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("config-inited", _configure_repository)
    app.connect("builder-inited", _fix_single_page_builder)
    # After sphinx-book-theme fills the header's buttons (priority 501).
    app.connect("html-page-context", _add_pdf_download, priority=600)
    app.connect("html-page-context", _colab_copies, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
