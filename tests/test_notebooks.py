"""The book's notebooks: committed clean, tied to the package, and checking what they say.

nbval runs the notebooks (`make test`); these fast checks catch, without running them,
what would otherwise surface only in a site build: a notebook importing a name the
package no longer has, a literalinclude pointing at code that moved, a hidden check
cell that checks nothing.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, toc_pages

NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
CHAPTERS = [p for p in NOTEBOOKS if re.match(r"\d\d_", p.name)]


def cells(path: Path, kind: str) -> list[dict]:
    return [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == kind]


def python_source(cell: dict) -> str:
    """A code cell's source with IPython magics and shell escapes blanked out."""
    lines = "".join(cell["source"]).splitlines()
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in lines)


def test_every_numbered_chapter_in_the_toc_is_a_notebook() -> None:
    chapters = [page for page in toc_pages() if re.match(r"book/\d\d_", page)]
    assert chapters, "the table of contents lists no chapters"
    assert [p.relative_to(ROOT).with_suffix("").as_posix() for p in CHAPTERS] == chapters


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    dirty = [
        i for i, cell in enumerate(cells)
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; clear them before committing"


def klcourse_imports(path: Path) -> list[tuple[str, str | None]]:
    """(module, name) for every import from klcourse in the notebook's code cells."""
    found: list[tuple[str, str | None]] = []
    for cell in cells(path, "code"):
        for node in ast.walk(ast.parse(python_source(cell))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "klcourse":
                found += [(node.module or "", alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(a.name, None) for a in node.names if a.name.split(".")[0] == "klcourse"]
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_imports_names_the_package_has(path: Path) -> None:
    imports = klcourse_imports(path)
    assert imports, f"{path.name} imports nothing from klcourse"
    for module, name in imports:
        imported = importlib.import_module(module)
        if name is not None and name != "*":
            assert hasattr(imported, name) or importlib.util.find_spec(f"{module}.{name}"), (
                f"{path.name} imports {name} from {module}, which has no such name"
            )


def test_the_import_check_can_fail(tmp_path: Path) -> None:
    notebook = {"cells": [{"cell_type": "code", "metadata": {}, "source": ["%matplotlib inline\n",
                "from klcourse import no_such_function\n"]}]}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook))
    assert klcourse_imports(path) == [("klcourse", "no_such_function")]
    assert not hasattr(importlib.import_module("klcourse"), "no_such_function")


LITERALINCLUDE = re.compile(r"```\{literalinclude\}\s+(\S+)\n((?::[\w-]+:.*\n)*)")


def included_code(path: Path) -> list[tuple[Path, dict[str, str]]]:
    if path.suffix == ".md":
        text = path.read_text()
    else:
        text = "\n".join("".join(c["source"]) for c in cells(path, "markdown")) + "\n"
    found = []
    for target, options in LITERALINCLUDE.findall(text):
        parsed = dict(re.findall(r":([\w-]+):[ \t]*(.*)", options))
        found.append(((path.parent / target).resolve(), parsed))
    return found


def pyobjects(source: str) -> set[str]:
    """Dotted names of the module's classes, functions and methods."""
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names |= {f"{node.name}.{f.name}" for f in node.body if isinstance(f, ast.FunctionDef)}
    return names


PAGES = NOTEBOOKS + sorted((ROOT / "book").glob("*.md"))


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_literalincludes_point_at_code_that_exists(path: Path) -> None:
    for target, options in included_code(path):
        assert target.is_file(), f"{path.name} includes {target}, which does not exist"
        source = target.read_text()
        if "pyobject" in options:
            assert options["pyobject"].strip() in pyobjects(source), (
                f"{path.name}: {target.name} has no {options['pyobject']}"
            )
        for key in ("start-at", "start-after", "end-at", "end-before"):
            if key in options:
                needle = options[key].strip().strip('"')
                assert needle in source, f"{path.name}: {key} {needle!r} not found in {target.name}"


def test_chapters_show_the_package_code() -> None:
    assert sum(len(included_code(p)) for p in CHAPTERS) >= len(CHAPTERS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_hidden_cells_check_something(path: Path) -> None:
    hidden = [c for c in cells(path, "code") if "remove-cell" in c["metadata"].get("tags", [])]
    assert hidden, f"{path.name} has no hidden check cells"
    for cell in hidden:
        tree = ast.parse(python_source(cell))
        checks = any(
            isinstance(node, ast.Assert)
            or (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "check")
            for node in ast.walk(tree)
        )
        assert checks, f"{path.name} cell {cell.get('id')}: a hidden cell that asserts nothing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_is_in_the_table_of_contents(path: Path) -> None:
    assert path.relative_to(ROOT).with_suffix("").as_posix() in toc_pages()


# The site's code column shows about 80 characters; longer lines hide their ends behind a
# scroll bar. `make format` reflows the notebooks' code to this width.
CODE_WIDTH = 79


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_fits_the_page_width(path: Path) -> None:
    long_lines = [
        (cell.get("id"), line)
        for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines() if len(line) > CODE_WIDTH
    ]
    assert not long_lines, f"{path.name}: code lines wider than {CODE_WIDTH} characters: {long_lines}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_figure_has_a_caption_and_alt_text(path: Path) -> None:
    for cell in json.loads(path.read_text())["cells"]:
        source = "".join(cell["source"]) if cell["cell_type"] == "code" else ""
        shown_on_site = not {"remove-output", "remove-cell"} & set(cell["metadata"].get("tags", []))
        if "plt.show()" in source and shown_on_site:
            options = cell["metadata"].get("mystnb", {})
            assert options.get("figure", {}).get("caption"), f"{path.name} cell {cell['id']}: figure without caption"
            assert options.get("figure", {}).get("name", "").startswith("fig-"), f"{path.name} cell {cell['id']}"
            assert len(options.get("image", {}).get("alt", "")) > 40, f"{path.name} cell {cell['id']}: no alt text"
