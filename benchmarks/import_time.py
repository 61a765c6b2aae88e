"""How long ``import klcourse`` takes, against the numpy and scipy it needs.

Each figure is the median over several fresh Python processes of the time
one statement takes inside the process (the interpreter's own start-up is
left out); the statements take turns, so a machine that gets busier during
the run slows them alike. The statements:

- numpy + scipy: ``numpy`` and the parts of scipy that klcourse's numpy-only
  functions use (``scipy.stats``, ``scipy.special``, ``scipy.integrate``,
  ``scipy.spatial``), the floor that klcourse cannot go below;
- ``import klcourse``;
- ``import klcourse`` and one ``klcourse.kl_divergence`` call, the path of a
  reader who only wants a divergence;
- ``from klcourse import Classifier``, which needs torch.

The target, from issue #21: the numpy-only path within 1.3x of numpy + scipy.

Run ``.venv/bin/python benchmarks/import_time.py``; ``--source DIR`` times
the klcourse found in ``DIR`` instead of this checkout's (for instance a copy
of an older version), and ``--repeats N`` sets the number of processes.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

BASELINE = (
    "import numpy, scipy.stats, scipy.special, scipy.integrate, scipy.spatial"
)
STATEMENTS = {
    "numpy + scipy": BASELINE,
    "import klcourse": "import klcourse",
    "import klcourse; kl_divergence(...)": (
        "import klcourse; klcourse.kl_divergence([0.5, 0.5], [0.9, 0.1])"
    ),
    "from klcourse import Classifier": "from klcourse import Classifier",
}
TARGET = 1.3
TIMER = """
import time
start = time.perf_counter()
{statement}
elapsed = time.perf_counter() - start
import sys
print(elapsed, "torch" in sys.modules)
"""


def time_once(statement: str, source: Path) -> tuple[float, bool]:
    """Seconds that ``statement`` takes in a fresh process, and whether torch loaded.

    The process runs in ``source``, so ``import klcourse`` finds the package
    there before any installed one.
    """
    result = subprocess.run(
        [sys.executable, "-c", TIMER.format(statement=statement)],
        cwd=source,
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed, torch_loaded = result.stdout.split()
    return float(elapsed), torch_loaded == "True"


def median_times(source: Path, repeats: int) -> dict[str, tuple[float, bool]]:
    """Each statement's median time over ``repeats`` rounds, and whether torch loaded.

    Every round times every statement once, so that a machine busier in one
    round than in another slows all the statements alike.
    """
    runs: dict[str, list[tuple[float, bool]]] = {s: [] for s in STATEMENTS}
    for _ in range(repeats):
        for name, statement in STATEMENTS.items():
            runs[name].append(time_once(statement, source))
    return {
        name: (
            statistics.median(t for t, _ in timings),
            any(loaded for _, loaded in timings),
        )
        for name, timings in runs.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the directory that holds the klcourse package to time",
    )
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    source = args.source.resolve()
    if not (source / "klcourse" / "__init__.py").is_file():
        parser.error(f"--source {source} holds no klcourse package")

    print(f"python {sys.version.split()[0]}, klcourse from {source}")
    print(f"median of {args.repeats} fresh processes each")
    print(f"{'statement':<38} {'time':>9}  {'ratio':>6}  torch loaded")
    results = median_times(source, args.repeats)
    times = {name: seconds for name, (seconds, _) in results.items()}
    for name, (seconds, torch_loaded) in results.items():
        ratio = seconds / times["numpy + scipy"]
        loaded = "yes" if torch_loaded else "no"
        print(f"{name:<38} {seconds * 1e3:7.0f} ms  {ratio:5.2f}x  {loaded}")
    numpy_only = (
        times["import klcourse; kl_divergence(...)"] / times["numpy + scipy"]
    )
    verdict = "PASS" if numpy_only <= TARGET else "FAIL"
    print(
        f"numpy-only path: {numpy_only:.2f}x numpy + scipy "
        f"(target <= {TARGET}x): {verdict}"
    )


if __name__ == "__main__":
    main()
