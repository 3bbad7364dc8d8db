"""Input validation shared by every reference function.

Every public function of :mod:`reference` validates its arguments at the top and raises a
``ValueError`` (or ``TypeError`` for a wrong kind of object) whose message names the argument
and the rule it broke.  Nothing here is public API; the messages are.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

#: Probabilities are accepted when they sum to one within this absolute tolerance.
PROB_ATOL = 1e-9


def _asarray(x: Any, name: str, what: str) -> NDArray[Any]:
    """np.asarray with a named TypeError for input numpy cannot make an array of (ragged lists...)."""
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected {what} ({exc})") from None


def as_float_array(x: Any, name: str, ndim: int | None = None) -> FloatArray:
    """Return ``x`` as a float64 array, checking its number of dimensions and finiteness."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name}: expected an array of numbers, got {type(x).__name__}")
    _reject_complex(x, name)
    if getattr(getattr(x, "dtype", None), "kind", None) == "b" or isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name}: expected an array of real numbers, got booleans")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected an array of numbers ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim}-D array, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: values must be finite (found NaN or inf)")
    return arr


def _reject_complex(x: Any, name: str) -> None:
    """Complex input is a TypeError (numpy would silently drop the imaginary part)."""
    kind = getattr(getattr(x, "dtype", None), "kind", None)
    if kind is None and isinstance(x, (list, tuple)):
        try:
            kind = np.asarray(x).dtype.kind
        except (TypeError, ValueError):
            return
    if kind == "c" or isinstance(x, complex):
        raise TypeError(f"{name}: complex values are not allowed (expected real numbers)")


def as_mask(x: Any, name: str, ndim: int | None = None) -> BoolArray:
    """Return ``x`` as a boolean array; numeric input must contain only 0 and 1."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name}: expected a boolean array, got {type(x).__name__}")
    arr = _asarray(x, name, "a boolean array")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim}-D array, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        return arr
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected a boolean array, got dtype {arr.dtype}")
    if arr.size and not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name}: a mask must be boolean (only 0/1 values allowed)")
    return arr.astype(np.bool_)


def as_index_array(x: Any, name: str, upper: int, ndim: int | None = None, upper_name: str | None = None) -> IntArray:
    """Return ``x`` as an int64 array of indices in ``[0, upper)``.

    ``upper_name`` says where the bound comes from (e.g. ``"logits.shape[0]"``), so that a message
    about an index out of range also names the argument that fixes the range.
    """
    if x is None or isinstance(x, (str, bytes)):
        raise TypeError(f"{name}: expected integer indices, got {type(x).__name__}")
    arr = _asarray(x, name, "integer indices")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and arr.size and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
            arr = arr.astype(np.int64)
        elif arr.size == 0:
            arr = arr.astype(np.int64)
        else:
            raise TypeError(f"{name}: expected integer indices, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name}: expected {ndim}-D array, got shape {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() >= upper):
        bound = f" ({upper_name} = {upper})" if upper_name else ""
        raise ValueError(f"{name}: indices must lie in [0, {upper}){bound}, got range [{arr.min()}, {arr.max()}]")
    return arr.astype(np.int64)


def as_scalar(x: Any, name: str) -> float:
    """Return ``x`` as a finite Python float."""
    if isinstance(x, (bool, np.bool_)) or isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name}: expected a real number, got {type(x).__name__}")
    _reject_complex(x, name)
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name}: expected a real number, got {type(x).__name__}") from None
    if arr.shape != ():
        raise ValueError(f"{name}: expected a scalar, got shape {arr.shape}")
    v = float(arr)
    if not np.isfinite(v):
        raise ValueError(f"{name}: must be finite, got {v}")
    return v


def check_int(x: Any, name: str, lo: int, hi: int | None = None) -> int:
    """An int (Python or numpy integer, not bool) in [lo, hi]."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{name}: expected an int, got {type(x).__name__}")
    if x < lo:
        raise ValueError(f"{name}: must be >= {lo}, got {x}")
    if hi is not None and x > hi:
        raise ValueError(f"{name}: must be <= {hi}, got {x}")
    return int(x)


def check_flag(x: Any, name: str) -> bool:
    """A boolean flag: True or False (a string such as 'no' or a number is a TypeError)."""
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name}: expected True or False, got {type(x).__name__} {x!r}")
    return bool(x)


def check_unit_interval(x: Any, name: str) -> float:
    """A discount or mixing factor: a finite float in [0, 1]."""
    v = as_scalar(x, name)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name}: must lie in [0, 1], got {v}")
    return v


