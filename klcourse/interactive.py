"""Figures a reader can move on the site, without a kernel.

Each builder returns an Altair chart whose sliders are Vega-Lite parameters
bound to range inputs; every number the figure shows is computed in the
reader's browser by Vega expressions (``calculate`` and ``aggregate``), so
the built site needs no Python behind it. What cannot be computed in a
browser cheaply (loss landscapes, soft-optimal policies) is computed here
with klcourse, on a grid, and embedded as data.

- :func:`gaussian_kl_explorer` -- chapter 1: Q = N(mu, sigma^2) against P,
  the integrand and both divergences in closed form;
- :func:`bimodal_fit_explorer` -- chapter 3: Q against the two-mode target,
  both divergences by quadrature and Q's place on both loss landscapes;
- :func:`soft_policy_explorer` -- chapter 5: the temperature alpha on the
  cliff, the soft-optimal walker's visits and moves;
- :func:`mean_field_explorer` -- chapter 6: the correlation rho, the target
  and its reverse and forward mean-field fits;
- :func:`kl_regularized_explorer` -- chapter 7: beta, the tilted optimum
  pi* over the toy replies, its reward and its KL to the reference.

:func:`show` puts a chart in a notebook's output as HTML: the live chart
(drawn by the Vega bundle that the book's Sphinx extension
``book/_ext/interactive.py`` serves from the site itself) and a static image
of its initial setting, which readers without JavaScript and the printed
book see instead. :func:`sliders` and :func:`displayed_text` read a chart's
sliders and, rendered by Vega through vl-convert, the text it shows.

Altair and vl-convert-python are imported only when a function here needs
them.
"""

from __future__ import annotations

import base64
import html
import importlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from klcourse._validation import (
    check_choice,
    finite_array,
    positive_float,
    positive_int,
    real_number,
)

if TYPE_CHECKING:
    import altair

__all__ = [
    "EMBED_FUNCTION",
    "FIGURE_ATTRIBUTE",
    "READY_EVENT",
    "Slider",
    "bimodal_fit_explorer",
    "displayed_text",
    "figure_html",
    "gaussian_kl_explorer",
    "kl_regularized_explorer",
    "mean_field_explorer",
    "show",
    "sliders",
    "soft_policy_explorer",
    "vega_bundle",
]

#: The one global the Vega bundle defines, vega-embed's ``embed`` function.
EMBED_FUNCTION = "klcourseVegaEmbed"
#: The event the bundle dispatches on ``window`` once it has defined it.
READY_EVENT = "klcourse-vega-ready"
#: The attribute that marks a figure in a page's HTML (the Sphinx extension
#: adds the bundle's script tag to the pages that contain it).
FIGURE_ATTRIBUTE = "data-klcourse-figure"

_WIDTH = 560  # pixels: fits the book's text column
_FONT_SIZE = 13
# DejaVu Sans has the double bar of KL(P‖Q); a font without it makes a
# renderer fall back to a serif for the whole line
_FONT = "DejaVu Sans, Verdana, sans-serif"
_LINE_HEIGHT = 19
_NAME = re.compile(r"[a-z][a-z0-9-]*")
_STATIC_FORMATS = ("auto", "svg", "png")


class Slider(NamedTuple):
    """A slider of a chart: its range, step and initial value.

    Examples
    --------
    >>> Slider(min=0.0, max=1.0, step=0.1, value=0.5).max
    1.0
    """

    min: float
    max: float
    step: float
    value: float


def _dependency(module: str, message: str) -> Any:
    """Import ``module``, or fail with ``message`` (how to install it)."""
    try:
        return importlib.import_module(module)
    except ImportError as error:  # pragma: no cover - a dependency
        raise ImportError(message) from error


def _altair() -> Any:
    return _dependency(
        "altair",
        "klcourse.interactive needs altair and vl-convert-python: "
        "pip install altair vl-convert-python",
    )


def _vl_convert() -> Any:
    return _dependency(
        "vl_convert",
        "klcourse.interactive needs vl-convert-python to render charts: "
        "pip install vl-convert-python",
    )


def _colors() -> dict[str, str]:
    from klcourse.plotting import COLORS

    return COLORS


def _js(value: float) -> str:
    """A finite float as a literal of a Vega expression."""
    return repr(float(value))


def _slider(
    name: str,
    value: Any,
    *,
    low: float,
    high: float,
    step: float,
    label: str,
    argument: str | None = None,
) -> Any:
    """A parameter bound to a range input, starting at ``value``.

    ``value`` must lie in the range, and it is taken to the nearest step: a
    slider that starts between two steps shows its value to sixteen digits
    and jumps on its first move.
    """
    argument = argument or name
    number = real_number(value, argument)
    if not low - 1e-12 <= number <= high + 1e-12:
        raise ValueError(
            f"{argument} must lie in the slider's range [{low:g}, {high:g}],"
            f" got {number!r}"
        )
    steps = round((number - low) / step)
    # rounded to the step's decimals, so that 0.3 + 18 * 0.05 reads 1.2
    decimals = max(0, -math.floor(math.log10(step))) + 2
    alt = _altair()
    return alt.param(
        name=name,
        value=round(low + steps * step, decimals) + 0.0,
        bind=alt.binding_range(min=low, max=high, step=step, name=label),
    )


def _line(chart: Any, text: str) -> Any:
    """A line of a readout: the string ``text`` (a Vega expression)
    computed from the first row of ``chart``'s data and transforms."""
    alt = _altair()
    return (
        chart.transform_calculate(text=text)
        .mark_text(align="left", baseline="top", fontSize=_FONT_SIZE)
        .encode(text=alt.Text("text:N"), x=alt.value(0))
    )


def _readout(*lines: Any) -> Any:
    """The lines of a readout (each from :func:`_line`) stacked above a
    figure, top to bottom, without axes or a frame."""
    alt = _altair()
    stacked = [
        line.encode(y=alt.value(i * _LINE_HEIGHT))
        for i, line in enumerate(lines)
    ]
    return alt.layer(*stacked).properties(
        width=_WIDTH, height=len(lines) * _LINE_HEIGHT
    )


def _one_row() -> Any:
    return _altair().Data(values=[{}])


def _grid(n: int) -> Any:
    """Rows k = 0, ..., n - 1 (a grid is built from k by ``calculate``)."""
    return _altair().sequence(0, n, as_="k")


def _trapezoid_weight(n: int, step: float) -> str:
    """The trapezoid rule's weight of grid point ``datum.k`` of ``n``."""
    return f"(datum.k == 0 || datum.k == {n - 1} ? 0.5 : 1) * {_js(step)}"


