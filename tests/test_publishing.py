"""Publishing: the GitHub Pages workflow, and the buttons that name the repository.

The workflow is checked offline against the GitHub workflow schema that check-jsonschema
bundles. The repository, issue, edit and launch buttons come from book/_ext/publishing.py;
the tests marked ``site`` build a two-page book (the real intro page and the cheat-sheet
notebook, with the real _config.yml, notebooks not executed) with and without a sample
repository and read the links the pages show.
"""

from __future__ import annotations

import ast
import html
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import nbformat
import pytest
import tomllib
import yaml
from conftest import HTML, ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

sys.path.insert(0, str(ROOT / "book" / "_ext"))
from colab import (
    COLAB_BRANCH,
    COLAB_CHECKOUT,
    SETUP_CELL_ID,
    main,
    setup_cell_source,
    write_copies,
)
from publishing import (
    PDF_NAME,
    Repository,
    colab_on_its_branch,
    repository_from_environment,
    theme_options,
)

WORKFLOW = ROOT / ".github" / "workflows" / "publish.yml"
CHECK_JSONSCHEMA = Path(sys.executable).with_name("check-jsonschema")


# --- The workflow ---------------------------------------------------------------------------


def check_workflow(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_JSONSCHEMA), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True, text=True, check=False, timeout=120,
    )


def test_workflow_matches_the_github_workflow_schema() -> None:
    result = check_workflow(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_can_fail(tmp_path: Path) -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    del workflow["jobs"]["deploy"]["runs-on"]  # a job must say where it runs
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(workflow))
    assert check_workflow(broken).returncode != 0


def steps_using(workflow: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])
            if step.get("uses", "").split("@")[0] == action]


def test_workflow_publishes_the_colab_copies_after_the_tests() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    jobs = workflow["jobs"]
    (publish,) = steps_using(workflow, "peaceiris/actions-gh-pages")
    name, job = next((name, job) for name, job in jobs.items() if publish in job["steps"])
    assert publish["with"]["publish_branch"] == COLAB_BRANCH
    (write,) = [step for step in job["steps"] if "book/_ext/colab.py" in step.get("run", "")]
    command = write["run"].split()
    assert command[command.index("--output") + 1] == publish["with"]["publish_dir"]
    assert command[command.index("--repository") + 1] == '"$GITHUB_REPOSITORY"'
    assert command[command.index("--commit") + 1] == '"$GITHUB_SHA"'
    assert job["permissions"] == {"contents": "write"}
    assert job["if"] == "github.event_name != 'pull_request'"
    (upload,) = steps_using(workflow, "actions/upload-pages-artifact")
    assert job["needs"] == next(n for n, j in jobs.items() if upload in j.get("steps", []))
    assert "permissions" not in jobs[job["needs"]], "the test job needs no write access"
    assert name != job["needs"]


