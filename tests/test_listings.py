"""The code the book prints: public-looking objects, within the site's 79 columns.

The chapters print package code with MyST's ``literalinclude`` directive and
``:pyobject: name``. Each printed object must exist, must not be a private
``_name``, and must fit the site's code column: every printed line at most 79
characters (after ``:start-at:``, ``:end-before:`` and the like have cut it).
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
WIDTH = 79

FENCE = re.compile(r"^(`{3,}|:{3,})\{literalinclude\}\s+(\S+)\s*$")
OPTION = re.compile(r"^:([\w-]+):\s*(.*?)\s*$")


@dataclass(frozen=True)
class Listing:
    """One ``literalinclude`` of a document: the file, its options."""

    document: Path
    path: str
    options: dict[str, str] = field(default_factory=dict)

    @property
    def source(self) -> Path:
        return (self.document.parent / self.path).resolve()

    @property
    def label(self) -> str:
        where = self.options.get("pyobject", self.path)
        return f"{self.document.name}:{where}"


def unquote(value: str) -> str:
    """A MyST option value as YAML reads it: surrounding quotes removed."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def listings_in(text: str, document: Path) -> list[Listing]:
    """Every ``literalinclude`` directive in a block of MyST markdown."""
    found = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = FENCE.match(line.strip())
        if not match:
            continue
        options = {}
        for option_line in lines[i + 1 :]:
            option = OPTION.match(option_line.strip())
            if not option:
                break
            options[option[1]] = unquote(option[2])
        found.append(Listing(document, match[2], options))
    return found


def markdown_of(document: Path) -> str:
    """The MyST text of a page: a markdown file, or a notebook's markdown cells."""
    if document.suffix == ".md":
        return document.read_text(encoding="utf-8")
    cells = json.loads(document.read_text(encoding="utf-8"))["cells"]
    return "\n".join(
        "".join(cell["source"])
        for cell in cells
        if cell["cell_type"] == "markdown"
    )


def book_listings() -> list[Listing]:
    documents = sorted(BOOK.glob("*.ipynb")) + sorted(BOOK.glob("*.md"))
    return [
        listing
        for document in documents
        for listing in listings_in(markdown_of(document), document)
    ]


def find_object(
    tree: ast.Module, dotted: str
) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | None:
    """The definition ``dotted`` (``name`` or ``Class.method``) names, if any."""
    body: list[ast.stmt] = tree.body
    node = None
    for part in dotted.split("."):
        node = next(
            (
                n
                for n in body
                if isinstance(
                    n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
                )
                and n.name == part
            ),
            None,
        )
        if node is None:
            return None
        body = node.body
    return node


def printed_lines(source: str, listing: Listing) -> list[str]:
    """The lines the directive prints, as Sphinx's ``literalinclude`` cuts them.

    Raises ``LookupError`` when the object or a ``start``/``end`` marker is
    not found.
    """
    options = listing.options
    lines = source.splitlines()
    name = options.get("pyobject")
    if name is not None:
        node = find_object(ast.parse(source), name)
        if node is None:
            raise LookupError(f"{listing.path} defines no {name}")
        first = min([node.lineno] + [d.lineno for d in node.decorator_list])
        lines = lines[first - 1 : node.end_lineno]
    for key, keep_marker in (("start-at", True), ("start-after", False)):
        if key in options:
            at = next(
                (i for i, ln in enumerate(lines) if options[key] in ln), None
            )
            if at is None:
                raise LookupError(f":{key}: {options[key]!r} is not printed")
            lines = lines[at if keep_marker else at + 1 :]
    for key, keep_marker in (("end-at", True), ("end-before", False)):
        if key in options:
            at = next(
                (i for i, ln in enumerate(lines) if options[key] in ln), None
            )
            if at is None:
                raise LookupError(f":{key}: {options[key]!r} is not printed")
            lines = lines[: at + 1 if keep_marker else at]
    if "dedent" in options:
        if options["dedent"]:
            lines = [ln[int(options["dedent"]) :] for ln in lines]
        else:
            lines = textwrap.dedent("\n".join(lines)).splitlines()
    return lines


def too_wide(lines: list[str]) -> list[str]:
    return [
        f"{len(line)} columns: {line.strip()[:60]}"
        for line in lines
        if len(line) > WIDTH
    ]


LISTINGS = book_listings()
OBJECTS = [listing for listing in LISTINGS if "pyobject" in listing.options]


@pytest.mark.parametrize("listing", OBJECTS, ids=lambda x: x.label)
def test_printed_object_exists_is_public_and_fits_the_column(
    listing: Listing,
) -> None:
    assert listing.source.is_file(), f"{listing.path} does not exist"
    name = listing.options["pyobject"]
    assert not name.split(".")[-1].startswith("_"), (
        f"the book prints the private {name}: print a public function "
        "that says what it does"
    )
    lines = printed_lines(listing.source.read_text(encoding="utf-8"), listing)
    assert not too_wide(lines), "\n".join(too_wide(lines))


def test_the_book_prints_package_code() -> None:
    """The scan finds the chapters' listings, so the test above has work."""
    labels = {listing.label for listing in OBJECTS}
    for expected in (
        "01_definition.ipynb:kl_gaussian",
        "01_definition.ipynb:kl_knn",
    ):
        assert expected in labels


# --- the checker itself can fail ------------------------------------------------------

SAMPLE = """\
import numpy as np


def narrow(x):
    return x


class Model:
    @staticmethod
    def wide(x):
        return x + 1  # {pad}
""".format(pad="x" * 80)


def test_checker_finds_methods_and_flags_wide_lines() -> None:
    page = (
        "Text.\n\n```{literalinclude} ../pkg/mod.py\n"
        ":pyobject: Model.wide\n:language: python\n```\n"
    )
    (listing,) = listings_in(page, BOOK / "page.md")
    assert listing.options == {"pyobject": "Model.wide", "language": "python"}
    lines = printed_lines(SAMPLE, listing)
    assert lines[0].strip() == "@staticmethod"
    assert too_wide(lines)
    narrow = Listing(listing.document, listing.path, {"pyobject": "narrow"})
    assert not too_wide(printed_lines(SAMPLE, narrow))


def test_checker_reports_missing_objects_and_markers() -> None:
    missing = Listing(BOOK / "page.md", "mod.py", {"pyobject": "gone"})
    with pytest.raises(LookupError, match="defines no gone"):
        printed_lines(SAMPLE, missing)
    marker = Listing(
        BOOK / "page.md",
        "mod.py",
        {"pyobject": "narrow", "start-at": "no such line"},
    )
    with pytest.raises(LookupError, match="no such line"):
        printed_lines(SAMPLE, marker)
    cut = Listing(
        BOOK / "page.md",
        "mod.py",
        {"pyobject": "Model.wide", "end-before": "return"},
    )
    assert not too_wide(printed_lines(SAMPLE, cut))


def test_quoted_option_values_are_unquoted() -> None:
    page = '```{literalinclude} a.py\n:start-at: "k = 1"\n```\n'
    (listing,) = listings_in(page, BOOK / "page.md")
    assert listing.options["start-at"] == "k = 1"
