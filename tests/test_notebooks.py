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


# --- numbers in the prose come from the computation --------------------------------------
#
# A chapter states numbers through `{glue}` so that the text shows what the code computed and a
# hidden cell checked. A number typed into the prose is one the build never checks. The test
# flags every computed-looking number in a chapter's markdown -- a decimal with two or more
# digits after the point, or a percentage -- that is not a glue reference and not one of the
# exact constants below, each listed with the reason it may be typed.

EXACT_CONSTANTS = {
    "0.01": "one hundredth: a parameter (chapter 7's beta) or a threshold stated as one",
    "0.99": "chapter 5's discount factor gamma, an input",
    "0.25": "a quarter: chapter 3's closest modes at +-0.25, an input",
    "1.05": "the standard deviation of chapter 1's near pair N(0.1, 1.05^2), an input",
    "0.05": "the path N(0.1 t, (1 + 0.05 t)^2) of chapter 2, an input",
    "5%": "chapter 2's threshold for calling the two directions of a pair different",
    "0.693": "ln 2 to three places",
}

ROLE = re.compile(r"\{[\w:-]+\}`[^`]*`")  # {glue:text}`x:.3f`, {eq}`label`, {cite}`key`
INLINE_CODE = re.compile(r"`[^`\n]*`")
DIRECTIVE_OPTION = re.compile(r"^:[\w-]+:.*$", re.MULTILINE)
COMPUTED_LOOKING = re.compile(r"(?<![\w.])(\d*\.\d{2,})(?![\d])|(?<![\w.])(\d+(?:\.\d+)?\s?\\?%)")


def without_code_blocks(markdown: str) -> str:
    """Markdown without the contents of fenced code blocks; directives (```{note}) keep theirs."""
    kept, open_fences = [], []
    for line in markdown.splitlines():
        fence = re.match(r"^\s*(`{3,}|~{3,})\s*(.*)$", line)
        if fence:
            marks, info = fence.groups()
            if open_fences and marks == open_fences[-1][0] and not info:
                open_fences.pop()  # closes the innermost block
            else:
                open_fences.append((marks, info))
            continue
        if not any(info and not info.startswith("{") or not info for _, info in open_fences):
            kept.append(line)
    return "\n".join(kept)


def prose(markdown: str) -> str:
    """A markdown cell without roles (glue included), code, fenced code and directive options."""
    text = without_code_blocks(markdown)
    text = ROLE.sub("", text)
    text = INLINE_CODE.sub("", text)
    return DIRECTIVE_OPTION.sub("", text)


def unglued_numbers(markdown: str) -> list[str]:
    found = [m.group(0).replace(" ", "").replace("\\", "") for m in COMPUTED_LOOKING.finditer(prose(markdown))]
    return [number for number in found if number not in EXACT_CONSTANTS]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_numbers_in_the_prose_are_glued(path: Path) -> None:
    typed = [
        (cell.get("id"), number)
        for cell in cells(path, "markdown")
        for number in unglued_numbers("".join(cell["source"]))
    ]
    assert not typed, (
        f"{path.name}: computed-looking numbers typed into the text; glue them from the code "
        f"that computes them (myst_nb.glue) or, for an exact constant, add it with a reason to "
        f"EXACT_CONSTANTS: {typed}"
    )


def test_the_unglued_number_check_can_fail() -> None:
    text = (
        "The fit is off by 0.123 nats, in 45% of the cases, or 12.5 \\% of them. "
        "Glued: {glue:text}`kl:.3f` nats and {glue:text}`share:.0f`%. Code: `lr=0.005`. "
        "Exact: $\\ln 2 \\approx 0.693$; one digit: 0.5 and 1.2; a version 3 and 10^{-12}.\n"
        "```python\nx = 0.999\n```\n"
        "```{exercise} A title\n:label: ex-1.25\nSolve 0.75 + x.\n```\n"
    )
    assert unglued_numbers(text) == ["0.123", "45%", "12.5%", "0.75"]


# --- cross-references and exercises in chapters 1-4 ---------------------------------------
#
# Chapters 1-4 follow these rules (issue 12); the other chapters have their own authors, so the
# rules apply to them once those authors add them to the list.

CROSS_REFERENCED = [p for p in CHAPTERS if p.name[:2] in {"01", "02", "03", "04"}]
GLOSSARY = ROOT / "book" / "glossary.md"


def glossary_terms() -> list[str]:
    text = GLOSSARY.read_text()
    block = text[text.index("```{glossary}") : text.index("\n```", text.index("```{glossary}"))]
    return [line for line in block.splitlines()[1:] if line and not line.startswith((" ", "\t"))]


def term_targets(markdown: str) -> list[str]:
    """The glossary entries that {term} roles point at: `text <Entry>` or `Entry`."""
    targets = []
    for content in re.findall(r"\{term\}`([^`]*)`", markdown):
        match = re.search(r"<([^>]*)>\s*$", content)
        targets.append((match.group(1) if match else content).strip())
    return targets


def chapter_markdown(path: Path) -> str:
    return "\n".join("".join(cell["source"]) for cell in cells(path, "markdown"))


def test_glossary_terms_are_found() -> None:
    terms = glossary_terms()
    assert "KL divergence" in terms and "Nat" in terms and len(terms) >= 20


def test_every_glossary_entry_is_linked_from_a_chapter() -> None:
    linked = {t.lower() for path in CHAPTERS for t in term_targets(chapter_markdown(path))}
    missing = [term for term in glossary_terms() if term.lower() not in linked]
    assert not missing, f"glossary entries no chapter links to with {{term}}: {missing}"


