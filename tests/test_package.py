"""The public API: every exported name exists, is documented, and has an example."""

from __future__ import annotations

import ast
import inspect
import re
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import tomllib

import klcourse
import klcourse.estimators
import klcourse.plotting
import klcourse.rl

MODULES = (klcourse, klcourse.rl, klcourse.plotting, klcourse.estimators)
PUBLIC = sorted(
    {(module.__name__, name) for module in MODULES for name in module.__all__}
)


@pytest.mark.parametrize(("module", "name"), PUBLIC)
def test_public_name_is_documented_with_an_example(
    module: str, name: str
) -> None:
    obj = getattr(__import__(module, fromlist=[name]), name)
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return  # constants (COLORS, ESTIMATORS) are described in the module
    doc = inspect.getdoc(obj)
    assert doc, f"{module}.{name} has no docstring"
    assert ">>>" in doc, f"{module}.{name} has no doctest example"


def test_public_functions_have_type_hints() -> None:
    for module, name in PUBLIC:
        obj = getattr(__import__(module, fromlist=[name]), name)
        if inspect.isfunction(obj):
            hints = obj.__annotations__
            assert "return" in hints, (
                f"{module}.{name} has no return annotation"
            )


def test_api_reference_covers_every_module() -> None:
    """book/api.md documents each public module, so no public name is missing."""
    page = (
        Path(__file__).resolve().parents[1] / "book" / "api.md"
    ).read_text()
    documented = set(re.findall(r"\.\. automodule:: ([\w.]+)", page))
    for module in {m for m, _ in PUBLIC} - {"klcourse"}:
        assert module in documented, f"{module} is not in the API reference"
    for submodule in (
        "divergences",
        "estimators",
        "fitting",
        "supervised",
        "variational",
    ):
        assert f"klcourse.{submodule}" in documented


# --- lazy loading: torch waits until a torch-backed name is used -----------------------


def run_python(code: str) -> str:
    """Run ``code`` in a fresh interpreter in the checkout; return its output."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_a_divergence_does_not_import_torch() -> None:
    run_python(
        "import klcourse; klcourse.kl_divergence([.5,.5],[.9,.1]); "
        "import sys; assert 'torch' not in sys.modules"
    )


NUMPY_ONLY = """
import sys
import numpy as np
from scipy import stats
import klcourse
import klcourse.plotting
rng = np.random.default_rng(0)
p, q = stats.norm(0, 1), stats.norm(1, 2)
klcourse.kl_divergence([0.5, 0.5], [0.9, 0.1], base=2)
klcourse.entropy([0.5, 0.5])
klcourse.cross_entropy([0.5, 0.5], [0.9, 0.1])
klcourse.kl_gaussian(0.0, 1.0, [1.0, 1.0 + 1e-9], 2.0)
klcourse.kl_mvn(np.zeros(2), np.eye(2), np.ones(2), 2 * np.eye(2))
klcourse.kl_quadrature(p, q)
klcourse.kl_monte_carlo(p, q, n_samples=100, estimator="k3", seed=0)
klcourse.estimators.kl_monte_carlo_repeated(p, q, n_samples=10, n_repeats=3, seed=0)
klcourse.kl_knn(rng.normal(size=(50, 2)), rng.normal(size=(60, 2)), k=2)
print(sorted(m for m in sys.modules if m.split(".")[0] == "torch"))
"""


def test_numpy_and_scipy_inputs_never_load_torch() -> None:
    assert run_python(NUMPY_ONLY) == "[]"


def test_torch_backed_names_load_on_first_use() -> None:
    code = (
        "import sys, klcourse; before = 'torch' in sys.modules;"
        "print(before, klcourse.Classifier.__name__, 'torch' in sys.modules)"
    )
    assert run_python(code) == "False Classifier True"
    code = "from klcourse import Classifier, fit_gaussian; print(Classifier)"
    assert "Classifier" in run_python(code)


def test_every_exported_name_and_submodule_is_reachable() -> None:
    for name in klcourse.__all__:
        assert getattr(klcourse, name) is not None, name
    listed = dir(klcourse)
    assert set(klcourse.__all__) <= set(listed)
    for submodule in ("alignment", "fitting", "plotting", "rl", "supervised"):
        assert submodule in listed
        module = getattr(klcourse, submodule)
        assert module.__name__ == f"klcourse.{submodule}"
    assert klcourse.fit_gaussian is klcourse.fitting.fit_gaussian
    with pytest.raises(AttributeError, match="no attribute 'kl_divergance'"):
        klcourse.kl_divergance  # noqa: B018


def test_star_import_gives_every_exported_name() -> None:
    code = (
        "from klcourse import *; import klcourse;"
        "print(sorted(set(klcourse.__all__) - set(globals())))"
    )
    assert run_python(code) == "[]"


# --- the wheel ---------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build a wheel from a copy of the tree and install it, without deps, elsewhere.

    Offline: ``--no-build-isolation`` builds with the environment's setuptools.
    Returns the directory the wheel was installed into.
    """
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(
            ".venv",
            ".git",
            "_build",
            "build",
            "*.egg-info",
            "__pycache__",
            ".pytest_cache",
            ".hypothesis",
            "book",
            "benchmarks",
        ),
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    wheels = base / "wheels"
    subprocess.run(
        [
            *pip,
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            wheels,
            source,
        ],
        check=True,
        cwd=base,
        capture_output=True,
        text=True,
    )
    (wheel,) = wheels.glob("klcourse-*.whl")
    target = base / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", target, wheel],
        check=True,
        cwd=base,
        capture_output=True,
        text=True,
    )
    return target


