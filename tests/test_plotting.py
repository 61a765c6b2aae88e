"""The figure style and helpers of klcourse.plotting."""

from __future__ import annotations

import io
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.animation import FuncAnimation
from matplotlib.colors import to_hex
from scipy import stats

from klcourse.plotting import (
    CLASS_COLORS,
    COLORS,
    SERIES_COLORS,
    animation_html,
    plot_density,
    use_style,
)


@pytest.fixture
def styled() -> None:
    with matplotlib.rc_context():
        use_style()
        yield


def test_figures_are_saved_opaque_for_dark_pages(styled: None) -> None:
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    image = plt.imread(io.BytesIO(buffer.getvalue()))
    assert image.shape[2] == 4 and np.all(image[..., 3] == 1.0), (
        "a transparent pixel would vanish on a dark page"
    )


def test_default_colours_never_borrow_a_role_or_a_class(styled: None) -> None:
    cycle = [c["color"] for c in matplotlib.rcParams["axes.prop_cycle"]]
    assert cycle == list(SERIES_COLORS)
    roles = {to_hex(c) for c in COLORS.values()}
    classes = {to_hex(c) for c in CLASS_COLORS}
    series = {to_hex(c) for c in SERIES_COLORS}
    assert len(roles) == len(COLORS), "two roles share a colour"
    assert len(classes) == len(CLASS_COLORS) >= 3
    assert not roles & classes and not roles & series and not classes & series


def test_a_plot_without_a_colour_gets_a_series_colour(styled: None) -> None:
    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 1])
    plt.close(fig)
    assert to_hex(line.get_color()) == to_hex(SERIES_COLORS[0])
    assert to_hex(line.get_color()) not in {to_hex(c) for c in COLORS.values()}


def test_plot_density_matches_scipy() -> None:
    fig, ax = plt.subplots()
    x = np.linspace(-4, 4, 33)
    line = plot_density(ax, stats.t(3, loc=0.5), x, fill=True)
    plt.close(fig)
    np.testing.assert_allclose(
        line.get_ydata(), stats.t(3, loc=0.5).pdf(x), rtol=1e-12
    )
    assert len(ax.collections) == 1, (
        "fill=True shades the area under the curve"
    )


@pytest.mark.parametrize(
    ("x", "options", "error", "match"),
    [
        (["0", "1"], {}, TypeError, "^x must be a numeric array, got text"),
        ([True, False], {}, TypeError, "^x must hold numbers, got booleans"),
        ([0.0, np.nan], {}, ValueError, "^x must be finite"),
        ([], {}, ValueError, r"^x must be a non-empty 1-D array"),
        (
            np.zeros((2, 2)),
            {},
            ValueError,
            r"^x must be a non-empty 1-D array",
        ),
        ([0.0], {"fill": "yes"}, TypeError, "^fill must be True or False"),
        ([0.0], {"color": "notacolour"}, ValueError, "^color must be a"),
        ([0.0], {"label": 3}, TypeError, "^label must be a string"),
        ([0.0], {"thickness": 2}, TypeError, "^line_options holds an option"),
    ],
)
def test_plot_density_refuses_bad_points_and_options(
    x, options, error, match
) -> None:
    """Each of these used to draw something (numeric strings, an empty or NaN
    curve, booleans as 0 and 1) or fail inside matplotlib."""
    fig, ax = plt.subplots()
    try:
        with pytest.raises(error, match=match):
            plot_density(ax, stats.norm(), x, **options)
        assert not ax.lines, "nothing is drawn before the check"
    finally:
        plt.close(fig)


def test_plot_density_wants_axes_and_a_continuous_distribution() -> None:
    with pytest.raises(TypeError, match="^ax must be a matplotlib Axes"):
        plot_density(None, stats.norm(), [0.0])
    fig, ax = plt.subplots()
    try:
        with pytest.raises(TypeError, match="^dist must be a continuous"):
            plot_density(ax, stats.poisson(2.0), [0.0, 1.5])
    finally:
        plt.close(fig)


def _animation(frames: int) -> FuncAnimation:
    fig, ax = plt.subplots()
    (line,) = ax.plot([0, 1], [0, 0])
    animation = FuncAnimation(
        fig, lambda i: line.set_ydata([0, i]), frames=frames
    )
    plt.close(fig)
    return animation


def test_animation_html_is_self_contained() -> None:
    html = animation_html(_animation(4), default_mode="loop")
    assert not re.search(r'(src|href)="https?://', html), (
        "the player must not load anything from the network"
    )
    assert html.count("data:image/png;base64") == 4, (
        "one embedded frame per animation frame"
    )
    assert 'class="fa' not in html and "\u275a\u275a" in html, (
        "icon-font buttons replaced by symbols"
    )
    checked = re.search(
        r'<input type="radio"[^>]*value="(\w+)"[^>]*checked', html
    )
    assert checked and checked.group(1) == "loop", (
        "the requested mode is preselected"
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"animation": "not an animation"}, TypeError, "animation must be"),
        ({"default_mode": "bounce"}, ValueError, "default_mode"),
        ({"default_mode": 1}, TypeError, "^default_mode must be one of"),
    ],
)
def test_animation_html_rejects_bad_input(
    kwargs: dict, error: type[Exception], match: str
) -> None:
    arguments = dict(kwargs)
    animation = (
        arguments.pop("animation")
        if "animation" in arguments
        else _animation(2)
    )
    with pytest.raises(error, match=match):
        animation_html(animation, **arguments)
    if isinstance(animation, FuncAnimation):
        animation_html(
            animation
        )  # a valid call renders it (and keeps matplotlib from warning)
