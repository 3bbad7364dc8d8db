"""Q, V, the advantage, TD residuals and generalized advantage estimation (SPEC.md §6).

Exact quantities of a tabular MDP (time-indexed, finite horizon, discounted): ``advantages``
beside ``state_values``/``action_values`` of :mod:`reference.mdp`.

Rollout estimators.  Canonical rollout convention (SPEC.md §0), all arrays of shape [T] (or
[T, N]: N independent environments in columns, time on axis 0):

- ``rewards[t]`` = r_t = r(s_t, a_t);
- ``values[t]`` = V(s_t);
- ``next_values[t]`` = V(s_{t+1}) of the true next state, also at an episode end;
- ``terminated[t]``: s_{t+1} is terminal, nothing is bootstrapped from it;
- ``truncated[t]``: a time limit ended the episode after step t; the return is bootstrapped
  from ``next_values[t]`` but nothing flows across the boundary;
- the end of the arrays cuts the last episode like a truncation.

``done_t = terminated_t or truncated_t``.  For step t, n_t ≥ 1 is the number of steps from t
to the end of its episode (t itself included): the steps t, …, t + n_t − 1 whose last one is
the first done step at or after t, or T − 1.

GAE comes in four forms that agree (claims GAE-MIX-EQUALS-SUM, GAE-FORMS-AGREE): the literal
(1−λ)-weighted mix of k-step estimators with its finite-horizon tail (``gae_literal``), the
explicit sum Σ_l (γλ)^l δ_{t+l} (``gae_sum``), the backward recursion (``gae``) and a blocked,
vectorized backward scan for long rollouts (``gae_fast``).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ._validate import (
    BoolArray,
    FloatArray,
    as_float_array,
    as_mask,
    check_same_shape,
    check_unit_interval,
)
from .mdp import TabularMDP, _backward

__all__ = [
    "advantages",
    "episode_lengths",
    "gae",
    "gae_fast",
    "gae_literal",
    "gae_sum",
    "k_step_advantage",
    "k_step_return",
    "lambda_returns",
    "td_residuals",
]


# ------------------------------------------------------------------------------ exact (tabular)


def advantages(mdp: TabularMDP, logits: Any) -> FloatArray:
    """A_t(s, a) = Q_t(s, a) − V_t(s) of the softmax policy, shape [T, S, A]; SPEC.md eq. (6.3).

    Q_t and V_t are the finite-horizon, discounted, time-indexed values of eqs. (6.1)-(6.2)
    (backward induction, as in :func:`reference.action_values`/:func:`reference.state_values`).
    For every (t, s): Σ_a π(a|s) A_t(s, a) = 0.
    """
    v, q = _backward(mdp, logits)
    out: FloatArray = q - v[:-1, :, None]
    return out


# ------------------------------------------------------------------------------ validation


def _rollout(
    rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, BoolArray, BoolArray]:
    r = as_float_array(rewards, "rewards")
    if r.ndim not in (1, 2):
        raise ValueError(f"rewards: expected shape [T] or [T, N], got {r.shape}")
    v = as_float_array(values, "values")
    nv = as_float_array(next_values, "next_values")
    term = as_mask(terminated, "terminated")
    trunc = as_mask(truncated, "truncated") if truncated is not None else np.zeros(r.shape, dtype=np.bool_)
    check_same_shape(
        rewards=r, values=v, next_values=nv, terminated=term, truncated=trunc
    )
    return r, v, nv, term, trunc


def _check_k(k: Any) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"k: expected an int >= 1, got {type(k).__name__}")
    if k < 1:
        raise ValueError(f"k: must be >= 1, got {k}")
    return int(k)


def _delta(r: FloatArray, v: FloatArray, nv: FloatArray, term: BoolArray, g: float) -> FloatArray:
    out: FloatArray = np.where(term, 0.0, nv)
    out *= g
    out += r
    out -= v
    return out


def _lengths_1d(done: BoolArray) -> list[int]:
    """n_t for one column: steps from t to the end of its episode, t included."""
    n = done.shape[0]
    out = [0] * n
    run = 0
    for t in range(n - 1, -1, -1):
        run = 1 if (t == n - 1 or done[t]) else run + 1
        out[t] = run
    return out


def _per_column(fn: Callable[..., FloatArray], *arrays: np.ndarray) -> FloatArray:
    """Apply a 1-D literal form to each column of [T, N] inputs (or once to [T] inputs)."""
    if arrays[0].ndim == 1:
        return fn(*arrays)
    cols = [fn(*(a[:, j] for a in arrays)) for j in range(arrays[0].shape[1])]
    return np.stack(cols, axis=1) if cols else np.zeros(arrays[0].shape)


def episode_lengths(terminated: Any, truncated: Any) -> np.ndarray:
    """n_t: the number of steps from t to the end of its episode, t included; SPEC.md §6.

    The episode of step t ends at the first step e ≥ t with terminated_e or truncated_e, or at
    T − 1 (the end of the arrays); n_t = e − t + 1 ≥ 1.

    Args:
        terminated, truncated: boolean masks, shape [T] or [T, N].
    Returns:
        int64 array of the same shape.
    """
    term = as_mask(terminated, "terminated")
    trunc = as_mask(truncated, "truncated")
    check_same_shape(terminated=term, truncated=trunc)
    if term.ndim not in (1, 2):
        raise ValueError(f"terminated: expected shape [T] or [T, N], got {term.shape}")
    done = term | trunc
    if done.ndim == 1:
        return np.asarray(_lengths_1d(done), dtype=np.int64)
    out = np.zeros(done.shape, dtype=np.int64)
    for j in range(done.shape[1]):
        out[:, j] = _lengths_1d(done[:, j])
    return out


# ------------------------------------------------------------------------------ TD and k-step


def td_residuals(rewards: Any, values: Any, next_values: Any, terminated: Any, gamma: float) -> FloatArray:
    """δ_t = r_t + γ (1 − terminated_t) V(s_{t+1}) − V(s_t); SPEC.md eq. (6.4).

    Truncation does not change δ_t: at a time limit the next state's value is still
    bootstrapped (only the flow of advantage across the boundary stops, see :func:`gae`).

    Args:
        rewards, values, next_values, terminated: shape [T] (or [T, N]), see the module doc.
        gamma: discount in [0, 1].
    Returns:
        δ, same shape.
    """
    r, v, nv, term, _ = _rollout(rewards, values, next_values, terminated)
    g = check_unit_interval(gamma, "gamma")
    out: FloatArray = r + g * np.where(term, 0.0, nv) - v
    return out


def _episode_sum_1d(delta: FloatArray, done: BoolArray, c: float, k: int | None = None) -> FloatArray:
    """Σ_{l=0}^{min(k, n_t)−1} c^l δ_{t+l}, term by term, never past the end of s_t's episode."""
    d = delta.tolist()
    n = _lengths_1d(done)
    out = np.zeros(len(d))
    for t in range(len(d)):
        acc = 0.0
        for l in range(n[t] if k is None else min(k, n[t])):
            acc += c**l * d[t + l]
        out[t] = acc
    return out


