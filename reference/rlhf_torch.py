"""Torch twins of the RLHF equations the scaled-down loop trains with (SPEC.md §12.L).

Each function is the same mathematics as its numpy reference (named in its docstring), written
with torch so that it runs on any device, in any floating dtype, and under autograd.  They are
small pure functions: no module state, no reduction hidden inside a per-token quantity (the
reduction is :func:`masked_mean_torch`, a separate step).  The claims ``RLHF-TORCH-*`` check each
one against its numpy reference in float64, padding edge cases included.

Token arrays are laid out as a padded batch ``[N, L]``: row n is one sequence (prompt, response,
padding in any arrangement) and ``mask[n, l]`` is true exactly on the *response* tokens, the
actions of the token-level MDP (S12.1).  ``logits[n, l]`` is the distribution the policy used to
choose ``tokens[n, l]`` (the caller shifts a causal model's outputs by one position).  A row's
masked positions, in order, form one episode that ends after its last response token.

Validation mirrors ``reference._validate``: a ``TypeError`` for a non-tensor or non-float tensor,
a ``ValueError`` naming the argument for a wrong shape, an empty batch, a non-finite value, a
row without a response token, β out of range.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = [
    "bt_loss_torch",
    "dpo_implicit_reward_torch",
    "dpo_loss_torch",
    "entropy_torch",
    "kl_rewards_torch",
    "last_token_torch",
    "masked_gae_torch",
    "masked_mean_torch",
    "ppo_clip_torch",
    "sequence_logprob_torch",
    "token_logprobs_torch",
    "value_loss_torch",
]


# ------------------------------------------------------------------------------------ validation


def _float(x: object, name: str, ndim: int | None = None, *, finite: bool = True) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name}: expected a floating-point tensor, got dtype {x.dtype}")
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"{name}: expected {ndim}-D tensor, got shape {tuple(x.shape)}")
    if finite and x.numel() and not bool(torch.isfinite(x.detach()).all()):
        raise ValueError(f"{name}: values must be finite (found NaN or inf)")
    return x


def _mask(x: object, name: str, ndim: int | None = None) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a boolean torch.Tensor, got {type(x).__name__}")
    if ndim is not None and x.dim() != ndim:
        raise ValueError(f"{name}: expected {ndim}-D tensor, got shape {tuple(x.shape)}")
    if x.dtype == torch.bool:
        return x
    if x.is_complex() or not (x.is_floating_point() or x.dtype in _INT_DTYPES):
        raise TypeError(f"{name}: expected a boolean tensor, got dtype {x.dtype}")
    if x.numel() and not bool(((x == 0) | (x == 1)).all()):
        raise ValueError(f"{name}: a mask must be boolean (only 0/1 values allowed)")
    return x != 0


_INT_DTYPES = (torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64)


def _same_shape(**tensors: Tensor) -> None:
    shapes = {k: tuple(v.shape) for k, v in tensors.items()}
    first = next(iter(shapes.values()))
    if any(s != first for s in shapes.values()):
        desc = ", ".join(f"{k}{s}" for k, s in shapes.items())
        raise ValueError(f"shape mismatch: {desc} must all have the same shape")


def _nonempty(x: Tensor, name: str) -> None:
    if x.shape[0] == 0:
        raise ValueError(f"{name}: empty batch (N = 0)")


def _rows_have_response(mask: Tensor, name: str = "mask") -> None:
    has = mask.any(dim=-1)
    if not bool(has.all()):
        bad = int(torch.nonzero(~has.reshape(-1))[0, 0])
        raise ValueError(f"{name}: row {bad} has no response token")


def _beta(beta: object, *, strict: bool) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (int, float)):
        raise TypeError(f"beta: expected a real number, got {type(beta).__name__}")
    b = float(beta)
    if not (b == b and abs(b) != float("inf")):
        raise ValueError(f"beta: must be finite, got {b}")
    if strict and not b > 0.0:
        raise ValueError(f"beta: must be > 0, got {b}")
    if not strict and not b >= 0.0:
        raise ValueError(f"beta: must be >= 0, got {b}")
    return b


def _softplus(x: Tensor) -> Tensor:
    # log(1 + e^x) accurate to float64 round-off everywhere; F.softplus switches to x above
    # its threshold 20, an absolute error up to e^-20 ≈ 2e-9 that float64 resolves
    return torch.logaddexp(torch.zeros_like(x), x)


def _unit(x: object, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise TypeError(f"{name}: expected a real number, got {type(x).__name__}")
    v = float(x)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name}: must lie in [0, 1], got {v}")
    return v


# ------------------------------------------------------------------------------ log-probabilities


def token_logprobs_torch(logits: Tensor, tokens: Tensor) -> Tensor:
    """log π(tokens[n, l] | context) = log_softmax(logits[n, l])[tokens[n, l]] (eq. 12.L.1).

    The numpy reference is ``reference.log_softmax_policy`` read at the chosen action.

    Args:
        logits: [N, L, V], logits[n, l] the distribution of the token at position l (shifted by
            the caller: a causal model's output at l − 1).
        tokens: [N, L] integer token ids in [0, V); padding positions may hold any valid id.
    Returns:
        [N, L] token log-probabilities (padding positions included; mask them downstream).
    """
    lg = _float(logits, "logits", ndim=3)
    if not isinstance(tokens, Tensor):
        raise TypeError(f"tokens: expected a torch.Tensor, got {type(tokens).__name__}")
    if tokens.dtype not in _INT_DTYPES:
        raise TypeError(f"tokens: expected integer token ids, got dtype {tokens.dtype}")
    if tuple(tokens.shape) != tuple(lg.shape[:2]):
        raise ValueError(f"shape mismatch: tokens{tuple(tokens.shape)} must be logits.shape[:2] = {tuple(lg.shape[:2])}")
    if lg.shape[2] == 0:
        raise ValueError("logits: need at least one token in the vocabulary (V >= 1)")
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= lg.shape[2]):
        raise ValueError(f"tokens: ids must lie in [0, {lg.shape[2]}), got range [{int(tokens.min())}, {int(tokens.max())}]")
    logp = torch.log_softmax(lg, dim=-1)
    return logp.gather(-1, tokens.long().unsqueeze(-1)).squeeze(-1)


def sequence_logprob_torch(token_logp: Tensor, mask: Tensor) -> Tensor:
    """log π(y|x) = Σ_l mask[n, l] · token_logp[n, l], the autoregressive factorization (eq. 12.L.2).

    Padding contributes exactly nothing (selected out, not multiplied, so a −inf or NaN there
    cannot leak).  Numpy reference: ``token_logp[mask].sum()`` per row.

    Args:
        token_logp: [N, L] from :func:`token_logprobs_torch`.
        mask: [N, L] boolean, true on response tokens; every row needs at least one.
    Returns:
        [N].
    """
    m = _mask(mask, "mask", ndim=2)
    lp = _float(token_logp, "token_logp", ndim=2, finite=False)
    _same_shape(token_logp=lp, mask=m)
    _nonempty(lp, "token_logp")
    _rows_have_response(m)
    if not bool(torch.isfinite(lp.detach()[m]).all()):
        raise ValueError("token_logp: values on response tokens must be finite")
    return torch.where(m, lp, torch.zeros((), dtype=lp.dtype, device=lp.device)).sum(dim=-1)


def entropy_torch(logits: Tensor) -> Tensor:
    """Categorical entropy H[softmax(z)] = −Σ_v p_v log p_v over the last axis (X-PPO-ENTROPY).

    Args:
        logits: [..., V] with V >= 1.
    Returns:
        [...], each in [0, log V].
    """
    lg = _float(logits, "logits")
    if lg.dim() == 0 or lg.shape[-1] == 0:
        raise ValueError(f"logits: expected shape [..., V] with V >= 1, got {tuple(lg.shape)}")
    logp = torch.log_softmax(lg, dim=-1)
    return -(logp.exp() * logp).sum(dim=-1)


def last_token_torch(x: Tensor, mask: Tensor) -> Tensor:
    """x[n, l_n] with l_n the last position where mask[n] is true: the last response token.

    The reward model reads its scalar head here (S12.4): the hidden state of the last response
    token, wherever padding puts it.  Whatever lies at padding positions does not matter.

    Args:
        x: [N, L, ...] (hidden states, or any per-position array).
        mask: [N, L] boolean, true on response tokens; every row needs at least one.
    Returns:
        [N, ...].
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    if x.is_complex():
        raise TypeError(f"x: complex values are not allowed, got dtype {x.dtype}")
    m = _mask(mask, "mask", ndim=2)
    if x.dim() < 2 or tuple(x.shape[:2]) != tuple(m.shape):
        raise ValueError(f"shape mismatch: x{tuple(x.shape)} must be [N, L, ...] with [N, L] = mask.shape = {tuple(m.shape)}")
    _nonempty(m, "mask")
    _rows_have_response(m)
    n_pos = m.shape[1]
    pos = torch.arange(n_pos, device=m.device).expand_as(m)
    last = torch.where(m, pos, torch.full_like(pos, -1)).amax(dim=1)
    return x[torch.arange(m.shape[0], device=m.device), last]


# ---------------------------------------------------------------------------- preference losses


def bt_loss_torch(r_chosen: Tensor, r_rejected: Tensor) -> Tensor:
    """Per-pair Bradley–Terry loss −log σ(r_w − r_l) = softplus(r_l − r_w); twin of ``reference.bt_loss``.

    Args:
        r_chosen, r_rejected: [N] reward-model scores of the preferred and the other response.
    Returns:
        [N] (reduce separately).
    """
    rc = _float(r_chosen, "r_chosen", ndim=1)
    rr = _float(r_rejected, "r_rejected", ndim=1)
    _same_shape(r_chosen=rc, r_rejected=rr)
    _nonempty(rc, "r_chosen")
    return _softplus(-(rc - rr))


def dpo_implicit_reward_torch(policy_logp: Tensor, ref_logp: Tensor, beta: float) -> Tensor:
    """DPO's implicit reward r̂(x, y) = β (log π(y|x) − log π_ref(y|x)) (Rafailov et al. 2023; X-DPO).

    Args:
        policy_logp, ref_logp: [N] summed sequence log-probabilities.
        beta: β > 0.
    Returns:
        [N].
    """
    lp = _float(policy_logp, "policy_logp", ndim=1)
    ref = _float(ref_logp, "ref_logp", ndim=1)
    _same_shape(policy_logp=lp, ref_logp=ref)
    _nonempty(lp, "policy_logp")
    b = _beta(beta, strict=True)
    return b * (lp - ref)


def dpo_loss_torch(
    policy_chosen: Tensor, policy_rejected: Tensor, ref_chosen: Tensor, ref_rejected: Tensor, beta: float
) -> Tensor:
    """Per-pair DPO loss softplus(−β[(π_w − ref_w) − (π_l − ref_l)]); twin of ``reference.dpo_loss``.

    Args:
        policy_chosen, policy_rejected, ref_chosen, ref_rejected: [N] summed sequence
            log-probabilities of the preferred (chosen) and the other (rejected) response.
        beta: β > 0.
    Returns:
        [N] (reduce separately).
    """
    pc = _float(policy_chosen, "policy_chosen", ndim=1)
    pr = _float(policy_rejected, "policy_rejected", ndim=1)
    rc = _float(ref_chosen, "ref_chosen", ndim=1)
    rr = _float(ref_rejected, "ref_rejected", ndim=1)
    _same_shape(policy_chosen=pc, policy_rejected=pr, ref_chosen=rc, ref_rejected=rr)
    _nonempty(pc, "policy_chosen")
    b = _beta(beta, strict=True)
    return _softplus(-b * ((pc - rc) - (pr - rr)))


# ------------------------------------------------------------------------------ shaped rewards


def kl_rewards_torch(scores: Tensor, logp: Tensor, ref_logp: Tensor, mask: Tensor, beta: float) -> Tensor:
    """Per-token KL-shaped rewards; twin of ``reference.kl_rewards`` (X-KL-SHAPED-REWARD).

    r[n, l] = −β (logp[n, l] − ref_logp[n, l]) on response tokens, plus scores[n] on the last
    response token of row n, and exactly 0 on padding.  Summed over a row this is
    score − β log(π/π_ref)(y|x), whose expectation under π is E[r] − β KL(π‖π_ref).

    Args:
        scores: [N] reward-model score of each response.
        logp, ref_logp: [N, L] token log-probs under the policy (at sampling time) and π_ref.
        mask: [N, L] boolean, true on response tokens; every row needs at least one.
        beta: KL coefficient, >= 0.
    Returns:
        [N, L].
    """
    sc = _float(scores, "scores", ndim=1)
    m = _mask(mask, "mask", ndim=2)
    lp = _float(logp, "logp", ndim=2, finite=False)
    ref = _float(ref_logp, "ref_logp", ndim=2, finite=False)
    _same_shape(logp=lp, ref_logp=ref, mask=m)
    if lp.shape[0] != sc.shape[0]:
        raise ValueError(f"shape mismatch: scores{tuple(sc.shape)} must be [N] with N = logp.shape[0] = {lp.shape[0]}")
    _nonempty(lp, "scores")
    _rows_have_response(m)
    if not (bool(torch.isfinite(lp.detach()[m]).all()) and bool(torch.isfinite(ref.detach()[m]).all())):
        raise ValueError("logp, ref_logp: values on response tokens must be finite")
    b = _beta(beta, strict=False)
    zero = torch.zeros((), dtype=lp.dtype, device=lp.device)
    out = torch.where(m, -b * (lp - ref), zero)
    pos = torch.arange(m.shape[1], device=m.device).expand_as(m)
    last = torch.where(m, pos, torch.full_like(pos, -1)).amax(dim=1)
    at_last = F.one_hot(last, m.shape[1]).to(torch.bool)
    return out + torch.where(at_last, sc.to(out.dtype).unsqueeze(1), zero)


# ---------------------------------------------------------------------------- advantages, PPO


def masked_gae_torch(rewards: Tensor, values: Tensor, mask: Tensor, *, lam: float, gamma: float = 1.0) -> Tensor:
    """GAE(γ, λ) over the response tokens of each row; twin of ``reference.gae`` (eq. 6.8).

    Row n's masked positions l_0 < l_1 < … < l_{K−1} are the steps of one episode that terminates
    after l_{K−1}: δ_k = r_{l_k} + γ V_{l_{k+1}} − V_{l_k} (with V after the last token = 0),
    Â_{l_k} = δ_k + γλ Â_{l_{k+1}}.  Rewards and values at padding positions are ignored
    (they may be anything finite) and the output is exactly 0 there.  Equal to ``reference.gae``
    on each row's compressed response tokens with terminated = [0, …, 0, 1].  The value target
    (λ-return) is Â + V on response tokens.

    Args:
        rewards: [N, L] per-token rewards (e.g. :func:`kl_rewards_torch`).
        values: [N, L], values[n, l] = V(s) of the state in which tokens[n, l] was chosen.
        mask: [N, L] boolean, true on response tokens; every row needs at least one.
        lam: λ in [0, 1].
        gamma: γ in [0, 1]; 1 (no discount) is the RLHF default.
    Returns:
        Â, [N, L], 0 on padding.
    """
    m = _mask(mask, "mask", ndim=2)
    r = _float(rewards, "rewards", ndim=2)
    v = _float(values, "values", ndim=2)
    _same_shape(rewards=r, values=v, mask=m)
    _nonempty(r, "rewards")
    _rows_have_response(m)
    g = _unit(gamma, "gamma")
    lm = _unit(lam, "lam")
    zero = torch.zeros(r.shape[0], dtype=r.dtype, device=r.device)
    acc = zero
    next_v = zero
    cols: list[Tensor] = []
    for col in range(r.shape[1] - 1, -1, -1):
        on = m[:, col]
        delta = r[:, col] + g * next_v - v[:, col]
        new_acc = delta + g * lm * acc
        acc = torch.where(on, new_acc, acc)
        next_v = torch.where(on, v[:, col], next_v)
        cols.append(torch.where(on, new_acc, zero))
    return torch.stack(cols[::-1], dim=1)


def ppo_clip_torch(logp_new: Tensor, logp_old: Tensor, advantages: Tensor, epsilon: float) -> Tensor:
    """Per-sample PPO-Clip objective (to maximize); twin of ``reference.ppo_clip`` (eq. 9.2).

    L = min(ρ A, clip(ρ, 1 − ε, 1 + ε) A), ρ = exp(logp_new − logp_old), and exactly 0 where
    A = 0.  Any shape (per token here); mask and reduce with :func:`masked_mean_torch`.

    Args:
        logp_new: log π_θ of the taken tokens (carries the gradient), any shape.
        logp_old, advantages: same shape, constants.
        epsilon: clip range, > 0.
    Returns:
        same shape.
    """
    lp = _float(logp_new, "logp_new")
    lo = _float(logp_old, "logp_old")
    adv = _float(advantages, "advantages")
    _same_shape(logp_new=lp, logp_old=lo, advantages=adv)
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)):
        raise TypeError(f"epsilon: expected a real number, got {type(epsilon).__name__}")
    eps = float(epsilon)
    if not (eps > 0.0 and eps != float("inf")):
        raise ValueError(f"epsilon: must be > 0, got {eps}")
    ratio = torch.exp(lp - lo)
    clipped = torch.clamp(ratio, 1.0 - eps, 1.0 + eps)
    out = torch.minimum(ratio * adv, clipped * adv)
    return torch.where(adv == 0, torch.zeros((), dtype=out.dtype, device=out.device), out)


