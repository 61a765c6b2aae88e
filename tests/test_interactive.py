"""The interactive figures (klcourse.interactive) and the extension that serves their JavaScript.

The numbers a figure shows are computed by its own Vega expressions: vl-convert runs them
(the same Vega a reader's browser runs) and :func:`displayed_text` reads the text marks.
Each is compared with klcourse's value for the same setting, at the figure's initial setting
and at a few others a reader can reach with the sliders. A displayed number agrees when it is
the true value rounded to the digits shown.

The tests marked ``site`` build a small book with the extension (book/_ext/interactive.py)
and drive it in Chromium: every slider moves the KL values it should, printing shows the
static image, and no script comes from outside the site.
"""

from __future__ import annotations

import base64
import functools
import html
import http.server
import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml
from conftest import ROOT
from scipy.special import rel_entr

from klcourse import (
    bimodal,
    kl_divergence,
    kl_gaussian,
    kl_landscape,
    kl_mvn,
    kl_regularized_policy,
    kl_regularized_value,
    mean_field_gaussian,
)
from klcourse.interactive import (
    EMBED_FUNCTION,
    FIGURE_ATTRIBUTE,
    READY_EVENT,
    Slider,
    bimodal_fit_explorer,
    displayed_text,
    figure_html,
    gaussian_kl_explorer,
    kl_regularized_explorer,
    mean_field_explorer,
    sliders,
    soft_policy_explorer,
    vega_bundle,
)
from klcourse.rl import (
    soft_value_iteration,
    state_distribution,
    tabular_mdp,
    trajectory_kl,
)

NUMBER = re.compile(r"(?P<label>[^=,:]+?)\s*=\s*(?P<value>[\u2212-]?\d+(?:\.(?P<digits>\d+))?)")


def shown(text: str) -> dict[str, tuple[float, int]]:
    """The numbers one line of a figure shows, by label: (value, decimals shown)."""
    numbers = {}
    for match in NUMBER.finditer(text):
        value = float(match["value"].replace("\u2212", "-"))
        numbers[match["label"].strip(" (")] = (value, len(match["digits"] or ""))
    return numbers


def agrees(displayed: tuple[float, int], truth: float) -> bool:
    """Whether a displayed number is ``truth`` rounded to the decimals shown."""
    value, decimals = displayed
    return abs(value - truth) <= 0.5 * 10.0**-decimals + 1e-9 * max(1.0, abs(truth))


def check_line(text: str, expected: dict[str, float]) -> None:
    numbers = shown(text)
    assert set(expected) <= set(numbers), f"{text!r} lacks {sorted(set(expected) - set(numbers))}"
    for label, truth in expected.items():
        assert agrees(numbers[label], truth), f"{text!r}: {label} should be {truth:.6g}"


def test_the_comparison_can_fail() -> None:
    check_line("KL(P‖Q) = 0.3768 nats", {"KL(P‖Q)": 0.37677})
    with pytest.raises(AssertionError):
        check_line("KL(P‖Q) = 0.3768 nats", {"KL(P‖Q)": 0.37686})
    with pytest.raises(AssertionError):
        check_line("expected reward = \u22121.50", {"expected reward": 1.5})
    with pytest.raises(AssertionError):
        check_line("KL(P‖Q) = 0.3768 nats", {"KL(Q‖P)": 0.3768})


def inline_data(spec: dict[str, Any], view: dict[str, Any]) -> Any:
    """The rows a view of the spec embeds (Altair may move them to the top-level datasets)."""
    data = view["data"]
    return spec["datasets"][data["name"]] if "name" in data else data["values"]


# --- the charts, built once ------------------------------------------------------------------

CHARTS: dict[str, Callable[[], Any]] = {
    "gaussian": gaussian_kl_explorer,
    "bimodal": bimodal_fit_explorer,
    "soft_policy": soft_policy_explorer,
    "mean_field": mean_field_explorer,
    "kl_regularized": kl_regularized_explorer,
}
SLIDERS = {
    "gaussian": {"mu", "sigma"},
    "bimodal": {"mu", "sigma"},
    "soft_policy": {"alpha"},
    "mean_field": {"rho"},
    "kl_regularized": {"log10_beta"},
}


