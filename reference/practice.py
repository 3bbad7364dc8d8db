"""The formulas RLHF libraries ship beyond the source (SPEC.md §17, extensions ``X-PR-*``).

Twelve small pure functions, numpy float64, in the canonical signatures of SPEC §17 (names and
order of the positional parameters are part of the contract: users and tests call them
positionally).  Where correct libraries disagree, the disagreement is a *named convention*: a
keyword-only parameter after the canonical ones, whose default is the canonical choice and whose
alternatives are documented (SPEC §17.2).  The torch twins, same names, live in
:mod:`reference.practice_torch`.

Token batches are ``[B, T]`` with a response ``mask`` (bool or {0, 1}); padding may be left,
right or in the middle (holes).  Values at positions outside the mask are never read: whatever
lies there (any finite number) does not change a result.  Where a position's output is free
(outside the mask), these functions return 0 there.

Aggregation modes (``agg`` / ``mode``), with m the mask and ℓ the per-token loss:

- ``"token_mean"``: Σ m·ℓ / Σ m over the whole batch (0 for an all-empty mask);
- ``"seq_mean_token_mean"``: mean over rows with a token of Σ_t m·ℓ / Σ_t m;
- ``"seq_mean_token_sum"``: mean over rows with a token of Σ_t m·ℓ;
- ``"seq_mean_token_sum_norm"``: Σ m·ℓ / (B · norm_length), Dr. GRPO's constant normaliser
  (``norm_length`` defaults to T); ``norm_batch=False`` is verl's variant without the 1/B.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ._validate import (
    BoolArray,
    FloatArray,
    as_float_array,
    as_index_array,
    as_mask,
    as_scalar,
    check_nonnegative,
    check_positive,
    check_same_shape,
    check_unit_interval,
)

__all__ = [
    "AGG_MODES",
    "GROUP_SCALES",
    "KL_KINDS",
    "PREFERENCE_KINDS",
    "adaptive_kl_update",
    "aggregate_loss",
    "group_advantages",
    "kl_penalty",
    "masked_gae",
    "masked_whiten",
    "policy_loss",
    "preference_loss",
    "rloo_advantages",
    "token_entropy",
    "token_logprobs",
    "value_loss",
]

#: The four aggregation modes of SPEC §17.1 (eq. 17.1).
AGG_MODES = ("token_mean", "seq_mean_token_mean", "seq_mean_token_sum", "seq_mean_token_sum_norm")
#: KL estimators of eq. (17.4), r = logp − ref_logp.
KL_KINDS = ("k1", "k2", "k3", "abs")
#: Scalings of group-normalised advantages, eq. (17.8).
GROUP_SCALES = ("group", "batch", "none")
#: Preference losses of eq. (17.11).
PREFERENCE_KINDS = ("sigmoid", "robust", "ipo", "hinge")


# ------------------------------------------------------------------------------------ validation


def _choice(x: Any, name: str, options: tuple[str, ...]) -> str:
    if not isinstance(x, str):
        raise TypeError(f"{name}: expected one of {options}, got {type(x).__name__}")
    if x not in options:
        raise ValueError(f"{name}: must be one of {options}, got {x!r}")
    return x


def _flag(x: Any, name: str) -> bool:
    if not isinstance(x, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a bool, got {type(x).__name__}")
    return bool(x)


def _int(x: Any, name: str, lo: int) -> int:
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{name}: expected an integer, got {type(x).__name__}")
    v = int(x)
    if v < lo:
        raise ValueError(f"{name}: must be >= {lo}, got {v}")
    return v


def _batch(x: Any, name: str, mask: Any) -> tuple[FloatArray, BoolArray]:
    """A ``[B, T]`` float batch and its mask (same shape, B, T >= 1)."""
    a = as_float_array(x, name, ndim=2)
    m = as_mask(mask, "mask", ndim=2)
    if m.shape != a.shape:
        raise ValueError(f"shape mismatch: mask{m.shape} must match {name}{a.shape} ([B, T])")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty [B, T] batch, got shape {a.shape}")
    return a, m


def _norm_length(norm_length: Any, t: int) -> float:
    if norm_length is None:
        return float(t)
    return check_positive(norm_length, "norm_length")


def _logits(x: Any, name: str = "logits") -> FloatArray:
    """``[B, T, V]`` logits; −inf allowed (a token of probability 0), +inf and NaN not."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name}: expected an array of numbers, got {type(x).__name__}")
    try:
        z = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected an array of numbers ({exc})") from None
    if z.ndim != 3:
        raise ValueError(f"{name}: expected 3-D array [B, T, V], got shape {z.shape}")
    if z.shape[2] == 0:
        raise ValueError(f"{name}: need at least one token in the vocabulary (V >= 1)")
    if np.any(np.isnan(z)) or np.any(z == np.inf):
        raise ValueError(f"{name}: values must be finite or -inf (found NaN or +inf)")
    if z.size and not np.all(np.isfinite(z).any(axis=-1)):
        raise ValueError(f"{name}: every distribution needs at least one finite logit")
    return z