def _k_step_adv_1d(delta: FloatArray, done: BoolArray, g: float, k: int) -> FloatArray:
    return _episode_sum_1d(delta, done, g, k)


def k_step_advantage(
    rewards: Any,
    values: Any,
    next_values: Any,
    terminated: Any,
    truncated: Any,
    gamma: float,
    k: int,
) -> FloatArray:
    """Â_t^(k) = Σ_{l=0}^{min(k, n_t)−1} γ^l δ_{t+l}; SPEC.md eq. (6.6).

    The source writes δ_{t+1} inside the sum (S6.8, errata E6.5); the index is l.  Past the
    end of s_t's episode there are no more residuals: for k ≥ n_t, Â^(k) = Â^(n_t).

    Args:
        rewards, values, next_values, terminated, truncated: shape [T] or [T, N].
        gamma: discount in [0, 1].
        k: number of residuals, k ≥ 1.
    Returns:
        Â^(k), same shape as rewards.
    """
    r, v, nv, term, trunc = _rollout(rewards, values, next_values, terminated, truncated)
    g = check_unit_interval(gamma, "gamma")
    kk = _check_k(k)
    delta = _delta(r, v, nv, term, g)
    return _per_column(lambda d, e: _k_step_adv_1d(d, e, g, kk), delta, term | trunc)


def _k_step_ret_1d(r: FloatArray, nv: FloatArray, term: BoolArray, done: BoolArray, g: float, k: int) -> FloatArray:
    rr, vv = r.tolist(), nv.tolist()
    n = _lengths_1d(done)
    out = np.zeros(len(rr))
    for t in range(len(rr)):
        kk = min(k, n[t])
        acc = 0.0
        for l in range(kk):
            acc += g**l * rr[t + l]
        last = t + kk - 1
        if not term[last]:
            acc += g**kk * vv[last]
        out[t] = acc
    return out


