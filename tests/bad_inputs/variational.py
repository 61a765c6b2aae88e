"""Bad inputs for klcourse.variational (chapter 6): the conjugate model,
mean-field Gaussians, CAVI, the VAE and the information bottleneck."""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.linalg
import scipy.special

from bad_inputs._case import Case, raises, returns
from klcourse import (
    VAE,
    CAVIResult,
    ConjugateNormal,
    VIBClassifier,
    cavi_gaussian,
    mean_field_gaussian,
)

COV = [[1.0, 0.5], [0.5, 1.0]]
#: four binary images of four pixels, twice over
X = np.eye(4)[[0, 1, 2, 3] * 2]
Y = np.array([0, 1, 0, 1] * 2)
SMALL = {"hidden": (4,), "epochs": 1, "seed": 0, "progress": False}


@functools.cache
def vae() -> VAE:
    """A fitted VAE that no case changes (cases that change one fit their own)."""
    return VAE(**SMALL).fit(X)


@functools.cache
def vib() -> VIBClassifier:
    return VIBClassifier(**SMALL).fit(X, Y)


def latent_changed_after_fit() -> np.ndarray:
    """decode after ``latent_dim`` was set to 3 on a model fitted with 2."""
    model = VAE(**SMALL).fit(X)
    model.latent_dim = 3
    return model.decode(np.zeros((1, 2)))


def refit_with_more_features() -> tuple[int, tuple[int, ...]]:
    model = VAE(**SMALL).fit(X)
    model.fit(np.eye(6)[[0, 1, 2, 3, 4, 5]])
    return model.n_features_in_, model.decode(np.zeros((1, 2))).shape


def elbo_after_refit_on_old_width() -> object:
    model = VAE(**SMALL).fit(X)
    model.fit(np.eye(6)[[0, 1, 2, 3, 4, 5]])
    return model.elbo(X)  # 4 features, the model now wants 6


def posterior_oracle(prior_std: float, noise_std: float, x: list[float]):
    """mean and std of z | x, computed in logs (no power of a scale formed)."""
    n = len(x)
    log_ratio = 2 * (math.log(noise_std) - math.log(prior_std)) - math.log(n)
    shrink = scipy.special.expit(-log_ratio)  # n s0^2 / (sigma^2 + n s0^2)
    std = math.exp(
        math.log(prior_std)
        + math.log(noise_std)
        - 0.5 * (2 * math.log(noise_std) + math.log1p(math.exp(-log_ratio)))
    )
    return shrink * float(np.mean(x)), std


def close_pair(expected: tuple[float, float]):  # type: ignore[no-untyped-def]
    return lambda got: all(
        math.isclose(a, b, rel_tol=1e-12) for a, b in zip(got, expected)
    )