def test_every_term_role_points_at_a_glossary_entry() -> None:
    terms = {t.lower() for t in glossary_terms()}
    for path in CHAPTERS:
        unknown = [t for t in term_targets(chapter_markdown(path)) if t.lower() not in terms]
        assert not unknown, f"{path.name} links to terms the glossary lacks: {unknown}"


def first_unlinked_uses(markdown: str, terms: list[str]) -> list[str]:
    """Terms whose first use in the prose (outside headings) is not inside a {term} role."""
    lines = [line for line in markdown.splitlines() if not line.lstrip().startswith("#")]
    text = DIRECTIVE_OPTION.sub("", without_code_blocks("\n".join(lines)))
    text = re.sub(r"\$\$.*?\$\$|\$[^$\n]*\$", " ", text, flags=re.DOTALL)  # no maths
    unlinked = []
    for term in terms:
        word = re.compile(rf"(?<![\w-]){re.escape(term)}s?(?![\w-])", re.IGNORECASE)
        uses = [(m.start(), "plain") for m in word.finditer(INLINE_CODE.sub(lambda m: " " * len(m.group()), re.sub(r"\{term\}`[^`]*`", lambda m: " " * len(m.group()), text)))]
        linked = [
            (m.start(), "link")
            for m in re.finditer(r"\{term\}`[^`]*`", text)
            if term.lower() in [t.lower() for t in term_targets(m.group())]
        ]
        first = min(uses + linked, default=None)
        if first is not None and first[1] == "plain":
            unlinked.append(term)
    return unlinked


@pytest.mark.parametrize("path", CROSS_REFERENCED, ids=lambda p: p.name)
def test_glossary_terms_are_linked_at_their_first_use(path: Path) -> None:
    unlinked = first_unlinked_uses(chapter_markdown(path), glossary_terms())
    assert not unlinked, f"{path.name}: first use not linked with {{term}}: {unlinked}"


def test_the_first_use_check_can_fail() -> None:
    text = "A nat is small. Later a {term}`nat <Nat>`.\n# Entropy in a heading\nThe {term}`entropy <Entropy>` and cross-entropy."
    assert first_unlinked_uses(text, ["Nat", "Entropy", "Cross-entropy"]) == ["Nat", "Cross-entropy"]


def figure_names(path: Path) -> list[str]:
    return [
        c["metadata"]["mystnb"]["figure"]["name"]
        for c in cells(path, "code")
        if c["metadata"].get("mystnb", {}).get("figure", {}).get("name")
    ]


@pytest.mark.parametrize("path", CROSS_REFERENCED, ids=lambda p: p.name)
def test_every_figure_is_referred_to_by_number(path: Path) -> None:
    markdown = chapter_markdown(path)
    referenced = set(re.findall(r"\{numref\}`(?:[^`<]*<)?([\w-]+)>?`", markdown))
    unreferenced = [name for name in figure_names(path) if name not in referenced]
    assert not unreferenced, f"{path.name}: figures never referred to with {{numref}}: {unreferenced}"
    vague = re.findall(r"\b(?:[Tt]he|[Tt]his) figure\b|\bfigure (?:below|above)\b", prose(markdown))
    assert not vague, f"{path.name}: refer to figures with {{numref}}, not {vague}"


EXERCISE = re.compile(r"````\{exercise\}\s*(.*)\n:label:\s*(\S+)")


@pytest.mark.parametrize("path", CROSS_REFERENCED, ids=lambda p: p.name)
def test_exercises_are_labelled_ordered_and_include_pen_and_paper(path: Path) -> None:
    titles = [title for title, _ in EXERCISE.findall(chapter_markdown(path))]
    assert titles, f"{path.name} has no exercises"
    levels = [len(re.match(r"(★+)", t).group(1)) if re.match(r"★+", t) else 0 for t in titles]
    assert all(levels), f"{path.name}: every exercise title starts with its difficulty (★): {titles}"
    assert levels == sorted(levels), f"{path.name}: exercises not ordered by difficulty: {titles}"
    assert any("(pen and paper)" in t for t in titles), f"{path.name}: no pen-and-paper exercise"
    markdown = chapter_markdown(path)
    for _, label in EXERCISE.findall(markdown):
        assert f"{{solution-start}} {label}" in markdown, f"{path.name}: {label} has no solution"


GATED = re.compile(r"^````\{(exercise|solution-start|solution-end)\}\s*(\S*)", re.MULTILINE)


def gated_sequence_problem(markdown: str) -> str | None:
    """What is wrong with the exercise/solution-start/solution-end order, if anything.

    sphinx-exercise's gated solutions fail the whole site build when a start or an end is
    missing or stray; this finds it without building.
    """
    expected, label = "exercise", None
    for kind, name in GATED.findall(markdown):
        if kind == "exercise" and expected in ("exercise", "exercise-or-solution"):
            expected, label = "solution-start", None
        elif kind == "solution-start" and expected in ("solution-start", "exercise-or-solution"):
            expected, label = "solution-end", name
        elif kind == "solution-end" and expected == "solution-end":
            expected = "exercise-or-solution"
        else:
            return f"{kind} {name} where {expected} was expected (after {label})"
    if expected == "solution-end":
        return f"solution {label} is never closed"
    return None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_exercise_solutions_open_and_close_in_order(path: Path) -> None:
    problem = gated_sequence_problem(chapter_markdown(path))
    assert problem is None, f"{path.name}: {problem}"


def test_the_solution_order_check_can_fail() -> None:
    good = "````{exercise} A\n````\n````{solution-start} a\n````\n````{solution-end}\n````\n"
    assert gated_sequence_problem(good) is None
    assert gated_sequence_problem(good + "````{solution-end}\n````\n") is not None
    assert gated_sequence_problem("````{solution-start} a\n````\n") is not None
    assert gated_sequence_problem(good.replace("````{solution-end}\n````\n", "")) is not None