@pytest.fixture(scope="module")
def charts() -> dict[str, Any]:
    """Every figure with the chapters' settings (the defaults)."""
    return {name: build() for name, build in CHARTS.items()}


def moved(chart: Any, **settings: float) -> list[str]:
    """The texts a chart shows with its sliders where ``settings`` puts them (none: initial)."""
    return displayed_text(chart, settings=settings)


# --- chapter 1 --------------------------------------------------------------------------------


@pytest.mark.parametrize(("mu", "sigma"), [(None, None), (0.0, 1.0), (-4.0, 0.3), (3.95, 3.0)])
def test_gaussian_explorer_shows_both_closed_forms(charts: dict[str, Any], mu: float | None, sigma: float | None) -> None:
    chart = charts["gaussian"]
    texts = moved(chart) if mu is None else moved(chart, mu=mu, sigma=sigma)
    mu, sigma = (1.0, 1.2) if mu is None else (mu, sigma)  # chapter 1's Q = N(1, 1.2^2)
    check_gaussian_texts(texts, 0.0, 1.0, mu, sigma)


def test_gaussian_explorer_follows_its_p() -> None:
    check_gaussian_texts(displayed_text(gaussian_kl_explorer(2.0, 0.5, mu=3.5, sigma=1.5)), 2.0, 0.5, 3.5, 1.5)


def check_gaussian_texts(texts: list[str], p_mean: float, p_std: float, mu: float, sigma: float) -> None:
    forward, reverse = kl_gaussian(p_mean, p_std, mu, sigma), kl_gaussian(mu, sigma, p_mean, p_std)
    check_line(texts[0], {"KL(P‖Q)": forward})
    check_line(texts[1], {"KL(Q‖P)": reverse})
    # the integrand's area on the plotted grid, by the trapezoid rule ...
    grid = np.linspace(p_mean - 5 * p_std, p_mean + 6 * p_std, 441)
    log_p = -0.5 * ((grid - p_mean) / p_std) ** 2 - np.log(p_std * np.sqrt(2 * np.pi))
    log_q = -0.5 * ((grid - mu) / sigma) ** 2 - np.log(sigma * np.sqrt(2 * np.pi))
    area = np.trapezoid(np.exp(log_p) * (log_p - log_q), grid)
    check_line(texts[2], {"shaded area on the plotted grid": area})
    # ... is the divergence, up to P's mass beyond the grid
    assert abs(area - forward) < 1e-4


# --- chapter 3 --------------------------------------------------------------------------------


@pytest.mark.parametrize(("mu", "sigma"), [(None, None), (3.0, 0.8), (-4.5, 0.3), (5.0, 6.0), (-3.0, 0.8)])
def test_bimodal_explorer_shows_the_landscapes_values(charts: dict[str, Any], mu: float | None, sigma: float | None) -> None:
    chart = charts["bimodal"]
    texts = moved(chart) if mu is None else moved(chart, mu=mu, sigma=sigma)
    mu, sigma = (0.5, 2.0) if mu is None else (mu, sigma)  # chapter 3's Q = N(0.5, 2^2)
    p = bimodal()
    check_line(texts[0], {"forward KL(P‖Q)": float(kl_landscape(p, mu, np.log(sigma), direction="forward"))})
    check_line(texts[1], {"reverse KL(Q‖P)": float(kl_landscape(p, mu, np.log(sigma), direction="reverse"))})


def test_bimodal_explorer_follows_its_target() -> None:
    target = {"weights": (0.5, 0.5), "means": (-2.0, 2.0), "stds": (1.0, 0.5)}
    texts = displayed_text(bimodal_fit_explorer(mu=1.0, sigma=1.0, **target))
    p = bimodal(**target)
    check_line(texts[0], {"forward KL(P‖Q)": float(kl_landscape(p, 1.0, 0.0, direction="forward"))})
    check_line(texts[1], {"reverse KL(Q‖P)": float(kl_landscape(p, 1.0, 0.0, direction="reverse"))})