def _log_softmax(z: FloatArray) -> FloatArray:
    mx = z.max(axis=-1, keepdims=True)
    shifted = z - mx
    out: FloatArray = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return out


def _aggregate(lm: FloatArray, m: BoolArray, mode: str, norm_length: float, norm_batch: bool) -> float:
    """Eq. (17.1) on a loss already zeroed outside the mask."""
    b = lm.shape[0]
    counts = m.sum(axis=1)
    rows = counts > 0
    if mode == "token_mean":
        n = int(counts.sum())
        return float(lm.sum() / n) if n else 0.0
    if mode == "seq_mean_token_sum_norm":
        return float(lm.sum() / ((b if norm_batch else 1) * norm_length))
    if not rows.any():
        return 0.0
    per_row = lm.sum(axis=1)
    if mode == "seq_mean_token_mean":
        per_row = per_row[rows] / counts[rows]
    else:
        per_row = per_row[rows]
    return float(per_row.mean())


# ----------------------------------------------------------------------------------- aggregation


def aggregate_loss(
    loss: Any, mask: Any, mode: str = "token_mean", norm_length: float | None = None, *, norm_batch: bool = True
) -> float:
    """Reduce a per-token loss ``[B, T]`` to a scalar; SPEC.md eq. (17.1).

    Args:
        loss: [B, T] per-token loss ℓ_{b,t}; entries outside the mask are not read.
        mask: [B, T], true on response tokens; rows without a token are allowed.
        mode: one of :data:`AGG_MODES` (module docstring).
        norm_length: the constant length L of ``"seq_mean_token_sum_norm"``; default T.
        norm_batch: convention of ``"seq_mean_token_sum_norm"``: divide by B (Dr. GRPO, TRL,
            the default) or not (``False``: verl's ``seq-mean-token-sum-norm``).
    Returns:
        The scalar loss; 0 where no token at all is in the mask (nothing to average).
    """
    lv, m = _batch(loss, "loss", mask)
    md = _choice(mode, "mode", AGG_MODES)
    nl = _norm_length(norm_length, lv.shape[1])
    nb = _flag(norm_batch, "norm_batch")
    return _aggregate(np.where(m, lv, 0.0), m, md, nl, nb)


# ------------------------------------------------------------------------------------ PPO losses