def k_step_return(
    rewards: Any,
    next_values: Any,
    terminated: Any,
    truncated: Any,
    gamma: float,
    k: int,
) -> FloatArray:
    """G_t^(k) = Σ_{l<k'} γ^l r_{t+l} + γ^{k'} (1 − terminated_{t+k'−1}) V(s_{t+k'}); SPEC.md eq. (6.5).

    k' = min(k, n_t): the k-step return stops at the end of s_t's episode, where it
    bootstraps from ``next_values`` unless the episode terminated.  V(s_{t+k'}) is read from
    ``next_values[t+k'−1]``, which the canonical convention defines at episode ends too.
    Â_t^(k) = G_t^(k) − V(s_t) on consistent rollouts (claim GAE-KSTEP-TELESCOPE); the
    source's third estimator has γ where γ³ is meant (S6.5, errata E6.4).

    Args:
        rewards, next_values, terminated, truncated: shape [T] or [T, N].
        gamma: discount in [0, 1]; k ≥ 1.
    Returns:
        G^(k), same shape as rewards.
    """
    r = as_float_array(rewards, "rewards")
    if r.ndim not in (1, 2):
        raise ValueError(f"rewards: expected shape [T] or [T, N], got {r.shape}")
    nv = as_float_array(next_values, "next_values")
    term = as_mask(terminated, "terminated")
    trunc = as_mask(truncated, "truncated")
    check_same_shape(rewards=r, next_values=nv, terminated=term, truncated=trunc)
    g = check_unit_interval(gamma, "gamma")
    kk = _check_k(k)
    return _per_column(lambda a, b, c, e: _k_step_ret_1d(a, b, c, e, g, kk), r, nv, term, term | trunc)


# ------------------------------------------------------------------------------ GAE, four forms


def _gae_literal_1d(delta: FloatArray, done: BoolArray, g: float, lm: float) -> FloatArray:
    d = delta.tolist()
    n = _lengths_1d(done)
    out = np.zeros(len(d))
    for t in range(len(d)):
        # the k-step estimators Â^(1..n_t), each extended by one more discounted residual
        a_k: list[float] = []
        acc = 0.0
        for l in range(n[t]):
            acc += g**l * d[t + l]
            a_k.append(acc)
        last = n[t]
        mix = 0.0
        for k in range(1, last):
            mix += (1.0 - lm) * lm ** (k - 1) * a_k[k - 1]
        mix += lm ** (last - 1) * a_k[last - 1]  # the tail: every Â^(k), k ≥ n_t, equals Â^(n_t)
        out[t] = mix
    return out


def gae_literal(
    rewards: Any,
    values: Any,
    next_values: Any,
    terminated: Any,
    truncated: Any,
    gamma: float,
    lam: float,
) -> FloatArray:
    """GAE as the literal (1−λ)-weighted mix of k-step estimators; SPEC.md eq. (6.7).

    Â_t = (1−λ) Σ_{k=1}^{n_t−1} λ^{k−1} Â_t^(k) + λ^{n_t−1} Â_t^(n_t).

    The source's infinite mix (1−λ) Σ_{k≥1} λ^{k−1} Â^(k) (S6.9) on a finite episode: every
    Â^(k) with k ≥ n_t equals Â^(n_t), and their weights (1−λ) Σ_{k≥n_t} λ^{k−1} sum to the
    tail λ^{n_t−1} (errata E6.6).  With 0⁰ = 1, λ = 0 gives δ_t and λ = 1 gives Â^(n_t).
    O(T · n) time: a definition, not a fast path.

    Args:
        rewards, values, next_values, terminated, truncated: shape [T] or [T, N].
        gamma, lam: in [0, 1].
    Returns:
        Â, same shape as rewards.
    """
    r, v, nv, term, trunc = _rollout(rewards, values, next_values, terminated, truncated)
    g = check_unit_interval(gamma, "gamma")
    lm = check_unit_interval(lam, "lam")
    delta = _delta(r, v, nv, term, g)
    return _per_column(lambda d, e: _gae_literal_1d(d, e, g, lm), delta, term | trunc)


def _gae_sum_1d(delta: FloatArray, done: BoolArray, c: float) -> FloatArray:
    return _episode_sum_1d(delta, done, c)