def test_bimodal_explorer_embeds_the_chapters_landscapes(charts: dict[str, Any]) -> None:
    spec = charts["bimodal"].to_dict()
    landscapes = spec["vconcat"][2]["hconcat"]
    p = bimodal()
    mu, log_sigma = np.meshgrid(np.linspace(-5, 5, 41), np.linspace(np.log(0.3), np.log(6), 31))
    for panel, direction in zip(landscapes, ("forward", "reverse")):
        (values,) = inline_data(spec, panel["layer"][0])
        embedded = np.array(values[direction])
        exact = np.log(kl_landscape(p, mu, log_sigma, direction=direction)).ravel()
        assert np.abs(embedded - exact).max() <= 5e-4
        assert values["k"] == list(range(41 * 31))


# --- chapter 5 --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cliff() -> Any:
    return tabular_mdp(gym.make("CliffWalking-v1"), horizon=40)  # chapter 5's


@pytest.mark.parametrize("alpha", [None, 0.25, 2.0, 3.0, 4.0])
def test_soft_policy_explorer_shows_the_soft_optimum(charts: dict[str, Any], cliff: Any, alpha: float | None) -> None:
    chart = charts["soft_policy"]
    texts = moved(chart) if alpha is None else moved(chart, alpha=alpha)
    alpha = 1.0 if alpha is None else alpha
    best = soft_value_iteration(cliff, alpha=alpha)
    d = state_distribution(best.policy, cliff)
    running = d[:-1] * ~cliff.terminal
    visits = running.sum(0).reshape(4, 12)
    middle = visits[:3, 1:11]  # as chapter 5 computes the edge's share
    reward = (running * (best.policy * cliff.R).sum(-1)).sum()
    kl_to_reference = (running * rel_entr(best.policy, 0.25).sum(-1)).sum()
    # the soft return is reward minus alpha times that KL: trajectory_kl agrees
    soft_return = trajectory_kl(best.policy, cliff, alpha=alpha).soft_return
    assert abs(reward - alpha * kl_to_reference - soft_return) < 1e-9 * max(1, abs(soft_return))
    check_line(
        texts[0],
        {"α": alpha, "P(reach the goal)": d[-1, 47], "edge share": middle[2].sum() / middle.sum()},
    )
    check_line(texts[1], {"expected reward": reward, "KL(q_π*‖q_ref)": kl_to_reference})


def test_soft_policy_explorer_picks_the_nearest_temperature(charts: dict[str, Any]) -> None:
    # a slider between two steps (rounding in a browser) still shows one temperature
    assert moved(charts["soft_policy"], alpha=2.0 + 1e-9)[0].startswith("α = 2.00:")


def test_soft_policy_explorer_embeds_every_temperature() -> None:
    chart = soft_policy_explorer(alphas=[0.5, 1.0, 1.5], alpha=1.5, horizon=12)
    spec = chart.to_dict()
    numbers = inline_data(spec, spec["vconcat"][0])  # the readout, over the numbers
    assert [row["a"] for row in numbers] == [0.5, 1.0, 1.5]
    assert sliders(chart)["alpha"] == Slider(0.5, 1.5, 0.5, 1.5)


# --- chapter 6 --------------------------------------------------------------------------------


@pytest.mark.parametrize("rho", [None, 0.5, 0.0, -0.7, 0.99, -0.99])
def test_mean_field_explorer_shows_both_fits_and_their_divergences(charts: dict[str, Any], rho: float | None) -> None:
    chart = charts["mean_field"]
    texts = moved(chart) if rho is None else moved(chart, rho=rho)
    rho = 0.9 if rho is None else rho  # chapter 6's middle panel
    check_line(texts[0], {"ρ": rho})
    center, cov = np.zeros(2), np.array([[1.0, rho], [rho, 1.0]])
    for line, direction in zip(texts[1:3], ("reverse", "forward")):
        _, var = mean_field_gaussian(center, cov, direction=direction)
        q = np.diag(var)
        check_line(line, {"KL(q‖p)": kl_mvn(center, q, center, cov), "KL(p‖q)": kl_mvn(center, cov, center, q)})
        std = float(re.search(r"std (\d+\.\d+)", line)[1])
        assert np.allclose(std, np.sqrt(var), rtol=0, atol=5e-4)