def policy_loss(
    logp_new: Any,
    logp_old: Any,
    advantages: Any,
    mask: Any,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    dual_clip: float | None = None,
    agg: str = "token_mean",
    *,
    norm_length: float | None = None,
    norm_batch: bool = True,
) -> float:
    """The clipped PPO policy loss (to minimize) over a token batch; SPEC.md eq. (17.2).

    ρ = exp(logp_new − logp_old), o = min(ρA, clip(ρ, 1 − clip_low, 1 + clip_high)·A); with
    ``dual_clip`` = c > 1 and A < 0, o = max(o, c·A) (Ye et al. 2020).  Loss = −agg(o).
    Its gradient is taken w.r.t. ``logp_new`` only (``logp_old`` and ``advantages`` are data).

    Args:
        logp_new, logp_old, advantages, mask: [B, T]; outside the mask nothing is read.
        clip_low, clip_high: ε_low in [0, 1), ε_high >= 0 (asymmetric "clip-higher" allowed).
        dual_clip: None, or c > 1.
        agg: aggregation mode of eq. (17.1); ``norm_length``, ``norm_batch`` as there.
    """
    lp, m = _batch(logp_new, "logp_new", mask)
    lo = as_float_array(logp_old, "logp_old", ndim=2)
    adv = as_float_array(advantages, "advantages", ndim=2)
    check_same_shape(logp_new=lp, logp_old=lo, advantages=adv, mask=m)
    el = check_nonnegative(clip_low, "clip_low")
    if not el < 1.0:
        raise ValueError(f"clip_low: must be < 1 so that 1 - clip_low > 0, got {el}")
    eh = check_nonnegative(clip_high, "clip_high")
    c = None if dual_clip is None else as_scalar(dual_clip, "dual_clip")
    if c is not None and not c > 1.0:
        raise ValueError(f"dual_clip: must be > 1 (or None), got {c}")
    md = _choice(agg, "agg", AGG_MODES)
    nl = _norm_length(norm_length, lp.shape[1])
    nb = _flag(norm_batch, "norm_batch")
    a = np.where(m, adv, 0.0)
    ratio = np.exp(np.where(m, lp - lo, 0.0))
    o = np.minimum(ratio * a, np.clip(ratio, 1.0 - el, 1.0 + eh) * a)
    if c is not None:
        o = np.where(a < 0, np.maximum(o, c * a), o)
    return -_aggregate(np.where(m, o, 0.0), m, md, nl, nb)


def value_loss(
    values: Any,
    old_values: Any,
    returns: Any,
    mask: Any,
    clip: float | None = None,
    agg: str = "token_mean",
    *,
    norm_length: float | None = None,
    norm_batch: bool = True,
) -> float:
    """The (clipped) value loss over a token batch; SPEC.md eq. (17.3).

    agg(½ max((v − R)², (v_old + clip(v − v_old, −c, c) − R)²)); ``clip=None`` gives
    agg(½ (v − R)²).  Gradient w.r.t. ``values`` only; on the clipped branch it is that of
    ½(v_old + clip(v − v_old) − R)², i.e. 0 where the clip binds.

    Args:
        values: [B, T] V(s_t) of the critic being trained.
        old_values: [B, T] V(s_t) when the batch was collected; returns: [B, T] targets R_t.
        mask: [B, T]; clip: None or c >= 0; agg, norm_length, norm_batch: eq. (17.1).
    """
    v, m = _batch(values, "values", mask)
    vo = as_float_array(old_values, "old_values", ndim=2)
    ret = as_float_array(returns, "returns", ndim=2)
    check_same_shape(values=v, old_values=vo, returns=ret, mask=m)
    c = None if clip is None else check_nonnegative(clip, "clip")
    md = _choice(agg, "agg", AGG_MODES)
    nl = _norm_length(norm_length, v.shape[1])
    nb = _flag(norm_batch, "norm_batch")
    v, vo, ret = (np.where(m, x, 0.0) for x in (v, vo, ret))
    per = (v - ret) ** 2
    if c is not None:
        per = np.maximum(per, (vo + np.clip(v - vo, -c, c) - ret) ** 2)
    return _aggregate(np.where(m, 0.5 * per, 0.0), m, md, nl, nb)


# ---------------------------------------------------------------------------------- KL estimates


def kl_penalty(logp: Any, ref_logp: Any, kind: str = "k1", *, clamp: float | None = None) -> FloatArray:
    """Per-token KL estimators (Schulman 2020) of KL(π‖π_ref); SPEC.md eq. (17.4).

    With r = logp − ref_logp (= log π/π_ref at the sampled token): ``"k1"`` r, ``"k2"`` ½r²,
    ``"k3"`` e^{−r} − 1 + r (to full relative accuracy, also for tiny r), ``"abs"`` |r|.
    E_π[k1] = E_π[k3] = KL(π‖π_ref).

    Args:
        logp, ref_logp: [B, T] (any common shape) log-probabilities of the sampled tokens.
        kind: one of :data:`KL_KINDS`.
        clamp: convention: None (default) or a bound b > 0 applied as clip(k, −b, b) (OpenRLHF
            clamps every estimator to ±10; verl's ``low_var_kl`` clamps k3 to ±10).
    Returns:
        Same shape as ``logp``.
    """
    lp = as_float_array(logp, "logp")
    rl = as_float_array(ref_logp, "ref_logp")
    check_same_shape(logp=lp, ref_logp=rl)
    k = _choice(kind, "kind", KL_KINDS)
    b = None if clamp is None else check_positive(clamp, "clamp")
    r = lp - rl
    if k == "k1":
        out = r
    elif k == "k2":
        out = 0.5 * r * r
    elif k == "abs":
        out = np.abs(r)
    else:
        if r.size and float(r.min()) < -700.0:
            raise ValueError("logp, ref_logp: k3 needs logp - ref_logp >= -700 (e^{-r} overflows float64)")
        out = _k3(r)
    if b is not None:
        out = np.clip(out, -b, b)
    res: FloatArray = np.asarray(out, dtype=np.float64)
    return res