def _curve_color(
    field: str, domain: list[str], colors: list[str], orient: str
) -> Any:
    """A colour for each named curve in ``domain``, with an untitled legend
    at ``orient`` inside the plot."""
    alt = _altair()
    return alt.Color(
        field,
        scale=alt.Scale(domain=domain, range=colors),
        legend=alt.Legend(title=None, orient=orient),
    )


def _third_dashed(field: str, domain: list[str]) -> Any:
    """Solid strokes for the first two of three named curves, dashes for
    the third."""
    alt = _altair()
    return alt.StrokeDash(
        field,
        scale=alt.Scale(domain=domain, range=[[1, 0], [1, 0], [6, 3]]),
    )


def _finish(chart: Any) -> Any:
    """The course's look: white background, no frame around views, each
    legend inside its own plot (not at the corner of the whole figure)."""
    return (
        chart.resolve_legend(color="independent", strokeDash="independent")
        .configure(background="white", font=_FONT)
        .configure_view(stroke=None)
    )


def _log_normal_pdf(x: str, mean: str, std: str) -> str:
    return (
        f"(-0.5 * pow(({x} - {mean}) / {std}, 2) - log({std})"
        " - 0.5 * log(2 * PI))"
    )


def _kl_normal(mean_a: str, std_a: str, mean_b: str, std_b: str) -> str:
    """KL(N(a, s_a^2) || N(b, s_b^2)) as a Vega expression."""
    return (
        f"(log({std_b} / {std_a}) + (pow({std_a}, 2)"
        f" + pow({mean_a} - {mean_b}, 2)) / (2 * pow({std_b}, 2)) - 0.5)"
    )


def _gaussian_sliders(
    mu: Any,
    sigma: Any,
    *,
    mu_range: tuple[float, float],
    sigma_range: tuple[float, float],
    step: float,
) -> tuple[Any, Any]:
    """The sliders of Q = N(mu, sigma^2): its mean and its standard
    deviation, over the given ranges in steps of ``step``."""
    mu_param = _slider(
        "mu",
        mu,
        low=mu_range[0],
        high=mu_range[1],
        step=step,
        label="μ (mean of Q) ",
    )
    sigma_param = _slider(
        "sigma",
        sigma,
        low=sigma_range[0],
        high=sigma_range[1],
        step=step,
        label="σ (std of Q) ",
    )
    return mu_param, sigma_param


# -- chapter 1 ---------------------------------------------------------------


def gaussian_kl_explorer(
    p_mean: float = 0.0,
    p_std: float = 1.0,
    *,
    mu: float = 1.0,
    sigma: float = 1.2,
) -> altair.VConcatChart:
    r"""Chapter 1: Q = N(mu, sigma^2) against P, with sliders for mu and sigma.

    .. math:: \mathrm{KL}(P\|Q) = \log\frac{\sigma}{s}
       + \frac{s^2 + (m - \mu)^2}{2\sigma^2} - \frac12,
       \quad P = \mathcal N(m, s^2)

    The figure draws p, q and the integrand :math:`p \log(p/q)`, and shows
    both divergences in closed form and the integrand's area on the plotted
    grid (the trapezoid rule), all computed by Vega as the sliders move.

    Parameters
    ----------
    p_mean, p_std : float
        The fixed P = N(p_mean, p_std^2).
    mu, sigma : float
        Q's initial mean and standard deviation. The sliders span
        ``p_mean +- 4 p_std`` for mu and ``[0.3, 3] p_std`` for sigma, in
        steps of ``0.05 p_std``; each starts at its step nearest the value.

    Returns
    -------
    altair.VConcatChart

    Examples
    --------
    >>> chart = gaussian_kl_explorer()
    >>> sliders(chart)["mu"]
    Slider(min=-4.0, max=4.0, step=0.05, value=1.0)
    >>> displayed_text(chart)[:2]
    ['KL(P‖Q) = 0.3768 nats', 'KL(Q‖P) = 0.5377 nats']
    """
    m = real_number(p_mean, "p_mean")
    s = positive_float(p_std, "p_std")
    alt = _altair()
    colors = _colors()
    mu_param, sigma_param = _gaussian_sliders(
        mu,
        sigma,
        mu_range=(m - 4 * s, m + 4 * s),
        sigma_range=(0.3 * s, 3 * s),
        step=0.05 * s,
    )
    low, high, n = m - 5 * s, m + 6 * s, 441
    step = (high - low) / (n - 1)
    curves = (
        alt.Chart(_grid(n))
        .transform_calculate(x=f"{_js(low)} + datum.k * {_js(step)}")
        .transform_calculate(
            log_p=_log_normal_pdf("datum.x", _js(m), _js(s)),
            log_q=_log_normal_pdf("datum.x", "mu", "sigma"),
        )
        .transform_calculate(
            **{
                "p(x)": "exp(datum.log_p)",
                "q(x)": "exp(datum.log_q)",
                "p log(p/q)": "exp(datum.log_p) * (datum.log_p - datum.log_q)",
            }
        )
    )
    roles = ["p(x)", "q(x)", "p log(p/q)"]
    color = _curve_color(
        "curve:N",
        roles,
        [colors["p"], colors["q"], colors["neutral"]],
        "top-right",
    )
    lines = (
        curves.transform_fold(roles, as_=["curve", "y"])
        .mark_line()
        .encode(
            x=alt.X("x:Q", title="x", scale=alt.Scale(domain=[low, high])),
            y=alt.Y("y:Q", title="density (and integrand)"),
            color=color,
            strokeDash=_third_dashed("curve:N", roles),
        )
    )
    shade = curves.mark_area(opacity=0.15, color=colors["neutral"]).encode(
        x="x:Q", y=alt.Y("p log(p/q):Q")
    )
    forward = _kl_normal(_js(m), _js(s), "mu", "sigma")
    reverse = _kl_normal("mu", "sigma", _js(m), _js(s))
    area = curves.transform_calculate(
        piece=f"datum['p log(p/q)'] * {_trapezoid_weight(n, step)}"
    ).transform_aggregate(area="sum(piece)")
    readout = _readout(
        _line(
            alt.Chart(_one_row()),
            f"'KL(P‖Q) = ' + format({forward}, '.4f') + ' nats'",
        ),
        _line(
            alt.Chart(_one_row()),
            f"'KL(Q‖P) = ' + format({reverse}, '.4f') + ' nats'",
        ),
        _line(
            area,
            "'shaded area on the plotted grid = '"
            " + format(datum.area, '.4f') + ' nats'",
        ),
    )
    plot = alt.layer(shade, lines).properties(width=_WIDTH, height=260)
    chart = alt.vconcat(readout, plot).add_params(mu_param, sigma_param)
    return _finish(chart)


# -- chapter 3 ---------------------------------------------------------------

