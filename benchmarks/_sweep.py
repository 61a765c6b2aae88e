"""The loop the beta sweeps share: run every setting, time it, save one CSV row each.

``vae_beta_sweep.py`` and ``vib_beta_sweep.py`` differ only in what they train and
measure; both hand that to :func:`run_sweep` as a function of one run's settings.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Callable, Sequence
from pathlib import Path

RESULTS = Path(__file__).with_name("results")


def run_sweep(
    name: str,
    runs: Sequence[dict[str, float]],
    measure: Callable[..., dict[str, float]],
    *,
    shown: Sequence[str],
) -> None:
    """Call ``measure(**run)`` for every run and write ``results/<name>.csv``.

    A row is the run's settings followed by its measurements, each rounded to
    five decimals. The columns named in ``shown`` are printed after every run,
    with the wall time it took.
    """
    rows = []
    for run in runs:
        start = time.perf_counter()
        measured = {k: round(float(v), 5) for k, v in measure(**run).items()}
        rows.append({**run, **measured})
        settings = " ".join(f"{key}={value}" for key, value in run.items())
        values = ", ".join(f"{key} {measured[key]:.3f}" for key in shown)
        seconds = time.perf_counter() - start
        print(f"{settings}: {values} ({seconds:.1f} s)", flush=True)
    RESULTS.mkdir(exist_ok=True)
    with open(RESULTS / f"{name}.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
