"""Hypothesis strategies for the inputs of every conformance target (reusable in your own tests).

Each ``<target>_inputs()`` returns a strategy of :class:`Case` (canonical inputs by parameter
name; ``case.call(fn)`` runs your function on them).  The draws aim at the places where real
implementations break (SPEC.md §13.3): episode ends at the first and last step, back to back,
truncation next to termination, T = 1, λ, γ ∈ {0, 1}; ratios inside, outside and exactly on the
clip band, A = 0 and A < 0; margins and log-probabilities up to |x| = 1e4; masks with holes
and padding on both sides; SPD matrices with condition numbers up to 1e4.  Small integers come
first in every mixture so that shrinking ends on values a person can check by hand.

Rollouts are *consistent* (``next_values[t] == values[t+1]`` whenever step t does not end an
episode), as every real rollout is: an implementation may read V(s_{t+1}) from either array
inside an episode, but must use ``next_values`` at an episode end and at the last step.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ._calls import Case, MatrixOperator

__all__ = [
    "CONTINUE",
    "TERMINATED",
    "TRUNCATED",
    "BOTH",
    "bt_loss_inputs",
    "conjugate_gradient_inputs",
    "dpo_loss_inputs",
    "dpo_token_inputs",
    "gae_token_inputs",
    "ppo_masked_inputs",
    "response_masks",
    "gae_inputs",
    "kl_beta_update_inputs",
    "kl_rewards_inputs",
    "min_variance_baseline_inputs",
    "natural_step_inputs",
    "ppo_clip_inputs",
    "real_numbers",
    "returns_inputs",
    "rollout_batches",
    "rollouts",
    "spd_matrices",
    "td_residuals_inputs",
    "unit_interval",
]

#: Step codes of a rollout: what happened after step t.
CONTINUE, TERMINATED, TRUNCATED, BOTH = 0, 1, 2, 3


def real_numbers(small: float = 10.0, large: float = 1e4) -> st.SearchStrategy[float]:
    """Small integers first (exact, shrink well), then moderate floats, then |x| up to ``large``."""
    return st.one_of(
        st.integers(-3, 3).map(float),
        st.floats(-small, small, allow_nan=False, allow_subnormal=False),
        st.floats(-large, large, allow_nan=False, allow_subnormal=False),
    )


def unit_interval() -> st.SearchStrategy[float]:
    """γ or λ: 0, 1 and common values drawn often, else uniform in [0, 1]."""
    return st.one_of(st.sampled_from([1.0, 0.0, 0.5, 0.9, 0.99, 0.95]), st.floats(0.0, 1.0, allow_subnormal=False))


def _away_from_zero(bound: float) -> st.SearchStrategy[float]:
    """Small integers, else floats in [−bound, bound] with |x| < 1e-3 snapped to 0 (no filtering)."""
    return st.one_of(
        st.integers(-3, 3).map(float),
        st.floats(-bound, bound, allow_subnormal=False).map(lambda x: 0.0 if abs(x) < 1e-3 else x),
    )


def _array(xs: list[float]) -> np.ndarray:
    return np.asarray(xs, dtype=np.float64)


@st.composite
def _end_codes(draw: st.DrawFn, n: int) -> list[int]:
    """Episode-end codes per step, with the patterns that break implementations pinned often."""
    pattern = draw(st.sampled_from(["random", "none", "first", "last", "back-to-back", "trunc-term", "term-trunc", "all"]), label="pattern")
    codes = [CONTINUE] * n
    if pattern == "random":
        return draw(st.lists(st.sampled_from([CONTINUE, CONTINUE, TERMINATED, TRUNCATED, BOTH]), min_size=n, max_size=n), label="codes")
    kind = draw(st.sampled_from([TERMINATED, TRUNCATED, BOTH]), label="kind")
    if pattern == "first":
        codes[0] = kind
    elif pattern == "last":
        codes[-1] = kind
    elif pattern == "all":
        codes = [kind] * n
    elif pattern == "back-to-back" and n >= 2:
        t = draw(st.integers(0, n - 2))
        codes[t] = kind
        codes[t + 1] = draw(st.sampled_from([TERMINATED, TRUNCATED]))
    elif pattern in ("trunc-term", "term-trunc") and n >= 2:
        t = draw(st.integers(0, n - 2))
        a, b = (TRUNCATED, TERMINATED) if pattern == "trunc-term" else (TERMINATED, TRUNCATED)
        codes[t], codes[t + 1] = a, b
    return codes


@st.composite
def rollouts(draw: st.DrawFn, max_steps: int = 24, steps: int | None = None, truncations: bool = True) -> dict[str, Any]:
    """A consistent rollout: rewards, values, next_values [T] and terminated, truncated [T] (bool).

    ``steps`` fixes T; ``truncations=False`` draws terminations only (the CleanRL convention).
    """
    n = steps if steps is not None else draw(st.integers(1, max_steps), label="T")
    codes = draw(_end_codes(n))
    if not truncations:
        codes = [TERMINATED if c in (TERMINATED, BOTH) else CONTINUE for c in codes]
    terminated = np.array([c in (TERMINATED, BOTH) for c in codes])
    truncated = np.array([c in (TRUNCATED, BOTH) for c in codes])
    rewards = _array(draw(st.lists(real_numbers(), min_size=n, max_size=n), label="rewards"))
    values = _array(draw(st.lists(real_numbers(), min_size=n, max_size=n), label="values"))
    next_values = np.empty(n)
    for t in range(n):
        ends = bool(terminated[t] or truncated[t])
        if t < n - 1 and not ends:
            next_values[t] = values[t + 1]
        else:  # V(s_{t+1}) of the true next state: the final observation at an end, anything for a terminal
            next_values[t] = draw(real_numbers(), label=f"next_values[{t}]")
    return {"rewards": rewards, "values": values, "next_values": next_values, "terminated": terminated, "truncated": truncated}


@st.composite
def rollout_batches(draw: st.DrawFn, max_steps: int = 12, max_envs: int = 4, truncations: bool = True) -> dict[str, Any]:
    """N independent consistent rollouts of the same length, stacked time-major: arrays [T, N]."""
    n = draw(st.integers(1, max_steps), label="T")
    envs = draw(st.integers(1, max_envs), label="N")
    cols = [draw(rollouts(steps=n, truncations=truncations)) for _ in range(envs)]
    return {k: np.stack([c[k] for c in cols], axis=1) for k in cols[0]}


def _rollout_strategy(max_steps: int, n_envs: bool, truncations: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    return rollout_batches(max_steps=min(max_steps, 12), truncations=truncations) if n_envs else rollouts(max_steps, truncations=truncations)


def returns_inputs(max_steps: int = 40, n_envs: bool = False) -> st.SearchStrategy[Case]:
    """``returns(rewards[T], gamma)``, T in 1..max_steps (``n_envs``: rewards [T, N])."""
    if n_envs:
        return st.builds(lambda ro, g: Case("returns", {"rewards": ro["rewards"], "gamma": g}), rollout_batches(min(max_steps, 12)), unit_interval())
    return st.builds(
        lambda r, g: Case("returns", {"rewards": _array(r), "gamma": g}),
        st.lists(real_numbers(), min_size=1, max_size=max_steps),
        unit_interval(),
    )


def td_residuals_inputs(max_steps: int = 24, n_envs: bool = False) -> st.SearchStrategy[Case]:
    """``td_residuals(rewards, values, next_values, terminated, gamma)`` on a consistent rollout ([T], or [T, N] with ``n_envs``)."""
    def make(ro: dict[str, Any], g: float) -> Case:
        return Case("td_residuals", {k: ro[k] for k in ("rewards", "values", "next_values", "terminated")} | {"gamma": g})

    return st.builds(make, _rollout_strategy(max_steps, n_envs), unit_interval())


def gae_inputs(max_steps: int = 24, n_envs: bool = False, truncations: bool = True) -> st.SearchStrategy[Case]:
    """``gae(rewards, values, next_values, terminated, truncated, gamma, lam)`` on a consistent rollout ([T], or [T, N] with ``n_envs``)."""
    return st.builds(lambda ro, g, lm: Case("gae", dict(ro) | {"gamma": g, "lam": lm}), _rollout_strategy(max_steps, n_envs, truncations),
                     unit_interval(), unit_interval())


@st.composite
def ppo_clip_inputs(draw: st.DrawFn, max_n: int = 12) -> Case:
    """``ppo_clip(logp_new[N], logp_old[N], advantages[N], epsilon)``.

    log-ratios are drawn exactly on the band edges log(1 ± ε), just inside and outside them,
    at 0 and anywhere in [−5, 5]; old log-probs down to −1e4; advantages 0, negative, positive,
    up to |A| = 1e4.
    """
    eps = draw(st.one_of(st.sampled_from([0.2, 0.1, 0.3]), st.floats(0.01, 0.5)), label="epsilon")
    n = draw(st.integers(1, max_n), label="N")
    hi, lo_edge = math.log1p(eps), math.log1p(-eps)
    log_ratio = st.one_of(
        st.sampled_from([0.0, hi, lo_edge]),
        st.sampled_from([hi + 1e-3, hi - 1e-3, lo_edge + 1e-3, lo_edge - 1e-3]),
        st.floats(-5.0, 5.0, allow_subnormal=False),
    )
    old = st.one_of(st.integers(-3, 0).map(float), st.floats(-20.0, 0.0, allow_subnormal=False), st.floats(-1e4, 0.0, allow_subnormal=False))
    adv = st.one_of(st.sampled_from([0.0, 1.0, -1.0]), real_numbers())
    dl = _array(draw(st.lists(log_ratio, min_size=n, max_size=n), label="log_ratio"))
    lo = _array(draw(st.lists(old, min_size=n, max_size=n), label="logp_old"))
    a = _array(draw(st.lists(adv, min_size=n, max_size=n), label="advantages"))
    return Case("ppo_clip", {"logp_new": lo + dl, "logp_old": lo, "advantages": a, "epsilon": eps})


@st.composite
def kl_beta_update_inputs(draw: st.DrawFn) -> Case:
    """``kl_beta_update(beta, kl, kl_target)``: KL below, inside, above and on the band edges."""
    beta = draw(st.one_of(st.sampled_from([1.0, 0.5, 3.0]), st.floats(1e-3, 100.0)), label="beta")
    target = draw(st.one_of(st.sampled_from([0.01, 1.0, 0.003]), st.floats(1e-4, 1.0)), label="kl_target")
    kind = draw(st.sampled_from(["ratio", "edge-lo", "edge-hi", "zero"]), label="kind")
    if kind == "zero":
        kl = 0.0
    elif kind == "edge-lo":
        kl = target / 1.5
    elif kind == "edge-hi":
        kl = target * 1.5
    else:
        kl = target * draw(st.one_of(st.sampled_from([1.0, 0.5, 2.0, 0.6, 0.7, 1.4, 1.6]), st.floats(0.0, 4.0)), label="kl/target")
    return Case("kl_beta_update", {"beta": beta, "kl": kl, "kl_target": target})


@st.composite
def spd_matrices(draw: st.DrawFn, n: int, max_log10_cond: float = 4.0) -> np.ndarray:
    """Q diag(λ) Qᵀ with λ spread over ``10**[0, −c]`` (c ≤ max_log10_cond) and a random scale."""
    c = draw(st.one_of(st.sampled_from([0.0, 1.0, max_log10_cond]), st.floats(0.0, max_log10_cond)), label="log10 cond")
    inner = draw(st.lists(st.floats(0.0, 1.0), min_size=max(n - 2, 0), max_size=max(n - 2, 0)), label="eigen positions")
    pos = [0.0] + sorted(inner) + [1.0] if n >= 2 else [0.0]
    scale = draw(st.sampled_from([1.0, 0.01, 100.0, 3.0]), label="scale")
    eig = scale * 10.0 ** (-c * np.asarray(pos[:n]))
    if draw(st.booleans(), label="rotate"):
        raw = np.asarray(draw(st.lists(st.floats(-1.0, 1.0), min_size=n * n, max_size=n * n), label="rotation")).reshape(n, n)
        q, r = np.linalg.qr(raw + 3.0 * np.eye(n))  # + 3I keeps it away from singular
        q = q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))
    else:
        q = np.eye(n)
    m = (q * eig) @ q.T
    out: np.ndarray = (m + m.T) / 2.0
    return out


@st.composite
def natural_step_inputs(draw: st.DrawFn, max_n: int = 6) -> Case:
    """``natural_step(g[n], fisher[n, n], max_kl)``: SPD Fisher with condition number up to 1e4."""
    n = draw(st.integers(1, max_n), label="n")
    g = _array(draw(st.lists(_away_from_zero(10.0), min_size=n, max_size=n), label="g"))
    fisher = draw(spd_matrices(n))
    max_kl = draw(st.one_of(st.sampled_from([0.01, 0.05, 1.0]), st.floats(1e-4, 1.0)), label="max_kl")
    return Case("natural_step", {"g": g, "fisher": fisher, "max_kl": max_kl})


@st.composite
def conjugate_gradient_inputs(draw: st.DrawFn, max_n: int = 24) -> Case:
    """``conjugate_gradient(matvec, b[n], iters)``: the k-th iterate, k = iters in [1, 2n + 4], n <= 24.

    TRPO code runs a fixed, small number of iterations on a large n, so most draws stop before
    convergence and the harness compares the k-th iterate.  Where a float32 CG's k-th iterate
    stays within the tolerance of the float64 one (SPEC.md §13.4, measured): κ₂ <= 1e4 for
    n <= 6, κ₂ <= 1e2 for 7 <= n <= 24.
    """
    n = draw(st.one_of(st.integers(1, 6), st.integers(7, max_n)), label="n")
    a = draw(spd_matrices(n, max_log10_cond=4.0 if n <= 6 else 2.0))
    b = _array(draw(st.lists(_away_from_zero(10.0), min_size=n, max_size=n), label="b"))
    if not np.any(b):
        b[0] = 1.0  # b = 0 is trivial (x = 0)
    iters = draw(st.one_of(st.integers(1, max(n - 1, 1)), st.integers(1, 2 * n + 4)), label="iters")
    return Case("conjugate_gradient", {"matvec": MatrixOperator(a), "b": b, "iters": iters})


@st.composite
def min_variance_baseline_inputs(draw: st.DrawFn, max_m: int = 8, max_n: int = 4) -> Case:
    """``min_variance_baseline(grad_logp[m, n], returns[m])``; zero columns (Σ g² = 0) included."""
    m = draw(st.integers(1, max_m), label="m")
    n = draw(st.integers(1, max_n), label="n")
    entry = _away_from_zero(5.0)
    g = _array(draw(st.lists(entry, min_size=m * n, max_size=m * n), label="grad_logp")).reshape(m, n)
    zero_cols = draw(st.lists(st.integers(0, n - 1), max_size=1), label="zero columns")
    for k in zero_cols:
        g[:, k] = 0.0
    r = _array(draw(st.lists(real_numbers(large=1e3), min_size=m, max_size=m), label="returns"))
    return Case("min_variance_baseline", {"grad_logp": g, "returns": r})


def _margins() -> st.SearchStrategy[float]:
    return st.one_of(st.integers(-3, 3).map(float), st.floats(-10.0, 10.0, allow_subnormal=False), st.sampled_from([1e4, -1e4, 50.0, -50.0, 800.0, -800.0]), st.floats(-1e4, 1e4, allow_subnormal=False))


@st.composite
def bt_loss_inputs(draw: st.DrawFn, max_n: int = 8) -> Case:
    """``bt_loss(r_chosen[N], r_rejected[N])``: equal rewards, and margins up to ±1e4 (rewards up to |r| = 1e4)."""
    n = draw(st.integers(1, max_n), label="N")
    rc = _array(draw(st.lists(real_numbers(), min_size=n, max_size=n), label="r_chosen"))
    how = draw(st.sampled_from(["independent", "margin"]), label="how")
    if how == "margin":
        d = _array(draw(st.lists(_margins(), min_size=n, max_size=n), label="margin"))
        rr = np.clip(rc - d, -2e4, 2e4)
    else:
        rr = _array(draw(st.lists(real_numbers(), min_size=n, max_size=n), label="r_rejected"))
    return Case("bt_loss", {"r_chosen": rc, "r_rejected": rr})


@st.composite
def dpo_loss_inputs(draw: st.DrawFn, max_n: int = 6) -> Case:
    """``dpo_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected [N], beta)``.

    Summed sequence log-probabilities in [−1e4, 0] (as a language model produces them), equal
    pairs, and pairs whose implicit-reward margin is huge in either direction.
    """
    n = draw(st.integers(1, max_n), label="N")
    logp = st.one_of(st.integers(-5, 0).map(float), st.floats(-50.0, 0.0, allow_subnormal=False), st.sampled_from([0.0, -1e4, -5e3]), st.floats(-1e4, 0.0, allow_subnormal=False))
    cols = [_array(draw(st.lists(logp, min_size=n, max_size=n), label=name)) for name in ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected")]
    beta = draw(st.one_of(st.sampled_from([0.1, 0.01, 0.5, 1.0]), st.floats(0.01, 2.0)), label="beta")
    return Case("dpo_loss", {"policy_chosen": cols[0], "policy_rejected": cols[1], "ref_chosen": cols[2], "ref_rejected": cols[3], "beta": beta})


@st.composite
def kl_rewards_inputs(draw: st.DrawFn, max_n: int = 4, max_len: int = 8) -> Case:
    """``kl_rewards(scores[N], logp[N, L], ref_logp[N, L], mask[N, L], beta)``.

    Every row has at least one response token (rows without one are outside the domain, see
    SPEC.md §13.4); responses sit after a prompt and before padding, sometimes with holes.
    """
    n = draw(st.integers(1, max_n), label="N")
    length = draw(st.integers(1, max_len), label="L")
    mask = np.zeros((n, length), dtype=bool)
    for i in range(n):
        start = draw(st.integers(0, length - 1), label=f"start[{i}]")
        stop = draw(st.integers(start + 1, length), label=f"stop[{i}]")
        mask[i, start:stop] = True
        if stop - start >= 3 and draw(st.booleans(), label=f"hole[{i}]"):
            mask[i, draw(st.integers(start + 1, stop - 2))] = False
    tok = st.one_of(st.integers(-3, 0).map(float), st.floats(-20.0, 0.0, allow_subnormal=False))
    logp = _array(draw(st.lists(tok, min_size=n * length, max_size=n * length), label="logp")).reshape(n, length)
    ref = _array(draw(st.lists(tok, min_size=n * length, max_size=n * length), label="ref_logp")).reshape(n, length)
    scores = _array(draw(st.lists(real_numbers(), min_size=n, max_size=n), label="scores"))
    beta = draw(st.one_of(st.sampled_from([0.1, 0.0, 0.05, 1.0]), st.floats(0.0, 2.0)), label="beta")
    return Case("kl_rewards", {"scores": scores, "logp": logp, "ref_logp": ref, "mask": mask, "beta": beta})


@st.composite
def response_masks(draw: st.DrawFn, rows: int, length: int, allow_empty: bool = False) -> np.ndarray:
    """[rows, length] response masks: a prompt before, padding after (left, right or mid padding), sometimes a hole.

    ``allow_empty``: a row may have no response token at all (a clause of the token targets).
    """
    mask = np.zeros((rows, length), dtype=bool)
    for i in range(rows):
        if allow_empty and draw(st.integers(0, 5), label=f"empty[{i}]") == 0:
            continue
        start = draw(st.integers(0, length - 1), label=f"start[{i}]")
        stop = draw(st.integers(start + 1, length), label=f"stop[{i}]")
        mask[i, start:stop] = True
        if stop - start >= 3 and draw(st.booleans(), label=f"hole[{i}]"):
            mask[i, draw(st.integers(start + 1, stop - 2))] = False
    return mask


@st.composite
def ppo_masked_inputs(draw: st.DrawFn, max_rows: int = 4, max_len: int = 8) -> Case:
    """``ppo_clip`` under ``reduction=masked_mean``: [B, T] log-probs and advantages with a response mask.

    Entries at padding are drawn from the same distribution as real ones (in-domain garbage).
    """
    rows = draw(st.integers(1, max_rows), label="B")
    length = draw(st.integers(1, max_len), label="T")
    flat = draw(_ppo_fixed(rows * length), label="entries")
    mask = draw(response_masks(rows, length), label="mask")
    inputs = {k: (v.reshape(rows, length) if isinstance(v, np.ndarray) else v) for k, v in flat.inputs.items()}
    return Case("ppo_clip", inputs | {"mask": mask})


@st.composite
def _ppo_fixed(draw: st.DrawFn, n: int) -> Case:
    eps = draw(st.one_of(st.sampled_from([0.2, 0.1, 0.3]), st.floats(0.01, 0.5)), label="epsilon")
    hi, lo_edge = math.log1p(eps), math.log1p(-eps)
    log_ratio = st.one_of(st.sampled_from([0.0, hi, lo_edge]), st.floats(-2.0, 2.0, allow_subnormal=False))
    old = st.one_of(st.integers(-3, 0).map(float), st.floats(-20.0, 0.0, allow_subnormal=False))
    adv = st.one_of(st.sampled_from([0.0, 1.0, -1.0]), real_numbers(large=100.0))
    dl = _array(draw(st.lists(log_ratio, min_size=n, max_size=n), label="log_ratio"))
    lo = _array(draw(st.lists(old, min_size=n, max_size=n), label="logp_old"))
    a = _array(draw(st.lists(adv, min_size=n, max_size=n), label="advantages"))
    return Case("ppo_clip", {"logp_new": lo + dl, "logp_old": lo, "advantages": a, "epsilon": eps})


@st.composite
def gae_token_inputs(draw: st.DrawFn, max_rows: int = 4, max_len: int = 8) -> Case:
    """``gae`` under ``layout=[B,T]``: per-token rewards and values [B, T] with a response mask.

    Each row's response tokens, in order, are one episode that terminates after the last; the
    values and rewards at padding are in-domain garbage (same distribution as the real ones).
    """
    rows = draw(st.integers(1, max_rows), label="B")
    length = draw(st.integers(1, max_len), label="T")
    mask = draw(response_masks(rows, length, allow_empty=True), label="mask")
    r = _array(draw(st.lists(real_numbers(), min_size=rows * length, max_size=rows * length), label="rewards")).reshape(rows, length)
    v = _array(draw(st.lists(real_numbers(), min_size=rows * length, max_size=rows * length), label="values")).reshape(rows, length)
    g, lm = draw(unit_interval(), label="gamma"), draw(unit_interval(), label="lam")
    return Case("gae", {"rewards": r, "values": v, "mask": mask, "gamma": g, "lam": lm})


@st.composite
def dpo_token_inputs(draw: st.DrawFn, max_n: int = 4, max_len: int = 6) -> Case:
    """``dpo_loss`` under ``layout=[B,T]``: per-token log-probs of chosen and rejected responses with masks.

    Token log-probs are multiples of 1/64 in [−30, 0], so the masked sums (the canonical sequence
    log-probs) are exact in float64; padding holds in-domain garbage from the same range.
    """
    n = draw(st.integers(1, max_n), label="N")
    length = draw(st.integers(1, max_len), label="T")
    tok = st.one_of(st.integers(-3 * 64, 0), st.integers(-30 * 64, 0)).map(lambda k: k / 64.0)
    arrays = {}
    for name in ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected"):
        arrays[name] = _array(draw(st.lists(tok, min_size=n * length, max_size=n * length), label=name)).reshape(n, length)
    cm = draw(response_masks(n, length), label="chosen_mask")
    rm = draw(response_masks(n, length), label="rejected_mask")
    beta = draw(st.one_of(st.sampled_from([0.1, 0.01, 0.5, 1.0]), st.floats(0.01, 2.0)), label="beta")
    inputs: dict[str, Any] = {}
    for name, m in (("policy_chosen", cm), ("policy_rejected", rm), ("ref_chosen", cm), ("ref_rejected", rm)):
        inputs[name] = np.where(m, arrays[name], 0.0).sum(axis=1)
    inputs["beta"] = beta
    inputs |= {f"{k}_tokens": a for k, a in arrays.items()} | {"chosen_mask": cm, "rejected_mask": rm}
    return Case("dpo_loss", inputs)
