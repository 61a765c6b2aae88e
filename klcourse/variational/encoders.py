"""Amortised Gaussian encoders in torch: a VAE and the information bottleneck (chapter 6).

- :class:`VAE` -- a variational autoencoder with a Bernoulli decoder, trained by
  the ELBO (with a weight ``beta`` on its KL term), with importance-weighted
  estimates of log p(x);
- :class:`VIBClassifier` -- the variational information bottleneck: a classifier
  whose stochastic code z pays ``beta`` KL(q(z|x) || N(0, I)).

Both are scikit-learn-style estimators (the protocol lives once, in
``klcourse._estimator``). Every KL to the prior N(0, I) is the closed form for
a diagonal Gaussian, computed by ``torch.distributions.kl_divergence``.
Randomness goes through explicit seeds only (see ``klcourse._random``), the
networks compute in float64, and torch runs single-threaded during training
and inference (see ``klcourse._threads``).
"""

from __future__ import annotations

import itertools
import math
import numbers
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from torch import nn

from klcourse._estimator import (
    ClassifierMixin,
    Estimator,
    distinct_classes,
    encode_labels,
    label_array,
    mlp,
    required,
)
from klcourse._random import Seed, seeded, torch_generator
from klcourse._threads import limited_threads
from klcourse._validation import (
    check_size,
    finite_array,
    positive_float,
    positive_int,
)

__all__ = ["VAE", "VIBClassifier"]

D = torch.distributions
#: Rows times samples evaluated at once by the importance-weighted bound.
_CHUNK = 2**16

#: A per-row training loss: a batch's loss and its terms, one value per row.
Terms = tuple[torch.Tensor, dict[str, torch.Tensor]]


def _standard_normal(latent_dim: int) -> D.Distribution:
    """The prior p(z) = N(0, I) over ``latent_dim`` dimensions."""
    zeros = torch.zeros(latent_dim, dtype=torch.float64)
    return D.Independent(D.Normal(zeros, torch.ones_like(zeros)), 1)


def _reparameterised(
    posterior: D.Independent,
    n_samples: int | None,
    generator: torch.Generator,
) -> torch.Tensor:
    """z = mean + std * eps with eps ~ N(0, I) from ``generator``.

    ``n_samples`` None gives one z per row (n, k); an int gives
    (n_samples, n, k).
    """
    loc, scale = posterior.base_dist.loc, posterior.base_dist.scale
    shape = loc.shape if n_samples is None else (n_samples, *loc.shape)
    eps = torch.randn(shape, generator=generator, dtype=loc.dtype)
    return loc + scale * eps


