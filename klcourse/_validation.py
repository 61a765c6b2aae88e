"""Argument checks shared by the public functions.

Every check raises a ``ValueError`` or ``TypeError`` whose message starts with the
argument's name, so that a reader sees at once which input was wrong and why.
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

#: Absolute tolerance on ``sum(p) == 1`` for probability vectors.
SUM_TOLERANCE = 1e-9


def as_float_array(
    value: ArrayLike, name: str, *, allow_bool: bool = True
) -> NDArray[np.float64]:
    """Return ``value`` as a float64 array, refusing non-numeric input.

    Accepts what users hold: lists, NumPy arrays of any real dtype, pandas
    objects and torch tensors (detached and moved to the CPU first, so a
    tensor that requires grad is fine). Complex and non-numeric input is a
    ``TypeError`` naming the argument, and so is text, numeric text
    included: ``"0.5"`` is not converted. With ``allow_bool=False`` a
    boolean array (or a lone ``True``) is refused too, for arguments where a
    bool can only be a mistake (a standard deviation, a probability).
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(
            f"{name} must be a numeric array, got {type(value).__name__}"
        )
    value = detached(value)
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} must be a numeric array, got {type(value).__name__}"
            f" ({error})"
        ) from error
    if np.iscomplexobj(raw):
        raise TypeError(
            f"{name} must be real, got complex values (dtype {raw.dtype})"
        )
    if raw.dtype.kind in "USV" or (
        raw.dtype.kind == "O"
        and any(isinstance(item, (str, bytes)) for item in raw.ravel())
    ):
        raise TypeError(
            f"{name} must be a numeric array, got text (dtype {raw.dtype});"
            " convert it to numbers first"
        )
    if not allow_bool and (
        raw.dtype.kind == "b"
        or (
            raw.dtype.kind == "O"
            and any(isinstance(item, (bool, np.bool_)) for item in raw.ravel())
        )
    ):
        raise TypeError(
            f"{name} must hold numbers, got booleans (dtype {raw.dtype})"
        )
    if raw.dtype.kind not in "biuf":
        try:
            return np.asarray(raw, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise TypeError(
                f"{name} must be a numeric array, got {type(value).__name__}"
                f" of dtype {raw.dtype} ({error})"
            ) from error
    return raw.astype(np.float64, copy=False)


def is_torch_tensor(value: object) -> bool:
    """True for a ``torch.Tensor``, without importing torch.

    A caller who holds a tensor has imported torch; while torch is not
    loaded, nothing is a tensor.
    """
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def detached(value: Any) -> Any:
    """A torch tensor as a detached CPU tensor (NumPy can read it); else ``value``."""
    detach = getattr(value, "detach", None)
    if callable(detach) and type(value).__module__.startswith("torch"):
        return detach().cpu()
    return value


def input_precision(value: Any) -> float:
    """Machine epsilon of ``value``'s own floating dtype (float64's for the rest).

    Tolerances on user input follow its precision: a float32 softmax output
    cannot sum to one more closely than float32 allows.
    """
    dtype = getattr(value, "dtype", None)
    if dtype is not None and type(value).__module__.startswith("torch"):
        if getattr(dtype, "is_floating_point", False):
            return float(np.finfo(str(dtype).removeprefix("torch.")).eps)
        return float(np.finfo(np.float64).eps)
    try:
        np_dtype = np.dtype(dtype) if dtype is not None else None
    except TypeError:
        np_dtype = None
    if np_dtype is not None and np_dtype.kind == "f":
        return float(np.finfo(np_dtype).eps)
    return float(np.finfo(np.float64).eps)


def finite_array(
    value: ArrayLike, name: str, *, allow_bool: bool = True
) -> NDArray[np.float64]:
    """Return ``value`` as float64, refusing NaN and infinite entries."""
    array = as_float_array(value, name, allow_bool=allow_bool)
    if not np.all(np.isfinite(array)):
        raise ValueError(
            f"{name} must be finite, but it contains NaN or infinite values"
        )
    return array


def positive_array(
    value: ArrayLike, name: str, *, allow_bool: bool = True
) -> NDArray[np.float64]:
    """Return ``value`` as float64, refusing entries that are not finite and > 0."""
    array = as_float_array(value, name, allow_bool=allow_bool)
    if not np.all(array > 0) or not np.all(np.isfinite(array)):
        bad = array[~((array > 0) & np.isfinite(array))].ravel()[0]
        raise ValueError(
            f"{name} must be finite and strictly positive, got {bad!r}"
        )
    return array


def sum_tolerance(eps: float, n: int) -> float:
    """Allowed ``|sum(p) - 1|`` for ``n`` probabilities stored with epsilon ``eps``.

    Each stored probability carries a relative rounding error of about
    ``eps``, and the normaliser that produced them (a softmax's sum) adds
    errors that grow like a random walk, about ``eps * sqrt(n)``. The
    tolerance is ``8 eps sqrt(n)``, never below :data:`SUM_TOLERANCE`: for
    torch's float32 softmax over 2 to 200,000 outcomes the largest error seen
    was a seventh of it, while a real mis-normalisation such as a sum of 0.99
    stays refused for any float32 vector shorter than 10^8.
    """
    return max(SUM_TOLERANCE, 8.0 * eps * math.sqrt(n))


def probability_array(
    value: ArrayLike, name: str, axis: int, *, allow_bool: bool = True
) -> NDArray[np.float64]:
    """Return ``value`` as float64 probabilities along ``axis``.

    Refuses NaN, negative entries and vectors that do not sum to one (within
    :func:`sum_tolerance` of the input's own precision); nothing is
    renormalised.
    """
    eps = input_precision(value)
    array = as_float_array(value, name, allow_bool=allow_bool)
    if array.ndim == 0:
        raise ValueError(
            f"{name} must have at least one dimension (the outcomes), got a scalar"
        )
    normalised_axis(axis, array.ndim, name)
    if np.isnan(array).any():
        raise ValueError(f"{name} contains NaN")
    if (array < 0).any():
        raise ValueError(
            f"{name} contains negative probabilities, e.g. {array[array < 0].ravel()[0]!r}"
        )
    if np.isinf(array).any():
        raise ValueError(f"{name} contains infinite values")
    totals = array.sum(axis=axis)
    tolerance = sum_tolerance(eps, array.shape[axis])
    if not np.all(np.abs(totals - 1.0) <= tolerance):
        worst = np.ravel(totals)[np.argmax(np.abs(np.ravel(totals) - 1.0))]
        raise ValueError(
            f"{name} must sum to 1 along axis {axis}, but a distribution sums to {worst!r}; "
            "normalise it first (klcourse never renormalises silently)"
        )
    return array


def normalised_axis(axis: int, ndim: int, name: str) -> int:
    """Check that ``axis`` is a valid axis of an array with ``ndim`` dimensions."""
    if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
        raise TypeError(f"axis must be an integer, got {type(axis).__name__}")
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"axis {axis} is out of range for {name} with {ndim} dimension(s)"
        )
    return int(axis) % ndim