def test_wheel_ships_every_subpackage_and_py_typed(
    installed_wheel: Path,
) -> None:
    packages = {
        p.relative_to(ROOT).parent.as_posix().replace("/", ".")
        for p in (ROOT / "klcourse").rglob("__init__.py")
    }
    for package in packages:
        assert (
            installed_wheel / package.replace(".", "/") / "__init__.py"
        ).is_file(), f"{package} is missing from the wheel"
    assert (installed_wheel / "klcourse" / "py.typed").is_file()
    modules = {
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "klcourse").rglob("*.py")
    }
    shipped = {
        p.relative_to(installed_wheel).as_posix()
        for p in (installed_wheel / "klcourse").rglob("*.py")
    }
    assert modules == shipped


def test_installed_wheel_imports_outside_the_checkout(
    installed_wheel: Path,
) -> None:
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import klcourse, klcourse.rl, klcourse.plotting;"
        "print(klcourse.__file__); print(klcourse.rl.__file__);"
        "print(klcourse.plotting.__file__); print(klcourse.__version__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(installed_wheel)],
        cwd=installed_wheel.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    *files, version = result.stdout.split()
    for file in files:
        assert Path(file).is_relative_to(installed_wheel), file
    assert version == metadata.version("klcourse") != "0+unknown"
    assert not (ROOT / "build").exists(), "the build left build/ behind"


def test_runtime_dependencies_are_declared_as_ranges() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {
        re.split(r"[<>=!~ ]", spec, maxsplit=1)[0].lower(): spec
        for spec in project["dependencies"]
    }
    imported = {"numpy", "scipy", "torch", "gymnasium", "matplotlib", "tqdm"}
    assert set(declared) == imported
    for name, spec in declared.items():
        assert ">=" in spec and "==" not in spec, f"{name}: {spec}"
    assert "version" in project, "the version has one home: pyproject.toml"


def module_level_imports(tree: ast.Module) -> set[str]:
    """Top-level packages imported outside functions (a function may import an
    optional library lazily, e.g. scikit-learn inside ``__sklearn_tags__``) and
    outside ``if TYPE_CHECKING:`` blocks, which only type checkers run."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return
        if isinstance(node, ast.If) and ast.unparse(node.test) in (
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        ):
            for child in node.orelse:  # the else branch does run
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            found.add((node.module or "").split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def test_package_imports_only_declared_dependencies() -> None:
    """Every third-party module klcourse imports at load time is a declared dependency."""
    allowed = {"numpy", "scipy", "torch", "gymnasium", "matplotlib", "tqdm"}
    found: set[str] = set()
    for path in (ROOT / "klcourse").rglob("*.py"):
        found |= module_level_imports(ast.parse(path.read_text()))
    third_party = found - set(sys.stdlib_module_names) - {"klcourse"}
    assert third_party <= allowed, third_party - allowed


def test_the_import_scan_sees_class_bodies_but_not_functions() -> None:
    tree = ast.parse(
        "import pandas\nclass A:\n    import yaml\n"
        "    def f(self):\n        import sklearn\n"
    )
    assert module_level_imports(tree) == {"pandas", "yaml"}
    guarded = ast.parse(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import altair\n"
        "else:\n    import yaml\n"
    )
    assert module_level_imports(guarded) == {"typing", "yaml"}


def test_wheel_carries_an_spdx_license_and_the_license_file(
    installed_wheel: Path,
) -> None:
    (dist_info,) = installed_wheel.glob("klcourse-*.dist-info")
    fields = (dist_info / "METADATA").read_text().splitlines()
    assert "License-Expression: MIT" in fields
    shipped = list(dist_info.rglob("LICENSE"))
    assert shipped and shipped[0].read_text() == (ROOT / "LICENSE").read_text()


def private_names_imported_from_public_modules(
    path: Path, tree: ast.Module
) -> list[str]:
    """``from klcourse.<public module> import _name`` statements in one file.

    A private helper that two modules share lives in a private module
    (``klcourse/_validation.py``, ``klcourse/rl/_tables.py``) that both import.
    """
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:  # relative: resolve against the file's package
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            module = ".".join([*base, *([node.module] if node.module else [])])
        else:
            module = node.module or ""
        if not module.startswith("klcourse"):
            continue
        if any(part.startswith("_") for part in module.split(".")):
            continue  # a private module is where shared helpers belong
        found += [
            f"{path.name}:{node.lineno} {module}.{alias.name}"
            for alias in node.names
            if alias.name.startswith("_")
        ]
    return found


def test_no_module_imports_a_private_name_of_a_public_module() -> None:
    found = []
    for path in sorted((ROOT / "klcourse").rglob("*.py")):
        found += private_names_imported_from_public_modules(
            path, ast.parse(path.read_text())
        )
    assert not found, found


def test_the_private_import_scan_can_fail() -> None:
    path = ROOT / "klcourse" / "variational" / "closed_form.py"
    tree = ast.parse(
        "from klcourse.divergences import _cholesky\n"
        "from klcourse._validation import DIRECTIONS\n"
        "from .encoders import _mlp\n"
    )
    assert private_names_imported_from_public_modules(path, tree) == [
        "closed_form.py:1 klcourse.divergences._cholesky",
        "closed_form.py:3 klcourse.variational.encoders._mlp",
    ]