#: 1/k! for k = 2..18: the series of e^u − 1 − u, used for |u| < 1/2.
_K3_SERIES = tuple(1.0 / math.factorial(k) for k in range(2, 19))


def _k3(r: FloatArray) -> FloatArray:
    """e^{−r} − 1 + r to full relative accuracy: its Taylor series for |r| < ½ (where expm1(−r) + r
    cancels: at r = 1e-7 it keeps 9 digits of 16), expm1(−r) + r elsewhere (cancellation <= 4x)."""
    u = -r
    poly = np.zeros_like(u)
    for c in reversed(_K3_SERIES):
        poly = poly * u + c
    out: FloatArray = np.where(np.abs(u) < 0.5, u * u * poly, np.expm1(u) - u)
    return out


# ------------------------------------------------------------------------- log-probs and entropy


def token_logprobs(logits: Any, tokens: Any, temperature: float = 1.0) -> FloatArray:
    """log_softmax(logits / τ)[token] per position; SPEC.md eq. (17.5).  Inputs are not modified.

    Args:
        logits: [B, T, V]; −inf allowed (probability 0), at least one finite entry per [b, t].
        tokens: [B, T] integer ids in [0, V) (padding positions: any valid id).
        temperature: τ > 0, the sampling temperature the tokens were drawn with.
    Returns:
        [B, T]; −inf where the chosen token's logit is −inf.
    """
    z = _logits(logits)
    y = as_index_array(tokens, "tokens", z.shape[2], ndim=2)
    if y.shape != z.shape[:2]:
        raise ValueError(f"shape mismatch: tokens{y.shape} must be logits.shape[:2] = {z.shape[:2]}")
    tau = check_positive(temperature, "temperature")
    lp = _log_softmax(z / tau)
    out: FloatArray = np.take_along_axis(lp, y[..., None], axis=-1)[..., 0]
    return out


def token_entropy(logits: Any, temperature: float = 1.0) -> FloatArray:
    """H = −Σ_v p_v log p_v with p = softmax(logits / τ); SPEC.md eq. (17.6).

    0·log 0 = 0, so a −inf logit contributes nothing (finite, never NaN).  0 <= H <= log V.

    Args:
        logits: [B, T, V] as in :func:`token_logprobs`; temperature: τ > 0.
    Returns:
        [B, T].
    """
    z = _logits(logits)
    tau = check_positive(temperature, "temperature")
    lp = _log_softmax(z / tau)
    p = np.exp(lp)
    plogp = np.where(p > 0.0, p * np.where(np.isfinite(lp), lp, 0.0), 0.0)
    out: FloatArray = np.maximum(-plogp.sum(axis=-1), 0.0)
    return out


# -------------------------------------------------------------------------------- normalisations