_LANDSCAPE_MU = (-5.0, 5.0, 41)  # the chapter's grid of Q's mean, coarser
_LANDSCAPE_SIGMA = (0.3, 6.0, 31)  # ... and of its standard deviation


def _mixture_log_density(
    x: str,
    weights: NDArray[np.float64],
    means: NDArray[np.float64],
    stds: NDArray[np.float64],
) -> list[dict[str, str]]:
    """``calculate`` steps for log p(x) of a mixture of Normals, as
    ``datum.log_p``: a log-sum-exp, so that no tail underflows."""
    parts = {
        f"c{i}": f"{_js(math.log(w))} + "
        + _log_normal_pdf(x, _js(mean), _js(std))
        for i, (w, mean, std) in enumerate(zip(weights, means, stds))
    }
    names = [f"datum.{name}" for name in parts]
    top = f"max({', '.join(names)})"
    total = " + ".join(f"exp({name} - datum.top)" for name in names)
    return [parts, {"top": top}, {"log_p": f"datum.top + log({total})"}]


def _landscape_panel(
    values: dict[str, list[float]], direction: str, title: str
) -> Any:
    """One loss landscape as a heat map over (mu, sigma), Q marked on it."""
    alt = _altair()
    colors = _colors()
    mu_low, mu_high, n_mu = _LANDSCAPE_MU
    sigma_low, sigma_high, n_sigma = _LANDSCAPE_SIGMA
    mu_step = (mu_high - mu_low) / (n_mu - 1)
    log_step = math.log(sigma_high / sigma_low) / (n_sigma - 1)
    # cell k of the row-major grid: mu index k % n_mu, sigma index the rest
    own = {"k": values["k"], direction: values[direction]}
    heat = (
        alt.Chart(alt.Data(values=[own]))
        .transform_flatten(["k", direction])
        .transform_calculate(
            mu=f"{_js(mu_low)} + (datum.k % {n_mu}) * {_js(mu_step)}",
            log_sigma=f"{_js(math.log(sigma_low))}"
            f" + floor(datum.k / {n_mu}) * {_js(log_step)}",
        )
        .transform_calculate(
            # cells overlap a little: no seams of background between them
            mu0=f"datum.mu - {_js(0.55 * mu_step)}",
            mu1=f"datum.mu + {_js(0.55 * mu_step)}",
            sigma0=f"exp(datum.log_sigma - {_js(0.55 * log_step)})",
            sigma1=f"exp(datum.log_sigma + {_js(0.55 * log_step)})",
        )
        .mark_rect(clip=True)
        .encode(
            x=alt.X(
                "mu0:Q",
                title="μ",
                scale=alt.Scale(domain=[mu_low, mu_high], nice=False),
                axis=alt.Axis(grid=False),
            ),
            x2="mu1",
            y=alt.Y(
                "sigma0:Q",
                title="σ (log scale)",
                axis=alt.Axis(grid=False),
                scale=alt.Scale(
                    type="log", domain=[sigma_low, sigma_high], nice=False
                ),
            ),
            y2="sigma1",
            color=alt.Color(
                f"{direction}:Q",
                scale=alt.Scale(scheme="viridis"),
                legend=alt.Legend(title="log KL", orient="bottom"),
            ),
        )
    )
    marker = (
        alt.Chart(_one_row())
        .transform_calculate(q_mu="mu", q_sigma="sigma")
        .mark_point(
            shape="circle",
            size=110,
            filled=True,
            fill=colors["q"],
            stroke="white",
            strokeWidth=2,
            opacity=1,
        )
        .encode(x="q_mu:Q", y="q_sigma:Q")
    )
    return alt.layer(heat, marker).properties(
        width=_WIDTH // 2 - 40, height=200, title=title
    )


