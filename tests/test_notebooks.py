"""Repository hygiene for the book's notebooks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import ROOT, toc_pages

NOTEBOOKS = sorted(p for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def test_there_are_notebooks() -> None:
    assert len(NOTEBOOKS) >= 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    cells = json.loads(path.read_text())["cells"]
    dirty = [
        i for i, cell in enumerate(cells)
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count") is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_imports_the_package(path: Path) -> None:
    sources = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code")
    assert "klcourse" in sources, f"{path.name} does not import klcourse"


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