def masked_whiten(
    x: Any,
    mask: Any,
    shift_mean: bool = True,
    ddof: int = 1,
    eps: float = 1e-8,
    *,
    eps_placement: str = "var",
) -> FloatArray:
    """Whiten the masked entries of a batch; SPEC.md eq. (17.7).

    μ = mean of x over the mask, σ² = Σ m (x − μ)² / (n − ddof) with n = Σ m;
    out = (x − μ) / sqrt(σ² + eps) (``eps_placement="var"``, TRL/verl) or (x − μ)/(σ + eps)
    (``"std"``); μ is added back when ``shift_mean`` is false.  Outside the mask: 0 (free).
    Where the denominator is 0 (eps = 0, constant entries) the whitened entries are 0.

    Args:
        x: [B, T]; mask: [B, T] with more than ``ddof`` true entries.
        shift_mean: subtract μ (true) or keep it (false, used for advantages in TRL).
        ddof: 0 or 1 (convention; TRL and verl use the unbiased 1).
        eps: >= 0.
    """
    xv, m = _batch(x, "x", mask)
    sm = _flag(shift_mean, "shift_mean")
    dd = _int(ddof, "ddof", 0)
    if dd > 1:
        raise ValueError(f"ddof: must be 0 or 1, got {dd}")
    e = check_nonnegative(eps, "eps")
    place = _choice(eps_placement, "eps_placement", ("var", "std"))
    n = int(m.sum())
    if n <= dd:
        raise ValueError(f"mask: need more than ddof = {dd} masked entries, got {n}")
    vals = xv[m]
    if float(vals.max()) == float(vals.min()):  # exactly constant: μ is that value, σ² = 0
        mu, var = float(vals[0]), 0.0
    else:
        mu = float(vals.mean())
        var = float(((vals - mu) ** 2).sum() / (n - dd))
    denom = np.sqrt(var + e) if place == "var" else np.sqrt(var) + e
    w = (xv - mu) / denom if denom > 0 else np.zeros_like(xv)
    if not sm:
        w = w + mu
    out: FloatArray = np.where(m, w, 0.0)
    return out


def _groups(rewards: Any, group_size: Any) -> tuple[FloatArray, int]:
    r = as_float_array(rewards, "rewards", ndim=1)
    g = _int(group_size, "group_size", 1)
    if r.shape[0] == 0:
        raise ValueError("rewards: need at least one reward (N >= 1)")
    if r.shape[0] % g:
        raise ValueError(f"group_size: must divide the number of rewards N = {r.shape[0]}, got {g}")
    return r, g


def group_advantages(
    rewards: Any,
    group_size: int,
    scale: str = "group",
    eps: float = 1e-6,
    *,
    ddof: int = 1,
    eps_placement: str = "std",
    singleton: str = "zero",
) -> FloatArray:
    """Group-normalised advantages (GRPO, Dr. GRPO); SPEC.md eq. (17.8).

    Groups are consecutive runs of ``group_size`` rows.  A = (r − μ_group) / (σ + eps) with σ
    the group's (``"group"``) or the whole batch's (``"batch"``) std with ``ddof``; A = r − μ_group
    for ``"none"`` (Dr. GRPO).  Where the denominator is 0 (eps = 0, equal rewards) A = 0.

    Args:
        rewards: [N] one scalar reward per response; N a multiple of ``group_size``.
        group_size: G >= 1.
        scale: one of :data:`GROUP_SCALES`; eps: >= 0.
        ddof: convention, 0 or 1 (default 1, torch.std's unbiased estimate as TRL and verl).
        eps_placement: convention, ``"std"`` (σ + eps, default) or ``"var"`` (sqrt(σ² + eps)).
        singleton: convention for G = 1 (the centred reward is 0): ``"zero"`` (default: 0),
            ``"raw"`` (verl: μ = 0, σ = 1, i.e. r/(1 + eps) or r for ``"none"``), ``"error"``
            (a ValueError, as libraries that assert G >= 2).
    Returns:
        [N].
    """
    r, g = _groups(rewards, group_size)
    sc = _choice(scale, "scale", GROUP_SCALES)
    e = check_nonnegative(eps, "eps")
    dd = _int(ddof, "ddof", 0)
    if dd > 1:
        raise ValueError(f"ddof: must be 0 or 1, got {dd}")
    place = _choice(eps_placement, "eps_placement", ("std", "var"))
    single = _choice(singleton, "singleton", ("zero", "raw", "error"))
    grouped = r.reshape(-1, g)
    if g == 1:
        if single == "error":
            raise ValueError("group_size: a singleton group (group_size = 1) has no advantage (singleton='error')")
        if single == "zero":
            return np.zeros_like(r)
        mu = np.zeros_like(grouped)
        sd = np.ones_like(grouped)
    else:
        # an exactly constant group has μ equal to its entries (the float mean may be off by an ulp)
        const = grouped.max(axis=1, keepdims=True) == grouped.min(axis=1, keepdims=True)
        mu = np.where(const, grouped[:, :1], grouped.mean(axis=1, keepdims=True))
        if sc == "group":
            sd = np.where(const, 0.0, grouped.std(axis=1, ddof=dd, keepdims=True))
        else:
            flat = r.shape[0] <= dd or float(r.max()) == float(r.min())
            sd = np.full_like(grouped, 0.0 if flat else float(r.std(ddof=dd)))
    centred = grouped - mu
    if sc == "none":
        return centred.reshape(-1)
    denom = np.broadcast_to(sd + e if place == "std" else np.sqrt(sd * sd + e), centred.shape)
    out = np.zeros_like(centred)
    np.divide(centred, denom, out=out, where=denom > 0)
    res: FloatArray = out.reshape(-1)
    return res