def test_workflow_tests_then_deploys_the_site_with_the_pdf() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    jobs = workflow["jobs"]
    runs = [step.get("run", "") for job in jobs.values() for step in job.get("steps", [])]
    assert any(re.search(r"^make test$", run, re.MULTILINE) for run in runs), runs
    (upload,) = steps_using(workflow, "actions/upload-pages-artifact")
    # `make test` prints the PDF into the site's folder (tests/test_pdf.py checks it).
    assert upload["with"]["path"] == "_build/html"
    (deploy,) = steps_using(workflow, "actions/deploy-pages")
    deploy_job = next(job for job in jobs.values() if deploy in job.get("steps", []))
    assert deploy_job["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy_job["environment"]["name"] == "github-pages"
    build_job = next(name for name, job in jobs.items() if upload in job.get("steps", []))
    assert deploy_job["needs"] == build_job
    assert max(job.get("timeout-minutes", 360) for job in jobs.values()) <= 90


# --- Which repository a build is for -------------------------------------------------------


def test_no_repository_without_the_variables() -> None:
    assert repository_from_environment({}) is None
    assert repository_from_environment({"KLCOURSE_REPOSITORY": "", "HOME": "/root"}) is None


def test_klcourse_repository_wins_over_github_repository() -> None:
    environ = {"KLCOURSE_REPOSITORY": "reader/kl-fork", "GITHUB_REPOSITORY": "ci/other"}
    assert repository_from_environment(environ) == Repository("reader", "kl-fork", "main")
    del environ["KLCOURSE_REPOSITORY"]
    assert repository_from_environment(environ) == Repository("ci", "other", "main")


def test_branch_comes_from_klcourse_branch() -> None:
    environ = {"GITHUB_REPOSITORY": "octo-cat/kl.course_2", "KLCOURSE_BRANCH": "release/2026"}
    repository = repository_from_environment(environ)
    assert repository == Repository("octo-cat", "kl.course_2", "release/2026")
    assert repository is not None and repository.url == "https://github.com/octo-cat/kl.course_2"


@pytest.mark.parametrize("value", [
    "octocat", "octocat/", "/klcourse", "a/b/c", "https://github.com/a/b", "-a/b", "a-/b",
    "a--b/c", "a/..", "a/.", "a b/c", "a/b c", "a/b?x=1", "a/b#x", "ä/b",
])
def test_malformed_repository_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match="KLCOURSE_REPOSITORY.*owner/name"):
        repository_from_environment({"KLCOURSE_REPOSITORY": value})
    with pytest.raises(ValueError, match="GITHUB_REPOSITORY"):
        repository_from_environment({"GITHUB_REPOSITORY": value})


@pytest.mark.parametrize("branch", ["a b", "../main", "main/..", "-main", "/main", "main/", "a?b", "a#b"])
def test_malformed_branch_is_refused_naming_the_variable(branch: str) -> None:
    with pytest.raises(ValueError, match="KLCOURSE_BRANCH"):
        repository_from_environment({"KLCOURSE_REPOSITORY": "a/b", "KLCOURSE_BRANCH": branch})


def test_theme_options_without_a_repository_turn_every_button_off() -> None:
    # Jupyter Book's defaults name its own repository; they must not survive.
    defaults = {"repository_url": "https://github.com/executablebooks/jupyter-book",
                "launch_buttons": {"notebook_interface": "jupyterlab", "binderhub_url": "https://x"}}
    options = theme_options(None, defaults)
    assert options["repository_url"] == ""
    assert not any(options[key] for key in ("use_repository_button", "use_issues_button", "use_edit_page_button"))
    assert options["launch_buttons"] == {"notebook_interface": "jupyterlab", "binderhub_url": "", "colab_url": ""}
    assert defaults["repository_url"].endswith("jupyter-book"), "the options passed in were changed"