def value_loss_torch(values: Tensor, returns: Tensor) -> Tensor:
    """Per-sample squared error (V_φ(s) − G)², the summand of ``reference.value_regression_loss`` (S5.2, S12.8).

    Σ_i w_i · value_loss_torch(p, y)_i = reference.value_regression_loss(p, y, w).

    Args:
        values: predictions V_φ, any shape.
        returns: targets (e.g. Â + V from :func:`masked_gae_torch`), same shape.
    Returns:
        same shape (mask and reduce separately).
    """
    v = _float(values, "values")
    g = _float(returns, "returns")
    _same_shape(values=v, returns=g)
    return (v - g) ** 2


def masked_mean_torch(x: Tensor, mask: Tensor) -> Tensor:
    """Σ mask·x / Σ mask: the mean over response tokens only, the reduction of a per-token loss.

    Padding is selected out, so a non-finite value there cannot leak.

    Args:
        x: any shape.
        mask: same shape, boolean, with at least one true entry.
    Returns:
        a 0-d tensor.
    """
    m = _mask(mask, "mask")
    xx = _float(x, "x", finite=False)
    _same_shape(x=xx, mask=m)
    n = int(m.sum())
    if n == 0:
        raise ValueError("mask: no response token to average over (all entries false)")
    if not bool(torch.isfinite(xx.detach()[m]).all()):
        raise ValueError("x: values on response tokens must be finite")
    return torch.where(m, xx, torch.zeros((), dtype=xx.dtype, device=xx.device)).sum() / n
