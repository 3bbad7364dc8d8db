"""Value-function regression (SPEC.md §5)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validate import FloatArray, as_float_array, as_index_array, check_int

__all__ = ["fit_linear_value", "tabular_time_features", "value_regression_loss"]

#: Refuse to build a feature matrix with more entries than this (memory guard).
MAX_FEATURE_ENTRIES = 50_000_000


def value_regression_loss(predictions: Any, targets: Any, weights: Any = None) -> float:
    """L(φ) = Σ_i w_i (V_φ(s_i) − G_i)², the source's regression objective (S5.1).

    Args:
        predictions: [N], V_φ at the visited states (each (trajectory, t) pair is one row).
        targets: [N], the empirical returns G_t from those states.
        weights: [N] non-negative, or None (uniform 1/N).
    """
    p = as_float_array(predictions, "predictions", ndim=1)
    y = as_float_array(targets, "targets", ndim=1)
    if p.shape != y.shape:
        raise ValueError(f"shape mismatch: predictions{p.shape} and targets{y.shape} must match")
    if p.shape[0] == 0:
        raise ValueError("predictions: need at least one row")
    w = np.full(p.shape[0], 1.0 / p.shape[0]) if weights is None else as_float_array(weights, "weights", ndim=1)
    if w.shape != p.shape:
        raise ValueError(f"weights: expected shape {p.shape}, got {w.shape}")
    if np.any(w < 0):
        raise ValueError("weights: must be >= 0 (a negative weight makes the loss unbounded below)")
    return float(w @ (p - y) ** 2)


def fit_linear_value(features: Any, targets: Any, weights: Any = None) -> FloatArray:
    """φ* = argmin_φ Σ_i w_i (x_iᵀφ − G_i)², the minimum-norm weighted least-squares solution.

    Args:
        features: [N, d], one row per visited (trajectory, t).
        targets: [N], the returns G_t.
        weights: [N] non-negative, or None (uniform).  The exact engine passes trajectory
            probabilities, which turns the empirical objective into its expectation.
    Returns:
        φ*, shape [d].
    """
    x = as_float_array(features, "features", ndim=2)
    y = as_float_array(targets, "targets", ndim=1)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"shape mismatch: features{x.shape} is [N, d], targets must be [N], got {y.shape}")
    if x.shape[0] == 0:
        raise ValueError("features: need at least one row")
    if weights is None:
        w = np.ones(x.shape[0])
    else:
        w = as_float_array(weights, "weights", ndim=1)
        if w.shape != y.shape:
            raise ValueError(f"weights: expected shape {y.shape}, got {w.shape}")
        if np.any(w < 0):
            raise ValueError("weights: must be >= 0")
    sw = np.sqrt(w)
    sol, *_ = np.linalg.lstsq(x * sw[:, None], y * sw, rcond=None)
    out: FloatArray = np.asarray(sol, dtype=np.float64)
    return out


def tabular_time_features(states: Any, n_states: int) -> FloatArray:
    """One-hot features of (t, s_t) for a time-indexed tabular value table.

    Args:
        states: [m, T] visited states s_t^(i).
        n_states: S.
    Returns:
        [m·T, T·S]; row i·T + t has a single 1 at column t·S + s_t^(i), so a fitted φ
        reshaped to [T, S] is the table V_t(s).
    """
    n_s = check_int(n_states, "n_states", 1)
    s = as_index_array(states, "states", n_s, ndim=2)
    m, n_t = s.shape
    if m * n_t * n_t * n_s > MAX_FEATURE_ENTRIES:
        raise ValueError(f"n_states: the [m·T, T·S] feature matrix for S = {n_s} exceeds {MAX_FEATURE_ENTRIES} entries")
    n_states = n_s
    out = np.zeros((m * n_t, n_t * n_states))
    rows = np.arange(m * n_t)
    cols = (np.arange(n_t)[None, :] * n_states + s).reshape(-1)
    out[rows, cols] = 1.0
    return out
