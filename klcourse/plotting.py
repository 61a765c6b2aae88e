"""The course's figure style, in one place.

Notebooks call :func:`use_style` once. Colour carries meaning and keeps it
across chapters: :data:`COLORS` names the roles that recur in every chapter
(the target P, the approximation Q, forward and reverse KL);
:data:`CLASS_COLORS` is the palette of chapter 4's classes, and
:data:`SERIES_COLORS`, the default colour cycle, draws everything else
(estimators, families of examples), so that no such series borrows the colour
of a role. Figures label every colour in a legend or title as well, so that
no reading depends on telling colours apart.
"""

from __future__ import annotations

import re
from typing import Any

import matplotlib.style
import numpy as np
from matplotlib import rcsetup
from matplotlib.animation import Animation
from matplotlib.axes import Axes
from matplotlib.colors import is_color_like
from matplotlib.lines import Line2D
from numpy.typing import ArrayLike, NDArray

from klcourse._distributions import DistributionLike, as_distribution
from klcourse._validation import (
    check_bool,
    check_choice,
    finite_array,
)

__all__ = [
    "CLASS_COLORS",
    "COLORS",
    "SERIES_COLORS",
    "animation_html",
    "plot_density",
    "use_style",
]

#: Colours for the roles that recur across chapters (colour-blind safe, Okabe-Ito).
COLORS = {
    "p": "#0072B2",  # the target distribution P
    "q": "#D55E00",  # the approximation Q
    "forward": "#009E73",  # anything fitted by forward KL(P||Q)
    "reverse": "#CC79A7",  # anything fitted by reverse KL(Q||P)
    "neutral": "#555555",
    "accent": "#E69F00",
}

#: Colours of the classes of a classification task (chapter 4), from Paul
#: Tol's colour-blind-safe "muted" scheme: indigo, sand and wine, none of them
#: a role colour, so a class is never read as P, Q or a direction of KL.
CLASS_COLORS = ("#332288", "#DDCC77", "#882255")

#: Colours for series that are neither roles nor classes (estimators, families
#: of examples); the default colour cycle. Near-black, olive and cyan: none is
#: a role or class colour.
SERIES_COLORS = ("#222222", "#999933", "#88CCEE")

