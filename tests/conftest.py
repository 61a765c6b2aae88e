"""Shared test settings: a deterministic hypothesis profile, and the built site."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import settings

settings.register_profile("klcourse", max_examples=100, deadline=None, derandomize=True)
settings.load_profile("klcourse")

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


def toc_pages() -> list[str]:
    """Every page of ``_toc.yml``, in reading order, as paths without suffix (``book/intro``)."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [toc["root"]] + [c["file"] for part in toc["parts"] for c in part["chapters"]]


@pytest.fixture(scope="session")
def site_build() -> subprocess.CompletedProcess[str]:
    """Build the book once per test session, exactly as `make book` does (warnings are errors)."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return subprocess.run(
        [str(jupyter_book), "build", ".", "-W", "-n", "--keep-going"],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=1800,
    )


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the whole session (Playwright's sync API
    cannot run twice at once), shared by the site's and the figures' tests."""
    from test_browser import CHROMIUM_ARGS, INSTALL_HINT, chromium_executable

    executable = chromium_executable()
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail(INSTALL_HINT + " (CI=true: the browser test is required)")
        pytest.skip(INSTALL_HINT)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()
