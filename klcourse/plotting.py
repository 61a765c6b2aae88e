"""The course's figure style, in one place.

Notebooks call :func:`use_style` once; the colours name the roles that recur in
every chapter (the target P, the approximation Q, forward and reverse KL).
"""

from __future__ import annotations

from typing import Any

import matplotlib as mpl
import matplotlib.style
import cycler

__all__ = ["COLORS", "use_style"]

#: Colours for the roles that recur across chapters (colour-blind safe, Okabe-Ito).
COLORS = {
    "p": "#0072B2",  # the target distribution P
    "q": "#D55E00",  # the approximation Q
    "forward": "#009E73",  # anything fitted by forward KL(P||Q)
    "reverse": "#CC79A7",  # anything fitted by reverse KL(Q||P)
    "neutral": "#555555",
    "accent": "#E69F00",
}

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
    "axes.prop_cycle": cycler.cycler(
        color=[COLORS[key] for key in ("p", "q", "forward", "reverse", "accent", "neutral")]
    ),
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