_STYLE: dict[str, Any] = {
    "figure.figsize": (7.0, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "figure.constrained_layout.use": True,
    "font.size": 10.5,
    "axes.titlesize": 11,
    "axes.labelsize": 10.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    # A plot without an explicit colour must not borrow a role's colour.
    "axes.prop_cycle": rcsetup.cycler(color=list(SERIES_COLORS)),
    # An opaque white figure stays legible on the site's dark theme as well.
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


def use_style() -> None:
    """Apply the course's matplotlib style to every figure that follows.

    Examples
    --------
    >>> use_style()
    >>> import matplotlib as mpl
    >>> mpl.rcParams["axes.spines.top"]
    False
    """
    matplotlib.style.use(_STYLE)


def plot_density(
    ax: Axes,
    dist: DistributionLike,
    x: ArrayLike,
    *,
    label: str | None = None,
    color: str | None = None,
    fill: bool = False,
    **line_options: Any,
) -> Line2D:
    """Draw the density of a univariate torch or scipy distribution on ``x``.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        Where to draw.
    dist : torch.distributions.Distribution or frozen scipy.stats distribution
        A single continuous univariate distribution (a probability mass
        function is not a curve: draw it with ``ax.stem`` instead).
    x : array_like, shape (n,)
        Finite points at which to evaluate the density (n >= 1).
    label, color : str, optional
        Legend label and colour.
    fill : bool
        Shade the area under the curve (the course draws the target P this way).
    **line_options
        Passed on to :meth:`matplotlib.axes.Axes.plot`.

    Returns
    -------
    matplotlib.lines.Line2D

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from scipy import stats
    >>> fig, ax = plt.subplots()
    >>> x = np.linspace(-3, 3, 7)
    >>> line = plot_density(ax, stats.norm(0, 1), x, label="N(0, 1)")
    >>> round(float(line.get_ydata()[3]), 4)
    0.3989
    >>> plt.close(fig)
    """
    if not isinstance(ax, Axes):
        raise TypeError(
            f"ax must be a matplotlib Axes, got {type(ax).__name__}"
        )
    grid = _grid(x)
    fill = check_bool(fill, "fill")
    if label is not None and not isinstance(label, str):
        raise TypeError(
            f"label must be a string or None, got {type(label).__name__}"
        )
    if color is not None and not is_color_like(color):
        raise ValueError(f"color must be a matplotlib colour, got {color!r}")
    model = as_distribution(dist, "dist", continuous=True, univariate=True)
    density = np.exp(model.log_prob(grid))
    try:
        (line,) = ax.plot(
            grid, density, label=label, color=color, **line_options
        )
    except AttributeError as error:  # matplotlib's word for a bad keyword
        raise TypeError(
            f"line_options holds an option Axes.plot does not know: {error}"
        ) from error
    if fill:
        ax.fill_between(
            grid, density, color=line.get_color(), alpha=0.2, linewidth=0
        )
    return line


def _grid(x: ArrayLike) -> NDArray[np.float64]:
    """The points of :func:`plot_density`: a non-empty 1-D array of finite numbers."""
    grid = finite_array(x, "x", allow_bool=False)
    if grid.ndim != 1 or grid.size == 0:
        raise ValueError(
            f"x must be a non-empty 1-D array of points, got shape {grid.shape}"
        )
    return grid


# matplotlib's JavaScript player draws its buttons with Font Awesome 4 icons from a CDN.
_ICON_FONT_LINK = re.compile(
    r'<link rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*">\s*'
)
_BUTTON_ICONS = {  # symbols from common fonts (DejaVu, Liberation, system UI)
    "fa-minus": "\u2212",  # slower
    "fa-fast-backward": "|\u25c0",  # first frame
    "fa-step-backward": "\u25c1",  # previous frame
    "fa-play fa-flip-horizontal": "\u25c0",  # play backwards
    "fa-pause": "\u275a\u275a",
    "fa-play": "\u25b6",
    "fa-step-forward": "\u25b7",  # next frame
    "fa-fast-forward": "\u25b6|",  # last frame
    "fa-plus": "+",  # faster
}


def animation_html(animation: Animation, *, default_mode: str = "once") -> str:
    """An animation as self-contained HTML, with a player that needs no network.

    This is :meth:`matplotlib.animation.Animation.to_jshtml` (frames embedded as PNG, a
    slider and playback buttons) with one change: the buttons are labelled with Unicode
    symbols instead of Font Awesome icons that matplotlib loads from a CDN, so the player
    works offline and the page requests nothing from another site.

    Parameters
    ----------
    animation : matplotlib.animation.Animation
        The animation, for instance a :class:`matplotlib.animation.FuncAnimation`.
    default_mode : {"once", "loop", "reflect"}
        What the player does at the last frame.

    Returns
    -------
    str
        HTML to display with :class:`IPython.display.HTML`.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from matplotlib.animation import FuncAnimation
    >>> fig, ax = plt.subplots()
    >>> (line,) = ax.plot([0, 1], [0, 1])
    >>> frames = FuncAnimation(fig, lambda i: line.set_ydata([0, i]), frames=3)
    >>> html = animation_html(frames)
    >>> plt.close(fig)
    >>> "font-awesome" in html, html.count("<img"), "\u25b6" in html
    (False, 1, True)
    """
    if not isinstance(animation, Animation):
        raise TypeError(
            f"animation must be a matplotlib Animation, got {type(animation).__name__}"
        )
    check_choice(default_mode, "default_mode", ("once", "loop", "reflect"))
    html = _ICON_FONT_LINK.sub(
        "", animation.to_jshtml(default_mode=default_mode)
    )
    for icon, symbol in _BUTTON_ICONS.items():
        html = html.replace(
            f'<i class="fa {icon}"></i>',
            f'<span aria-hidden="true">{symbol}</span>',
        )
    if "font-awesome" in html or 'class="fa ' in html:
        raise RuntimeError(
            "matplotlib's animation player changed: update klcourse.plotting._BUTTON_ICONS"
        )
    return html