def rloo_advantages(rewards: Any, group_size: int) -> FloatArray:
    """Leave-one-out advantages (RLOO, Ahmadian et al. 2024); SPEC.md eq. (17.9).

    A_i = r_i − (Σ_{j in group(i), j != i} r_j)/(G − 1) = G/(G − 1)·(r_i − μ_group).

    Args:
        rewards: [N] with N a multiple of ``group_size``; group_size: G >= 2.
    Returns:
        [N].
    """
    r, g = _groups(rewards, group_size)
    if g < 2:
        raise ValueError(f"group_size: leave-one-out needs group_size >= 2, got {g}")
    grouped = r.reshape(-1, g)
    others = (grouped.sum(axis=1, keepdims=True) - grouped) / (g - 1)
    out: FloatArray = (grouped - others).reshape(-1)
    return out


# ------------------------------------------------------------------------------------------ GAE


def masked_gae(
    rewards: Any, values: Any, mask: Any, gamma: float = 1.0, lam: float = 0.95, *, holes: str = "skip"
) -> FloatArray:
    """GAE(γ, λ) over each row's response tokens; SPEC.md eq. (17.10).

    Each row's masked positions, in order, are one episode that terminates after the last
    (V = 0 after it).  ``holes="skip"`` (default): positions outside the mask are absent, the
    next value and the running advantage carry across them (as ``reference.masked_gae``, eq.
    12.8).  ``holes="step"`` (OpenRLHF): rewards and values outside the mask are set to 0 and the
    recursion steps through every position, so a hole costs a factor γλ and bootstraps from 0.
    The two agree when the padding is only left and right of the response.

    Args:
        rewards, values: [B, T]; values V(s_t) aligned with the tokens.
        mask: [B, T]; a row without a token gives zeros.
        gamma, lam: in [0, 1].
        holes: ``"skip"`` or ``"step"`` (convention).
    Returns:
        [B, T] advantages; 0 outside the mask (free).
    """
    r, m = _batch(rewards, "rewards", mask)
    v = as_float_array(values, "values", ndim=2)
    check_same_shape(rewards=r, values=v, mask=m)
    g = check_unit_interval(gamma, "gamma")
    lm = check_unit_interval(lam, "lam")
    mode = _choice(holes, "holes", ("skip", "step"))
    r = np.where(m, r, 0.0)
    v = np.where(m, v, 0.0)
    b, t_len = r.shape
    out = np.zeros_like(r)
    carry = np.zeros(b)
    next_v = np.zeros(b)
    for t in range(t_len - 1, -1, -1):
        mt = m[:, t]
        a = r[:, t] + g * next_v - v[:, t] + g * lm * carry
        if mode == "skip":
            carry = np.where(mt, a, carry)
            next_v = np.where(mt, v[:, t], next_v)
        else:
            carry = a
            next_v = v[:, t]
        out[:, t] = np.where(mt, a, 0.0)
    return out


# ----------------------------------------------------------------------------- preference losses


def _log_sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = -np.logaddexp(0.0, -x)
    return out