def test_theme_options_with_a_repository() -> None:
    options = theme_options(Repository("o", "n", "dev"), {"launch_buttons": {"notebook_interface": "jupyterlab"}})
    assert options["repository_url"] == "https://github.com/o/n"
    assert options["repository_branch"] == "dev"
    assert options["path_to_docs"] == ""
    assert all(options[key] for key in ("use_repository_button", "use_issues_button", "use_edit_page_button"))
    assert options["launch_buttons"]["binderhub_url"] == "https://mybinder.org"
    assert options["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert options["launch_buttons"]["notebook_interface"] == "jupyterlab"


# --- The Colab copies ---------------------------------------------------------------------

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_colab_copies_put_the_setup_cell_first_and_keep_every_cell(tmp_path: Path) -> None:
    written = write_copies(ROOT, tmp_path, "octo-cat/kl-course", COMMIT)
    sources = sorted((ROOT / "book").glob("*.ipynb"))
    assert [path.relative_to(tmp_path) for path in written] == [path.relative_to(ROOT) for path in sources]
    assert len(sources) >= 8
    for source, copy in zip(sources, written):
        original = json.loads(source.read_text())
        colab = json.loads(copy.read_text())
        nbformat.validate(nbformat.reads(copy.read_text(), as_version=4))
        assert colab["cells"][1:] == original["cells"], source.name
        assert {k: v for k, v in colab.items() if k != "cells"} == {k: v for k, v in original.items() if k != "cells"}
        setup = colab["cells"][0]
        assert setup["id"] == SETUP_CELL_ID and setup["cell_type"] == "code"
        assert "".join(setup["source"]) == setup_cell_source("octo-cat/kl-course", COMMIT)
    cell = setup_cell_source("octo-cat/kl-course", COMMIT)
    assert 'SOURCE = "https://github.com/octo-cat/kl-course"' in cell and f'COMMIT = "{COMMIT}"' in cell
    assert max(len(line) for line in cell.splitlines()) <= 79
    with pytest.raises(ValueError, match="Colab copy already"):
        write_copies(tmp_path, tmp_path / "again", "octo-cat/kl-course", COMMIT)


@pytest.mark.parametrize(("repository", "commit", "message"), [
    ("octo-cat", COMMIT, "repository must be a GitHub repository"),
    ("a/b c", COMMIT, "repository must be"),
    ("octo-cat/kl-course", "main", "commit must be a full 40-digit"),
    ("octo-cat/kl-course", COMMIT[:12], "commit must be"),
    ("octo-cat/kl-course", COMMIT.upper(), "commit must be"),
    ("octo-cat/kl-course", None, "commit must be"),
])
def test_colab_copies_refuse_a_malformed_repository_or_commit(repository: str, commit: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        setup_cell_source(repository, commit)


def test_colab_script_reports_a_bad_argument_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--repository", "octo-cat/kl-course", "--commit", "HEAD", "--output", str(tmp_path / "out")])
    assert exit_info.value.code == 2
    assert "commit must be a full 40-digit" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit):
        main(["--repository", "a/b", "--commit", COMMIT, "--output", str(tmp_path / "o"), "--root", str(tmp_path)])
    assert "root: no notebook" in capsys.readouterr().err


RUN_SETUP_CELL = """
import json, os, subprocess, sys, types
calls = []
real_run = subprocess.run
def run(command, **kwargs):
    calls.append(list(command))
    if os.path.basename(command[0]).startswith("git"):
        return real_run(command, **kwargs)
    if command[1:4] == ["-m", "pip", "install"]:  # resolve offline against this environment
        return real_run([*command, "--dry-run", "--no-index", "--no-build-isolation"], **kwargs)
    raise AssertionError(command)
subprocess.run = run
if sys.argv[2] == "colab":
    sys.modules["google.colab"] = types.ModuleType("google.colab")
exec(open(sys.argv[1]).read())
print(json.dumps({"cwd": os.getcwd(), "calls": calls}))
"""


def run_setup_cell(tmp_path: Path, where: str, source: str) -> dict[str, Any]:
    cell = tmp_path / "cell.py"
    cell.write_text(source)
    script = tmp_path / "run.py"
    script.write_text(RUN_SETUP_CELL)
    result = subprocess.run([sys.executable, str(script), str(cell), where], cwd=tmp_path,
                            capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_setup_cell_does_nothing_off_colab(tmp_path: Path) -> None:
    outcome = run_setup_cell(tmp_path, "jupyter", setup_cell_source("octo-cat/kl-course", COMMIT))
    assert outcome == {"cwd": str(tmp_path), "calls": []}


def test_setup_cell_on_colab_installs_klcourse_from_the_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On (a stand-in for) Colab the cell clones the repository at the commit, installs
    klcourse[notebooks] (resolved offline against the pinned environment) and works in book/.
    git's insteadOf turns the GitHub address into this checkout, so no network is used."""
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    course = tmp_path / "content" / "klcourse"
    source = setup_cell_source("octo-cat/kl-course", head).replace(COLAB_CHECKOUT, str(course))
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", f"url.{ROOT.as_uri()}.insteadOf")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "https://github.com/octo-cat/kl-course")
    outcome = run_setup_cell(tmp_path, "colab", source)
    assert outcome["cwd"] == str(course / "book")
    checked_out = subprocess.run(["git", "-C", str(course), "rev-parse", "HEAD"], capture_output=True,
                                 text=True, check=True).stdout.strip()
    assert checked_out == head
    assert (course / "book" / "05_rl_reverse_kl.ipynb").is_file()
    assert (course / "benchmarks" / "results" / "cartpole_agent.pt").is_file()  # read by chapter 5
    assert outcome["calls"][-1][-1] == f"{course}[notebooks]"


def modules_imported_by_the_notebooks() -> set[str]:
    modules = set()
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            code = "\n".join(line for line in "".join(cell["source"]).splitlines()
                             if not line.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(code)):
                if isinstance(node, ast.Import):
                    modules |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    return modules - set(sys.stdlib_module_names) - {"klcourse"}


def not_installed_by_the_notebooks_extra(modules: set[str]) -> set[str]:
    """The modules no distribution that `pip install klcourse[notebooks]` brings provides."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(text) for text in project["dependencies"]]
    extras, seen = ["notebooks"], set()
    while extras:
        for text in project["optional-dependencies"][extras.pop()]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == "klcourse":
                extras.extend(requirement.extras)
            else:
                wanted.append(requirement)
    while wanted:
        requirement = wanted.pop()
        name = canonicalize_name(requirement.name)
        if name in seen:
            continue
        seen.add(name)
        for text in importlib.metadata.requires(requirement.name) or []:
            nested = Requirement(text)
            if nested.marker is None or nested.marker.evaluate({"extra": ""}):
                wanted.append(nested)
    providers = importlib.metadata.packages_distributions()
    return {module for module in modules
            if not {canonicalize_name(d) for d in providers.get(module, [])} & seen}


def test_the_notebooks_extra_installs_every_module_the_chapters_import() -> None:
    modules = modules_imported_by_the_notebooks()
    assert {"myst_nb", "pandas", "sklearn", "IPython", "torch", "gymnasium"} <= modules
    # klcourse.interactive, which the chapters' live figures use, imports these.
    modules |= {"altair", "vl_convert"}
    assert not_installed_by_the_notebooks_extra(modules) == set()


def test_the_notebooks_extra_check_can_fail() -> None:
    assert not_installed_by_the_notebooks_extra({"hypothesis", "pandas"}) == {"hypothesis"}


def test_colab_link_moves_to_the_copies_branch() -> None:
    link = "https://colab.research.google.com/github/o/n/blob/dev/book/x.ipynb"
    assert colab_on_its_branch(link, "dev") == "https://colab.research.google.com/github/o/n/blob/colab/book/x.ipynb"
    with pytest.raises(ValueError, match="not a Colab link into branch main"):
        colab_on_its_branch(link, "main")
    with pytest.raises(ValueError, match="not a Colab link"):
        colab_on_its_branch("https://mybinder.org/v2/gh/o/n/dev?urlpath=x", "dev")


# --- The buttons on built pages --------------------------------------------------------------

SAMPLE = Repository("octo-cat", "kl-course", "trunk")
PAGES = {"book/intro": ".md", "book/cheatsheet": ".ipynb"}


def build_small_book(directory: Path, environ: dict[str, str]) -> Path:
    """Build the intro page and the cheat sheet with the real configuration; return the HTML."""
    directory.mkdir()
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"  # the links do not need outputs
    (directory / "_config.yml").write_text(yaml.safe_dump(config))
    toc = {"format": "jb-book", "root": "book/intro",
           "parts": [{"caption": "Reference", "chapters": [{"file": "book/cheatsheet"}]}]}
    (directory / "_toc.yml").write_text(yaml.safe_dump(toc))
    (directory / "book").symlink_to(ROOT / "book", target_is_directory=True)
    env = {key: value for key, value in os.environ.items()
           if key not in ("KLCOURSE_REPOSITORY", "GITHUB_REPOSITORY", "KLCOURSE_BRANCH")}
    env.update(environ)
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jupyter_book), "build", str(directory)], cwd=directory, env=env,
                            capture_output=True, text=True, check=False, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return directory / "_build" / "html"


def external_links(page: Path) -> list[str]:
    """Every link to another site on a built page, as the browser reads the attribute."""
    return [html.unescape(href) for href in re.findall(r'href="(https?://[^"]+)"', page.read_text())]


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_small_book(tmp_path_factory.mktemp("sample") / "book-with-repository",
                            {"KLCOURSE_REPOSITORY": f"{SAMPLE.owner}/{SAMPLE.name}", "KLCOURSE_BRANCH": SAMPLE.branch})


@pytest.mark.site
@pytest.mark.parametrize("page", sorted(PAGES))
def test_repository_buttons_point_into_the_sample_repository(sample_site: Path, page: str) -> None:
    links = external_links(sample_site / f"{page}.html")
    source = f"{page}{PAGES[page]}"
    assert (ROOT / source).is_file()
    repo = SAMPLE.url
    assert repo in links, f"no repository button: {links}"
    assert f"{repo}/edit/{SAMPLE.branch}/{source}" in links, f"no edit button for {source}: {links}"
    issues = [link for link in links if link.startswith(f"{repo}/issues/new?")]
    assert issues and urllib.parse.parse_qs(urllib.parse.urlsplit(issues[0]).query)["title"] == [
        f"Issue on page /{page}.html"]
    for link in links:
        parts = urllib.parse.urlsplit(link)
        assert parts.scheme == "https" and parts.netloc and " " not in link, link
        if parts.netloc == "github.com":
            assert parts.path.startswith(f"/{SAMPLE.owner}/{SAMPLE.name}"), f"a link to another repository: {link}"


@pytest.mark.site
def test_launch_buttons_open_the_notebook_on_binder_and_colab(sample_site: Path) -> None:
    notebook = "book/cheatsheet.ipynb"
    links = external_links(sample_site / "book" / "cheatsheet.html")
    binder = f"https://mybinder.org/v2/gh/{SAMPLE.owner}/{SAMPLE.name}/{SAMPLE.branch}?urlpath=lab/tree/{notebook}"
    # Colab opens the copy whose first cell installs klcourse, on the branch the workflow writes.
    colab = f"https://colab.research.google.com/github/{SAMPLE.owner}/{SAMPLE.name}/blob/colab/{notebook}"
    assert binder in links, links
    assert colab in links, links
    # A Markdown page has nothing to launch.
    intro = external_links(sample_site / "book" / "intro.html")
    assert not [link for link in intro if "mybinder.org" in link or "colab.research" in link]


@pytest.mark.site
def test_no_repository_no_buttons(tmp_path: Path) -> None:
    html = build_small_book(tmp_path / "book-without-repository", {})
    for page in PAGES:
        links = external_links(html / f"{page}.html")
        assert not [link for link in links if re.search(r"github\.com|mybinder|colab\.research", link)], links
        assert "source-repository-button" not in (html / f"{page}.html").read_text()
    shutil.rmtree(tmp_path / "book-without-repository" / "_build")


@pytest.mark.site
def test_site_offers_the_pdf_on_every_page(site_build: subprocess.CompletedProcess[str]) -> None:
    """Every page's download menu links to the book's PDF (tests/test_pdf.py prints it)."""
    from conftest import toc_pages

    for page in toc_pages():
        text = (HTML / f"{page}.html").read_text()
        depth = page.count("/")
        assert f'href="{"../" * depth}{PDF_NAME}"' in text, f"{page}: no link to {PDF_NAME}"
