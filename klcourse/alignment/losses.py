"""Per-token KL penalties and the DPO and IPO losses, on arrays or tensors.

:func:`kl_penalty` turns chapter 1's Monte Carlo terms k1, k2, k3 into the
penalties RLHF code adds to a reward or a loss, token by token;
:func:`dpo_loss` is the Bradley--Terry loss of direct preference
optimisation, and :func:`ipo_loss` the squared loss of identity preference
optimisation, which has a minimiser on every finite set of pairs. Given NumPy
arrays they compute in float64; given a tensor they return a tensor that
keeps the autograd graph.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike, NDArray
from scipy.special import log_expit

from klcourse._validation import as_float_array, check_choice, positive_float
from klcourse.alignment._common import ipo_squared_error, preference_nll
from klcourse.estimators import ESTIMATORS

__all__ = ["dpo_loss", "ipo_loss", "kl_penalty"]


def kl_penalty(
    logp: ArrayLike | torch.Tensor,
    ref_logp: ArrayLike | torch.Tensor,
    *,
    estimator: str = "k1",
) -> NDArray[np.float64] | torch.Tensor:
    r"""Per-token KL penalties: chapter 1's Monte Carlo terms k1, k2, k3.

    With the token ratio
    :math:`\rho = \pi_{ref}(x_t \mid x_{<t}) / \pi(x_t \mid x_{<t})` for a
    token drawn from :math:`\pi` (chapter 1's ratio :math:`r`; chapter 7
    writes :math:`\rho` because :math:`r` is the reward there), each term is
    the one in ``klcourse.estimators.ESTIMATORS``:

    - ``"k1"``: :math:`-\log\rho`, the log-ratio RLHF subtracts from the
      reward;
    - ``"k2"``: :math:`\tfrac12 (\log\rho)^2`;
    - ``"k3"``: :math:`(\rho - 1) - \log\rho`, never negative, the term
      several methods add to the loss.

    The k1 and k3 terms average to :math:`\mathrm{KL}(\pi\,\|\,\pi_{ref})`
    given the prefix, so summed over a sequence they average to the KL
    between the two sequence distributions. Their *gradients* are another
    matter: see :func:`.fine_tune` and chapter 7.

    Parameters
    ----------
    logp : array_like or torch.Tensor
        Log-probabilities of the sampled tokens under the policy (finite,
        <= 0), one per token: any shape, usually (n, T).
    ref_logp : array_like or torch.Tensor
        Log-probabilities of the same tokens under the reference (<= 0;
        ``-inf`` gives an infinite penalty). Exactly the shape of ``logp``:
        nothing is broadcast.
    estimator : {"k1", "k2", "k3"}, optional
        Which term.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        One penalty per token, with the shape of the inputs. If either input
        is a tensor, the result is a tensor that keeps the autograd graph, so
        it can enter a loss; otherwise a float64 array.

    Examples
    --------
    >>> logp, ref_logp = np.log([0.5, 0.2]), np.log([0.25, 0.4])
    >>> np.round(kl_penalty(logp, ref_logp, estimator="k3"), 6)
    array([0.193147, 0.306853])
    >>> import torch
    >>> x = torch.log(torch.tensor([0.5, 0.2], requires_grad=True))
    >>> kl_penalty(x, ref_logp).requires_grad
    True
    """
    check_choice(estimator, "estimator", tuple(ESTIMATORS))
    checked = {
        "logp": _log_probs(logp, "logp", finite=True),
        "ref_logp": _log_probs(ref_logp, "ref_logp", finite=False),
    }
    _same_shapes(checked)
    if not (_is_tensor(logp) or _is_tensor(ref_logp)):
        with np.errstate(over="ignore"):
            return np.asarray(
                ESTIMATORS[estimator](checked["ref_logp"] - checked["logp"])
            )
    policy, ref = _tensors(logp, ref_logp)
    log_r = ref - policy
    if (
        estimator == "k3"
    ):  # ESTIMATORS["k3"] with torch's expm1, to keep the graph
        return torch.expm1(log_r) - log_r
    return ESTIMATORS[estimator](log_r)  # type: ignore[no-any-return]


def dpo_loss(
    chosen_logp: ArrayLike | torch.Tensor,
    rejected_logp: ArrayLike | torch.Tensor,
    ref_chosen_logp: ArrayLike | torch.Tensor,
    ref_rejected_logp: ArrayLike | torch.Tensor,
    *,
    beta: float,
) -> float | torch.Tensor:
    r"""The DPO loss, averaged over preference pairs.

    With the implicit reward
    :math:`\hat r(y) = \beta\log(\pi(y)/\pi_{ref}(y))`,
    the loss is the Bradley--Terry negative log-likelihood of the chosen
    sequence :math:`y_w` winning over the rejected one :math:`y_l`:

    .. math:: -\log\sigma\big(\hat r(y_w) - \hat r(y_l)\big)

    Its gradient weighs each pair by how wrongly the implicit reward ranks
    it: :math:`-\beta\,\sigma(\hat r(y_l) - \hat r(y_w))\,
    (\nabla\log\pi(y_w) - \nabla\log\pi(y_l))`. The weight shrinks as
    the margin grows but never reaches zero, so a pair whose winner never
    loses keeps pushing; :func:`ipo_loss` has no such pull to infinity.

    Parameters
    ----------
    chosen_logp, rejected_logp : array_like or torch.Tensor
        Sequence log-probabilities under the policy, shape (n_pairs,): one
        per sequence (finite, <= 0). Per-token log-probabilities of shape
        (n_pairs, T) are refused; sum them over each sequence first.
    ref_chosen_logp, ref_rejected_logp : array_like or torch.Tensor
        The same under the reference. All four have the same shape.
    beta : float
        The KL weight of the objective whose optimum DPO targets, > 0.

    Returns
    -------
    float or torch.Tensor
        The mean loss in nats. If any input is a tensor, a 0-d tensor that
        keeps the autograd graph, ready for ``backward()``.

    Examples
    --------
    >>> round(dpo_loss([-1.0], [-2.0], [-1.5], [-1.5], beta=0.5), 6)
    0.474077
    """
    beta = positive_float(beta, "beta")
    values = (chosen_logp, rejected_logp, ref_chosen_logp, ref_rejected_logp)
    c, r, rc, rr = _pair_log_probs(values)
    if not any(_is_tensor(v) for v in values):
        with np.errstate(over="ignore"):  # a margin beyond 1e308 is +-inf
            losses = -log_expit(beta * ((c - rc) - (r - rr)))
            mean = losses.mean()
        if np.isinf(mean) and np.isfinite(losses).all():  # the sum overflowed
            mean = np.sum(losses / losses.size)
        return float(mean)
    tc, tr, trc, trr = _tensors(*values)
    return preference_nll(beta * ((tc - trc) - (tr - trr)))


def ipo_loss(
    chosen_logp: ArrayLike | torch.Tensor,
    rejected_logp: ArrayLike | torch.Tensor,
    ref_chosen_logp: ArrayLike | torch.Tensor,
    ref_rejected_logp: ArrayLike | torch.Tensor,
    *,
    beta: float,
) -> float | torch.Tensor:
    r"""The IPO loss of Azar et al., averaged over preference pairs.

    With the log-ratio :math:`h(y) = \log(\pi(y)/\pi_{ref}(y))`, each pair
    of a chosen :math:`y_w` and a rejected :math:`y_l` adds

    .. math:: \big(h(y_w) - h(y_l) - \tfrac{1}{2\beta}\big)^2

    a squared error that pulls every margin to :math:`1/(2\beta)` instead of
    pushing it towards infinity as :func:`dpo_loss` can. It is a quadratic in
    the log-ratios, so it has a minimiser on every finite set of pairs. In
    the population its optimum is the reference tilted by the probability
    :math:`p(y \succ \mu)` that :math:`y` is preferred to a draw from the
    pairs' distribution :math:`\mu`: :math:`\pi_{ref}\,e^{p(y \succ
    \mu)/\beta}`, normalised. ``beta`` is the KL weight, Azar et al.'s
    :math:`\tau` (as in TRL's ``loss_type="ipo"``).

    Parameters
    ----------
    chosen_logp, rejected_logp : array_like or torch.Tensor
        Sequence log-probabilities under the policy, shape (n_pairs,): one
        per sequence (finite, <= 0).
    ref_chosen_logp, ref_rejected_logp : array_like or torch.Tensor
        The same under the reference. All four have the same shape.
    beta : float
        The KL weight of IPO's objective, > 0.

    Returns
    -------
    float or torch.Tensor
        The mean loss. If any input is a tensor, a 0-d tensor that keeps the
        autograd graph, ready for ``backward()``.

    Examples
    --------
    >>> round(ipo_loss([-1.0], [-2.0], [-1.5], [-1.5], beta=0.5), 6)
    0.0
    >>> round(ipo_loss([-1.0], [-1.0], [-1.5], [-1.5], beta=0.25), 6)
    4.0
    """
    beta = positive_float(beta, "beta")
    values = (chosen_logp, rejected_logp, ref_chosen_logp, ref_rejected_logp)
    c, r, rc, rr = _pair_log_probs(values)
    if not any(_is_tensor(v) for v in values):
        with np.errstate(over="ignore"):
            return float(np.mean(((c - rc) - (r - rr) - 1 / (2 * beta)) ** 2))
    tc, tr, trc, trr = _tensors(*values)
    return ipo_squared_error((tc - trc) - (tr - trr), beta)


def _pair_log_probs(values: tuple[Any, ...]) -> list[NDArray[np.float64]]:
    """Check the four log-probabilities of a pair loss: 1-D, one shape."""
    names = (
        "chosen_logp",
        "rejected_logp",
        "ref_chosen_logp",
        "ref_rejected_logp",
    )
    checked = {
        name: _log_probs(value, name, finite=True)
        for name, value in zip(names, values)
    }
    for name, array in checked.items():
        if array.ndim != 1:
            raise ValueError(
                f"{name} must be 1-D, one log-probability per sequence "
                f"(sum the tokens' log-probabilities first), got shape "
                f"{array.shape}"
            )
    _same_shapes(checked)
    if checked["chosen_logp"].size == 0:
        raise ValueError("chosen_logp must hold at least one pair, got none")
    return list(checked.values())


def _is_tensor(value: Any) -> bool:
    return isinstance(value, torch.Tensor)


def _log_probs(value: Any, name: str, *, finite: bool) -> NDArray[np.float64]:
    """Check log-probabilities: no NaN, nothing above zero (and finite)."""
    array = as_float_array(value, name, allow_bool=False)
    if np.isnan(array).any():
        raise ValueError(f"{name} contains NaN")
    if (array > 0).any():
        raise ValueError(
            f"{name} must be log-probabilities (<= 0), got "
            f"{float(array[array > 0].ravel()[0])!r}"
        )
    if finite and np.isneginf(array).any():
        raise ValueError(
            f"{name} contains -inf: a sampled sequence has positive "
            "probability, so its log-probability is finite"
        )
    return array


def _same_shapes(values: dict[str, NDArray[np.float64]]) -> None:
    shapes = {name: value.shape for name, value in values.items()}
    if len(set(shapes.values())) != 1:
        listed = ", ".join(f"{n} {s}" for n, s in shapes.items())
        raise ValueError(
            f"the arguments must have the same shape, got {listed}"
        )


def _tensors(*values: Any) -> list[torch.Tensor]:
    """The values as floating tensors on the first tensor's device.

    Floating tensors are kept as they are (and keep their graph); the rest
    take the first floating tensor's dtype, or float64 if every tensor holds
    integers.
    """
    tensors = [v for v in values if _is_tensor(v)]
    floating = [t for t in tensors if t.is_floating_point()]
    dtype = floating[0].dtype if floating else torch.float64
    return [
        v
        if _is_tensor(v) and v.is_floating_point()
        else torch.as_tensor(v, dtype=dtype, device=tensors[0].device)
        for v in values
    ]
