"""Torch twins of :mod:`reference.practice` (SPEC.md §17): same names, same signatures.

Each function here is the same mathematics as the numpy function of the same name in
:mod:`reference.practice` (the claims ``PR-TORCH-*`` check them against each other in float64),
written with torch so that it runs in any floating dtype, on any device and under autograd.  The
names are the module's own (``reference.practice_torch.policy_loss``), not ``*_torch``: import the
module, ``from reference import practice_torch as pt``.  ``import reference`` does not import
this module (nor torch).

Gradients are part of the contract: entries outside the mask are *selected out* with
``torch.where`` (never multiplied by 0), so in-domain garbage at padding gets an exact zero
gradient, and no NaN can leak from an unselected branch.  Scalar outputs are 0-D tensors.
Conventions are the keyword-only parameters of the numpy functions, with the same defaults.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ._validate import check_nonnegative, check_positive, check_unit_interval
from .practice import _K3_SERIES, AGG_MODES, GROUP_SCALES, KL_KINDS, PREFERENCE_KINDS
from .rlhf_torch import _INT_DTYPES, _float, _mask, _same_shape

__all__ = [
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


# ------------------------------------------------------------------------------------ validation


def _choice(x: object, name: str, options: tuple[str, ...]) -> str:
    if not isinstance(x, str):
        raise TypeError(f"{name}: expected one of {options}, got {type(x).__name__}")
    if x not in options:
        raise ValueError(f"{name}: must be one of {options}, got {x!r}")
    return x


def _real(x: object, name: str) -> float:
    if isinstance(x, Tensor) and x.dim() == 0 and (x.is_floating_point() or x.dtype in _INT_DTYPES):
        x = float(x.detach())
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{name}: expected a real number, got {type(x).__name__}")
    v = float(x)
    if not math.isfinite(v):
        raise ValueError(f"{name}: must be finite, got {v}")
    return v


def _nonneg(x: object, name: str) -> float:
    return check_nonnegative(_real(x, name), name)


def _pos(x: object, name: str) -> float:
    return check_positive(_real(x, name), name)


def _unit(x: object, name: str) -> float:
    return check_unit_interval(_real(x, name), name)


def _int(x: object, name: str, lo: int) -> int:
    if isinstance(x, bool) or not isinstance(x, int):
        raise TypeError(f"{name}: expected an integer, got {type(x).__name__}")
    if x < lo:
        raise ValueError(f"{name}: must be >= {lo}, got {x}")
    return x


def _flag(x: object, name: str) -> bool:
    if not isinstance(x, bool):
        raise TypeError(f"{name}: expected a bool, got {type(x).__name__}")
    return x


def _batch(x: object, name: str, mask: object) -> tuple[Tensor, Tensor]:
    a = _float(x, name, ndim=2)
    m = _mask(mask, "mask", ndim=2)
    if tuple(m.shape) != tuple(a.shape):
        raise ValueError(f"shape mismatch: mask{tuple(m.shape)} must match {name}{tuple(a.shape)} ([B, T])")
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{name}: expected a non-empty [B, T] batch, got shape {tuple(a.shape)}")
    return a, m.to(a.device)


def _norm_length(norm_length: object, t: int) -> float:
    return float(t) if norm_length is None else _pos(norm_length, "norm_length")


def _zero(like: Tensor) -> Tensor:
    return torch.zeros((), dtype=like.dtype, device=like.device)


def _logits(x: object) -> Tensor:
    z = _float(x, "logits", ndim=3, finite=False)
    if z.shape[2] == 0:
        raise ValueError("logits: need at least one token in the vocabulary (V >= 1)")
    zd = z.detach()
    if bool(torch.isnan(zd).any()) or bool((zd == math.inf).any()):
        raise ValueError("logits: values must be finite or -inf (found NaN or +inf)")
    if zd.numel() and not bool(torch.isfinite(zd).any(dim=-1).all()):
        raise ValueError("logits: every distribution needs at least one finite logit")
    return z


def _aggregate(lm: Tensor, m: Tensor, mode: str, norm_length: float, norm_batch: bool) -> Tensor:
    """Eq. (17.1) on a loss already zeroed outside the mask (``torch.where``)."""
    b = lm.shape[0]
    counts = m.sum(dim=1)
    rows = counts > 0
    if mode == "token_mean":
        n = int(counts.sum())
        return lm.sum() / n if n else lm.sum() * 0.0
    if mode == "seq_mean_token_sum_norm":
        return lm.sum() / ((b if norm_batch else 1) * norm_length)
    n_rows = int(rows.sum())
    if n_rows == 0:
        return lm.sum() * 0.0
    per_row = lm.sum(dim=1)
    if mode == "seq_mean_token_mean":
        per_row = per_row / counts.clamp(min=1).to(lm.dtype)
    return torch.where(rows, per_row, _zero(lm)).sum() / n_rows


# ----------------------------------------------------------------------------------- aggregation


def aggregate_loss(
    loss: Tensor, mask: Tensor, mode: str = "token_mean", norm_length: float | None = None, *, norm_batch: bool = True
) -> Tensor:
    """Torch twin of :func:`reference.practice.aggregate_loss` (eq. 17.1); 0-D tensor."""
    lv, m = _batch(loss, "loss", mask)
    md = _choice(mode, "mode", AGG_MODES)
    nl = _norm_length(norm_length, lv.shape[1])
    nb = _flag(norm_batch, "norm_batch")
    return _aggregate(torch.where(m, lv, _zero(lv)), m, md, nl, nb)


# ------------------------------------------------------------------------------------ PPO losses


def policy_loss(
    logp_new: Tensor,
    logp_old: Tensor,
    advantages: Tensor,
    mask: Tensor,
    clip_low: float = 0.2,
    clip_high: float = 0.2,
    dual_clip: float | None = None,
    agg: str = "token_mean",
    *,
    norm_length: float | None = None,
    norm_batch: bool = True,
) -> Tensor:
    """Torch twin of :func:`reference.practice.policy_loss` (eq. 17.2); differentiable in ``logp_new``.

    ``logp_old`` and ``advantages`` are data: they are detached here, so a caller who forgot to
    detach them still gets the intended gradient (w.r.t. ``logp_new`` only).
    """
    lp, m = _batch(logp_new, "logp_new", mask)
    lo = _float(logp_old, "logp_old", ndim=2).detach()
    adv = _float(advantages, "advantages", ndim=2).detach()
    _same_shape(logp_new=lp, logp_old=lo, advantages=adv, mask=m)
    el = _nonneg(clip_low, "clip_low")
    if not el < 1.0:
        raise ValueError(f"clip_low: must be < 1 so that 1 - clip_low > 0, got {el}")
    eh = _nonneg(clip_high, "clip_high")
    c = None if dual_clip is None else _real(dual_clip, "dual_clip")
    if c is not None and not c > 1.0:
        raise ValueError(f"dual_clip: must be > 1 (or None), got {c}")
    md = _choice(agg, "agg", AGG_MODES)
    nl = _norm_length(norm_length, lp.shape[1])
    nb = _flag(norm_batch, "norm_batch")
    zero = _zero(lp)
    a = torch.where(m, adv, zero)
    ratio = torch.exp(torch.where(m, lp - lo, zero))
    o = torch.minimum(ratio * a, torch.clamp(ratio, 1.0 - el, 1.0 + eh) * a)
    o = torch.where(a == 0, zero, o)  # A = 0 contributes exactly 0, also where ρ overflows (never 0·inf = NaN)
    if c is not None:
        o = torch.where(a < 0, torch.maximum(o, c * a), o)
    return -_aggregate(torch.where(m, o, zero), m, md, nl, nb)


def value_loss(
    values: Tensor,
    old_values: Tensor,
    returns: Tensor,
    mask: Tensor,
    clip: float | None = None,
    agg: str = "token_mean",
    *,
    norm_length: float | None = None,
    norm_batch: bool = True,
) -> Tensor:
    """Torch twin of :func:`reference.practice.value_loss` (eq. 17.3); differentiable in ``values``.

    On the clipped branch the gradient flows through v_old + clamp(v − v_old, −c, c): 1 inside
    the band, 0 where the clip binds (the intended gradient, SPEC §17.3).
    """
    v, m = _batch(values, "values", mask)
    vo = _float(old_values, "old_values", ndim=2).detach()
    ret = _float(returns, "returns", ndim=2).detach()
    _same_shape(values=v, old_values=vo, returns=ret, mask=m)
    c = None if clip is None else _nonneg(clip, "clip")
    md = _choice(agg, "agg", AGG_MODES)
    nl = _norm_length(norm_length, v.shape[1])
    nb = _flag(norm_batch, "norm_batch")
    zero = _zero(v)
    v, vo, ret = (torch.where(m, x, zero) for x in (v, vo, ret))
    per = (v - ret) ** 2
    if c is not None:
        per = torch.maximum(per, (vo + torch.clamp(v - vo, -c, c) - ret) ** 2)
    return _aggregate(torch.where(m, 0.5 * per, zero), m, md, nl, nb)


# ---------------------------------------------------------------------------------- KL estimates


def kl_penalty(logp: Tensor, ref_logp: Tensor, kind: str = "k1", *, clamp: float | None = None) -> Tensor:
    """Torch twin of :func:`reference.practice.kl_penalty` (eq. 17.4); differentiable in ``logp``.

    ``ref_logp`` is not detached here: the gradient w.r.t. it is the derivative of the value.
    """
    lp = _float(logp, "logp")
    rl = _float(ref_logp, "ref_logp")
    _same_shape(logp=lp, ref_logp=rl)
    k = _choice(kind, "kind", KL_KINDS)
    b = None if clamp is None else _pos(clamp, "clamp")
    r = lp - rl
    if k == "k1":
        out = r
    elif k == "k2":
        out = 0.5 * r * r
    elif k == "abs":
        out = r.abs()
    else:
        if r.numel() and float(r.detach().min()) < -700.0:
            raise ValueError("logp, ref_logp: k3 needs logp - ref_logp >= -700 (e^{-r} overflows float64)")
        u = -r
        poly = torch.zeros_like(u)
        for c in reversed(_K3_SERIES):
            poly = poly * u + c
        small = u.abs() < 0.5
        out = torch.where(small, u * u * poly, torch.expm1(u) - u)
    if b is not None:
        out = torch.clamp(out, -b, b)
    return out


# ------------------------------------------------------------------------- log-probs and entropy


def _tokens(tokens: object, logits: Tensor) -> Tensor:
    if not isinstance(tokens, Tensor):
        raise TypeError(f"tokens: expected a torch.Tensor, got {type(tokens).__name__}")
    if tokens.dtype not in _INT_DTYPES:
        raise TypeError(f"tokens: expected integer token ids, got dtype {tokens.dtype}")
    if tuple(tokens.shape) != tuple(logits.shape[:2]):
        raise ValueError(f"shape mismatch: tokens{tuple(tokens.shape)} must be logits.shape[:2] = {tuple(logits.shape[:2])}")
    v = logits.shape[2]
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= v):
        raise ValueError(f"tokens: indices must lie in [0, {v}), got range [{int(tokens.min())}, {int(tokens.max())}]")
    return tokens.long().to(logits.device)


def token_logprobs(logits: Tensor, tokens: Tensor, temperature: float = 1.0) -> Tensor:
    """Torch twin of :func:`reference.practice.token_logprobs` (eq. 17.5); ``logits`` not modified."""
    z = _logits(logits)
    y = _tokens(tokens, z)
    tau = _pos(temperature, "temperature")
    lp = torch.log_softmax(z / tau, dim=-1)
    return lp.gather(-1, y.unsqueeze(-1)).squeeze(-1)


def token_entropy(logits: Tensor, temperature: float = 1.0) -> Tensor:
    """Torch twin of :func:`reference.practice.token_entropy` (eq. 17.6).

    0·log 0 = 0 is taken *before* the product (log p replaced by 0 where p = 0), so both the value
    and the gradient are finite for −inf logits.
    """
    z = _logits(logits)
    tau = _pos(temperature, "temperature")
    lp = torch.log_softmax(z / tau, dim=-1)
    p = lp.exp()
    safe = torch.where(p > 0, lp, _zero(lp))
    return -(p * safe).sum(dim=-1)


# -------------------------------------------------------------------------------- normalisations


def masked_whiten(
    x: Tensor,
    mask: Tensor,
    shift_mean: bool = True,
    ddof: int = 1,
    eps: float = 1e-8,
    *,
    eps_placement: str = "var",
) -> Tensor:
    """Torch twin of :func:`reference.practice.masked_whiten` (eq. 17.7); differentiable in ``x``."""
    xv, m = _batch(x, "x", mask)
    sm = _flag(shift_mean, "shift_mean")
    dd = _int(ddof, "ddof", 0)
    if dd > 1:
        raise ValueError(f"ddof: must be 0 or 1, got {dd}")
    e = _nonneg(eps, "eps")
    place = _choice(eps_placement, "eps_placement", ("var", "std"))
    n = int(m.sum())
    if n <= dd:
        raise ValueError(f"mask: need more than ddof = {dd} masked entries, got {n}")
    zero = _zero(xv)
    xm = torch.where(m, xv, zero)
    vals = xv.detach()[m]
    mu = xm.sum() / n
    if bool(vals.amax() == vals.amin()):
        # exactly constant: the value of μ is that entry (the float mean may be an ulp off), its
        # gradient still the mean's, so x − μ is exactly 0 with the derivative δ_ij − 1/n
        mu = mu + (vals[0] - mu).detach()
    dev = torch.where(m, xv - mu, zero)
    var = (dev * dev).sum() / (n - dd)
    denom = torch.sqrt(var + e) if place == "var" else _sqrt0(var) + e
    if float(denom.detach()) > 0:
        w = dev / denom
    else:
        w = dev * 0.0
    if not sm:
        w = w + mu
    return torch.where(m, w, zero)


def _groups(rewards: object, group_size: object) -> tuple[Tensor, int]:
    r = _float(rewards, "rewards", ndim=1)
    g = _int(group_size, "group_size", 1)
    if r.shape[0] == 0:
        raise ValueError("rewards: need at least one reward (N >= 1)")
    if r.shape[0] % g:
        raise ValueError(f"group_size: must divide the number of rewards N = {r.shape[0]}, got {g}")
    return r, g


def _std(x: Tensor, dim: int | None, ddof: int) -> Tensor:
    """Standard deviation whose gradient at a constant input is 0 (not NaN)."""
    if dim is None:
        mu = x.mean()
        n = x.numel()
        var = ((x - mu) ** 2).sum() / max(n - ddof, 1)
    else:
        mu = x.mean(dim=dim, keepdim=True)
        n = x.shape[dim]
        var = ((x - mu) ** 2).sum(dim=dim, keepdim=True) / max(n - ddof, 1)
    return _sqrt0(var)


def _sqrt0(var: Tensor) -> Tensor:
    """sqrt(var) with gradient 0 (not inf, hence no NaN) where var = 0."""
    pos = var > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, var, torch.ones_like(var))), torch.zeros_like(var))


def group_advantages(
    rewards: Tensor,
    group_size: int,
    scale: str = "group",
    eps: float = 1e-6,
    *,
    ddof: int = 1,
    eps_placement: str = "std",
    singleton: str = "zero",
) -> Tensor:
    """Torch twin of :func:`reference.practice.group_advantages` (eq. 17.8).

    The statistics μ and σ are functions of the rewards and take part in the gradient (as in
    the libraries, where rewards carry no gradient anyway); detach the rewards for none.
    """
    r, g = _groups(rewards, group_size)
    sc = _choice(scale, "scale", GROUP_SCALES)
    e = _nonneg(eps, "eps")
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
            return r * 0.0
        mu = torch.zeros_like(grouped)
        sd = torch.ones_like(grouped)
    else:
        # an exactly constant group has μ equal to its entries (the float mean may be off by an ulp)
        const = grouped.amax(dim=1, keepdim=True) == grouped.amin(dim=1, keepdim=True)
        mean = grouped.mean(dim=1, keepdim=True)
        mu = torch.where(const, mean + (grouped[:, :1] - mean).detach(), mean)  # exact value, the mean's gradient
        if sc == "group":
            sd = torch.where(const, torch.zeros_like(grouped[:, :1]), _std(grouped, 1, dd))
        elif r.shape[0] > dd and bool(r.detach().amax() != r.detach().amin()):
            sd = _std(r, None, dd).expand_as(grouped)
        else:
            sd = torch.zeros_like(grouped)
    centred = grouped - mu
    if sc == "none":
        return centred.reshape(-1)
    denom = (sd + e if place == "std" else torch.sqrt(sd * sd + e)).expand_as(centred)
    pos = denom > 0
    out = torch.where(pos, centred / torch.where(pos, denom, torch.ones_like(denom)), torch.zeros_like(centred))
    return out.reshape(-1)


def rloo_advantages(rewards: Tensor, group_size: int) -> Tensor:
    """Torch twin of :func:`reference.practice.rloo_advantages` (eq. 17.9)."""
    r, g = _groups(rewards, group_size)
    if g < 2:
        raise ValueError(f"group_size: leave-one-out needs group_size >= 2, got {g}")
    grouped = r.reshape(-1, g)
    others = (grouped.sum(dim=1, keepdim=True) - grouped) / (g - 1)
    return (grouped - others).reshape(-1)


# ------------------------------------------------------------------------------------------ GAE


def masked_gae(
    rewards: Tensor, values: Tensor, mask: Tensor, gamma: float = 1.0, lam: float = 0.95, *, holes: str = "skip"
) -> Tensor:
    """Torch twin of :func:`reference.practice.masked_gae` (eq. 17.10); differentiable in both inputs."""
    r, m = _batch(rewards, "rewards", mask)
    v = _float(values, "values", ndim=2)
    _same_shape(rewards=r, values=v, mask=m)
    g = _unit(gamma, "gamma")
    lm = _unit(lam, "lam")
    mode = _choice(holes, "holes", ("skip", "step"))
    zero = _zero(r)
    r = torch.where(m, r, zero)
    v = torch.where(m, v, zero)
    b, t_len = r.shape
    carry = torch.zeros(b, dtype=r.dtype, device=r.device)
    next_v = torch.zeros(b, dtype=r.dtype, device=r.device)
    cols: list[Tensor] = []
    for t in range(t_len - 1, -1, -1):
        mt = m[:, t]
        a = r[:, t] + g * next_v - v[:, t] + (g * lm) * carry
        if mode == "skip":
            carry = torch.where(mt, a, carry)
            next_v = torch.where(mt, v[:, t], next_v)
        else:
            carry = a
            next_v = v[:, t]
        cols.append(torch.where(mt, a, zero))
    return torch.stack(cols[::-1], dim=1)


# ----------------------------------------------------------------------------- preference losses


def _log_sigmoid(x: Tensor) -> Tensor:
    return -torch.logaddexp(torch.zeros_like(x), -x)


def preference_loss(
    policy_chosen: Tensor,
    policy_rejected: Tensor,
    ref_chosen: Tensor,
    ref_rejected: Tensor,
    beta: float = 0.1,
    kind: str = "sigmoid",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Torch twin of :func:`reference.practice.preference_loss` (eq. 17.11); [N].

    Differentiable in ``policy_chosen`` and ``policy_rejected``; the reference log-probs are
    detached (they come from a frozen model).
    """
    pc = _float(policy_chosen, "policy_chosen", ndim=1)
    pr = _float(policy_rejected, "policy_rejected", ndim=1)
    rc = _float(ref_chosen, "ref_chosen", ndim=1).detach()
    rr = _float(ref_rejected, "ref_rejected", ndim=1).detach()
    _same_shape(policy_chosen=pc, policy_rejected=pr, ref_chosen=rc, ref_rejected=rr)
    if pc.shape[0] == 0:
        raise ValueError("policy_chosen: empty batch (N = 0)")
    b = _pos(beta, "beta")
    k = _choice(kind, "kind", PREFERENCE_KINDS)
    eps = _nonneg(label_smoothing, "label_smoothing")
    if k == "sigmoid" and eps > 1.0:
        raise ValueError(f"label_smoothing: must lie in [0, 1] for kind 'sigmoid', got {eps}")
    if k == "robust" and not eps < 0.5:
        raise ValueError(f"label_smoothing: must lie in [0, 0.5) for kind 'robust', got {eps}")
    if k in ("ipo", "hinge") and eps != 0.0:
        raise ValueError(f"label_smoothing: kind {k!r} has no label smoothing (must be 0), got {eps}")
    h = (pc - rc) - (pr - rr)
    z = b * h
    if k == "sigmoid":
        return -(1.0 - eps) * _log_sigmoid(z) - eps * _log_sigmoid(-z)
    if k == "robust":
        return (-(1.0 - eps) * _log_sigmoid(z) + eps * _log_sigmoid(-z)) / (1.0 - 2.0 * eps)
    if k == "ipo":
        return (h - 1.0 / (2.0 * b)) ** 2
    return torch.relu(1.0 - z)


# --------------------------------------------------------------------------------- KL controller


def adaptive_kl_update(
    beta: float | Tensor, kl: float | Tensor, target: float, horizon: float, n_steps: float
) -> float:
    """Torch-friendly twin of :func:`reference.practice.adaptive_kl_update` (eq. 17.12).

    Accepts 0-D tensors for ``beta`` and ``kl`` (e.g. a batch's mean KL) and returns a float: the
    coefficient is a controller state, not part of any gradient.
    """
    b = _pos(beta, "beta")
    k = _real(kl, "kl")
    tg = _pos(target, "target")
    hz = _pos(horizon, "horizon")
    n = _nonneg(n_steps, "n_steps")
    err = min(max(k / tg - 1.0, -0.2), 0.2)
    mult = 1.0 + err * n / hz
    if not mult > 0.0:
        raise ValueError(f"n_steps: n_steps/horizon = {n / hz:.6g} drives beta to {b * mult:.6g} <= 0 (need < 5)")
    return b * mult
