"""Bad inputs for klcourse.plotting: the course's figure helpers."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.animation import FuncAnimation
from scipy import stats

from bad_inputs._case import Case, raises, returns
from klcourse.plotting import animation_html, plot_density, use_style

GRID = np.linspace(-2.0, 2.0, 5)


def on_axes(draw: Callable[[Any], Any]) -> Callable[[], Any]:
    """Run ``draw(ax)`` on a fresh figure, closed afterwards whatever happens."""

    def call() -> Any:
        fig, ax = plt.subplots()
        try:
            return draw(ax)
        finally:
            plt.close(fig)

    return call


def density(*args: Any, **options: Any) -> Callable[[], Any]:
    return on_axes(lambda ax: plot_density(ax, *args, **options))


def heights(*args: Any, **options: Any) -> Callable[[], Any]:
    return on_axes(lambda ax: plot_density(ax, *args, **options).get_ydata())


def html_with(**options: Any) -> Callable[[], Any]:
    def call() -> Any:
        fig, ax = plt.subplots()
        (line,) = ax.plot([0, 1], [0, 1])
        frames = FuncAnimation(fig, lambda i: line.set_ydata([0, i]), frames=2)
        try:
            return animation_html(frames, **options)
        finally:
            # a refused animation is never drawn: tell matplotlib that is
            # intended, or it warns when the object is collected
            frames._draw_was_started = True
            plt.close(fig)

    return call


def style_applied_twice() -> bool:
    """use_style twice inside an rc_context, so other tests keep their style."""
    with matplotlib.rc_context():
        use_style()
        use_style()
        return matplotlib.rcParams["axes.spines.top"] is False


CASES = [
    Case(
        "plotting.plot_density",
        "points as numeric strings",
        density(stats.norm(), ["0", "1"]),
        raises(TypeError, "x"),
    ),
    Case(
        "plotting.plot_density",
        "boolean points",
        density(stats.norm(), [True, False]),
        raises(TypeError, "x"),
    ),
    Case(
        "plotting.plot_density",
        "complex points",
        density(stats.norm(), [0j, 1.0]),
        raises(TypeError, "x"),
    ),
    Case(
        "plotting.plot_density",
        "a NaN point",
        density(stats.norm(), [0.0, math.nan]),
        raises(ValueError, "x"),
    ),
    Case(
        "plotting.plot_density",
        "no points",
        density(stats.norm(), []),
        raises(ValueError, "x"),
    ),
    Case(
        "plotting.plot_density",
        "a 2-D grid",
        density(stats.norm(), np.zeros((2, 2))),
        raises(ValueError, "x"),
    ),
    Case(
        "plotting.plot_density",
        "a single number",
        density(stats.norm(), 0.0),
        raises(ValueError, "x"),
    ),
    Case(
        "plotting.plot_density",
        "no axes",
        lambda: plot_density(None, stats.norm(), GRID),
        raises(TypeError, "ax"),
    ),
    Case(
        "plotting.plot_density",
        "a distribution's name",
        density("norm", GRID),
        raises(TypeError, "dist"),
    ),
    Case(
        "plotting.plot_density",
        "a discrete distribution (a pmf is no curve)",
        density(stats.poisson(2.0), GRID),
        raises(TypeError, "dist", "continuous"),
    ),
    Case(
        "plotting.plot_density",
        "a bivariate distribution",
        density(stats.multivariate_normal(np.zeros(2)), GRID),
        raises(TypeError, "dist"),
    ),
    Case(
        "plotting.plot_density",
        "a batch of torch distributions",
        density(torch.distributions.Normal(torch.zeros(2), 1.0), GRID),
        raises(TypeError, "dist"),
    ),
    Case(
        "plotting.plot_density",
        "fill as a string",
        density(stats.norm(), GRID, fill="yes"),
        raises(TypeError, "fill"),
    ),
    Case(
        "plotting.plot_density",
        "a colour matplotlib does not know",
        density(stats.norm(), GRID, color="notacolour"),
        raises(ValueError, "color"),
    ),
    Case(
        "plotting.plot_density",
        "a label that is not a string",
        density(stats.norm(), GRID, label=3),
        raises(TypeError, "label"),
    ),
    Case(
        "plotting.plot_density",
        "a line option Axes.plot does not know",
        density(stats.norm(), GRID, thickness=2),
        raises(TypeError, "line_options", "thickness"),
    ),
    Case(
        "plotting.plot_density",
        "points outside the support (exponential at -1)",
        heights(stats.expon(), [-1.0, 0.0, 1.0]),
        returns(
            lambda y: np.allclose(
                y, [0.0, 1.0, math.exp(-1.0)], rtol=1e-12, atol=0
            ),
            "density 0 outside the support, scipy's pdf inside",
        ),
    ),
    Case(
        "plotting.plot_density",
        "points in the far tails (1e200)",
        heights(stats.norm(), [-1e200, 0.0, 1e200]),
        returns(
            lambda y: (
                y[0] == 0.0 and y[2] == 0.0 and abs(y[1] - 0.3989422804) < 1e-9
            ),
            "0 in the tails, without an overflow warning",
        ),
    ),
    Case(
        "plotting.animation_html",
        "a figure instead of an animation",
        on_axes(lambda ax: animation_html(ax.figure)),
        raises(TypeError, "animation"),
    ),
    Case(
        "plotting.animation_html",
        "an unknown playback mode",
        html_with(default_mode="bounce"),
        raises(ValueError, "default_mode"),
    ),
    Case(
        "plotting.animation_html",
        "a playback mode that is not a string",
        html_with(default_mode=1),
        raises(TypeError, "default_mode"),
    ),
    Case(
        "plotting.use_style",
        "applied twice",
        style_applied_twice,
        returns(bool, "the same style, with no error"),
    ),
]
