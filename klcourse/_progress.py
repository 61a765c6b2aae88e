"""When to show a progress bar: asked for, or by default only in interactive use."""

from __future__ import annotations

import sys


def show_progress(progress: bool | None) -> bool:
    """Resolve a ``progress`` argument: True or False as given; None means "interactive".

    Interactive is a Jupyter/IPython session or a terminal on standard error;
    under pytest, in a pipe or in CI the default bar stays hidden.
    """
    if progress is not None:
        if not isinstance(progress, bool):
            raise TypeError(
                f"progress must be True, False or None, got {type(progress).__name__}"
            )
        return progress
    if "pytest" in sys.modules:
        return False
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(stream is not None and stream.isatty())