# --- chapter 7 --------------------------------------------------------------------------------

REPLIES = ([0.40, 0.25, 0.15, 0.12, 0.08], [0.0, 0.2, 0.4, 0.6, 1.0])  # chapter 7's


@pytest.mark.parametrize("log10_beta", [None, -2.0, 0.0, 2.0, -1.37])
def test_kl_regularized_explorer_shows_the_tilted_optimum(charts: dict[str, Any], log10_beta: float | None) -> None:
    chart = charts["kl_regularized"]
    texts = moved(chart) if log10_beta is None else moved(chart, log10_beta=log10_beta)
    beta = 10.0**-0.7 if log10_beta is None else 10.0**log10_beta  # beta=0.2, on the slider's step
    ref, rewards = (np.array(v) for v in REPLIES)
    best = kl_regularized_policy(ref, rewards, beta=beta)
    assert float(texts[0].removeprefix("β = ")) == pytest.approx(beta, rel=5e-3)
    check_line(texts[1], {"expected reward E_π*[r]": best @ rewards, "E_π_ref[r]": ref @ rewards})
    check_line(
        texts[2],
        {
            "KL(π*‖π_ref)": kl_divergence(best, ref),
            "best value β log Z": float(kl_regularized_value(ref, rewards, beta=beta)),
        },
    )


def test_kl_regularized_explorer_follows_its_replies() -> None:
    texts = displayed_text(kl_regularized_explorer([0.5, 0.5], [0.0, np.log(3)], beta=1.0))
    check_line(texts[1], {"expected reward E_π*[r]": 0.75 * np.log(3)})  # pi* = (1/4, 3/4)


def test_kl_regularized_explorer_draws_both_policies(charts: dict[str, Any]) -> None:
    bars = charts["kl_regularized"].to_dict()["vconcat"][1]
    assert bars["mark"]["type"] == "bar"
    assert bars["transform"][-1]["fold"] == ["π_ref", "π*"]


# --- sliders ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_every_chart_has_its_sliders_with_the_initial_value_inside(charts: dict[str, Any], name: str) -> None:
    found = sliders(charts[name])
    assert set(found) == SLIDERS[name]
    for slider in found.values():
        assert slider.min < slider.max and slider.step > 0
        assert slider.min <= slider.value <= slider.max
        steps = (slider.max - slider.min) / slider.step
        assert 10 <= round(steps) <= 1000
        assert abs(steps - round(steps)) < 1e-6, "the range is a whole number of steps"
        start = (slider.value - slider.min) / slider.step
        assert abs(start - round(start)) < 1e-6, "the slider starts on one of its steps"


def test_an_initial_beta_between_two_steps_starts_on_the_nearer() -> None:
    assert sliders(kl_regularized_explorer(beta=0.3))["log10_beta"].value == -0.52


def test_slider_ranges_keep_every_setting_well_defined(charts: dict[str, Any]) -> None:
    assert sliders(charts["gaussian"])["sigma"].min > 0
    assert sliders(charts["bimodal"])["sigma"].min > 0
    assert sliders(charts["soft_policy"])["alpha"].min > 0
    rho = sliders(charts["mean_field"])["rho"]
    assert -1 < rho.min and rho.max < 1


def test_bimodal_sliders_span_the_landscapes(charts: dict[str, Any]) -> None:
    found = sliders(charts["bimodal"])
    assert (found["mu"].min, found["mu"].max) == (-5.0, 5.0)
    assert (found["sigma"].min, found["sigma"].max) == (0.3, 6.0)