def gae_sum(
    rewards: Any,
    values: Any,
    next_values: Any,
    terminated: Any,
    truncated: Any,
    gamma: float,
    lam: float,
) -> FloatArray:
    """GAE as the explicit sum Â_t = Σ_{l=0}^{n_t−1} (γλ)^l δ_{t+l}; SPEC.md eq. (6.8).

    The source writes δ_{t+1} (S6.9, errata E6.5); the sum stops at the end of s_t's episode.

    Args:
        rewards, values, next_values, terminated, truncated: shape [T] or [T, N].
        gamma, lam: in [0, 1] ((γλ)⁰ = 1).
    Returns:
        Â, same shape as rewards.
    """
    r, v, nv, term, trunc = _rollout(rewards, values, next_values, terminated, truncated)
    g = check_unit_interval(gamma, "gamma")
    lm = check_unit_interval(lam, "lam")
    delta = _delta(r, v, nv, term, g)
    return _per_column(lambda d, e: _gae_sum_1d(d, e, g * lm), delta, term | trunc)


def gae(
    rewards: Any,
    values: Any,
    next_values: Any,
    terminated: Any,
    truncated: Any,
    gamma: float,
    lam: float,
) -> FloatArray:
    """GAE(γ, λ) by the backward recursion; SPEC.md eq. (6.9).

    Â_t = δ_t + γλ (1 − done_t) Â_{t+1},  Â_T = 0,  done_t = terminated_t or truncated_t,
    which equals Σ_{l≥0} (γλ)^l δ_{t+l} summed up to the end of s_t's episode.

    Args:
        rewards, values, next_values, terminated, truncated: shape [T] or [T, N] (time on axis 0).
        gamma, lam: in [0, 1].
    Returns:
        Â, same shape as rewards.
    """
    r, v, nv, term, trunc = _rollout(rewards, values, next_values, terminated, truncated)
    g = check_unit_interval(gamma, "gamma")
    lm = check_unit_interval(lam, "lam")
    delta = _delta(r, v, nv, term, g)
    cont = g * lm * ~(term | trunc)
    if delta.ndim == 1:
        # the same float64 operations on Python floats: a plain loop without numpy-scalar overhead
        d, c = delta.tolist(), cont.tolist()
        res = [0.0] * len(d)
        acc = 0.0
        for t in range(len(d) - 1, -1, -1):
            acc = d[t] + c[t] * acc
            res[t] = acc
        return np.asarray(res, dtype=np.float64)
    out = np.zeros_like(delta)
    acc2 = np.zeros(delta.shape[1:])
    for t in range(delta.shape[0] - 1, -1, -1):
        acc2 = delta[t] + cont[t] * acc2
        out[t] = acc2
    return out


# --- the fast form: a blocked backward scan ---------------------------------------------------
#
# x_t = d_t + c_t x_{t+1}, x_T = 0, for all M columns of [T, M] arrays.  Time is cut into K
# blocks of B steps; all K·M block-local recursions run side by side as one vectorized loop
# over the B positions (rows of a [B, K·M] array), together with the products
# P_t = Π_{i=t}^{end of block} c_i.  Then x_t = local_t + P_t · x_{start of the next block},
# and the K block-start values solve the same recurrence one level up (recursively).  Nothing
# is subtracted: P_t is exactly 0 behind an episode end, so there is no cancellation, and the
# error stays at the level of the recursion's own rounding.

_DIRECT_MAX_T = 48
#: elements per tile of the tiled transposes (a tile stays in the L2 cache)
_TILE_ELEMENTS = 1 << 15