def bimodal_fit_explorer(
    *,
    mu: float = 0.5,
    sigma: float = 2.0,
    weights: Sequence[float] = (0.3, 0.7),
    means: Sequence[float] = (-3.0, 3.0),
    stds: Sequence[float] = (0.8, 0.8),
) -> altair.VConcatChart:
    r"""Chapter 3: Q = N(mu, sigma^2) against the two-mode target P.

    .. math:: \mathrm{KL}(Q\|P) = -H(Q) - \mathbb E_{t\sim\mathcal N(0,1)}
       [\log p(\mu + \sigma t)]

    Both divergences are computed by Vega as the sliders move, by the
    trapezoid rule: the forward one over a fixed grid of x covering P, the
    reverse one over t in [-10, 10] as :func:`klcourse.fitting.kl_landscape`
    does. Below, Q's place on both loss landscapes, which
    :func:`klcourse.fitting.kl_landscape` computes here on a grid of
    41 x 31 (mu, sigma) and the chart embeds.

    Parameters
    ----------
    mu, sigma : float
        Q's initial mean and standard deviation, in the landscapes' range:
        mu in [-5, 5], sigma in [0.3, 6] (the sliders' steps are 0.05; each
        starts at its step nearest the value).
    weights, means, stds : pair of float
        The target, as :func:`klcourse.fitting.bimodal` takes it (the
        chapter's by default).

    Returns
    -------
    altair.VConcatChart

    Examples
    --------
    >>> chart = bimodal_fit_explorer()
    >>> sliders(chart)["sigma"]
    Slider(min=0.3, max=6.0, step=0.05, value=2.0)
    """
    from klcourse.fitting import bimodal, kl_landscape

    alt = _altair()
    colors = _colors()
    target = bimodal(weights=weights, means=means, stds=stds)
    w, m, s = (
        finite_array(value, name)
        for value, name in (
            (weights, "weights"),
            (means, "means"),
            (stds, "stds"),
        )
    )
    mu_param, sigma_param = _gaussian_sliders(
        mu,
        sigma,
        mu_range=(_LANDSCAPE_MU[0], _LANDSCAPE_MU[1]),
        sigma_range=(_LANDSCAPE_SIGMA[0], _LANDSCAPE_SIGMA[1]),
        step=0.05,
    )
    log_density = _mixture_log_density("datum.x", w, m, s)
    log_q = _log_normal_pdf("datum.x", "mu", "sigma")

    # the forward KL: p (log p - log q) over x covering P
    low = float(m.min() - 12 * s.max())
    high = float(m.max() + 12 * s.max())
    n_x = 2001
    dx = (high - low) / (n_x - 1)
    forward = alt.Chart(_grid(n_x)).transform_calculate(
        x=f"{_js(low)} + datum.k * {_js(dx)}"
    )
    for step in log_density:
        forward = forward.transform_calculate(**step)
    forward = forward.transform_calculate(
        piece=f"exp(datum.log_p) * (datum.log_p - {log_q})"
        f" * {_trapezoid_weight(n_x, dx)}"
    ).transform_aggregate(kl="sum(piece)")

    # the reverse KL: -H(Q) - E_Q[log p], x = mu + sigma t
    n_t, t_low = 1001, -10.0
    dt = 2 * -t_low / (n_t - 1)
    reverse = (
        alt.Chart(_grid(n_t))
        .transform_calculate(t=f"{_js(t_low)} + datum.k * {_js(dt)}")
        .transform_calculate(x="mu + sigma * datum.t")
    )
    for step in log_density:
        reverse = reverse.transform_calculate(**step)
    reverse = (
        reverse.transform_calculate(
            piece="exp(-0.5 * datum.t * datum.t) / sqrt(2 * PI)"
            f" * {_trapezoid_weight(n_t, dt)} * datum.log_p"
        )
        .transform_aggregate(expected_log_p="sum(piece)")
        .transform_calculate(
            kl="-(0.5 * log(2 * PI * E) + log(sigma)) - datum.expected_log_p"
        )
    )
    readout = _readout(
        _line(
            forward,
            "'forward KL(P‖Q) = ' + format(datum.kl, '.4f') + ' nats'",
        ),
        _line(
            reverse,
            "'reverse KL(Q‖P) = ' + format(datum.kl, '.4f') + ' nats'",
        ),
    )

    # the densities
    plot_low, plot_high, n_plot = -8.0, 9.0, 341
    plot_dx = (plot_high - plot_low) / (n_plot - 1)
    densities = alt.Chart(_grid(n_plot)).transform_calculate(
        x=f"{_js(plot_low)} + datum.k * {_js(plot_dx)}"
    )
    for step in log_density:
        densities = densities.transform_calculate(**step)
    roles = ["target p(x)", "q(x)"]
    densities = (
        densities.transform_calculate(
            **{roles[0]: "exp(datum.log_p)", roles[1]: f"exp({log_q})"}
        )
        .transform_fold(roles, as_=["curve", "density"])
        .mark_line()
        .encode(
            x=alt.X("x:Q", scale=alt.Scale(domain=[plot_low, plot_high])),
            y=alt.Y("density:Q"),
            color=_curve_color(
                "curve:N", roles, [colors["p"], colors["q"]], "top-right"
            ),
        )
        .properties(width=_WIDTH, height=180)
    )

    # the landscapes, exact, on the chapter's grid (coarser)
    mu_grid, log_sigma_grid = np.meshgrid(
        np.linspace(*_LANDSCAPE_MU),
        np.linspace(
            math.log(_LANDSCAPE_SIGMA[0]),
            math.log(_LANDSCAPE_SIGMA[1]),
            _LANDSCAPE_SIGMA[2],
        ),
    )
    values: dict[str, list[float]] = {"k": list(range(mu_grid.size))}
    for direction in ("forward", "reverse"):
        kl = kl_landscape(target, mu_grid, log_sigma_grid, direction=direction)
        values[direction] = np.round(np.log(kl.ravel()), 3).tolist()
    landscapes = alt.hconcat(
        _landscape_panel(values, "forward", "forward KL(P‖Q)"),
        _landscape_panel(values, "reverse", "reverse KL(Q‖P)"),
    ).resolve_scale(color="independent")
    chart = alt.vconcat(readout, densities, landscapes).add_params(
        mu_param, sigma_param
    )
    return _finish(chart)


# -- chapter 5 ---------------------------------------------------------------

_CLIFF_SHAPE = (4, 12)
_CLIFF_MOVES = np.array(
    [[-1, 0], [0, 1], [1, 0], [0, -1]]
)  # up right down left
_DEFAULT_ALPHAS = tuple(0.25 * k for k in range(1, 17))  # 0.25, ..., 4


def _cliff_rows(table: dict[str, list[float]], selected: str) -> Any:
    """The rows of a table of columns (``a``, ``s``, ...) that the filter
    ``selected`` keeps, each with the column and row of its cell ``s``."""
    alt = _altair()
    return (
        alt.Chart(alt.Data(values=[table]))
        .transform_flatten(list(table))
        .transform_filter(selected)
        .transform_calculate(
            col=f"datum.s % {_CLIFF_SHAPE[1]}",
            row=f"floor(datum.s / {_CLIFF_SHAPE[1]})",
        )
    )


def _alpha_grid(alphas: ArrayLike) -> NDArray[np.float64]:
    grid = finite_array(alphas, "alphas", allow_bool=False)
    if grid.ndim != 1 or grid.size < 2:
        raise ValueError(
            f"alphas must be a 1-D grid of at least two values, got shape "
            f"{grid.shape}"
        )
    step = grid[1] - grid[0]
    if (
        grid[0] <= 0
        or step <= 0
        or not np.allclose(np.diff(grid), step, rtol=1e-9, atol=0)
    ):
        raise ValueError(
            "alphas must be positive, increasing and evenly spaced (a "
            f"slider's steps), got {grid.tolist()}"
        )
    return grid


def _cliff_walk(mdp: Any, alpha: float) -> dict[str, Any]:
    """The soft-optimal walker at one temperature: visits, moves, numbers."""
    from scipy.special import rel_entr

    from klcourse.rl import soft_value_iteration, state_distribution

    best = soft_value_iteration(mdp, alpha=alpha)
    d = state_distribution(best.policy, mdp)
    running = d[:-1] * ~mdp.terminal  # (H, S): episodes still deciding
    visits = running.sum(0)
    weight = running[:, :, None] * best.policy  # (H, S, A)
    moves = (
        weight.sum(0)
        @ _CLIFF_MOVES
        / np.maximum(weight.sum((0, 2)), 1e-300)[:, None]
    )
    grid = visits.reshape(_CLIFF_SHAPE)
    above = grid[:3, 1:11]  # the columns above the cliff
    reference = np.full(mdp.n_actions, 1.0 / mdp.n_actions)
    return {
        "visits": visits,
        "moves": moves,
        "goal": float(d[-1].reshape(_CLIFF_SHAPE)[3, 11]),
        "edge": float(above[2].sum() / above.sum()),
        "reward": float((running * (best.policy * mdp.R).sum(-1)).sum()),
        "kl": float(
            (running * rel_entr(best.policy, reference).sum(-1)).sum()
        ),
    }


