"""Colab copies of the book's notebooks, each able to set itself up.

A notebook opened on Colab has neither ``klcourse`` nor the files beside it
in the repository (chapters 5 and 6 read saved results from
``benchmarks/results``). The publishing workflow runs this script on every
push to the default branch and publishes what it writes on the branch
``colab`` (`COLAB_BRANCH`); the site's Colab buttons open the notebooks there
(``publishing.py``).

A copy is its notebook with one cell put first. On Colab, that cell clones the
repository at the commit the copy was made from, installs ``klcourse`` with
the ``notebooks`` extra (what the chapters import besides the package) and
moves into the checkout's ``book/`` folder, so that the chapter runs as it
does in a local checkout. Anywhere else the cell does nothing: a copy run in
Jupyter or under nbval behaves like the original.

Usage (standard library only, so the workflow needs no environment)::

    python book/_ext/colab.py --repository owner/name --commit SHA --output DIR
"""

from __future__ import annotations

import argparse
import copy
import json
import re
from pathlib import Path
from typing import Any

from github_repo import parse_repository

COLAB_BRANCH = "colab"
# Where the set-up cell puts the checkout on Colab's machine.
COLAB_CHECKOUT = "/content/klcourse"
SETUP_CELL_ID = "colab-setup"
_COMMIT = re.compile(r"[0-9a-f]{40}")

_SETUP = """\
# On Colab: fetch the course at the commit these notebooks were published
# from, install klcourse with what the chapters use, and work in its book/
# folder, as in a local checkout. Anywhere else this cell does nothing.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    SOURCE = "{url}"
    COMMIT = "{commit}"
    COURSE = "{checkout}"
    if not os.path.isdir(COURSE):
        git = ["git", "-c", "advice.detachedHead=false"]
        run = subprocess.run
        run([*git, "clone", "-q", SOURCE, COURSE], check=True)
        run([*git, "-C", COURSE, "checkout", "-q", COMMIT], check=True)
        pip = [sys.executable, "-m", "pip", "install", "--quiet"]
        run([*pip, f"{{COURSE}}[notebooks]"], check=True)
    os.chdir(f"{{COURSE}}/book")"""


def setup_cell_source(repository: str, commit: str) -> str:
    """The first cell of every Colab copy.

    Parameters
    ----------
    repository : str
        The GitHub repository, written ``owner/name``.
    commit : str
        The full (40-digit, lower-case hexadecimal) commit the copies are made
        from; the cell installs klcourse from exactly that commit.

    Returns
    -------
    str
        The cell's Python source.

    Raises
    ------
    ValueError
        If `repository` is not ``owner/name`` or `commit` is not a full
        commit hash.
    """
    parsed = parse_repository(repository, source="repository")
    if not isinstance(commit, str) or not _COMMIT.fullmatch(commit):
        raise ValueError(
            "commit must be a full 40-digit lower-case hexadecimal commit "
            f"hash (such as GitHub Actions' GITHUB_SHA), not {commit!r}"
        )
    return _SETUP.format(
        checkout=COLAB_CHECKOUT, url=parsed.url, commit=commit
    )


def colab_copy(
    notebook: dict[str, Any], repository: str, commit: str
) -> dict[str, Any]:
    """A notebook with the Colab set-up cell put first.

    Parameters
    ----------
    notebook : dict
        The notebook, as read from its JSON (left unchanged).
    repository, commit : str
        As for `setup_cell_source`.

    Returns
    -------
    dict
        A copy of `notebook` whose first cell is the set-up cell.

    Raises
    ------
    ValueError
        If the notebook already has a cell with the set-up cell's id.
    """
    cells = notebook.get("cells", [])
    if any(cell.get("id") == SETUP_CELL_ID for cell in cells):
        raise ValueError(
            f"notebook already has a cell with id {SETUP_CELL_ID!r}: "
            "it is a Colab copy already"
        )
    setup = {
        "cell_type": "code",
        "execution_count": None,
        "id": SETUP_CELL_ID,
        "metadata": {},
        "outputs": [],
        "source": setup_cell_source(repository, commit).splitlines(True),
    }
    copied = copy.deepcopy(notebook)
    copied["cells"] = [setup, *copy.deepcopy(cells)]
    return copied


def write_copies(
    root: Path, output: Path, repository: str, commit: str
) -> list[Path]:
    """Write the Colab copy of every notebook in ``root/book``.

    Parameters
    ----------
    root : Path
        The repository's checkout.
    output : Path
        The folder to write to (created if missing); a copy keeps its path
        relative to `root`, so ``book/01_definition.ipynb`` is written to
        ``output/book/01_definition.ipynb``, where the site's Colab button
        looks for it on the ``colab`` branch.
    repository, commit : str
        As for `setup_cell_source`.

    Returns
    -------
    list of Path
        The copies written, in name order.

    Raises
    ------
    ValueError
        If ``root/book`` holds no notebook, or as for `setup_cell_source`;
        nothing is written then.
    """
    setup_cell_source(repository, commit)  # checked before anything is written
    notebooks = sorted((root / "book").glob("*.ipynb"))
    if not notebooks:
        raise ValueError(f"root: no notebook in {root / 'book'}")
    written = []
    for path in notebooks:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        target = output / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(
            colab_copy(notebook, repository, commit),
            indent=1,
            ensure_ascii=False,
        )
        target.write_text(text + "\n", encoding="utf-8")
        written.append(target)
    (output / "README.md").write_text(
        f"# Colab copies of the course's notebooks\n\n"
        f"Written by `book/_ext/colab.py` from commit {commit} of "
        f"{repository}; do not edit them here. Each has a first cell that, "
        f"on Colab, installs klcourse from that commit.\n",
        encoding="utf-8",
    )
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repository", required=True, help="owner/name")
    parser.add_argument("--commit", required=True, help="full commit hash")
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument(
        "--root", type=Path, default=Path(__file__).resolve().parents[2]
    )
    args = parser.parse_args(argv)
    try:
        written = write_copies(
            args.root, args.output, args.repository, args.commit
        )
    except ValueError as error:
        parser.error(str(error))
    print(f"wrote {len(written)} Colab copies to {args.output}")


if __name__ == "__main__":
    main()
