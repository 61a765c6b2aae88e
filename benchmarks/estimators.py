"""Speed of klcourse's estimators against their peers, measured in one run.

Run with ``make bench`` (which installs ``benchmarks/requirements.txt`` first), or
``.venv/bin/python benchmarks/estimators.py``. Prints one line per figure; the
targets come from the foundation issue:

- ``kl_knn`` (n = m = 10,000, d = 2, k = 1) at least 50x faster than
  ``universal_divergence.estimate`` with the same value to 1e-9, and within 1.5x of
  the bare ``cKDTree`` builds and queries it needs;
- ``kl_gaussian`` on 10^6 pairs and ``kl_mvn`` on 1,000 pairs with d = 10 within 2x
  of ``torch.distributions.kl_divergence``, agreeing to 1e-10 relative.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable

import mpmath
import numpy as np
import torch
from scipy.spatial import cKDTree

from klcourse import kl_gaussian, kl_knn, kl_mvn


def best_time(function: Callable[[], object], *, repeats: int = 7) -> float:
    """The fastest of ``repeats`` wall-clock timings of ``function()``, in seconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def report(
    name: str, ours: float, theirs: float, target: str, ok: bool
) -> None:
    print(
        f"{name:<58} {ours * 1e3:10.2f} ms  {theirs * 1e3:10.2f} ms  {theirs / ours:8.2f}x  {target:<14} {'PASS' if ok else 'FAIL'}"
    )


def bench_knn(rng: np.random.Generator) -> None:
    x, y = rng.normal(size=(10_000, 2)), rng.normal(0.5, 1.2, size=(10_000, 2))

    def bare_queries() -> None:
        cKDTree(x).query(x, k=[2], workers=-1)
        cKDTree(y).query(x, k=[1], workers=-1)

    ours = best_time(lambda: kl_knn(x, y, k=1))
    bare = best_time(bare_queries)
    report(
        "kl_knn vs bare cKDTree queries (n=m=10^4, d=2)",
        ours,
        bare,
        "ratio >= 1/1.5",
        ours <= 1.5 * bare,
    )
    try:
        from universal_divergence import estimate
    except ImportError:
        print(
            "universal-divergence is not installed: pip install -r benchmarks/requirements.txt"
        )
        return
    start = time.perf_counter()
    peer_value = estimate(x, y, k=1)
    peer = time.perf_counter() - start
    value = kl_knn(x, y, k=1)
    report(
        "kl_knn vs universal_divergence.estimate (one run)",
        ours,
        peer,
        ">= 50x",
        peer >= 50 * ours,
    )
    print(
        f"    values: klcourse {value:.15f}, universal-divergence {peer_value:.15f}, |diff| {abs(value - peer_value):.1e} (target <= 1e-9)"
    )


def bench_gaussian(rng: np.random.Generator) -> None:
    n = 1_000_000
    mp, mq = rng.normal(size=n), rng.normal(size=n)
    sp, sq = rng.lognormal(size=n), rng.lognormal(size=n)
    t_mp, t_sp, t_mq, t_sq = (torch.from_numpy(a) for a in (mp, sp, mq, sq))

    def torch_kl() -> torch.Tensor:
        normal = torch.distributions.Normal
        return torch.distributions.kl_divergence(
            normal(t_mp, t_sp), normal(t_mq, t_sq)
        )

    ours, theirs = (
        best_time(lambda: kl_gaussian(mp, sp, mq, sq)),
        best_time(torch_kl),
    )
    report(
        "kl_gaussian vs torch Normal (10^6 pairs)",
        ours,
        theirs,
        "ratio >= 0.5",
        ours <= 2 * theirs,
    )
    ours_values, torch_values = kl_gaussian(mp, sp, mq, sq), torch_kl().numpy()
    rel = np.abs(ours_values - torch_values) / np.abs(torch_values)
    not_tiny = ours_values >= 1e-6
    print(
        f"    largest relative difference {rel.max():.1e} over all pairs, {rel[not_tiny].max():.1e} where KL >= 1e-6 "
        f"(target <= 1e-10)"
    )
    # Where the two disagree most, which one is right? An oracle with 50 significant digits says.
    mpmath.mp.dps = 50
    worst = np.argsort(rel)[-20:]
    exact = np.array(
        [float(exact_kl_gaussian(mp[i], sp[i], mq[i], sq[i])) for i in worst]
    )
    print(
        f"    on the 20 most-disagreeing pairs (KL down to {ours_values[worst].min():.1e}), largest relative error "
        f"against mpmath: klcourse {np.max(np.abs(ours_values[worst] - exact) / exact):.1e}, "
        f"torch {np.max(np.abs(torch_values[worst] - exact) / exact):.1e}"
    )


def exact_kl_gaussian(
    mean_p: float, std_p: float, mean_q: float, std_q: float
) -> mpmath.mpf:
    """The univariate Gaussian KL in 50-digit arithmetic (an independent oracle)."""
    mp_, sp_, mq_, sq_ = (
        mpmath.mpf(float(v)) for v in (mean_p, std_p, mean_q, std_q)
    )
    return (
        mpmath.log(sq_ / sp_)
        + (sp_**2 + (mp_ - mq_) ** 2) / (2 * sq_**2)
        - mpmath.mpf(1) / 2
    )


def bench_mvn(rng: np.random.Generator) -> None:
    batch, d = 1_000, 10
    a, b = rng.normal(size=(batch, d, d)), rng.normal(size=(batch, d, d))
    cp = a @ a.transpose(0, 2, 1) + 0.5 * np.eye(d)
    cq = b @ b.transpose(0, 2, 1) + 0.5 * np.eye(d)
    mp, mq = rng.normal(size=(batch, d)), rng.normal(size=(batch, d))
    t = [torch.from_numpy(v) for v in (mp, cp, mq, cq)]

    def torch_kl() -> torch.Tensor:
        mvn = torch.distributions.MultivariateNormal
        return torch.distributions.kl_divergence(
            mvn(t[0], covariance_matrix=t[1]),
            mvn(t[2], covariance_matrix=t[3]),
        )

    ours, theirs = (
        best_time(lambda: kl_mvn(mp, cp, mq, cq)),
        best_time(torch_kl),
    )
    report(
        "kl_mvn vs torch MultivariateNormal (1,000 pairs, d=10)",
        ours,
        theirs,
        "ratio >= 0.5",
        ours <= 2 * theirs,
    )
    rel = np.max(
        np.abs(kl_mvn(mp, cp, mq, cq) - torch_kl().numpy())
        / np.abs(torch_kl().numpy())
    )
    print(f"    largest relative difference {rel:.1e} (target <= 1e-10)")


def main() -> None:
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}, "
        f"{os.cpu_count()} cores, torch threads {torch.get_num_threads()}"
    )
    print(
        f"{'figure':<58} {'klcourse':>13}  {'peer':>13}  {'speed-up':>9}  {'target':<14} verdict"
    )
    rng = np.random.default_rng(0)
    bench_knn(rng)
    bench_gaussian(rng)
    bench_mvn(rng)


if __name__ == "__main__":
    main()