def log_base(base: float | None) -> float:
    """Return ``log(base)`` (1.0 for nats when ``base`` is None)."""
    if base is None:
        return 1.0
    if isinstance(base, bool) or not isinstance(base, numbers.Real):
        raise TypeError(
            f"base must be a positive number or None, got {type(base).__name__}"
        )
    if not (np.isfinite(base) and base > 0 and base != 1):
        raise ValueError(
            f"base must be positive, finite and not 1, got {base!r}"
        )
    return float(np.log(base))


def broadcast_pair(
    p: NDArray[np.float64],
    q: NDArray[np.float64],
    names: tuple[str, str],
    axis: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Broadcast two probability arrays, demanding the same number of outcomes."""
    if p.shape[axis] != q.shape[axis]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of outcomes along axis {axis}, "
            f"got {p.shape[axis]} and {q.shape[axis]}"
        )
    try:
        return np.broadcast_arrays(p, q)  # type: ignore[return-value]
    except ValueError as error:
        raise ValueError(
            f"{names[0]} with shape {p.shape} and {names[1]} with shape {q.shape} do not broadcast"
        ) from error


def positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as an int, refusing non-integers and values below ``minimum``.

    A non-integer (``bool`` included) is a ``TypeError``, an integer below
    ``minimum`` a ``ValueError``; both messages name the argument.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an integer, got {type(value).__name__}"
        )
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return int(value)


def positive_float(
    value: Any,
    name: str,
    *,
    allow_zero: bool = False,
    maximum: float | None = None,
) -> float:
    """Return ``value`` as a finite float > 0 (``>= 0`` with ``allow_zero``).

    ``maximum``, when given, is an inclusive upper bound. A non-number
    (``bool`` included) is a ``TypeError``; a number out of range, infinite
    or NaN a ``ValueError``. Both messages name the argument.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    number = float(value)
    low_ok = number >= 0 if allow_zero else number > 0
    if not (math.isfinite(number) and low_ok):
        kind = "non-negative" if allow_zero else "positive"
        raise ValueError(
            f"{name} must be a finite {kind} number, got {value!r}"
        )
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be at most {maximum}, got {value!r}")
    return number


def real_number(
    value: Any, name: str, *, allow_infinite: bool = False
) -> float:
    """Return the real scalar ``value`` as a float.

    Python and NumPy numbers are accepted, and so are 0-d NumPy arrays and
    torch tensors of a real dtype. Text (``"1"`` included), bools, complex
    numbers and arrays with more than one element are a ``TypeError``; NaN,
    and infinity unless ``allow_infinite``, a ``ValueError``. Both messages
    name the argument.
    """
    number: float | None = None
    if isinstance(value, (bool, np.bool_, str, bytes)):
        number = None
    elif isinstance(value, numbers.Real):
        number = float(value)
    else:
        raw = detached(value)
        dtype = getattr(raw, "dtype", None)
        if dtype is not None and getattr(raw, "shape", None) == ():
            array = np.asarray(raw)
            if array.dtype.kind in "iuf":
                number = float(array)
    if number is None:
        raise TypeError(
            f"{name} must be a real number, got {type(value).__name__}"
        )
    if math.isnan(number) or (math.isinf(number) and not allow_infinite):
        kind = "a number" if allow_infinite else "a finite number"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return number


#: The largest array, in bytes, that klcourse allocates on a caller's behalf.
MAX_ARRAY_BYTES = 2**30


def check_size(n_items: int, name: str, *, item_bytes: int = 8) -> int:
    """Refuse a request for an array that would not fit comfortably in memory.

    ``n_items`` numbers of ``item_bytes`` each must stay within
    :data:`MAX_ARRAY_BYTES` (1 GiB); beyond it the ``ValueError`` names the
    argument that asked for it and the memory it would take, instead of
    letting NumPy or torch fail (or the machine swap) deep inside a call.
    """
    needed = int(n_items) * int(item_bytes)
    if needed > MAX_ARRAY_BYTES:
        raise ValueError(
            f"{name} asks for {int(n_items):,} numbers ({needed / 2**30:,.1f}"
            f" GiB in one array); klcourse refuses arrays above "
            f"{MAX_ARRAY_BYTES / 2**30:g} GiB, so ask for less"
        )
    return int(n_items)


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` if it is a bool (NumPy's included); else a ``TypeError``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"{name} must be True or False, got {type(value).__name__}"
        )
    return bool(value)


def check_choice(value: Any, name: str, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of the strings ``choices``.

    A non-string is a ``TypeError``, an unknown string a ``ValueError``
    listing the choices.
    """
    if not isinstance(value, str):
        raise TypeError(
            f"{name} must be one of {tuple(choices)}, got {type(value).__name__}"
        )
    if value not in choices:
        raise ValueError(
            f"{name} must be one of {tuple(choices)}, got {value!r}"
        )
    return value


def scalar_result(
    array: NDArray[np.float64],
) -> NDArray[np.float64] | np.float64:
    """Return a 0-d result as a NumPy scalar, anything else unchanged."""
    return array[()] if array.ndim == 0 else array


#: The two directions of a KL fit: KL(P || Q) and KL(Q || P).
DIRECTIONS = ("forward", "reverse")


def cholesky_factor(cov: ArrayLike, name: str, d: int) -> NDArray[np.float64]:
    """Lower Cholesky factors of ``cov``, or a ValueError naming it."""
    matrix = finite_array(cov, name, allow_bool=False)
    if matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2]:
        raise ValueError(
            f"{name} must have shape (..., d, d), got {matrix.shape}"
        )
    if matrix.shape[-1] != d:
        raise ValueError(
            f"{name} is {matrix.shape[-1]}x{matrix.shape[-1]} but the means have dimension {d}"
        )
    scale = np.abs(matrix).max(axis=(-2, -1), keepdims=True)
    if not np.all(
        np.abs(matrix - np.swapaxes(matrix, -1, -2)) <= 1e-10 * scale
    ):
        raise ValueError(f"{name} must be symmetric")
    try:
        return np.linalg.cholesky(matrix).astype(np.float64, copy=False)
    except np.linalg.LinAlgError as error:
        raise ValueError(
            f"{name} must be positive definite (its Cholesky factorisation failed)"
        ) from error