def soft_policy_explorer(
    *,
    alpha: float = 1.0,
    alphas: ArrayLike = _DEFAULT_ALPHAS,
    horizon: int = 40,
) -> altair.VConcatChart:
    r"""Chapter 5: the temperature alpha on the cliff, with a slider.

    On Gymnasium's CliffWalking (4 x 12 cells, the chapter's task with a
    horizon of 40 decisions and a uniform reference policy), the figure
    shows the soft-optimal walker :math:`\pi^*` of
    :func:`klcourse.rl.soft_value_iteration` for the alpha the slider
    selects: the expected number of visits to each cell (colour, square-root
    scale), the expected move from each cell visited more than 0.05 times
    (arrows), the probability of reaching the goal, the share of visits
    above the cliff that are on its edge, the expected reward and the
    divergence paid for it, the KL from the reference's trajectories,

    .. math:: \mathrm{KL}(q_{\pi^*}\|q_{\mathrm{ref}}) = \sum_t
       \mathbb E_{s_t}\,\mathrm{KL}(\pi^*_t(\cdot|s_t)\,\|\,\pi_{\mathrm{ref}})

    Every alpha of the grid is solved here and embedded; the slider steps
    through them.

    Parameters
    ----------
    alpha : float
        The initial temperature, one of ``alphas``.
    alphas : array_like
        Evenly spaced positive temperatures (default 0.25, 0.5, ..., 4).
    horizon : int
        The number of decisions H.

    Returns
    -------
    altair.VConcatChart

    Examples
    --------
    >>> chart = soft_policy_explorer(alphas=[0.5, 1.0], alpha=1.0, horizon=20)
    >>> sliders(chart)["alpha"]
    Slider(min=0.5, max=1.0, step=0.5, value=1.0)
    """
    import gymnasium as gym

    from klcourse.rl import tabular_mdp

    alt = _altair()
    colors = _colors()
    grid = _alpha_grid(alphas)
    horizon = positive_int(horizon, "horizon")
    start = real_number(alpha, "alpha")
    if not np.any(np.isclose(grid, start, rtol=1e-9, atol=0)):
        raise ValueError(
            f"alpha must be one of alphas {grid.tolist()}, got {start!r}"
        )
    step = float(grid[1] - grid[0])
    alpha_param = _slider(
        "alpha",
        start,
        low=float(grid[0]),
        high=float(grid[-1]),
        step=step,
        label="α (temperature) ",
    )
    env = gym.make("CliffWalking-v1")
    try:
        mdp = tabular_mdp(env, horizon=horizon)
    finally:
        env.close()
    walks = [_cliff_walk(mdp, float(a)) for a in grid]
    cells: dict[str, list[float]] = {"a": [], "s": [], "v": []}
    arrows: dict[str, list[float]] = {"a": [], "s": [], "dx": [], "dy": []}
    for a, walk in zip(grid, walks):
        shown = np.flatnonzero(walk["visits"] > 1e-4)
        cells["a"] += [float(a)] * shown.size
        cells["s"] += shown.tolist()
        cells["v"] += np.round(walk["visits"][shown], 4).tolist()
        moving = np.flatnonzero(walk["visits"] > 0.05)
        arrows["a"] += [float(a)] * moving.size
        arrows["s"] += moving.tolist()
        arrows["dx"] += np.round(walk["moves"][moving, 1], 3).tolist()
        arrows["dy"] += np.round(walk["moves"][moving, 0], 3).tolist()
    numbers = [
        {
            "a": float(a),
            **{k: walk[k] for k in ("goal", "edge", "reward", "kl")},
        }
        for a, walk in zip(grid, walks)
    ]
    selected = f"abs(datum.a - alpha) < {_js(step / 2)}"
    x_scale = alt.Scale(domain=[-0.5, _CLIFF_SHAPE[1] - 0.5], nice=False)
    y_scale = alt.Scale(domain=[_CLIFF_SHAPE[0] - 0.5, -0.5], nice=False)
    hidden = alt.Axis(
        labels=False, ticks=False, domain=False, grid=False, title=None
    )
    most = max(float(walk["visits"].max()) for walk in walks)
    heat = (
        _cliff_rows(cells, selected)
        .transform_calculate(
            x0="datum.col - 0.5",
            x1="datum.col + 0.5",
            y0="datum.row - 0.5",
            y1="datum.row + 0.5",
        )
        .mark_rect()
        .encode(
            x=alt.X("x0:Q", scale=x_scale, axis=hidden),
            x2="x1",
            y=alt.Y("y0:Q", scale=y_scale, axis=hidden),
            y2="y1",
            color=alt.Color(
                "v:Q",
                scale=alt.Scale(type="sqrt", domain=[0, most], scheme="blues"),
                legend=alt.Legend(title="expected visits", orient="bottom"),
            ),
        )
    )
    cliff = (
        alt.Chart(
            alt.Data(values=[{"x0": 0.5, "x1": 10.5, "y0": 2.5, "y1": 3.5}])
        )
        .mark_rect(color=colors["neutral"])
        .encode(x="x0:Q", x2="x1", y="y0:Q", y2="y1")
    )
    labels = (
        alt.Chart(
            alt.Data(
                values=[
                    {"x": 0, "y": 3, "t": "S"},
                    {"x": 11, "y": 3, "t": "G"},
                    {"x": 5.5, "y": 3, "t": "cliff"},
                ]
            )
        )
        .mark_text(fontSize=_FONT_SIZE, fontWeight="bold")
        .encode(
            x="x:Q",
            y="y:Q",
            text="t:N",
            color=alt.condition(
                "datum.t == 'cliff'",
                alt.value("white"),
                alt.value(colors["accent"]),
            ),
        )
    )
    arrow_data = _cliff_rows(arrows, selected).transform_calculate(
        tip_x="datum.col + 0.4 * datum.dx",
        tip_y="datum.row + 0.4 * datum.dy",
        # clockwise from up, in screen coordinates (rows grow downwards)
        angle="atan2(datum.dx, -datum.dy) * 180 / PI",
    )
    shafts = arrow_data.mark_rule(
        color=colors["reverse"], strokeWidth=2
    ).encode(x="col:Q", y="row:Q", x2="tip_x", y2="tip_y")
    heads = arrow_data.mark_point(
        shape="triangle",
        filled=True,
        size=40,
        color=colors["reverse"],
        opacity=1,
    ).encode(x="tip_x:Q", y="tip_y:Q", angle=alt.Angle("angle:Q", scale=None))
    board = alt.layer(heat, cliff, labels, shafts, heads).properties(
        width=_WIDTH, height=_WIDTH * _CLIFF_SHAPE[0] // _CLIFF_SHAPE[1]
    )
    stats = alt.Chart(alt.Data(values=numbers)).transform_filter(selected)
    readout = _readout(
        _line(
            stats,
            "'α = ' + format(datum.a, '.2f') + ':  P(reach the goal) = '"
            " + format(datum.goal, '.3f') + ',  edge share = '"
            " + format(datum.edge, '.3f')",
        ),
        _line(
            stats,
            "'expected reward = ' + format(datum.reward, '.2f')"
            " + ',  KL(q_π*‖q_ref) = ' + format(datum.kl, '.2f')"
            " + ' nats'",
        ),
    )
    return _finish(alt.vconcat(readout, board).add_params(alpha_param))


