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
            ".venv", ".git", "_build", "build", "*.egg-info", "__pycache__",
            ".pytest_cache", ".hypothesis", "book", "benchmarks",
        ),
    )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    wheels = base / "wheels"
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels,
         source],
        check=True, cwd=base, capture_output=True, text=True,
    )
    (wheel,) = wheels.glob("klcourse-*.whl")
    target = base / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", target, wheel],
        check=True, cwd=base, capture_output=True, text=True,
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
        cwd=installed_wheel.parent, capture_output=True, text=True,
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
    optional library lazily, e.g. scikit-learn inside ``__sklearn_tags__``)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
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


def test_wheel_carries_an_spdx_license_and_the_license_file(
    installed_wheel: Path,
) -> None:
    (dist_info,) = installed_wheel.glob("klcourse-*.dist-info")
    fields = (dist_info / "METADATA").read_text().splitlines()
    assert "License-Expression: MIT" in fields
    shipped = list(dist_info.rglob("LICENSE"))
    assert shipped and shipped[0].read_text() == (ROOT / "LICENSE").read_text()