def _tile(b: int, n_c: int) -> int:
    """Blocks per tile."""
    return max(1, _TILE_ELEMENTS // (b * n_c))


def _direct_scan(d: FloatArray, c: FloatArray) -> FloatArray:
    out = d.copy()
    tmp = np.empty(out.shape[1:])
    for t in range(out.shape[0] - 2, -1, -1):
        np.multiply(out[t + 1], c[t], out=tmp)
        np.add(out[t], tmp, out=out[t])
    return out


def _block_length(n_t: int, n_cols: int) -> int:
    """B ≈ 0.2·√(T/M) (at least 16): short blocks keep the B-step loop's per-call overhead low
    while each vectorized step stays wide; odd, because power-of-two strides thrash the cache in
    the transposes.  Measured on the 2-core machine of SPEC.md §6 (``bench gae``)."""
    b = max(16, int(0.2 * math.sqrt(n_t / max(1, n_cols))))
    return min(b, n_t // 2) | 1


def _seg_t(x: np.ndarray, i0: int, i1: int, b: int) -> np.ndarray:
    """The blocks i0..i1−1 of x ([T, M]) as a [B, (i1−i0)·M]-shaped view/array: element
    (j, (i − i0)·M + m) is x[i·B + j, m].  2-D for M = 1 (numpy's 3-D transposed copies with a
    trailing axis of length 1 are several times slower)."""
    seg = x[i0 * b : i1 * b]
    n_c = x.shape[1]
    if n_c == 1:
        return seg.reshape(i1 - i0, b).T
    out: np.ndarray = seg.reshape(i1 - i0, b, n_c).transpose(1, 0, 2).reshape(b, (i1 - i0) * n_c)
    return out


def _to_blocks(x: np.ndarray, b: int, k: int, fill: Any) -> np.ndarray:
    """[T, M] -> [B, K·M] with element (j, i·M + m) = x[i·B + j, m]; the tail is padded with fill."""
    n_t, n_c = x.shape
    full = n_t // b
    out = np.empty((b, k * n_c), dtype=x.dtype)
    step = _tile(b, n_c)
    for i0 in range(0, full, step):
        i1 = min(i0 + step, full)
        out[:, i0 * n_c : i1 * n_c] = _seg_t(x, i0, i1, b)
    if full < k:
        rest = n_t - full * b
        out[:rest, full * n_c :] = x[full * b :]
        out[rest:, full * n_c :] = fill
    return out


def _scan(d: FloatArray, c: FloatArray) -> FloatArray:
    """Solve x_t = d_t + c_t x_{t+1}, x_T = 0, backwards in time for [T, M] arrays."""
    n_t, n_c = d.shape
    if n_t <= _DIRECT_MAX_T:
        return _direct_scan(d, c)
    b = _block_length(n_t, n_c)
    k = -(-n_t // b)
    return _scan_blocks(_to_blocks(d, b, k, 0.0), _to_blocks(c, b, k, 0.0), n_t, n_c)


def _scan_blocks(dd: FloatArray, cc: FloatArray, n_t: int, n_c: int) -> FloatArray:
    """The blocked scan on [B, K·M] arrays (element (j, i·M + m) is time i·B + j); returns [T, M].

    Overwrites its inputs.
    """
    b, width = dd.shape
    k = width // n_c
    # block-local recursions side by side; cc[j] becomes P_j = Π_{i≥j} c_i within the block
    tmp = np.empty(width)
    for j in range(b - 2, -1, -1):
        np.multiply(dd[j + 1], cc[j], out=tmp)
        np.add(dd[j], tmp, out=dd[j])
        np.multiply(cc[j], cc[j + 1], out=cc[j])
    # the true value at each block start, then x_t = local_t + P_t · x_(start of next block)
    starts = _scan(dd[0].reshape(k, n_c), cc[0].reshape(k, n_c))
    nxt = np.zeros((k, n_c))
    nxt[:-1] = starts[1:]
    carry = nxt.reshape(width)
    out = np.empty((n_t, n_c))
    full = n_t // b
    step = _tile(b, n_c)
    for i0 in range(0, full, step):
        i1 = min(i0 + step, full)
        cols = slice(i0 * n_c, i1 * n_c)
        tile = cc[:, cols] * carry[cols]
        tile += dd[:, cols]
        if n_c == 1:
            out[i0 * b : i1 * b, 0].reshape(i1 - i0, b).T[...] = tile
        else:
            out[i0 * b : i1 * b].reshape(i1 - i0, b, n_c).transpose(1, 0, 2)[...] = tile.reshape(b, i1 - i0, n_c)
    if full < k:
        rest = n_t - full * b
        cols = slice(full * n_c, width)
        out[full * b :] = cc[:rest, cols] * carry[cols] + dd[:rest, cols]
    return out


def _delta_into(
    out: FloatArray, r: FloatArray, v: FloatArray, nv: FloatArray, term: BoolArray | None, g: float
) -> FloatArray:
    """δ = r + γ(1 − term)·nv − v into ``out``, bitwise as :func:`td_residuals` computes it
    (the terminal steps are patched afterwards when ``term`` is None)."""
    np.multiply(nv, g, out=out)
    out += r
    out -= v
    if term is not None and term.any():
        idx = np.nonzero(term)
        out[idx] = r[idx] - v[idx]
    return out


def _gae_blocked(
    r: FloatArray, v: FloatArray, nv: FloatArray, term: BoolArray, done: BoolArray, g: float, coef: float
) -> FloatArray:
    """GAE of [T, M] rollouts: δ and the coefficients γλ(1 − done) are computed tile by tile
    (cache-resident) straight into the blocked layout of :func:`_scan_blocks`."""
    n_t, n_c = r.shape
    if n_t <= _DIRECT_MAX_T:
        return _direct_scan(_delta_into(np.empty(r.shape), r, v, nv, term, g), np.where(done, 0.0, coef))
    b = _block_length(n_t, n_c)
    k = -(-n_t // b)
    dd = np.empty((b, k * n_c))
    cc = np.empty((b, k * n_c))
    full = n_t // b
    step = _tile(b, n_c)
    buf = np.empty((min(step, full) * b, n_c))
    live = ~done
    for i0 in range(0, full, step):
        i1 = min(i0 + step, full)
        seg = slice(i0 * b, i1 * b)
        d = _delta_into(buf[: (i1 - i0) * b], r[seg], v[seg], nv[seg], None, g)
        cols = slice(i0 * n_c, i1 * n_c)
        dd[:, cols] = _seg_t(d, 0, i1 - i0, b)
        np.multiply(_seg_t(live, i0, i1, b), coef, out=cc[:, cols])
    if full < k:
        rest = n_t - full * b
        seg = slice(full * b, n_t)
        cols = slice(full * n_c, k * n_c)
        dd[:rest, cols] = _delta_into(np.empty((rest, n_c)), r[seg], v[seg], nv[seg], term[seg], g)
        cc[:rest, cols] = np.where(done[seg], 0.0, coef)
        dd[rest:, cols] = 0.0
        cc[rest:, cols] = 0.0
    # terminal steps: no bootstrap (sparse patch; step t of column m sits at (t mod B, (t div B)·M + m))
    flat = np.flatnonzero(term)
    t_idx, m_idx = np.divmod(flat, n_c)
    dd[t_idx % b, (t_idx // b) * n_c + m_idx] = r.reshape(-1)[flat] - v.reshape(-1)[flat]
    return _scan_blocks(dd, cc, n_t, n_c)


def gae_fast(
    rewards: Any,
    values: Any,
    next_values: Any,
    terminated: Any,
    truncated: Any,
    gamma: float,
    lam: float,
) -> FloatArray:
    """GAE(γ, λ) by a blocked, vectorized backward scan (numpy only); SPEC.md eq. (6.10).

    The same recursion as :func:`gae`, Â_t = δ_t + γλ(1 − done_t) Â_{t+1}, evaluated in
    blocks of B ≈ √T steps that run side by side, then joined by the products of the
    coefficients across each block (no subtraction, so no cancellation even at γλ = 1).
    Agrees with :func:`gae` to ~1e-15 relative (claim GAE-FORMS-AGREE; benchmark:
    ``python -m verification bench gae``).

    Args:
        rewards, values, next_values, terminated, truncated: shape [T] or [T, N] (time on axis 0).
        gamma, lam: in [0, 1].
    Returns:
        Â, same shape as rewards.
    """
    r, v, nv, term, trunc = _rollout(rewards, values, next_values, terminated, truncated)
    g = check_unit_interval(gamma, "gamma")
    lm = check_unit_interval(lam, "lam")
    if r.size == 0:
        return np.zeros(r.shape)
    done = term | trunc
    if r.ndim == 1:
        return _gae_blocked(r[:, None], v[:, None], nv[:, None], term[:, None], done[:, None], g, g * lm)[:, 0]
    return _gae_blocked(r, v, nv, term, done, g, g * lm)


def lambda_returns(
    rewards: Any,
    values: Any,
    next_values: Any,
    terminated: Any,
    truncated: Any,
    gamma: float,
    lam: float,
) -> FloatArray:
    """λ-returns G_t^λ = Â_t^GAE + V(s_t), the TD(λ) value targets; SPEC.md eq. (6.11).

    On consistent rollouts this is the (1−λ)-weighted mix of the k-step returns of eq. (6.5)
    with the finite-horizon tail (claim GAE-LAMBDA-RETURN); at λ = 1 it is the discounted
    return to the episode end, bootstrapped at a truncation.

    Args:
        rewards, values, next_values, terminated, truncated: shape [T] or [T, N].
        gamma, lam: in [0, 1].
    Returns:
        G^λ, same shape as rewards.
    """
    adv = gae_fast(rewards, values, next_values, terminated, truncated, gamma, lam)
    out: FloatArray = adv + np.asarray(values, dtype=np.float64)
    return out