# -- chapter 6 ---------------------------------------------------------------


def _kl_diagonal_to_target(var: str) -> str:
    """KL(N(0, v I) || N(0, [[1, rho], [rho, 1]])), v = ``var``."""
    return (
        f"0.5 * (2 * {var} / (1 - rho * rho) - 2 * log({var})"
        " + log(1 - rho * rho) - 2)"
    )


def _kl_target_to_diagonal(var: str) -> str:
    """KL(N(0, [[1, rho], [rho, 1]]) || N(0, v I)), v = ``var``."""
    return f"0.5 * (2 / {var} - 2 + 2 * log({var}) - log(1 - rho * rho))"


def _fit_summary(label: str, var: str) -> str:
    """A Vega expression: a fit's standard deviation and both its KLs."""
    reverse = _kl_diagonal_to_target(var)
    forward = _kl_target_to_diagonal(var)
    return (
        f"'{label}: std ' + format(sqrt({var}), '.3f')"
        f" + ',  KL(q‖p) = ' + format({reverse}, '.4f')"
        f" + ',  KL(p‖q) = ' + format({forward}, '.4f')"
    )


def mean_field_explorer(
    *, rho: float = 0.9, radius: float = 2.0
) -> altair.VConcatChart:
    r"""Chapter 6: mean-field fits to a correlated target, a slider for rho.

    The target is :math:`p = \mathcal N(0, \Sigma)` with unit variances and
    correlation rho. Among factorised Gaussians q, the reverse KL(q||p) is
    smallest for the variances :math:`1/\Lambda_{ii} = 1 - \rho^2` (the
    precision's diagonal) and the forward KL(p||q) for the marginal
    variances :math:`\Sigma_{ii} = 1`, as
    ``klcourse.mean_field_gaussian`` computes. The figure
    draws the three at Mahalanobis radius ``radius`` and shows both
    divergences of each fit in closed form, computed by Vega as rho moves:

    .. math:: \mathrm{KL}(q\|p) = \tfrac12\big[\mathrm{tr}(\Lambda V)
       - \log\det V - \log\det\Lambda - 2\big]

    Parameters
    ----------
    rho : float
        The initial correlation, in [-0.99, 0.99] (the slider's steps are
        0.01; it starts at the step nearest the value).
    radius : float
        The Mahalanobis radius of the drawn contours.

    Returns
    -------
    altair.VConcatChart

    Examples
    --------
    >>> sliders(mean_field_explorer(rho=0.5))["rho"]
    Slider(min=-0.99, max=0.99, step=0.01, value=0.5)
    """
    alt = _altair()
    colors = _colors()
    r = positive_float(radius, "radius")
    rho_param = _slider(
        "rho", rho, low=-0.99, high=0.99, step=0.01, label="ρ (correlation) "
    )
    # 1 / Lambda_ii for unit variances: the reverse fit's variance
    reverse_var = "(1 - rho * rho)"
    n = 121
    names = ["target p", "reverse-KL fit", "forward-KL fit"]
    contours = (
        alt.Chart(_grid(n))
        .transform_calculate(t=f"2 * PI * datum.k / {n - 1}")
        .transform_calculate(
            c=f"{_js(r)} * cos(datum.t)", s=f"{_js(r)} * sin(datum.t)"
        )
        .transform_calculate(
            # x = radius L (cos t, sin t), L the Cholesky factor of Sigma
            **{
                "target p": "datum.c",
                "target p y": "rho * datum.c + sqrt(1 - rho * rho) * datum.s",
                "reverse-KL fit": f"sqrt({reverse_var}) * datum.c",
                "reverse-KL fit y": f"sqrt({reverse_var}) * datum.s",
                "forward-KL fit": "datum.c",
                "forward-KL fit y": "datum.s",
            }
        )
        .transform_fold(names, as_=["fit", "z1"])
        .transform_calculate(z2="datum[datum.fit + ' y']")
    )
    limit = 1.6 * r
    axis = alt.Scale(domain=[-limit, limit], nice=False)
    plot = (
        contours.mark_line(strokeWidth=2.5)
        .encode(
            x=alt.X("z1:Q", scale=axis, title="z₁"),
            y=alt.Y("z2:Q", scale=axis, title="z₂"),
            order="k:Q",
            color=_curve_color(
                "fit:N",
                names,
                [colors["p"], colors["reverse"], colors["forward"]],
                "top-left",
            ),
            strokeDash=_third_dashed("fit:N", names),
            detail="fit:N",
        )
        .properties(width=300, height=300)
    )
    row = alt.Chart(_one_row())
    readout = _readout(
        _line(row, "'ρ = ' + format(rho, '.2f')"),
        _line(row, _fit_summary("reverse-KL fit", reverse_var)),
        _line(row, _fit_summary("forward-KL fit", "1")),
    )
    chart = alt.vconcat(readout, plot).add_params(rho_param)
    return _finish(chart)


# -- chapter 7 ---------------------------------------------------------------


