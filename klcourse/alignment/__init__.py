"""KL in practice: the KL-regularised optimum, penalties, DPO, distillation.

Chapter 7 of the course.

Fine-tuning a model against a reward while a KL divergence keeps it near a
reference model, and distilling a teacher into a smaller student, are the two
ways large models meet KL every day. This subpackage computes both exactly on
sequence models small enough for every sequence to be enumerated. One module
per concern:

- :mod:`~klcourse.alignment.optimum` -- :func:`.kl_regularized_policy`,
  :func:`.kl_regularized_value` and :func:`.kl_regularized_objective`: the
  maximiser of E_pi[r] - beta KL(pi || pi_ref), its value, and the objective
  of any policy;
- :mod:`~klcourse.alignment.losses` -- :func:`.kl_penalty`, chapter 1's Monte
  Carlo terms k1, k2, k3 per token, as RLHF code adds them to a reward or a
  loss, :func:`.dpo_loss`, the direct preference optimisation loss, and
  :func:`.ipo_loss`, the IPO loss that has a minimiser on every data set;
- :mod:`~klcourse.alignment.models` -- :class:`.TabularLM`, an
  autoregressive model with one row of logits per prefix, able to represent
  every distribution over its sequences, and :class:`.FactorizedLM`, a
  smaller model whose tokens are independent;
- :mod:`~klcourse.alignment.preferences` -- :class:`.PreferencePairs` and
  :func:`.preference_pairs`, the data of DPO;
- :mod:`~klcourse.alignment.fine_tuning`, :mod:`~klcourse.alignment.dpo` and
  :mod:`~klcourse.alignment.distillation` -- the trainers :func:`.fine_tune`,
  :func:`.train_dpo` and :func:`.distill`, which record exact divergences as
  they go.

Every name is importable from here (``from klcourse.alignment import
fine_tune``). Exact computations are in float64. Randomness goes through
explicit seeds only (``klcourse._random``), and torch runs single-threaded
during training (``klcourse._threads``).
"""

# MAX_TABLE_ENTRIES (the size limit of the tables), KL_PLACES (fine_tune's
# choices of kl_in) and policy_gradient_loss (one update of fine_tune) are
# importable from here too, outside __all__: "X as X" marks a re-export.
from klcourse.alignment.distillation import DistillResult, distill
from klcourse.alignment.dpo import train_dpo
from klcourse.alignment.fine_tuning import KL_PLACES as KL_PLACES
from klcourse.alignment.fine_tuning import FineTuneResult, fine_tune
from klcourse.alignment.fine_tuning import (
    policy_gradient_loss as policy_gradient_loss,
)
from klcourse.alignment.losses import dpo_loss, ipo_loss, kl_penalty
from klcourse.alignment.models import MAX_TABLE_ENTRIES as MAX_TABLE_ENTRIES
from klcourse.alignment.models import FactorizedLM, TabularLM, all_sequences
from klcourse.alignment.optimum import (
    kl_regularized_objective,
    kl_regularized_policy,
    kl_regularized_value,
)
from klcourse.alignment.preferences import PreferencePairs, preference_pairs

__all__ = [
    "DistillResult",
    "FactorizedLM",
    "FineTuneResult",
    "PreferencePairs",
    "TabularLM",
    "all_sequences",
    "distill",
    "dpo_loss",
    "fine_tune",
    "ipo_loss",
    "kl_penalty",
    "kl_regularized_objective",
    "kl_regularized_policy",
    "kl_regularized_value",
    "preference_pairs",
    "train_dpo",
]