CASES = [
    # --- ConjugateNormal ----------------------------------------------------------------
    Case(
        "ConjugateNormal",
        "prior_mean as a numeric string",
        lambda: ConjugateNormal(prior_mean="0"),
        raises(TypeError, "prior_mean"),
    ),
    Case(
        "ConjugateNormal",
        "prior_mean is a bool",
        lambda: ConjugateNormal(prior_mean=True),
        raises(TypeError, "prior_mean"),
    ),
    Case(
        "ConjugateNormal",
        "prior_mean is complex",
        lambda: ConjugateNormal(prior_mean=1j),
        raises(TypeError, "prior_mean"),
    ),
    Case(
        "ConjugateNormal",
        "prior_mean is a vector",
        lambda: ConjugateNormal(prior_mean=[0.0, 1.0]),
        raises(ValueError, "prior_mean"),
    ),
    Case(
        "ConjugateNormal",
        "prior_mean NaN",
        lambda: ConjugateNormal(prior_mean=math.nan),
        raises(ValueError, "prior_mean"),
    ),
    Case(
        "ConjugateNormal",
        "prior_std as a numeric string",
        lambda: ConjugateNormal(prior_std="1"),
        raises(TypeError, "prior_std"),
    ),
    Case(
        "ConjugateNormal",
        "zero noise_std",
        lambda: ConjugateNormal(noise_std=0.0),
        raises(ValueError, "noise_std"),
    ),
    Case(
        "ConjugateNormal",
        "negative prior_std",
        lambda: ConjugateNormal(prior_std=-1.0),
        raises(ValueError, "prior_std"),
    ),
    Case(
        "ConjugateNormal",
        "noise_std whose square underflows (1e-200)",
        lambda: ConjugateNormal(noise_std=1e-200),
        raises(ValueError, "noise_std", "1e-200"),
    ),
    Case(
        "ConjugateNormal",
        "prior_std whose square overflows (1e200)",
        lambda: ConjugateNormal(prior_std=1e200),
        raises(ValueError, "prior_std"),
    ),
    Case(
        "ConjugateNormal.posterior",
        "numeric strings as observations",
        lambda: ConjugateNormal().posterior(["1", "2"]),
        raises(TypeError, "x"),
    ),
    Case(
        "ConjugateNormal.posterior",
        "booleans as observations",
        lambda: ConjugateNormal().posterior([True, False]),
        raises(TypeError, "x"),
    ),
    Case(
        "ConjugateNormal.posterior",
        "no observations",
        lambda: ConjugateNormal().posterior([]),
        raises(ValueError, "x"),
    ),
    Case(
        "ConjugateNormal.posterior",
        "a 2-D array of observations",
        lambda: ConjugateNormal().posterior([[1.0, 2.0]]),
        raises(ValueError, "x"),
    ),
    Case(
        "ConjugateNormal.posterior",
        "an infinite observation",
        lambda: ConjugateNormal().posterior([0.0, math.inf]),
        raises(ValueError, "x"),
    ),
    Case(
        "ConjugateNormal.posterior",
        "scales of 1e140 (squares near float64's limit)",
        lambda: tuple(
            ConjugateNormal(0.0, 1e140, 1e140).posterior([2e140, 4e140])
        ),
        returns(
            close_pair(posterior_oracle(1e140, 1e140, [2e140, 4e140])),
            "the posterior computed in logs",
        ),
    ),
    Case(
        "ConjugateNormal.posterior",
        "prior_std 1e-140, noise_std 1e140",
        lambda: tuple(
            ConjugateNormal(0.0, 1e-140, 1e140).posterior([1e140, 3e140])
        ),
        returns(
            close_pair(posterior_oracle(1e-140, 1e140, [1e140, 3e140])),
            "the prior wins: mean 0, std 1e-140",
        ),
    ),
    Case(
        "ConjugateNormal.posterior",
        "observations near the float64 maximum",
        lambda: ConjugateNormal().posterior([1.5e308, 1.5e308]).mu,
        returns(
            lambda mu: math.isclose(mu, 1e308, rel_tol=1e-12),
            "2/3 of 1.5e308 (the sum overflows, the mean does not)",
        ),
    ),
    Case(
        "ConjugateNormal.log_joint",
        "z as a numeric string",
        lambda: ConjugateNormal().log_joint([0.0], "0"),
        raises(TypeError, "z"),
    ),
    Case(
        "ConjugateNormal.log_joint",
        "z is a bool",
        lambda: ConjugateNormal().log_joint([0.0], True),
        raises(TypeError, "z"),
    ),
    Case(
        "ConjugateNormal.log_joint",
        "z 1e200 away: the density is below float64",
        lambda: ConjugateNormal().log_joint([0.0], 1e200),
        returns(lambda v: v == -math.inf, "-inf, without an overflow warning"),
    ),
    Case(
        "ConjugateNormal.log_evidence",
        "observations 1e200: below float64",
        lambda: ConjugateNormal().log_evidence([1e200]),
        returns(lambda v: v == -math.inf, "-inf, without an overflow warning"),
    ),
    Case(
        "ConjugateNormal.log_evidence",
        "NaN among the observations",
        lambda: ConjugateNormal().log_evidence([0.0, math.nan]),
        raises(ValueError, "x"),
    ),
    Case(
        "ConjugateNormal.elbo",
        "std zero",
        lambda: ConjugateNormal().elbo([0.0], 0.0, 0.0),
        raises(ValueError, "std"),
    ),
    Case(
        "ConjugateNormal.elbo",
        "std as a numeric string",
        lambda: ConjugateNormal().elbo([0.0], 0.0, "1"),
        raises(TypeError, "std"),
    ),
    Case(
        "ConjugateNormal.elbo",
        "mean and std of shapes (2,) and (3,)",
        lambda: ConjugateNormal().elbo([0.0], [0.0, 1.0], [1.0, 1.0, 1.0]),
        raises(ValueError, "mean", "std", "broadcast"),
    ),
    Case(
        "ConjugateNormal.elbo",
        "std 1e200: the ELBO is below float64",
        lambda: ConjugateNormal().elbo([0.0], 0.0, 1e200),
        returns(lambda v: v == -math.inf, "-inf, without an overflow warning"),
    ),
    # --- mean-field Gaussians and CAVI -----------------------------------------------------
    Case(
        "mean_field_gaussian",
        "numeric strings as the mean",
        lambda: mean_field_gaussian(["0", "0"], COV),
        raises(TypeError, "mean"),
    ),
    Case(
        "mean_field_gaussian",
        "numeric strings in the covariance",
        lambda: mean_field_gaussian([0.0, 0.0], [["1", "0"], ["0", "1"]]),
        raises(TypeError, "cov"),
    ),
    Case(
        "mean_field_gaussian",
        "a boolean mean",
        lambda: mean_field_gaussian([True, False], COV),
        raises(TypeError, "mean"),
    ),
    Case(
        "mean_field_gaussian",
        "a boolean identity as covariance",
        lambda: mean_field_gaussian([0.0, 0.0], np.eye(2, dtype=bool)),
        raises(TypeError, "cov"),
    ),
    Case(
        "mean_field_gaussian",
        "complex mean",
        lambda: mean_field_gaussian([0j, 0.0], COV),
        raises(TypeError, "mean"),
    ),
    Case(
        "mean_field_gaussian",
        "empty mean",
        lambda: mean_field_gaussian([], np.zeros((0, 0))),
        raises(ValueError, "mean"),
    ),
    Case(
        "mean_field_gaussian",
        "covariance of the wrong size",
        lambda: mean_field_gaussian([0.0, 0.0, 0.0], COV),
        raises(ValueError, "cov"),
    ),
    Case(
        "mean_field_gaussian",
        "NaN in the covariance",
        lambda: mean_field_gaussian(
            [0.0, 0.0], [[1.0, math.nan], [math.nan, 1.0]]
        ),
        raises(ValueError, "cov"),
    ),
    Case(
        "mean_field_gaussian",
        "a singular covariance",
        lambda: mean_field_gaussian([0.0, 0.0], [[1.0, 1.0], [1.0, 1.0]]),
        raises(ValueError, "cov", "positive definite"),
    ),
    Case(
        "mean_field_gaussian",
        "a covariance singular to working precision (Hilbert 12)",
        lambda: mean_field_gaussian(np.zeros(12), scipy.linalg.hilbert(12)),
        raises(ValueError, "cov", "singular"),
    ),
    Case(
        "mean_field_gaussian",
        "covariance entries of 1e-300",
        lambda: mean_field_gaussian([0.0, 0.0], np.multiply(COV, 1e-300))[1],
        returns(
            lambda v: np.allclose(v, 0.75e-300, rtol=1e-14, atol=0),
            "3/4 of 1e-300 (the precision, about 1e300, is a float64)",
        ),
    ),
    Case(
        "mean_field_gaussian",
        "subnormal covariance entries (1e-310)",
        lambda: mean_field_gaussian([0.0, 0.0], np.multiply(COV, 1e-310)),
        raises(ValueError, "cov", "precision"),
    ),
    Case(
        "mean_field_gaussian",
        "an asymmetric covariance",
        lambda: mean_field_gaussian([0.0, 0.0], [[1.0, 0.5], [0.4, 1.0]]),
        raises(ValueError, "cov", "symmetric"),
    ),
    Case(
        "mean_field_gaussian",
        "direction as a number",
        lambda: mean_field_gaussian([0.0, 0.0], COV, direction=1),
        raises(TypeError, "direction"),
    ),
    Case(
        "mean_field_gaussian",
        "an unknown direction",
        lambda: mean_field_gaussian([0.0, 0.0], COV, direction="both"),
        raises(ValueError, "direction"),
    ),
    Case(
        "cavi_gaussian",
        "max_sweeps as a numeric string",
        lambda: cavi_gaussian([0.0, 0.0], COV, max_sweeps="3"),
        raises(TypeError, "max_sweeps"),
    ),
    Case(
        "cavi_gaussian",
        "max_sweeps is a bool",
        lambda: cavi_gaussian([0.0, 0.0], COV, max_sweeps=True),
        raises(TypeError, "max_sweeps"),
    ),
    Case(
        "cavi_gaussian",
        "zero sweeps",
        lambda: cavi_gaussian([0.0, 0.0], COV, max_sweeps=0),
        raises(ValueError, "max_sweeps"),
    ),
    Case(
        "cavi_gaussian",
        "tol as a numeric string",
        lambda: cavi_gaussian([0.0, 0.0], COV, tol="1e-3"),
        raises(TypeError, "tol"),
    ),
    Case(
        "cavi_gaussian",
        "negative tol",
        lambda: cavi_gaussian([0.0, 0.0], COV, tol=-1.0),
        raises(ValueError, "tol"),
    ),
    Case(
        "cavi_gaussian",
        "init as numeric strings",
        lambda: cavi_gaussian([0.0, 0.0], COV, init=["0", "0"]),
        raises(TypeError, "init"),
    ),
    Case(
        "cavi_gaussian",
        "boolean init",
        lambda: cavi_gaussian([0.0, 0.0], COV, init=[True, False]),
        raises(TypeError, "init"),
    ),
    Case(
        "cavi_gaussian",
        "init of the wrong length",
        lambda: cavi_gaussian([0.0, 0.0], COV, init=[0.0]),
        raises(ValueError, "init"),
    ),
    Case(
        "cavi_gaussian",
        "init 1e300 from the optimum",
        lambda: cavi_gaussian([1.0, -1.0], COV, init=[1e300, -1e300]).mean,
        returns(
            lambda m: np.allclose(m, [1.0, -1.0], rtol=0, atol=1e-9),
            "the optimum (1, -1), reached from any start",
        ),
    ),
    Case(
        "CAVIResult",
        "one sweep on a strongly correlated target",
        lambda: cavi_gaussian(
            [0.0, 0.0],
            [[1.0, 0.99], [0.99, 1.0]],
            init=[1.0, 1.0],
            max_sweeps=1,
        ),
        returns(
            lambda r: (
                isinstance(r, CAVIResult)
                and not r.converged
                and r.n_sweeps == 1
                and r.path.shape == (3, 2)
                and r.history.n_rows == 3
            ),
            "a result that says it has not converged",
        ),
    ),
    # --- the VAE ---------------------------------------------------------------------------
    Case(
        "VAE.fit",
        "numeric strings as images",
        lambda: VAE(**SMALL).fit(X.astype(str)),
        raises(TypeError, "X"),
    ),
    Case(
        "VAE.fit",
        "grey levels (not binary)",
        lambda: VAE(**SMALL).fit(X * 0.5),
        raises(ValueError, "X", "binary"),
    ),
    Case(
        "VAE.fit",
        "no images",
        lambda: VAE(**SMALL).fit(np.zeros((0, 4))),
        raises(ValueError, "X"),
    ),
    Case(
        "VAE.fit",
        "a 3-D array",
        lambda: VAE(**SMALL).fit(X[None]),
        raises(ValueError, "X"),
    ),
    Case(
        "VAE.fit",
        "NaN pixels",
        lambda: VAE(**SMALL).fit(X * math.nan),
        raises(ValueError, "X"),
    ),
    Case(
        "VAE.fit",
        "complex pixels",
        lambda: VAE(**SMALL).fit(X + 0j),
        raises(TypeError, "X"),
    ),
    Case(
        "VAE.fit",
        "boolean images (a binary encoding)",
        lambda: VAE(**SMALL).fit(X.astype(bool)).n_features_in_,
        returns(lambda n: n == 4, "fitted, as with 0.0/1.0 images"),
    ),
    Case(
        "VAE.fit",
        "beta as a numeric string",
        lambda: VAE(**{**SMALL, "beta": "1"}).fit(X),
        raises(TypeError, "beta"),
    ),
    Case(
        "VAE.fit",
        "negative beta",
        lambda: VAE(**{**SMALL, "beta": -1.0}).fit(X),
        raises(ValueError, "beta"),
    ),
    Case(
        "VAE.fit",
        "epochs as a numeric string",
        lambda: VAE(**{**SMALL, "epochs": "3"}).fit(X),
        raises(TypeError, "epochs"),
    ),
    Case(
        "VAE.fit",
        "epochs is a bool",
        lambda: VAE(**{**SMALL, "epochs": True}).fit(X),
        raises(TypeError, "epochs"),
    ),
    Case(
        "VAE.fit",
        "zero learning rate",
        lambda: VAE(**{**SMALL, "lr": 0.0}).fit(X),
        raises(ValueError, "lr"),
    ),
    Case(
        "VAE.fit",
        "lr as a numeric string",
        lambda: VAE(**{**SMALL, "lr": "0.01"}).fit(X),
        raises(TypeError, "lr"),
    ),
    Case(
        "VAE.fit",
        "latent_dim zero",
        lambda: VAE(0, **SMALL).fit(X),
        raises(ValueError, "latent_dim"),
    ),
    Case(
        "VAE.fit",
        "hidden as a string",
        lambda: VAE(**{**SMALL, "hidden": "8"}).fit(X),
        raises(TypeError, "hidden"),
    ),
    Case(
        "VAE.fit",
        "layers of a million units (16 TB of weights)",
        lambda: VAE(**{**SMALL, "hidden": (10**6, 10**6)}).fit(X),
        raises(ValueError, "hidden", "latent_dim", "GiB"),
    ),
    Case(
        "VAE.fit",
        "binarize as a numeric string",
        lambda: VAE(**{**SMALL, "binarize": "0.5"}).fit(X),
        raises(TypeError, "binarize"),
    ),
    Case(
        "VAE.fit",
        "binarize NaN",
        lambda: VAE(**{**SMALL, "binarize": math.nan}).fit(X),
        raises(ValueError, "binarize"),
    ),
    Case(
        "VAE.fit",
        "grey levels with binarize=0.5",
        lambda: VAE(**{**SMALL, "binarize": 0.5}).fit(X * 0.7).n_features_in_,
        returns(lambda n: n == 4, "fitted to the thresholded images"),
    ),
    Case(
        "VAE.fit",
        "seed as a numeric string",
        lambda: VAE(**{**SMALL, "seed": "0"}).fit(X),
        raises(TypeError, "seed"),
    ),
    Case(
        "VAE.fit",
        "refit with six features instead of four",
        refit_with_more_features,
        returns(lambda r: r == (6, (1, 6)), "a model of six pixels"),
    ),
    Case(
        "VAE.elbo",
        "before fit",
        lambda: VAE().elbo(X),
        raises(ValueError, "fit"),
    ),
    Case(
        "VAE.elbo",
        "images of the old width after a refit on six",
        elbo_after_refit_on_old_width,
        raises(ValueError, "X", "6"),
    ),
    Case(
        "VAE.elbo",
        "n_samples as a numeric string",
        lambda: vae().elbo(X, n_samples="2"),
        raises(TypeError, "n_samples"),
    ),
    Case(
        "VAE.log_likelihood",
        "before fit",
        lambda: VAE().log_likelihood(X),
        raises(ValueError, "fit"),
    ),
    Case(
        "VAE.log_likelihood",
        "n_samples zero",
        lambda: vae().log_likelihood(X, n_samples=0),
        raises(ValueError, "n_samples"),
    ),
    Case(
        "VAE.log_likelihood",
        "10^12 samples per image (would not fit in memory)",
        lambda: vae().log_likelihood(X, n_samples=10**12),
        raises(ValueError, "n_samples", "GiB"),
    ),
    Case(
        "VAE.log_likelihood",
        "three features instead of four",
        lambda: vae().log_likelihood(np.eye(3)),
        raises(ValueError, "X", "4"),
    ),
    Case(
        "VAE.encode",
        "before fit",
        lambda: VAE().encode(X),
        raises(ValueError, "fit"),
    ),
    Case(
        "VAE.encode",
        "grey levels",
        lambda: vae().encode(X * 0.5),
        raises(ValueError, "X", "binary"),
    ),
    Case(
        "VAE.kl", "before fit", lambda: VAE().kl(X), raises(ValueError, "fit")
    ),
    Case(
        "VAE.kl",
        "numeric strings",
        lambda: vae().kl(X.astype(str)),
        raises(TypeError, "X"),
    ),
    Case(
        "VAE.decode",
        "before fit",
        lambda: VAE().decode(np.zeros((1, 2))),
        raises(ValueError, "fit"),
    ),
    Case(
        "VAE.decode",
        "codes of the wrong dimension",
        lambda: vae().decode(np.zeros((1, 3))),
        raises(ValueError, "Z"),
    ),
    Case(
        "VAE.decode",
        "no codes",
        lambda: vae().decode(np.zeros((0, 2))),
        raises(ValueError, "Z"),
    ),
    Case(
        "VAE.decode",
        "boolean codes",
        lambda: vae().decode([[True, False]]),
        raises(TypeError, "Z"),
    ),
    Case(
        "VAE.decode",
        "infinite codes",
        lambda: vae().decode([[math.inf, 0.0]]),
        raises(ValueError, "Z"),
    ),
    Case(
        "VAE.decode",
        "latent_dim changed to 3 after the fit",
        latent_changed_after_fit,
        returns(
            lambda p: p.shape == (1, 4),
            "the fitted model's decoding of a 2-D code",
        ),
    ),
    Case(
        "VAE.sample",
        "before fit",
        lambda: VAE().sample(3),
        raises(ValueError, "fit"),
    ),
    Case(
        "VAE.sample",
        "n as a numeric string",
        lambda: vae().sample("3"),
        raises(TypeError, "n"),
    ),
    Case(
        "VAE.sample",
        "n zero",
        lambda: vae().sample(0),
        raises(ValueError, "n"),
    ),
    Case(
        "VAE.sample",
        "10^12 images (would not fit in memory)",
        lambda: vae().sample(10**12),
        raises(ValueError, "n", "GiB"),
    ),
    Case(
        "VAE.sample",
        "mean as a string",
        lambda: vae().sample(3, mean="yes"),
        raises(TypeError, "mean"),
    ),
    # --- the information bottleneck ----------------------------------------------------------
    Case(
        "VIBClassifier.fit",
        "labels as numeric strings (text labels)",
        lambda: VIBClassifier(**SMALL).fit(X, Y.astype(str)).classes_.tolist(),
        returns(lambda c: c == ["0", "1"], "two text classes, '0' and '1'"),
    ),
    Case(
        "VIBClassifier.fit",
        "a missing label (None)",
        lambda: VIBClassifier(**SMALL).fit(X, ["a", None] * 4),
        raises(ValueError, "y", "None"),
    ),
    Case(
        "VIBClassifier.fit",
        "labels as a column vector",
        lambda: VIBClassifier(**SMALL).fit(X, Y[:, None]),
        raises(ValueError, "y", "shape"),
    ),
    Case(
        "VIBClassifier.fit",
        "fractional labels",
        lambda: VIBClassifier(**SMALL).fit(X, Y + 0.5),
        raises(ValueError, "y"),
    ),
    Case(
        "VIBClassifier.fit",
        "labels 0 and 1e300",
        lambda: VIBClassifier(**SMALL).fit(X, Y * 1e300).classes_.tolist(),
        returns(lambda c: c == [0.0, 1e300], "two classes, as the Classifier"),
    ),
    Case(
        "VIBClassifier.fit",
        "a single class",
        lambda: VIBClassifier(**SMALL).fit(X, np.zeros(8)),
        raises(ValueError, "y", "one class"),
    ),
    Case(
        "VIBClassifier.fit",
        "fewer labels than rows",
        lambda: VIBClassifier(**SMALL).fit(X, Y[:3]),
        raises(ValueError, "y"),
    ),
    Case(
        "VIBClassifier.fit",
        "beta as a numeric string",
        lambda: VIBClassifier(**{**SMALL, "beta": "0.1"}).fit(X, Y),
        raises(TypeError, "beta"),
    ),
    Case(
        "VIBClassifier.fit",
        "NaN inputs",
        lambda: VIBClassifier(**SMALL).fit(X * math.nan, Y),
        raises(ValueError, "X"),
    ),
    Case(
        "VIBClassifier.fit",
        "boolean labels",
        lambda: (
            VIBClassifier(**SMALL).fit(X, Y.astype(bool)).classes_.tolist()
        ),
        returns(lambda c: c == [0, 1], "two classes, 0 and 1"),
    ),
    Case(
        "VIBClassifier.predict",
        "before fit",
        lambda: VIBClassifier().predict(X),
        raises(ValueError, "fit"),
    ),
    Case(
        "VIBClassifier.predict",
        "three features instead of four",
        lambda: vib().predict(np.eye(3)),
        raises(ValueError, "X", "4"),
    ),
    Case(
        "VIBClassifier.predict_proba",
        "numeric strings",
        lambda: vib().predict_proba(X.astype(str)),
        raises(TypeError, "X"),
    ),
    Case(
        "VIBClassifier.score",
        "before fit",
        lambda: VIBClassifier().score(X, Y),
        raises(ValueError, "fit"),
    ),
    Case(
        "VIBClassifier.score",
        "labels of another length",
        lambda: vib().score(X, Y[:3]),
        raises(ValueError, "y"),
    ),
    Case(
        "VIBClassifier.encode",
        "before fit",
        lambda: VIBClassifier().encode(X),
        raises(ValueError, "fit"),
    ),
    Case(
        "VIBClassifier.score",
        "numeric labels for a model fitted on text",
        lambda: VIBClassifier(**SMALL).fit(X, Y.astype(str)).score(X, Y),
        raises(TypeError, "y", "text"),
    ),
    Case(
        "VIBClassifier.kl",
        "five features instead of four",
        lambda: vib().kl(np.eye(5)),
        raises(ValueError, "X", "4"),
    ),
    # --- KL annealing, free bits and the grid methods (a latent of 1 or 2) ---------------
    Case(
        "VAE.fit",
        "kl_warmup negative",
        lambda: VAE(**{**SMALL, "kl_warmup": -1}).fit(X),
        raises(ValueError, "kl_warmup"),
    ),
    Case(
        "VAE.fit",
        "kl_warmup a fraction of an epoch",
        lambda: VAE(**{**SMALL, "kl_warmup": 1.5}).fit(X),
        raises(TypeError, "kl_warmup"),
    ),
    Case(
        "VAE.fit",
        "free_bits negative",
        lambda: VAE(**{**SMALL, "free_bits": -0.1}).fit(X),
        raises(ValueError, "free_bits"),
    ),
    Case(
        "VAE.fit",
        "free_bits as a numeric string",
        lambda: VAE(**{**SMALL, "free_bits": "0.5"}).fit(X),
        raises(TypeError, "free_bits"),
    ),
    Case(
        "VAE.kl_weight",
        "epoch 0 (epochs count from 1)",
        lambda: VAE(kl_warmup=2).kl_weight(0),
        raises(ValueError, "epoch"),
    ),
    Case(
        "VAE.log_evidence",
        "before fit",
        lambda: VAE().log_evidence(X),
        raises(ValueError, "fit"),
    ),
    Case(
        "VAE.log_evidence",
        "a grid of one point",
        lambda: vae().log_evidence(X, n_points=1),
        raises(ValueError, "n_points"),
    ),
    Case(
        "VAE.log_evidence",
        "limit zero",
        lambda: vae().log_evidence(X, limit=0.0),
        raises(ValueError, "limit"),
    ),
    Case(
        "VAE.log_evidence",
        "limit infinite",
        lambda: vae().log_evidence(X, limit=math.inf),
        raises(ValueError, "limit"),
    ),
    Case(
        "VAE.log_evidence",
        "10^6 points per axis (would not fit in memory)",
        lambda: vae().log_evidence(X, n_points=10**6),
        raises(ValueError, "n_points", "GiB"),
    ),
    Case(
        "VAE.log_evidence",
        "a latent of three dimensions",
        lambda: VAE(3, **SMALL).fit(X).log_evidence(X),
        raises(ValueError, "latent", "3"),
    ),
    Case(
        "VAE.gaussian_elbo",
        "means of the wrong shape",
        lambda: vae().gaussian_elbo(X, np.zeros((8, 3)), np.ones((8, 2))),
        raises(ValueError, "mean", "(8, 2)"),
    ),
    Case(
        "VAE.gaussian_elbo",
        "a zero variance",
        lambda: vae().gaussian_elbo(X, np.zeros((8, 2)), np.zeros((8, 2))),
        raises(ValueError, "var", "positive"),
    ),
    Case(
        "VAE.gaussian_elbo",
        "a NaN mean",
        lambda: vae().gaussian_elbo(
            X, np.full((8, 2), math.nan), np.ones((8, 2))
        ),
        raises(ValueError, "mean"),
    ),
    Case(
        "VAE.gaussian_elbo",
        "variances narrower than the grid's spacing",
        lambda: vae().gaussian_elbo(
            X, np.zeros((8, 2)), np.full((8, 2), 1e-6)
        ),
        raises(ValueError, "var", "n_points"),
    ),
    Case(
        "VAE.refine_gaussians",
        "max_iter zero",
        lambda: vae().refine_gaussians(X, max_iter=0),
        raises(ValueError, "max_iter"),
    ),
    Case(
        "VAE.refine_gaussians",
        "before fit",
        lambda: VAE().refine_gaussians(X),
        raises(ValueError, "fit"),
    ),
    Case(
        "VIBClassifier.cross_entropy",
        "before fit",
        lambda: VIBClassifier().cross_entropy(X, Y),
        raises(ValueError, "fit"),
    ),
    Case(
        "VIBClassifier.cross_entropy",
        "a label not seen in training",
        lambda: vib().cross_entropy(X[:1], [7]),
        raises(ValueError, "y", "7"),
    ),
    Case(
        "VIBClassifier.cross_entropy",
        "labels of another length",
        lambda: vib().cross_entropy(X, Y[:3]),
        raises(ValueError, "y"),
    ),
    Case(
        "VIBClassifier.cross_entropy",
        "n_samples zero",
        lambda: vib().cross_entropy(X, Y, n_samples=0),
        raises(ValueError, "n_samples"),
    ),
]