def preference_loss(
    policy_chosen: Any,
    policy_rejected: Any,
    ref_chosen: Any,
    ref_rejected: Any,
    beta: float = 0.1,
    kind: str = "sigmoid",
    label_smoothing: float = 0.0,
) -> FloatArray:
    """Per-pair preference losses; SPEC.md eq. (17.11).

    h = (π_w − ref_w) − (π_l − ref_l) (sequence log-probabilities), ε = ``label_smoothing``:
    ``"sigmoid"`` −(1−ε) log σ(βh) − ε log σ(−βh) (DPO; cDPO for ε > 0);
    ``"robust"`` (−(1−ε) log σ(βh) + ε log σ(−βh)) / (1 − 2ε) (Chowdhury et al. 2024);
    ``"ipo"`` (h − 1/(2β))² (Azar et al. 2023); ``"hinge"`` max(0, 1 − βh) (SLiC).
    Computed stably: exact to float64 round-off for |βh| <= 1e4.

    Args:
        policy_chosen, policy_rejected, ref_chosen, ref_rejected: [N].
        beta: β > 0.  kind: one of :data:`PREFERENCE_KINDS`.
        label_smoothing: ε in [0, 1] for ``"sigmoid"``, [0, ½) for ``"robust"``, 0 otherwise.
    Returns:
        [N] losses.
    """
    pc = as_float_array(policy_chosen, "policy_chosen", ndim=1)
    pr = as_float_array(policy_rejected, "policy_rejected", ndim=1)
    rc = as_float_array(ref_chosen, "ref_chosen", ndim=1)
    rr = as_float_array(ref_rejected, "ref_rejected", ndim=1)
    check_same_shape(policy_chosen=pc, policy_rejected=pr, ref_chosen=rc, ref_rejected=rr)
    if pc.shape[0] == 0:
        raise ValueError("policy_chosen: empty batch (N = 0)")
    b = check_positive(beta, "beta")
    k = _choice(kind, "kind", PREFERENCE_KINDS)
    eps = check_nonnegative(label_smoothing, "label_smoothing")
    if k == "sigmoid" and eps > 1.0:
        raise ValueError(f"label_smoothing: must lie in [0, 1] for kind 'sigmoid', got {eps}")
    if k == "robust" and not eps < 0.5:
        raise ValueError(f"label_smoothing: must lie in [0, 0.5) for kind 'robust', got {eps}")
    if k in ("ipo", "hinge") and eps != 0.0:
        raise ValueError(f"label_smoothing: kind {k!r} has no label smoothing (must be 0), got {eps}")
    h = (pc - rc) - (pr - rr)
    z = b * h
    if k == "sigmoid":
        out = -(1.0 - eps) * _log_sigmoid(z) - (eps * _log_sigmoid(-z) if eps else 0.0)
    elif k == "robust":
        out = (-(1.0 - eps) * _log_sigmoid(z) + (eps * _log_sigmoid(-z) if eps else 0.0)) / (1.0 - 2.0 * eps)
    elif k == "ipo":
        out = (h - 1.0 / (2.0 * b)) ** 2
    else:
        out = np.maximum(0.0, 1.0 - z)
    res: FloatArray = np.asarray(out, dtype=np.float64)
    return res


# --------------------------------------------------------------------------------- KL controller


def adaptive_kl_update(beta: float, kl: float, target: float, horizon: float, n_steps: float) -> float:
    """Ziegler et al. (2019)'s adaptive KL coefficient; SPEC.md eq. (17.12).

    β ← β(1 + clip(kl/target − 1, −0.2, 0.2)·n_steps/horizon).

    Args:
        beta: current β > 0.  kl: the measured KL (any finite value: a k1 estimate may be < 0).
        target: KL target > 0.  horizon: H > 0.  n_steps: samples since the last update, >= 0.
    Returns:
        The new β, > 0 (a ValueError where n_steps/horizon is so large that it would not be).
    """
    b = check_positive(beta, "beta")
    k = as_scalar(kl, "kl")
    tg = check_positive(target, "target")
    hz = check_positive(horizon, "horizon")
    n = check_nonnegative(n_steps, "n_steps")
    err = min(max(k / tg - 1.0, -0.2), 0.2)
    mult = 1.0 + err * n / hz
    if not mult > 0.0:
        raise ValueError(f"n_steps: n_steps/horizon = {n / hz:.6g} drives beta to {b * mult:.6g} <= 0 (need < 5)")
    return b * mult