def test_settings_must_name_a_slider_and_stay_in_its_range(charts: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="settings names no slider of the chart: 'beta'"):
        displayed_text(charts["kl_regularized"], settings={"beta": 1.0})
    with pytest.raises(ValueError, match=re.escape("settings['rho'] must lie in [-0.99, 0.99]")):
        displayed_text(charts["mean_field"], settings={"rho": 1.0})


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: gaussian_kl_explorer(mu=9.0), "mu must lie in the slider's range"),
        (lambda: gaussian_kl_explorer(sigma=0.1), "sigma must lie in the slider's range"),
        (lambda: gaussian_kl_explorer(p_std=-1.0), "p_std"),
        (lambda: bimodal_fit_explorer(sigma=7.0), "sigma must lie"),
        (lambda: bimodal_fit_explorer(weights=(0.5, 0.6)), "weights"),
        (lambda: soft_policy_explorer(alpha=0.3), "alpha must be one of alphas"),
        (lambda: soft_policy_explorer(alphas=[0.5, 1.0, 2.0]), "evenly spaced"),
        (lambda: soft_policy_explorer(alphas=[1.0]), "alphas must be a 1-D grid"),
        (lambda: mean_field_explorer(rho=1.0), "rho must lie"),
        (lambda: mean_field_explorer(radius=0.0), "radius"),
        (lambda: kl_regularized_explorer(beta=1000.0), "log10(beta) must lie"),
        (lambda: kl_regularized_explorer(beta=0.0), "beta"),
        (lambda: kl_regularized_explorer([0.5, 0.5], [1.0, 2.0, 3.0]), "one length"),
        (lambda: kl_regularized_explorer([0.5, 0.6], [1.0, 2.0]), "ref_probs"),
    ],
)
def test_bad_settings_are_refused_naming_the_argument(build: Callable[[], Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        build()


def test_bad_types_are_refused_naming_the_argument() -> None:
    with pytest.raises(TypeError, match="mu"):
        gaussian_kl_explorer(mu="1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="chart must be an Altair chart"):
        sliders({"params": []})


@pytest.mark.parametrize("name", ["Fig", "1fig", "fig name", "fig_name", ""])
def test_figure_names_must_be_usable_as_ids(charts: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match="name must be"):
        figure_html(charts["mean_field"], name=name, description="ellipses")


def test_a_figure_needs_a_description(charts: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="description"):
        figure_html(charts["mean_field"], name="fig", description=" ")
    with pytest.raises(ValueError, match="static"):
        figure_html(charts["mean_field"], name="fig", description="x", static="gif")


# --- the HTML ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages(charts: dict[str, Any]) -> dict[str, str]:
    return {
        name: figure_html(chart, name=f"fig-{name.replace('_', '-')}", description=f"the {name} figure")
        for name, chart in charts.items()
    }


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_figure_html_loads_no_script_and_names_no_url(pages: dict[str, str], name: str) -> None:
    page = pages[name]
    scripts = re.findall(r"<script\b([^>]*)>", page)
    assert len(scripts) == 2 and not any("src" in attributes for attributes in scripts)
    assert not re.search(r"https?://", page), "the figure names a URL"
    assert f'{FIGURE_ATTRIBUTE}="fig-{name.replace("_", "-")}"' in page
    assert f"window.{EMBED_FUNCTION}" in page and json.dumps(READY_EVENT) in page


@pytest.mark.parametrize("name", sorted(CHARTS))
def test_figure_html_holds_the_spec_and_a_static_image(charts: dict[str, Any], pages: dict[str, str], name: str) -> None:
    page = pages[name]
    spec = re.search(r'<script type="application/json" class="klcourse-spec">(.*?)</script>', page, re.DOTALL)[1]
    expected = charts[name].to_dict()
    expected.pop("$schema")
    assert json.loads(spec.replace("<\\/", "</")) == json.loads(json.dumps(expected))
    image = re.search(r'<img class="klcourse-static" alt="([^"]*)" src="data:(image/[a-z+]+);base64,([^"]+)"', page)
    assert image[1] == f"the {name} figure"
    data = base64.b64decode(image[3])
    assert data.startswith(b"\x89PNG") if image[2] == "image/png" else b"<svg" in data[:200]
    assert len(page) < 300_000, f"{name}: {len(page):,} bytes"


def test_the_static_image_shows_the_initial_numbers(charts: dict[str, Any]) -> None:
    page = figure_html(charts["gaussian"], name="fig", description="x", static="svg")
    svg = base64.b64decode(re.search(r"base64,([^\"]+)", page)[1]).decode()
    assert "KL(P‖Q) = 0.3768 nats" in html.unescape(svg)


def test_the_spec_cannot_end_its_script_element() -> None:
    chart = kl_regularized_explorer()
    chart = chart.properties(description="</script><script>alert(1)</script>")
    page = figure_html(chart, name="fig", description="a <b>bold</b> claim & more")
    assert page.count("</script>") == 2
    assert 'alt="a &lt;b&gt;bold&lt;/b&gt; claim &amp; more"' in page


def test_the_print_style_shows_the_static_image(pages: dict[str, str]) -> None:
    style = re.search(r"<style>(.*?)</style>", pages["mean_field"], re.DOTALL)[1]
    printed = style[style.index("@media print") :]
    assert re.search(r"\.klcourse-live \{ display: none !important; \}", printed)
    assert re.search(r"\.klcourse-static \{ display: block !important; \}", printed)
    assert "klcourse-screen-only" in pages["mean_field"]  # the book's print stylesheet hides it too


# --- the bundle -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle() -> str:
    return vega_bundle()


def test_the_bundle_defines_one_global_and_says_when(bundle: str) -> None:
    tail = bundle[-300:]
    assert f"window.{EMBED_FUNCTION}=" in tail.replace(" ", "")
    assert f"window.dispatchEvent(new Event({json.dumps(READY_EVENT)}))" in tail
    for name in ("vegaEmbed", "vega", "vegaLite", "_"):
        assert f"window.{name}=" not in bundle.replace(" ", ""), f"the bundle sets window.{name}"
    assert not re.search(r"^\s*(import|export)\b", bundle, re.MULTILINE), "a module that imports other files"
    assert 500_000 < len(bundle) < 2_000_000


# --- the extension, on a small built book -----------------------------------------------------

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import interactive as extension


def test_the_bundle_is_written_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(extension, "vega_bundle", lambda: calls.append(1) or "window.x = 1;")
    target = extension.write_bundle(tmp_path)
    assert target == tmp_path / "klcourse-vega" / "vega-bundle.js"
    extension.write_bundle(tmp_path)
    assert len(calls) == 1 and target.read_text().endswith("window.x = 1;")
    target.write_text("/* another bundle */\n")
    extension.write_bundle(tmp_path)
    assert len(calls) == 2, "a stale bundle is replaced"


def demo_notebook(figures: dict[str, Any]) -> dict[str, Any]:
    """A notebook whose stored outputs are figures, as klcourse.interactive.show displays them."""
    cells: list[dict[str, Any]] = [{"cell_type": "markdown", "metadata": {}, "source": "# Figures"}]
    for name, chart in figures.items():
        page = figure_html(chart, name=name, description=f"The figure {name}.")
        cells.append({
            "cell_type": "code", "execution_count": None, "metadata": {}, "source": "show(chart)",
            "outputs": [{"output_type": "display_data", "metadata": {},
                         "data": {"text/html": page, "text/plain": f"The figure {name}."}}],
        })
    return {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                        "language": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def small_book(tmp_path_factory: pytest.TempPathFactory, charts: dict[str, Any]) -> Path:
    """A two-page book built with the real _config.yml plus the extension: one page of figures."""
    directory = tmp_path_factory.mktemp("interactive") / "book"
    directory.mkdir()
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    config["sphinx"]["local_extensions"]["interactive"] = "book/_ext"
    (directory / "_config.yml").write_text(yaml.safe_dump(config))
    toc = {"format": "jb-book", "root": "figures", "parts": [{"caption": "More", "chapters": [{"file": "plain"}]}]}
    (directory / "_toc.yml").write_text(yaml.safe_dump(toc))
    (directory / "book").symlink_to(ROOT / "book", target_is_directory=True)
    figures = {f"fig-{name.replace('_', '-')}": chart for name, chart in charts.items()}
    (directory / "figures.ipynb").write_text(json.dumps(demo_notebook(figures)))
    (directory / "plain.md").write_text("# No figure\n\nJust text.\n")
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    result = subprocess.run([str(jupyter_book), "build", str(directory), "-W", "-n", "--keep-going"],
                            cwd=directory, capture_output=True, text=True, check=False, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
    return directory / "_build" / "html"


SCRIPT_TAG = re.compile(r"<script\b[^>]*>")


def bundle_tags(page: str) -> list[str]:
    return [tag for tag in SCRIPT_TAG.findall(page) if "klcourse-vega" in tag]


@pytest.mark.site
def test_the_bundle_is_served_once_and_only_where_a_figure_is(small_book: Path) -> None:
    bundle = small_book / "_static" / "klcourse-vega" / "vega-bundle.js"
    assert bundle.exists() and f"window.{EMBED_FUNCTION}" in bundle.read_text()[-300:]
    figures, plain = (small_book / "figures.html").read_text(), (small_book / "plain.html").read_text()
    (tag,) = bundle_tags(figures)
    assert 'type="module"' in tag
    assert re.search(r'src="_static/klcourse-vega/vega-bundle\.js\?v=[0-9a-f]+"', tag)
    assert "klcourse-vega" not in plain
    assert not list((ROOT / "book" / "_static").rglob("*vega*")), "the bundle must not be in book/_static"


@pytest.mark.site
def test_no_page_loads_a_script_from_elsewhere(small_book: Path) -> None:
    for page in small_book.rglob("*.html"):
        sources = re.findall(r"<script\b[^>]*\bsrc=\"([^\"]+)\"", page.read_text())
        assert not [s for s in sources if re.match(r"(https?:)?//", s)], f"{page.name}: {sources}"


@pytest.fixture(scope="module")
def served(small_book: Path) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(small_book))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def tab(browser: Any, served: str) -> Iterator[tuple[Any, list[str], list[str]]]:
    """A page that refuses everything from outside the site; its console errors and refusals."""
    errors: list[str] = []
    outside: list[str] = []
    context = browser.new_context(viewport={"width": 1280, "height": 900})

    def route(request_route: Any) -> None:
        if request_route.request.url.startswith((served, "data:")):
            request_route.continue_()
        else:
            outside.append(request_route.request.url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page, errors, outside
    context.close()


@pytest.mark.site
def test_every_slider_moves_its_figures_numbers(tab: tuple[Any, list[str], list[str]], served: str) -> None:
    from _interactive_browser import check_print_fallback, move_every_slider

    page, errors, outside = tab
    moves = move_every_slider(page, f"{served}/figures.html")
    expected = {(f"fig-{name.replace('_', '-')}", slider) for name in CHARTS for slider in SLIDERS[name]}
    assert {(m.figure, m.slider) for m in moves} == expected
    # the live chart has replaced the static image, and printing brings the image back
    assert page.evaluate("() => getComputedStyle(document.querySelector('.klcourse-static')).display") == "none"
    check_print_fallback(page)
    # the bundle left Sphinx's own globals alone
    assert page.evaluate("() => typeof _ === 'function' && _ === Documentation.gettext")
    assert not errors and not outside, (errors, outside)


@pytest.mark.site
def test_without_javascript_the_static_image_shows(browser: Any, served: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{served}/figures.html", wait_until="load")
    images = page.evaluate(
        "() => Array.from(document.querySelectorAll('.klcourse-static')).map(img => "
        "[getComputedStyle(img).display, img.naturalWidth])"
    )
    context.close()
    assert len(images) == len(CHARTS)
    assert all(display != "none" and width > 0 for display, width in images)


def test_a_size_report_of_the_figures(pages: dict[str, str], bundle: str) -> None:
    """Page weight, for the record: printed with -s, and bounded here."""
    sizes = {name: len(page.encode()) for name, page in pages.items()}
    print("\nbytes per figure:", sizes, "bundle:", len(bundle.encode()))
    assert max(sizes.values()) < 300_000 and len(bundle.encode()) < 2_000_000