def kl_regularized_explorer(
    ref_probs: ArrayLike = (0.40, 0.25, 0.15, 0.12, 0.08),
    rewards: ArrayLike = (0.0, 0.2, 0.4, 0.6, 1.0),
    *,
    beta: float = 0.2,
) -> altair.VConcatChart:
    r"""Chapter 7: the KL-regularised optimum, with a slider for beta.

    .. math:: \pi^*(y) = \pi_{ref}(y)\, e^{r(y)/\beta} \big/
       \textstyle\sum_{y'} \pi_{ref}(y')\, e^{r(y')/\beta}

    as ``klcourse.kl_regularized_policy`` computes it (the
    largest reward subtracted first), drawn beside the reference, with the
    expected reward, :math:`\mathrm{KL}(\pi^*\|\pi_{ref})` and the best
    value :math:`\beta \log Z`, all computed by Vega as the slider moves.
    The slider moves :math:`\log_{10}\beta` from -2 to 2 in steps of 0.01,
    and starts at the step nearest :math:`\log_{10}` ``beta``: the initial
    beta is :math:`10^{-0.70} = 0.1995` for ``beta=0.2``.

    Parameters
    ----------
    ref_probs : array_like
        The reference distribution over the outputs (the chapter's five
        replies by default).
    rewards : array_like
        One finite reward per output.
    beta : float
        The initial weight of the KL term, in [0.01, 100] (taken to the
        slider's nearest step).

    Returns
    -------
    altair.VConcatChart

    Examples
    --------
    >>> sliders(kl_regularized_explorer(beta=1.0))["log10_beta"]
    Slider(min=-2.0, max=2.0, step=0.01, value=0.0)
    >>> sliders(kl_regularized_explorer())["log10_beta"].value
    -0.7
    """
    from klcourse._validation import probability_array

    alt = _altair()
    colors = _colors()
    ref = probability_array(ref_probs, "ref_probs", axis=-1)
    reward = finite_array(rewards, "rewards", allow_bool=False)
    if ref.ndim != 1 or reward.shape != ref.shape:
        raise ValueError(
            "ref_probs and rewards must be 1-D and of one length, got shapes"
            f" {ref.shape} and {reward.shape}"
        )
    b = positive_float(beta, "beta")
    beta_param = _slider(
        "log10_beta",
        math.log10(b),
        low=-2.0,
        high=2.0,
        step=0.01,
        label="log₁₀ β ",
        argument="log10(beta)",
    )
    best = float(reward[ref > 0].max())
    values = [
        {"y": f"reply {i + 1} (r = {r:g})", "ref": float(p), "r": float(r)}
        for i, (p, r) in enumerate(zip(ref, reward))
    ]
    policies = (
        alt.Chart(alt.Data(values=values))
        .transform_calculate(
            w=f"datum.ref * exp((datum.r - {_js(best)}) / pow(10, log10_beta))"
        )
        .transform_joinaggregate(total="sum(w)")
        .transform_calculate(
            pi="datum.w / datum.total",
            ref_mean="datum.ref * datum.r",
        )
        .transform_calculate(
            reward="datum.pi * datum.r",
            kl="datum.pi > 0 ? datum.pi * log(datum.pi / datum.ref) : 0",
        )
    )
    names = ["π_ref", "π*"]
    bars = (
        policies.transform_calculate(
            **{"π_ref": "datum.ref", "π*": "datum.pi"}
        )
        .transform_fold(names, as_=["policy", "probability"])
        .mark_bar()
        .encode(
            x=alt.X("y:N", title=None, sort=None, axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("policy:N", sort=names),
            y=alt.Y(
                "probability:Q",
                scale=alt.Scale(domain=[0, 1]),
                title="probability",
            ),
            color=_curve_color(
                "policy:N", names, [colors["p"], colors["q"]], "top-right"
            ),
        )
        .properties(width=_WIDTH, height=220)
    )
    totals = policies.transform_aggregate(
        reward="sum(reward)",
        kl="sum(kl)",
        ref_reward="sum(ref_mean)",
        total="max(total)",
    )
    log_z = f"log(datum.total) * pow(10, log10_beta) + {_js(best)}"
    readout = _readout(
        _line(
            alt.Chart(_one_row()),
            "'β = ' + format(pow(10, log10_beta), '.3~g')",
        ),
        _line(
            totals,
            "'expected reward E_π*[r] = ' + format(datum.reward, '.3f')"
            " + '  (E_π_ref[r] = ' + format(datum.ref_reward, '.3f') + ')'",
        ),
        _line(
            totals,
            "'KL(π*‖π_ref) = ' + format(datum.kl, '.4f') + ' nats,"
            "  best value β log Z = ' + format(" + log_z + ", '.3f')",
        ),
    )
    chart = alt.vconcat(readout, bars).add_params(beta_param)
    return _finish(chart)


# -- showing a chart ----------------------------------------------------------

# The live chart replaces the static image once Vega has drawn it; printed,
# the static image shows (klcourse-screen-only is also hidden by the book's
# print stylesheet, book/_ext/print_pdf.py).
_STYLE = """
.klcourse-interactive { margin: 1em 0; }
.klcourse-interactive .klcourse-live { background: white; color: black;
  overflow-x: auto; }
.klcourse-interactive .klcourse-live:empty { display: none; }
.klcourse-interactive .klcourse-live .vega-bindings { padding: 0.3em 0; }
.klcourse-interactive .klcourse-static { max-width: 100%; height: auto; }
.klcourse-interactive.klcourse-ready .klcourse-static { display: none; }
@media print {
  .klcourse-interactive .klcourse-live { display: none !important; }
  .klcourse-interactive .klcourse-static { display: block !important; }
}
"""

# Draws the chart when the bundle is (or becomes) available; the bundle is a
# module script, run after the page is parsed, so the listener comes first.
_SCRIPT = """
(function () {
  var figure = document.getElementById(%(id)s);
  function draw() {
    var spec = JSON.parse(figure.querySelector(".klcourse-spec").textContent);
    window.%(embed)s(figure.querySelector(".klcourse-live"), spec,
      {mode: "vega-lite", renderer: "svg", actions: false})
      .then(function () { figure.classList.add("klcourse-ready"); })
      .catch(function (error) { console.error("klcourse figure:", error); });
  }
  if (window.%(embed)s) { draw(); }
  else { window.addEventListener(%(event)s, draw, {once: true}); }
})();
"""


def _static_image(spec: dict[str, Any], static: str) -> tuple[str, str]:
    """The chart at its initial setting as (MIME type, base64 data)."""
    vl_convert = _vl_convert()
    candidates: dict[str, bytes] = {}
    if static in ("auto", "svg"):
        candidates["image/svg+xml"] = vl_convert.vegalite_to_svg(spec).encode()
    if static in ("auto", "png"):
        candidates["image/png"] = _small_png(
            vl_convert.vegalite_to_png(spec, scale=2)
        )
    mime = min(candidates, key=lambda key: len(candidates[key]))
    return mime, base64.b64encode(candidates[mime]).decode("ascii")


def _small_png(png: bytes) -> bytes:
    """``png`` with a palette of 256 colours, compressed hard (a chart has
    few colours; vl-convert's own PNGs are several times larger)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        palette = image.convert("RGB").quantize(256)
        out = io.BytesIO()
        palette.save(out, format="PNG", optimize=True)
    return out.getvalue()


def figure_html(
    chart: Any, *, name: str, description: str, static: str = "auto"
) -> str:
    """The HTML of a figure a reader can move, with a static image of it.

    The output holds the chart's Vega-Lite spec as JSON, a script that draws
    it with the Vega bundle the site serves (``window.klcourseVegaEmbed``,
    see :func:`vega_bundle`) and, until it has, an image of the chart at its
    initial setting rendered by vl-convert. Without JavaScript, without the
    bundle (in Jupyter, say), and in print, the image is what shows. No
    script is loaded from anywhere.

    Parameters
    ----------
    chart : altair.TopLevelMixin
        The chart, e.g. from :func:`gaussian_kl_explorer`.
    name : str
        The figure's name, unique on its page: lower-case letters, digits
        and hyphens (the element's id is ``klcourse-<name>``).
    description : str
        What the figure shows, for readers who cannot see it: the image's
        alternative text and the live chart's label.
    static : {"auto", "svg", "png"}
        The static image's format; "auto" takes the smaller.

    Returns
    -------
    str

    Examples
    --------
    >>> page = figure_html(
    ...     mean_field_explorer(), name="fig-mean-field-live",
    ...     description="Ellipses", static="svg")
    >>> 'id="klcourse-fig-mean-field-live"' in page, "http" in page
    (True, False)
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            "name must be lower-case letters, digits and hyphens, starting "
            f"with a letter, got {name!r}"
        )
    if not isinstance(description, str) or not description.strip():
        raise ValueError(
            f"description must be a non-empty string, got {description!r}"
        )
    static = check_choice(static, "static", _STATIC_FORMATS)
    spec = _spec(chart)
    mime, data = _static_image(spec, static)
    element = f"klcourse-{name}"
    # inside <script>, "</" would end the element: JSON allows "<\/"
    spec_json = json.dumps(
        spec, separators=(",", ":"), ensure_ascii=False
    ).replace("</", "<\\/")
    script = _SCRIPT % {
        "id": json.dumps(element),
        "embed": EMBED_FUNCTION,
        "event": json.dumps(READY_EVENT),
    }
    label = html.escape(description, quote=True)
    return (
        f'<div class="klcourse-interactive" id="{element}" '
        f'{FIGURE_ATTRIBUTE}="{name}">\n'
        f"<style>{_STYLE}</style>\n"
        f'<div class="klcourse-live klcourse-screen-only" role="figure" '
        f'aria-label="{label}"></div>\n'
        f'<img class="klcourse-static" alt="{label}" '
        f'src="data:{mime};base64,{data}">\n'
        f'<script type="application/json" class="klcourse-spec">'
        f"{spec_json}</script>\n"
        f"<script>{script}</script>\n"
        "</div>"
    )


def show(
    chart: Any, *, name: str, description: str, static: str = "auto"
) -> None:
    """Display a figure a reader can move, as :func:`figure_html` writes it.

    In a notebook this is one ``text/html`` output (with ``description`` as
    its plain-text form). On the built site the chart is live and needs no
    kernel; in Jupyter the static image shows (display ``chart`` itself for
    a live chart there).

    Parameters
    ----------
    chart, name, description, static
        As in :func:`figure_html`.

    Examples
    --------
    Outside IPython, ``display`` prints the output it would show:

    >>> show(kl_regularized_explorer(), name="fig-tilted",
    ...      description="Bars")  # doctest: +ELLIPSIS
    {'text/html': '<div class="klcourse-interactive" ...',
     'text/plain': 'Bars'}
    """
    from IPython.display import display

    page = figure_html(
        chart, name=name, description=description, static=static
    )
    display({"text/html": page, "text/plain": description}, raw=True)


@cache
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one JavaScript module, offline.

    vl-convert bundles the three libraries. The module defines one global,
    ``window.klcourseVegaEmbed`` (vega-embed's ``embed``), and then
    dispatches the ``klcourse-vega-ready`` event on ``window``; loaded as a
    module script, nothing else leaks into the page's globals (Sphinx's
    ``_`` included).

    Returns
    -------
    str
        The module's source, about 0.9 MB (built once per process).

    Examples
    --------
    >>> vega_bundle().rstrip().endswith(
    ...     'window.dispatchEvent(new Event("klcourse-vega-ready"));')
    True
    """
    snippet = (
        f"window.{EMBED_FUNCTION} = vegaEmbed;\n"
        f"window.dispatchEvent(new Event({json.dumps(READY_EVENT)}));\n"
    )
    return str(_vl_convert().javascript_bundle(snippet))


# -- reading a chart ----------------------------------------------------------


def sliders(chart: Any) -> dict[str, Slider]:
    """The sliders of a chart: each range-bound parameter by name.

    Parameters
    ----------
    chart : altair.TopLevelMixin
        A chart from this module (or any Altair chart).

    Returns
    -------
    dict of str to Slider

    Examples
    --------
    >>> sorted(sliders(mean_field_explorer()))
    ['rho']
    """
    spec = _spec(chart)
    found = {}
    for param in spec.get("params", []):
        bind = param.get("bind", {})
        if isinstance(bind, dict) and bind.get("input") == "range":
            found[param["name"]] = Slider(
                float(bind["min"]),
                float(bind["max"]),
                float(bind["step"]),
                float(param["value"]),
            )
    return found


def displayed_text(
    chart: Any, *, settings: Mapping[str, float] | None = None
) -> list[str]:
    """The text marks a chart shows, rendered by Vega.

    vl-convert runs the chart's own Vega expressions (the same ones a
    reader's browser runs), so the strings are what the figure displays with
    its sliders at their initial values, or where ``settings`` moves them.
    Axis labels, legends and titles are left out.

    Parameters
    ----------
    chart : altair.TopLevelMixin
    settings : mapping of str to float, optional
        Slider positions by name (see :func:`sliders`), each within its
        slider's range; the other sliders stay at their initial values.

    Returns
    -------
    list of str
        In the order of the chart's marks.

    Examples
    --------
    >>> chart = mean_field_explorer(rho=0.0)
    >>> displayed_text(chart)[0]
    'ρ = 0.00'
    >>> displayed_text(chart, settings={"rho": 0.5})[0]
    'ρ = 0.50'
    """
    spec = _spec(chart)
    found = sliders(chart)
    for name, value in (settings or {}).items():
        if name not in found:
            raise ValueError(
                f"settings names no slider of the chart: {name!r} "
                f"(its sliders: {sorted(found)})"
            )
        number = real_number(value, f"settings[{name!r}]")
        slider = found[name]
        if not slider.min - 1e-12 <= number <= slider.max + 1e-12:
            raise ValueError(
                f"settings[{name!r}] must lie in [{slider.min:g}, "
                f"{slider.max:g}], got {number!r}"
            )
        for param in spec["params"]:
            if param["name"] == name:
                param["value"] = number
    scenegraph = _vl_convert().vegalite_to_scenegraph(spec)
    texts: list[str] = []

    def walk(node: Any, in_text_mark: bool) -> None:
        if isinstance(node, dict):
            if "marktype" in node:
                in_text_mark = (
                    node["marktype"] == "text" and node.get("role") == "mark"
                )
            if in_text_mark and "text" in node:
                texts.append(str(node["text"]))
            for value in node.values():
                walk(value, in_text_mark)
        elif isinstance(node, list):
            for value in node:
                walk(value, in_text_mark)

    walk(scenegraph["scenegraph"], False)
    return texts


def _spec(chart: Any) -> dict[str, Any]:
    """The chart's Vega-Lite spec, without the schema's URL."""
    to_dict = getattr(chart, "to_dict", None)
    if not callable(to_dict):
        raise TypeError(
            f"chart must be an Altair chart, got {type(chart).__name__}"
        )
    spec = dict(to_dict())
    spec.pop("$schema", None)
    return spec