class _GaussianEncoder(Estimator):
    """Machinery shared by :class:`VAE` and :class:`VIBClassifier`.

    An MLP maps x to the mean and log-variance of q(z|x) = N(mu, diag sigma^2);
    training minimises a data term plus ``beta`` times KL(q(z|x) || N(0, I)).
    """

    _fitted = "encoder_"
    #: The learned attribute that holds the network reading z.
    _head_name: str
    encoder_: nn.Sequential
    latent_dim: int
    beta: float

    def _check_params(self) -> tuple[np.random.Generator, bool]:
        positive_int(self.latent_dim, "latent_dim")
        positive_float(self.beta, "beta", allow_zero=True)
        return super()._check_params()

    @contextmanager
    def _fitting_afresh(self) -> Iterator[None]:
        """Forget every learned attribute; if the fit in the block raises,
        forget what it learned too, leaving no half-fitted model."""
        self._reset()
        try:
            yield
        except BaseException:
            self._reset()
            raise

    def _posterior(self, x: torch.Tensor) -> D.Independent:
        """q(z|x) = N(mu(x), diag sigma(x)^2), batch shape (n,)."""
        mean, log_var = self.encoder_(x).chunk(2, dim=-1)
        return D.Independent(D.Normal(mean, torch.exp(0.5 * log_var)), 1)

    @property
    def _latent(self) -> int:
        """The dimension of z in the fitted networks.

        Read from the encoder rather than from ``latent_dim``, which a user
        may have changed since the fit.
        """
        last: nn.Linear = self.encoder_[-1]  # type: ignore[assignment]
        return last.out_features // 2

    @property
    def _widest(self) -> int:
        """The widest layer of the fitted networks (numbers per row)."""
        return max(
            layer.out_features
            for layer in [*self.encoder_, *self._head()]
            if isinstance(layer, nn.Linear)
        )

    def _kl_to_prior(self, posterior: D.Independent) -> torch.Tensor:
        """KL(q(z|x) || N(0, I)) per row, in closed form."""
        return D.kl_divergence(posterior, _standard_normal(self._latent))

    def _build(self, n_features: int, rng: np.random.Generator) -> None:
        """Create the networks (weights seeded from ``rng``).

        Networks whose weights, gradients and Adam's two moments would not
        fit in 1 GiB are refused before anything is allocated.
        """
        widths = [n_features, *(int(w) for w in self.hidden)]
        latent = int(self.latent_dim)
        layers = [[*widths, 2 * latent], self._head_widths(widths, latent)]
        weights = sum(
            (a + 1) * b for w in layers for a, b in itertools.pairwise(w)
        )
        check_size(  # the weights, their gradients and Adam's two moments
            4 * weights,
            f"hidden={tuple(self.hidden)} with latent_dim={latent} and "
            f"{n_features} features",
        )
        with seeded(rng):
            self.encoder_ = mlp(layers[0])
            setattr(self, self._head_name, mlp(layers[1]))

    def _head_widths(self, widths: list[int], latent: int) -> list[int]:
        """The widths of the network that reads z."""
        raise NotImplementedError

    def _head(self) -> nn.Sequential:
        """The fitted network that reads z."""
        head: nn.Sequential = getattr(self, self._head_name)
        return head

    def _parameters(self) -> list[nn.Parameter]:
        """The weights training adjusts: the encoder's, then the head's."""
        return [*self.encoder_.parameters(), *self._head().parameters()]

    def _fit_networks(
        self,
        x: torch.Tensor,
        loss: Callable[[torch.Tensor, torch.Generator], Terms],
        rng: np.random.Generator,
        progress: bool,
        after_epoch: Callable[[], dict[str, float]] | None = None,
    ) -> None:
        """Build the networks and train them on ``loss(rows, generator)``.

        ``history_`` records the epoch means of the loss's terms;
        ``after_epoch()`` runs after every epoch.
        """
        self.n_features_in_ = x.shape[1]
        self._build(x.shape[1], rng)
        generator = torch_generator(rng)

        def batch_loss(
            rows: torch.Tensor,
        ) -> tuple[torch.Tensor, dict[str, float]]:
            value, terms = loss(rows, generator)
            sums = {name: float(t.detach().sum()) for name, t in terms.items()}
            return value, sums

        self._train_epochs(
            self._parameters(),
            batch_loss,
            len(x),
            generator=generator,
            progress=progress,
            description=type(self).__name__,
            after_epoch=after_epoch,
        )

    @limited_threads
    def encode(
        self, X: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The means and variances of q(z|x), each of shape (n, latent_dim)."""
        self._check_fitted("encode")
        with torch.no_grad():
            posterior = self._posterior(self._data(X))
        base = posterior.base_dist
        return base.loc.numpy(), base.scale.pow(2).numpy()

    @limited_threads
    def kl(self, X: ArrayLike) -> NDArray[np.float64]:
        """KL(q(z|x) || N(0, I)) for every row of ``X``, in nats (shape (n,))."""
        self._check_fitted("kl")
        with torch.no_grad():
            return self._kl_to_prior(self._posterior(self._data(X))).numpy()

    def _data(self, X: ArrayLike) -> torch.Tensor:
        return self._inputs(X)


# --- the variational autoencoder ------------------------------------------------------------


class VAE(_GaussianEncoder):
    r"""A variational autoencoder for binary data (Kingma and Welling, 2014).

    The model is :math:`p(z) = \mathcal N(0, I)` and
    :math:`p_\theta(x \mid z) = \prod_j \mathrm{Bernoulli}(x_j; \pi_j(z))`,
    with a decoder network :math:`\pi(z)`; an encoder network gives the
    approximate posterior :math:`q_\phi(z \mid x) = \mathcal N(\mu(x),
    \operatorname{diag}\sigma^2(x))`. Training minimises, averaged over the
    data,

    .. math:: \mathbb{E}_{q}[-\log p_\theta(x \mid z)]
       + \beta\, \mathrm{KL}(q_\phi(z \mid x) \,\|\, \mathcal N(0, I))

    with one reparameterised z per image; ``beta = 1`` is the negative ELBO.
    Two options against posterior collapse change that objective:
    ``kl_warmup`` (KL annealing, Bowman et al., 2016) raises the KL's
    weight linearly from 0 in the first epoch to ``beta`` after
    ``kl_warmup`` epochs, and ``free_bits`` (Kingma et al., 2016) prices
    each latent dimension's batch-average KL only above ``free_bits`` nats,
    :math:`\sum_j \max(\lambda, \overline{\mathrm{KL}}_j)`, so that no
    gradient pushes a dimension's rate below :math:`\lambda`.

    Parameters
    ----------
    latent_dim : int
        Dimension of z (at least 1).
    hidden : sequence of int
        Hidden widths of the encoder (tanh); the decoder uses them reversed.
    beta : float
        Weight of the KL term, at least 0.
    epochs, lr, batch_size : optional
        Adam settings.
    seed : None, int or numpy.random.Generator
        Seeds the weights, the batch order and the training noise.
    progress : bool or None
        A progress bar; None shows one only in interactive sessions.
    binarize : float or None
        None (the default) takes images that are already binary and refuses
        any other value; a number maps every input above it to 1 and the
        rest to 0, in :meth:`fit` and in every method that reads images, as
        scikit-learn's ``BernoulliNB(binarize=...)`` does.
    kl_warmup : int
        Epochs over which the KL's weight rises linearly from 0 to ``beta``
        (0, the default, uses ``beta`` from the start).
    free_bits : float
        Nats per latent dimension that the loss does not charge (0, the
        default, charges every nat). Not the ELBO when positive.

    Attributes
    ----------
    n_features_in_ : int
    encoder_, decoder_ : torch.nn.Sequential
    history_ : klcourse.History
        One row per epoch (x-axis ``"epoch"``), averaged over the training
        images: ``"reconstruction"``, the estimate of E_q[-log p(x|z)] (the
        distortion), and ``"kl"``, KL(q(z|x) || N(0, I)) (the rate). Their
        sum is the negative ELBO.

    Examples
    --------
    >>> X = (np.random.default_rng(0).random((40, 6)) < 0.3).astype(float)
    >>> vae = VAE(latent_dim=2, hidden=(8,), epochs=3, seed=0).fit(X)
    >>> vae.encode(X[:5])[0].shape, len(vae.history_["kl"])
    ((5, 2), 3)
    """

    decoder_: nn.Sequential
    _head_name = "decoder_"
    _fit_call = "fit(X)"
    binarize: float | None
    kl_warmup: int
    free_bits: float

    def __init__(
        self,
        latent_dim: int = 2,
        *,
        hidden: Sequence[int] = (128,),
        beta: float = 1.0,
        epochs: int = 100,
        lr: float = 2e-3,
        batch_size: int = 64,
        seed: Seed = None,
        progress: bool | None = None,
        binarize: float | None = None,
        kl_warmup: int = 0,
        free_bits: float = 0.0,
    ) -> None:
        self._store_params(locals())

    def _check_params(self) -> tuple[np.random.Generator, bool]:
        positive_int(self.kl_warmup, "kl_warmup", minimum=0)
        positive_float(self.free_bits, "free_bits", allow_zero=True)
        return super()._check_params()

    def kl_weight(self, epoch: int) -> float:
        """The weight of the KL term in training epoch ``epoch`` (from 1).

        ``beta`` times ``min(1, (epoch - 1) / kl_warmup)``, or ``beta`` when
        ``kl_warmup`` is 0.

        Examples
        --------
        >>> vae = VAE(beta=2.0, kl_warmup=4)
        >>> [vae.kl_weight(epoch) for epoch in (1, 3, 5, 9)]
        [0.0, 1.0, 2.0, 2.0]
        """
        positive_int(epoch, "epoch")
        warmup = positive_int(self.kl_warmup, "kl_warmup", minimum=0)
        if warmup == 0:
            return float(self.beta)
        return float(self.beta) * min(1.0, (epoch - 1) / warmup)

    def _head_widths(self, widths: list[int], latent: int) -> list[int]:
        return [latent, *widths[::-1]]

    def _data(self, X: ArrayLike, name: str = "X") -> torch.Tensor:
        """Binary images (every entry 0 or 1) of shape (n, n_features)."""
        x = self._inputs(X, name)
        if self.binarize is not None:
            if isinstance(self.binarize, bool) or not isinstance(
                self.binarize, numbers.Real
            ):
                raise TypeError(
                    "binarize must be a number or None, got "
                    f"{type(self.binarize).__name__}"
                )
            if not math.isfinite(self.binarize):
                raise ValueError(
                    f"binarize must be finite, got {self.binarize!r}"
                )
            return (x > float(self.binarize)).to(torch.float64)
        if not bool(((x == 0) | (x == 1)).all()):
            raise ValueError(
                f"{name} must be binary (every entry 0 or 1) for the "
                "Bernoulli decoder; threshold grey levels first, e.g. "
                "(X > 0.5).astype(float)"
            )
        return x

    def _likelihood(self, z: torch.Tensor) -> D.Independent:
        """p(x|z): independent Bernoulli pixels with logits decoder_(z)."""
        logits = self.decoder_(z)
        return D.Independent(
            D.Bernoulli(logits=logits, validate_args=False), 1
        )

    def training_loss(
        self,
        x: torch.Tensor,
        generator: torch.Generator,
        *,
        kl_weight: float | None = None,
    ) -> Terms:
        """Reconstruction + beta * KL, averaged over a batch of images ``x``.

        One reparameterised z per image, drawn with ``generator``. The two
        terms of every image come back too, for ``history_``. :meth:`fit`
        minimises this loss with Adam, one mini-batch at a time, with
        ``kl_weight`` from :meth:`kl_weight` (None means ``beta``). With
        ``free_bits`` the KL term is :meth:`free_bits_rate` instead.
        """
        posterior = self._posterior(x)  # q(z|x), a Gaussian per image
        z = _reparameterised(posterior, None, generator)  # mean + std * eps
        reconstruction = -self._likelihood(z).log_prob(x)  # -log p(x|z)
        kl = self._kl_to_prior(posterior)  # KL(q(z|x) || N(0, I))
        weight = float(self.beta) if kl_weight is None else float(kl_weight)
        if float(self.free_bits) == 0:
            loss = (reconstruction + weight * kl).mean()
        else:
            rate = self.free_bits_rate(posterior)
            loss = reconstruction.mean() + weight * rate
        return loss, {"reconstruction": reconstruction, "kl": kl}

    def free_bits_rate(self, posterior: D.Independent) -> torch.Tensor:
        """The rate with free bits: sum_j max(free_bits, mean KL_j).

        ``posterior`` holds q(z|x) for a batch; KL_j is the KL to N(0, 1)
        of latent dimension j, averaged over the batch.
        """
        base = posterior.base_dist
        prior = D.Normal(torch.zeros_like(base.loc), torch.ones_like(base.loc))
        kl_per_dim = D.kl_divergence(base, prior).mean(0)  # shape (latent,)
        return torch.clamp(kl_per_dim, min=float(self.free_bits)).sum()

    @limited_threads
    def fit(self, X: ArrayLike, y: object = None) -> VAE:
        """Train from scratch on binary images ``X`` of shape (n, n_features).

        Every learned attribute is reset first, and if fit raises, the model
        is left unfitted. ``y`` is ignored (scikit-learn's pipelines pass
        one).

        Returns
        -------
        VAE
            The fitted model itself.

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> VAE(hidden=(4,), epochs=2, seed=0).fit(X).n_features_in_
        4
        """
        with self._fitting_afresh():
            rng, progress = self._check_params()
            x = self._data(X)
            epoch = [1]  # the epoch being trained, for kl_weight

            def next_epoch() -> dict[str, float]:
                epoch[0] += 1
                return {}

            self._fit_networks(
                x,
                lambda rows, g: self.training_loss(
                    x[rows], g, kl_weight=self.kl_weight(epoch[0])
                ),
                rng,
                progress,
                after_epoch=next_epoch,
            )
        return self

    def _weights(
        self, x: torch.Tensor, n_samples: int, generator: torch.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """log p(x|z_k) and log p(z_k) - log q(z_k|x), shape (n_samples, n)."""
        posterior = self._posterior(x)
        z = _reparameterised(posterior, n_samples, generator)
        log_likelihood = self._likelihood(z).log_prob(x)
        prior = _standard_normal(self._latent)
        return log_likelihood, prior.log_prob(z) - posterior.log_prob(z)

    def _in_chunks(
        self,
        method: str,
        X: ArrayLike,
        n_samples: int,
        seed: Seed,
        per_chunk: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
    ) -> NDArray[np.float64]:
        self._check_fitted(method)
        x = self._data(X)
        n_samples = positive_int(n_samples, "n_samples")
        check_size(n_samples * self._widest, f"n_samples={n_samples:,}")
        generator = torch_generator(seed)
        rows = max(1, _CHUNK // n_samples)
        with torch.no_grad():
            parts = [
                per_chunk(x[start : start + rows], generator)
                for start in range(0, len(x), rows)
            ]
        return torch.cat(parts).numpy()

    @limited_threads
    def elbo(
        self,
        X: ArrayLike,
        *,
        n_samples: int = 1,
        seed: Seed = None,
    ) -> NDArray[np.float64]:
        r"""The ELBO of every image, in nats (shape (n,)).

        .. math:: \mathrm{ELBO}(x) = \mathbb{E}_{q(z \mid x)}[\log p(x \mid z)]
           - \mathrm{KL}(q(z \mid x) \,\|\, \mathcal N(0, I))

        The KL is exact; the first term is averaged over ``n_samples``
        draws of z, so the result is an unbiased estimate of the ELBO.

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> vae = VAE(hidden=(4,), epochs=2, seed=0).fit(X)
        >>> bool(np.all(vae.elbo(X, seed=0) < 0))
        True
        """

        def per_chunk(
            x: torch.Tensor, generator: torch.Generator
        ) -> torch.Tensor:
            log_likelihood, _ = self._weights(x, n_samples, generator)
            kl = self._kl_to_prior(self._posterior(x))
            return log_likelihood.mean(0) - kl

        return self._in_chunks("elbo", X, n_samples, seed, per_chunk)

    @limited_threads
    def log_likelihood(
        self,
        X: ArrayLike,
        *,
        n_samples: int = 64,
        seed: Seed = None,
    ) -> NDArray[np.float64]:
        r"""The importance-weighted lower bound on log p(x), per image (nats).

        .. math:: \mathcal L_K(x) = \log \frac1K \sum_{k=1}^K
           \frac{p(x \mid z_k)\, p(z_k)}{q(z_k \mid x)}, \qquad
           z_k \sim q(z \mid x)

        Its expectation is the ELBO for K = 1, never exceeds log p(x)
        (Jensen's inequality) and never decreases as K grows (Burda et al.'s
        argument by averaging over subsets of the samples, 2016). It tends
        to log p(x) as K grows when q(z|x) is positive wherever the
        posterior is (then the average weight tends to p(x) by the law of
        large numbers); a q that missed part of the posterior would leave
        it short. The Gaussian q here is positive everywhere, but with
        heavy-tailed weights the bound can get there very slowly. For a
        latent of one or two dimensions, :meth:`log_evidence` gives log p(x)
        itself.

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> vae = VAE(hidden=(4,), epochs=2, seed=0).fit(X)
        >>> vae.log_likelihood(X[:3], n_samples=8, seed=0).shape
        (3,)
        """

        def per_chunk(
            x: torch.Tensor, generator: torch.Generator
        ) -> torch.Tensor:
            log_likelihood, log_ratio = self._weights(x, n_samples, generator)
            log_weights = log_likelihood + log_ratio
            return torch.logsumexp(log_weights, dim=0) - math.log(n_samples)

        return self._in_chunks("log_likelihood", X, n_samples, seed, per_chunk)

    # --- exact answers for a latent of one or two dimensions -----------------

    def _grid_axis(
        self, limit: float, n_points: int
    ) -> tuple[torch.Tensor, float]:
        """The midpoints of ``n_points`` equal cells across [-limit, limit]."""
        if self._latent > 2:
            raise ValueError(
                "the grid methods need a latent of 1 or 2 dimensions, this "
                f"model has {self._latent}"
            )
        limit = positive_float(limit, "limit")
        n_points = positive_int(n_points, "n_points", minimum=2)
        check_size(n_points**self._latent, f"n_points={n_points:,}")
        width = 2 * limit / n_points
        axis = torch.linspace(
            -limit + width / 2,
            limit - width / 2,
            n_points,
            dtype=torch.float64,
        )
        return axis, width

    def _log_joint_on_grid(
        self, x: torch.Tensor, axis: torch.Tensor
    ) -> torch.Tensor:
        """log p(x, z) at every grid point z: shape (n,) + (len(axis),) * k."""
        k = self._latent
        check_size(len(x) * len(axis) ** k, f"{len(x)} rows on the grid")
        z = torch.cartesian_prod(*[axis] * k).reshape(-1, k)  # (points, k)
        logits = self.decoder_(z)  # (points, features)
        log_on, log_off = (
            nn.functional.logsigmoid(logits),
            nn.functional.logsigmoid(-logits),
        )
        log_likelihood = x @ log_on.T + (1 - x) @ log_off.T  # (n, points)
        log_joint = log_likelihood + _standard_normal(k).log_prob(z)
        return log_joint.reshape(len(x), *[len(axis)] * k)

    @staticmethod
    def _elbo_on_grid(
        log_joint: torch.Tensor,
        axis: torch.Tensor,
        mean: torch.Tensor,
        log_std: torch.Tensor,
    ) -> torch.Tensor:
        """E_q[log p(x, z)] + H(q) for q = N(mean, diag std^2), per row.

        The expectation weights the grid by q's density along each axis,
        normalised to sum to one (the midpoint rule).
        """
        k = mean.shape[1]
        gap = (axis - mean[..., None]) / log_std.exp()[..., None]
        weights = torch.softmax(-0.5 * gap**2, dim=-1)  # (n, k, points)
        if k == 1:
            expected = torch.einsum("ni,ni->n", weights[:, 0], log_joint)
        else:  # q's density on the grid is the product of its two axes'
            expected = torch.einsum(
                "ni,nij,nj->n", weights[:, 0], log_joint, weights[:, 1]
            )
        entropy = log_std.sum(1) + 0.5 * k * (1 + math.log(2 * math.pi))
        return expected + entropy

    @limited_threads
    def log_evidence(
        self,
        X: ArrayLike,
        *,
        limit: float = 6.0,
        n_points: int = 120,
    ) -> NDArray[np.float64]:
        r"""log p(x) of every image by a grid over z (latent_dim 1 or 2).

        .. math:: p(x) = \int p(z)\, p(x \mid z)\, dz
           \approx \sum_i h^k\, p(z_i)\, p(x \mid z_i)

        with the midpoint rule: ``n_points`` cells of width h along each
        axis of [-limit, limit]^k. For a smooth decoder the sum converges
        fast as the grid is refined; compare two grids to bound the error.

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> vae = VAE(hidden=(4,), epochs=2, seed=0).fit(X)
        >>> coarse, fine = (vae.log_evidence(X[:2], n_points=n) for n in (60, 120))
        >>> bool(np.abs(coarse - fine).max() < 1e-6)
        True
        """
        self._check_fitted("log_evidence")
        x = self._data(X)
        axis, width = self._grid_axis(limit, n_points)
        with torch.no_grad():
            cells = self._log_joint_on_grid(x, axis).flatten(1)
            log_cell = self._latent * math.log(width)
            return (torch.logsumexp(cells, dim=1) + log_cell).numpy()

    def _gaussians(
        self, mean: ArrayLike, var: ArrayLike, n: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Checked means and log standard deviations, each (n, latent)."""
        shape = (n, self._latent)
        m = finite_array(mean, "mean", allow_bool=False)
        v = finite_array(var, "var", allow_bool=False)
        for name, value in (("mean", m), ("var", v)):
            if value.shape != shape:
                raise ValueError(
                    f"{name} must have shape {shape}, got {value.shape}"
                )
        if not np.all(v > 0):
            raise ValueError("var must be positive everywhere")
        return torch.from_numpy(m), torch.from_numpy(0.5 * np.log(v))

    @limited_threads
    def gaussian_elbo(
        self,
        X: ArrayLike,
        mean: ArrayLike,
        var: ArrayLike,
        *,
        limit: float = 6.0,
        n_points: int = 120,
    ) -> NDArray[np.float64]:
        r"""The ELBO of given Gaussians q = N(mean, diag var), per image.

        .. math:: \mathrm{ELBO}(q) = \mathbb{E}_q[\log p(x, z)] + H(q)

        with the expectation taken on the grid of :meth:`log_evidence`
        (latent_dim 1 or 2), without sampling. Every standard deviation must
        be at least the grid spacing 2 * limit / n_points, and q's mass must
        lie inside the grid. ``mean`` and ``var`` have shape
        (n, latent_dim), one Gaussian per image; :meth:`encode` gives the
        encoder's, :meth:`refine_gaussians` better ones.

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> vae = VAE(hidden=(4,), epochs=2, seed=0).fit(X)
        >>> elbo = vae.gaussian_elbo(X[:3], *vae.encode(X[:3]))
        >>> bool(np.all(elbo <= vae.log_evidence(X[:3])))
        True
        """
        self._check_fitted("gaussian_elbo")
        x = self._data(X)
        axis, width = self._grid_axis(limit, n_points)
        m, log_std = self._gaussians(mean, var, len(x))
        if float(log_std.exp().min()) < width:
            raise ValueError(
                f"var is too small for the grid: a standard deviation of "
                f"{float(log_std.exp().min()):.3g} is below the spacing "
                f"{width:.3g}; raise n_points"
            )
        with torch.no_grad():
            log_joint = self._log_joint_on_grid(x, axis)
            return self._elbo_on_grid(log_joint, axis, m, log_std).numpy()

    @limited_threads
    def refine_gaussians(
        self,
        X: ArrayLike,
        *,
        limit: float = 6.0,
        n_points: int = 120,
        max_iter: int = 200,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Raise each image's ELBO over its own diagonal Gaussian q.

        For latent_dim 1 or 2. Starting from the encoder's q(z|x), L-BFGS
        maximises :meth:`gaussian_elbo` over every image's means and log
        standard deviations, one per axis: the encoder's own family, with a
        diagonal covariance (Cremer et al.'s "optimal" q, 2018, up to the
        optimiser: a local optimum only bounds the best diagonal Gaussian's
        ELBO from below; a full covariance could only do better).
        Returns the means and variances, each of shape (n, latent_dim).

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> vae = VAE(hidden=(4,), epochs=2, seed=0).fit(X)
        >>> encoder = vae.gaussian_elbo(X, *vae.encode(X))
        >>> refined = vae.gaussian_elbo(X, *vae.refine_gaussians(X))
        >>> bool(np.all(refined >= encoder - 1e-9))
        True
        """
        self._check_fitted("refine_gaussians")
        x = self._data(X)
        axis, _ = self._grid_axis(limit, n_points)
        max_iter = positive_int(max_iter, "max_iter")
        with torch.no_grad():
            log_joint = self._log_joint_on_grid(x, axis)
            start = self._posterior(x).base_dist
        mean = start.loc.clone().requires_grad_(True)
        log_std = start.scale.log().clone().requires_grad_(True)
        optimiser = torch.optim.LBFGS(
            [mean, log_std],
            max_iter=max_iter,
            tolerance_grad=1e-9,
            tolerance_change=1e-12,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            loss = -self._elbo_on_grid(log_joint, axis, mean, log_std).sum()
            loss.backward()
            return loss

        optimiser.step(closure)
        variance = (2 * log_std.detach()).exp()
        return mean.detach().numpy(), variance.numpy()

    def encode(
        self, X: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The means and variances of q(z|x), each of shape (n, latent_dim).

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> mean, var = VAE(hidden=(4,), epochs=2, seed=0).fit(X).encode(X)
        >>> mean.shape, bool(np.all(var > 0))
        ((20, 2), True)
        """
        return super().encode(X)

    def kl(self, X: ArrayLike) -> NDArray[np.float64]:
        """KL(q(z|x) || N(0, I)) for every image, in nats (the rate; shape (n,)).

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> bool(np.all(VAE(hidden=(4,), epochs=2, seed=0).fit(X).kl(X) >= 0))
        True
        """
        return super().kl(X)

    @limited_threads
    def decode(self, Z: ArrayLike) -> NDArray[np.float64]:
        """The pixel probabilities of p(x|z) for every row of ``Z`` (n, latent_dim).

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> vae = VAE(hidden=(4,), epochs=2, seed=0).fit(X)
        >>> vae.decode(np.zeros((1, 2))).shape
        (1, 4)
        """
        self._check_fitted("decode")
        z = finite_array(Z, "Z", allow_bool=False)
        if z.ndim != 2 or z.shape[1] != self._latent or len(z) == 0:
            raise ValueError(
                f"Z must have shape (n, {self._latent}) with n >= 1, got "
                f"{z.shape}"
            )
        with torch.no_grad():
            return torch.sigmoid(self.decoder_(torch.from_numpy(z))).numpy()

    @limited_threads
    def sample(
        self,
        n: int,
        *,
        mean: bool = False,
        seed: Seed = None,
    ) -> NDArray[np.float64]:
        """Draw n images from the model: z ~ N(0, I), then x ~ p(x|z).

        With ``mean=True`` the images are the pixel probabilities of
        p(x|z) instead of binary draws from it.

        Examples
        --------
        >>> X = np.eye(4)[[0, 1, 2, 3] * 5]
        >>> vae = VAE(hidden=(4,), epochs=2, seed=0).fit(X)
        >>> images = vae.sample(3, seed=0)
        >>> images.shape, bool(np.all((images == 0) | (images == 1)))
        ((3, 4), True)
        """
        self._check_fitted("sample")
        n = positive_int(n, "n")
        check_size(n * self._widest, f"n={n:,}")
        if not isinstance(mean, bool):
            raise TypeError(f"mean must be True or False, got {mean!r}")
        generator = torch_generator(seed)
        z = torch.randn(
            (n, self._latent), generator=generator, dtype=torch.float64
        )
        with torch.no_grad():
            probabilities = torch.sigmoid(self.decoder_(z))
        if mean:
            return probabilities.numpy()
        return torch.bernoulli(probabilities, generator=generator).numpy()


# --- the variational information bottleneck --------------------------------------------------


class VIBClassifier(ClassifierMixin, _GaussianEncoder):
    r"""A classifier through a stochastic bottleneck (Alemi et al., 2017).

    An encoder gives :math:`q(z \mid x) = \mathcal N(\mu(x),
    \operatorname{diag}\sigma^2(x))` and a linear softmax layer gives
    :math:`q(y \mid z)`. Training minimises, averaged over the data,

    .. math:: \mathbb{E}_{q(z \mid x)}[-\log q(y \mid z)]
       + \beta\, \mathrm{KL}(q(z \mid x) \,\|\, \mathcal N(0, I))

    with one reparameterised z per example. The average KL is an upper bound
    on the mutual information I(X; Z) of the code with the inputs.

    Parameters
    ----------
    latent_dim : int
        Dimension of z (at least 1).
    hidden : sequence of int
        Hidden widths of the encoder (tanh).
    beta : float
        Weight of the KL term, at least 0.
    epochs, lr, batch_size : optional
        Adam settings.
    seed : None, int or numpy.random.Generator
        Seeds the weights, the batch order and the training noise.
    progress : bool or None
        A progress bar; None shows one only in interactive sessions.

    Only the default of ``beta`` (1e-3) differs from :class:`VAE`'s.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The sorted class labels seen in training (any sortable values:
        integers, strings, ..., as for :class:`~klcourse.supervised.models.Classifier`);
        column k of :meth:`predict_proba` is ``classes_[k]``.
    n_features_in_ : int
    encoder_, head_ : torch.nn.Sequential
    history_ : klcourse.History
        One row per epoch (x-axis ``"epoch"``), averaged over the training
        examples: ``"cross_entropy"`` (estimated with one z per example)
        and ``"kl"``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3))
    >>> y = (X[:, 0] > 0).astype(int)
    >>> model = VIBClassifier(2, hidden=(8,), epochs=50, lr=1e-2, seed=0)
    >>> bool(model.fit(X, y).score(X, y) > 0.8)
    True
    """

    head_: nn.Sequential
    _head_name = "head_"

    def __init__(
        self,
        latent_dim: int = 2,
        *,
        hidden: Sequence[int] = (128,),
        beta: float = 1e-3,
        epochs: int = 100,
        lr: float = 2e-3,
        batch_size: int = 64,
        seed: Seed = None,
        progress: bool | None = None,
    ) -> None:
        self._store_params(locals())

    def _head_widths(self, widths: list[int], latent: int) -> list[int]:
        return [latent, len(self.classes_)]

    def training_loss(
        self, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator
    ) -> Terms:
        """Cross-entropy + beta * KL, averaged over a batch.

        ``x`` holds the inputs, ``y`` the positions of their labels in
        ``classes_``; one reparameterised z per row is drawn with
        ``generator``. The two terms of every row come back too, for
        ``history_``. :meth:`fit` minimises this loss.
        """
        posterior = self._posterior(x)  # q(z|x), a Gaussian per row
        z = _reparameterised(posterior, None, generator)  # mean + std * eps
        cross_entropy = -D.Categorical(logits=self.head_(z)).log_prob(y)
        kl = self._kl_to_prior(posterior)  # KL(q(z|x) || N(0, I))
        loss = (cross_entropy + float(self.beta) * kl).mean()
        return loss, {"cross_entropy": cross_entropy, "kl": kl}

    def _labels(self, y: ArrayLike, n: int) -> NDArray[Any]:
        """Class labels of shape (n,): integers, strings, bools, ..."""
        labels = label_array(required(y, "y", self), "y")
        if labels.shape != (n,):
            raise ValueError(f"y must have shape ({n},), got {labels.shape}")
        return labels

    @limited_threads
    def fit(self, X: ArrayLike, y: ArrayLike) -> VIBClassifier:
        """Train from scratch on inputs ``X`` (n, d) and class labels ``y`` (n,).

        The labels may be integers, bools or text, as for
        :class:`~klcourse.supervised.models.Classifier`. Every learned attribute is reset
        first, and if fit raises, the model is left unfitted.

        Returns
        -------
        VIBClassifier
            The fitted model itself.

        Examples
        --------
        >>> X, y = np.eye(3)[[0, 1, 2] * 4], np.array([0, 1, 2] * 4)
        >>> VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, y).classes_
        array([0, 1, 2])
        >>> names = np.array(["a", "b", "c"])[y]
        >>> VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, names).classes_
        array(['a', 'b', 'c'], dtype='<U1')
        """
        with self._fitting_afresh():
            rng, progress = self._check_params()
            x = self._inputs(X)
            labels = self._labels(y, len(x))
            self.classes_ = distinct_classes(labels, "y")
            codes = encode_labels(labels, self.classes_, "y")
            targets = torch.from_numpy(codes)
            self._fit_networks(
                x,
                lambda rows, g: self.training_loss(x[rows], targets[rows], g),
                rng,
                progress,
            )
        return self

    @limited_threads
    def cross_entropy(
        self,
        X: ArrayLike,
        y: ArrayLike,
        *,
        n_samples: int = 16,
        seed: Seed = None,
    ) -> NDArray[np.float64]:
        r"""The first term of the loss for every row, in nats (shape (n,)).

        .. math:: \mathbb{E}_{q(z \mid x)}[-\log q(y \mid z)]

        averaged over ``n_samples`` draws of z per row, so the result is an
        unbiased estimate. Its mean over the data bounds I(Z; Y): for any
        classifier q(y|z), I(Z; Y) >= H(Y) - E[-log q(y|z)] (Barber and
        Agakov, 2003). Labels not seen in training are refused.

        Examples
        --------
        >>> X, y = np.eye(3)[[0, 1, 2] * 4], np.array([0, 1, 2] * 4)
        >>> model = VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, y)
        >>> bool(np.all(model.cross_entropy(X, y, seed=0) > 0))
        True
        """
        self._check_fitted("cross_entropy")
        x = self._inputs(X)
        labels = self._labels(y, len(x))
        codes = torch.from_numpy(encode_labels(labels, self.classes_, "y"))
        n_samples = positive_int(n_samples, "n_samples")
        check_size(
            n_samples * len(x) * self._widest, f"n_samples={n_samples:,}"
        )
        generator = torch_generator(seed)
        with torch.no_grad():
            posterior = self._posterior(x)
            z = _reparameterised(posterior, n_samples, generator)
            log_q = D.Categorical(logits=self.head_(z)).log_prob(codes)
            return (-log_q).mean(0).numpy()

    def _logits(self, X: ArrayLike, method: str) -> torch.Tensor:
        """The logits of q(y|z) at the posterior mean z = mu(x)."""
        self._check_fitted(method)
        with torch.no_grad():
            mean = self._posterior(self._inputs(X)).base_dist.loc
            return self.head_(mean)

    @limited_threads
    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """Class probabilities q(y|z) at the posterior mean z = mu(x), shape (n, n_classes).

        Examples
        --------
        >>> X, y = np.eye(3)[[0, 1, 2] * 4], np.array([0, 1, 2] * 4)
        >>> model = VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, y)
        >>> model.predict_proba(X[:2]).sum(axis=1).round(6)
        array([1., 1.])
        """
        return self._predict_proba(X)

    def predict(self, X: ArrayLike) -> NDArray[Any]:
        """The most probable class of every row of ``X``.

        Examples
        --------
        >>> X, y = np.eye(3)[[0, 1, 2] * 4], np.array([0, 1, 2] * 4)
        >>> model = VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, y)
        >>> model.predict(X[:3]).shape
        (3,)
        """
        return self._predict(X)

    def score(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_weight: ArrayLike | None = None,
    ) -> float:
        """The (weighted) accuracy of :meth:`predict` on labels ``y``.

        Examples
        --------
        >>> X, y = np.eye(3)[[0, 1, 2] * 4], np.array([0, 1, 2] * 4)
        >>> model = VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, y)
        >>> 0.0 <= model.score(X, y) <= 1.0
        True
        """
        return self._score(X, y, sample_weight)

    def encode(
        self, X: ArrayLike
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The means and variances of q(z|x), each of shape (n, latent_dim).

        Examples
        --------
        >>> X, y = np.eye(3)[[0, 1, 2] * 4], np.array([0, 1, 2] * 4)
        >>> model = VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, y)
        >>> [a.shape for a in model.encode(X)]
        [(12, 2), (12, 2)]
        """
        return super().encode(X)

    def kl(self, X: ArrayLike) -> NDArray[np.float64]:
        """KL(q(z|x) || N(0, I)) for every row, in nats (shape (n,)).

        Its mean over the data bounds I(X; Z) from above.

        Examples
        --------
        >>> X, y = np.eye(3)[[0, 1, 2] * 4], np.array([0, 1, 2] * 4)
        >>> model = VIBClassifier(hidden=(4,), epochs=2, seed=0).fit(X, y)
        >>> bool(np.all(model.kl(X) >= 0))
        True
        """
        return super().kl(X)