def check_positive(x: Any, name: str) -> float:
    """A strictly positive finite float (epsilon, beta, a KL bound...)."""
    v = as_scalar(x, name)
    if not v > 0.0:
        raise ValueError(f"{name}: must be > 0, got {v}")
    return v


def check_nonnegative(x: Any, name: str) -> float:
    v = as_scalar(x, name)
    if not v >= 0.0:
        raise ValueError(f"{name}: must be >= 0, got {v}")
    return v


def check_same_shape(**arrays: NDArray[Any]) -> tuple[int, ...]:
    """All arrays have one shape; the message lists every argument's shape."""
    shapes = {k: np.shape(v) for k, v in arrays.items()}
    first = next(iter(shapes.values()))
    if any(s != first for s in shapes.values()):
        desc = ", ".join(f"{k}{tuple(s)}" for k, s in shapes.items())
        raise ValueError(f"shape mismatch: {desc} must all have the same shape")
    return tuple(first)


def check_distribution(p: FloatArray, name: str, axis: int = -1) -> FloatArray:
    """Non-negative entries that sum to one along ``axis`` (within ``PROB_ATOL``)."""
    if np.any(p < 0):
        raise ValueError(f"{name}: probabilities must be >= 0 (min {p.min()})")
    sums = p.sum(axis=axis)
    if not np.all(np.abs(sums - 1.0) <= PROB_ATOL):
        worst = float(np.max(np.abs(sums - 1.0)))
        raise ValueError(f"{name}: probabilities must sum to 1 along axis {axis} (off by {worst:.3g})")
    return p


def check_spd(h: FloatArray, name: str) -> FloatArray:
    """A symmetric positive definite matrix (symmetric to 1e-10 relative; Cholesky succeeds)."""
    if h.ndim != 2 or h.shape[0] != h.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {h.shape}")
    scale = max(1.0, float(np.max(np.abs(h)))) if h.size else 1.0
    if not np.allclose(h, h.T, rtol=0.0, atol=1e-10 * scale):
        raise ValueError(f"{name}: matrix must be symmetric")
    try:
        np.linalg.cholesky(h)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name}: matrix must be positive definite") from None
    return h


def check_psd(h: FloatArray, name: str) -> FloatArray:
    """A symmetric positive semi-definite matrix (symmetric to 1e-10 relative; eigenvalues >= −1e-10·scale).

    The Fisher matrix of a softmax table is singular, so definiteness is not required.
    """
    if h.ndim != 2 or h.shape[0] != h.shape[1]:
        raise ValueError(f"{name}: expected a square matrix, got shape {h.shape}")
    if not h.size:
        return h
    scale = float(np.max(np.abs(h)))
    if not np.allclose(h, h.T, rtol=0.0, atol=1e-10 * scale):
        raise ValueError(f"{name}: matrix must be symmetric")
    if scale > 0 and float(np.linalg.eigvalsh(h / scale).min()) < -1e-10 * h.shape[0]:
        raise ValueError(f"{name}: matrix must be positive semi-definite (it has a negative eigenvalue)")
    return h


def check_trajectory_batch(
    grad_logp: Any, per_step: Any, weights: Any, per_step_name: str = "rewards"
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Validate a batch of m trajectories for a policy-gradient estimator.

    Args:
        grad_logp: [m, T, n] per-step scores.
        per_step: [m, T], the per-step quantity (rewards, Ψ_t, ...), named ``per_step_name``.
        weights: [m] non-negative, or None for the sample mean 1/m.
    Returns:
        (grad_logp, per_step, weights) as float64 arrays.
    """
    g = as_float_array(grad_logp, "grad_logp", ndim=3)
    r = as_float_array(per_step, per_step_name, ndim=2)
    if g.shape[:2] != r.shape:
        raise ValueError(
            f"shape mismatch: grad_logp{g.shape} is [m, T, n] so {per_step_name} must be [m, T] = {g.shape[:2]}, got {r.shape}"
        )
    if g.shape[0] == 0:
        raise ValueError("grad_logp: need at least one trajectory (m >= 1)")
    if weights is None:
        w = np.full(g.shape[0], 1.0 / g.shape[0])
    else:
        w = as_float_array(weights, "weights", ndim=1)
        if w.shape[0] != g.shape[0]:
            raise ValueError(f"weights: expected shape [m] = [{g.shape[0]}], got {w.shape}")
        if np.any(w < 0):
            raise ValueError("weights: must be >= 0")
    return g, r, w
