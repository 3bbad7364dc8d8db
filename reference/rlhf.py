"""RLHF: the token-level MDP, preference losses, KL-shaped rewards, the optimum (SPEC.md §12).

Layout conventions (SPEC.md §12, §0).  A batch of N sequences is stored as arrays [N, L] with
position l holding token y_l; ``token_logp[n, l] = log π(y_l | x, y_<l)`` is the log-probability
of the token AT position l given everything before it.  A boolean ``mask[n, l]`` is true on the
tokens that count (response tokens for log-probabilities, rewards and advantages; all non-padding
tokens for the reward model's input); padding may sit on the left, on the right or both, and its
values are ignored, never read.  Per-token and per-sequence quantities are returned unreduced.

Tabular autoregressive models (exact enumeration): a response of length L over a vocabulary of V
tokens is a row of ints in [0, V); the next-token table has one row of logits per prefix y_<t
(t = 0..L−1), ordered by length and then lexicographically, Σ_{t<L} V^t rows in all
(:func:`prefix_index`).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from scipy.special import expit

from ._validate import (
    BoolArray,
    FloatArray,
    IntArray,
    as_float_array,
    as_index_array,
    as_mask,
    as_scalar,
    check_distribution,
    check_nonnegative,
    check_positive,
    check_same_shape,
    check_unit_interval,
)

__all__ = [
    "bt_loss",
    "bt_loss_grad",
    "bt_preference_prob",
    "dpo_implicit_reward",
    "dpo_loss",
    "enumerate_responses",
    "fit_bt_rewards",
    "kl_optimal_policy",
    "kl_optimal_value",
    "kl_regularized_objective",
    "kl_rewards",
    "last_token_index",
    "last_token_reward",
    "masked_gae",
    "masked_returns",
    "prefix_index",
    "sequence_log_prob",
    "tabular_token_log_probs",
    "value_head",
]

#: Refuse to enumerate more responses than this (memory and time guard).
MAX_RESPONSES = 2_000_000
#: Largest prefix index :func:`prefix_index` returns (int64 arithmetic).
MAX_PREFIX_INDEX = 2**62
#: Refuse dense work arrays with more entries than this (fit_bt_rewards' [M, K] design matrix).
MAX_DENSE_ENTRIES = 50_000_000


def _softplus(x: FloatArray) -> FloatArray:
    out: FloatArray = np.logaddexp(0.0, x)
    return out


def _nonempty(n: int, name: str) -> None:
    if n == 0:
        raise ValueError(f"{name}: empty batch (N = 0)")


def _masked_batch(values: Any, mask: Any, name: str) -> tuple[FloatArray, BoolArray]:
    """A [N, L] float array and its [N, L] mask; N >= 1 and every row has a true entry."""
    x = as_float_array(values, name, ndim=2)
    m = as_mask(mask, "mask", ndim=2)
    if m.shape != x.shape:
        raise ValueError(f"shape mismatch: {name}{x.shape} and mask{m.shape} must have the same shape [N, L]")
    _nonempty(x.shape[0], name)
    _require_token_per_row(m)
    return x, m


def _require_token_per_row(m: BoolArray) -> None:
    has = m.any(axis=1)
    if not np.all(has):
        bad = int(np.flatnonzero(~has)[0])
        raise ValueError(f"mask: row {bad} has no response token (every row needs at least one true entry)")


def _check_int(x: Any, name: str, lo: int) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{name}: expected an int, got {type(x).__name__}")
    if x < lo:
        raise ValueError(f"{name}: must be >= {lo}, got {x}")
    return int(x)


# ------------------------------------------------------------------ the token-level MDP (12.1-12.2)


def sequence_log_prob(token_logp: Any, mask: Any) -> FloatArray:
    """log π(y|x) = Σ_l mask[n,l] · log π(y_l | x, y_<l); SPEC.md eq. (12.2).

    The token-level MDP has deterministic transitions s_{t+1} = s_t ⊕ a_t, so the probability of
    a response is the product of the policy's token probabilities (eq. 12.1) and its log is this
    masked sum.  Values at padding (mask false) are ignored.

    Args:
        token_logp: [N, L], log-probability of the token at each position given the prefix;
            must be <= 0 on response tokens.
        mask: [N, L] boolean, true on response tokens; every row needs at least one.
    Returns:
        [N], one log-probability per sequence.
    """
    lp, m = _masked_batch(token_logp, mask, "token_logp")
    if np.any(lp[m] > 0.0):
        raise ValueError(f"token_logp: log-probabilities on response tokens must be <= 0 (max {lp[m].max()!r})")
    out: FloatArray = np.where(m, lp, 0.0).sum(axis=1)
    return out


def enumerate_responses(vocab_size: int, length: int) -> IntArray:
    """Every response of ``length`` tokens over ``vocab_size`` tokens, lexicographic order.

    Returns:
        [V^L, L] int64; row k is the base-V expansion of k (most significant token first).
    """
    v = _check_int(vocab_size, "vocab_size", 1)
    n = _check_int(length, "length", 1)
    # compare n·log V first: V**n itself is astronomically large for a huge length
    if v > MAX_RESPONSES or n > MAX_RESPONSES or (v > 1 and n * np.log(v) > np.log(MAX_RESPONSES) + 1.0) or v**n > MAX_RESPONSES:
        raise ValueError(f"vocab_size, length: V^L = {v}^{n} responses exceed the enumeration limit {MAX_RESPONSES}")
    out: IntArray = np.array(list(itertools.product(range(v), repeat=n)), dtype=np.int64).reshape(v**n, n)
    return out


def prefix_index(responses: Any, vocab_size: int) -> IntArray:
    """Row of the next-token table that holds π(·|x, y_<t), for every response and position t.

    Prefixes are ordered by length, then lexicographically: the prefix (y_0..y_{t−1}) has index
    Σ_{k<t} V^k + Σ_{k<t} y_k V^{t−1−k}.  The empty prefix (t = 0) is row 0.

    Args:
        responses: [N, L] ints in [0, V).
        vocab_size: V >= 1.
    Returns:
        [N, L] int64, values in [0, Σ_{t<L} V^t).
    """
    v = _check_int(vocab_size, "vocab_size", 1)
    y = as_index_array(responses, "responses", v, ndim=2)
    n, length = y.shape
    if _n_prefixes(v, length) > MAX_PREFIX_INDEX:
        raise ValueError(
            f"vocab_size: Σ_(t<L) V^t prefixes for V = {v}, L = {length} exceed the int64 index limit {MAX_PREFIX_INDEX}"
        )
    out = np.zeros((n, length), dtype=np.int64)
    offset = 0
    code = np.zeros(n, dtype=np.int64)
    for t in range(length):
        out[:, t] = offset + code
        offset += v**t
        code = code * v + y[:, t]
    return out


def _n_prefixes(v: int, length: int) -> int:
    return sum(v**t for t in range(length))


def tabular_token_log_probs(next_token_logits: Any, responses: Any) -> FloatArray:
    """log π(y_t | x, y_<t) of a tabular autoregressive model, [N, L]; SPEC.md eq. (12.1).

    π(·|x, y_<t) = softmax(next_token_logits[prefix_index(y_<t)]).

    Args:
        next_token_logits: [Σ_{t<L} V^t, V], one row of finite logits per prefix (see
            :func:`prefix_index` for the order).
        responses: [N, L] ints in [0, V).
    Returns:
        [N, L], the token log-probabilities (sum a row for log π(y|x)).
    """
    table = as_float_array(next_token_logits, "next_token_logits", ndim=2)
    v = table.shape[1]
    if v == 0:
        raise ValueError("next_token_logits: need at least one token (V >= 1 columns)")
    y = as_index_array(responses, "responses", v, ndim=2)
    if y.shape[1] == 0:
        raise ValueError("responses: need at least one token per response (L >= 1)")
    need = _n_prefixes(v, y.shape[1])
    if table.shape[0] != need:
        raise ValueError(
            f"next_token_logits: expected Σ_(t<L) V^t = {need} rows for V = {v}, L = {y.shape[1]}, got {table.shape[0]}"
        )
    mx = table.max(axis=1, keepdims=True)
    logp = table - mx - np.log(np.exp(table - mx).sum(axis=1, keepdims=True))
    rows = prefix_index(y, v)
    out: FloatArray = logp[rows, y]
    return out


# ------------------------------------------------------------------ the reward model (12.3-12.5)


def bt_loss(r_chosen: Any, r_rejected: Any) -> FloatArray:
    """Per-pair Bradley–Terry loss −log σ(r_w − r_l) = softplus(−(r_w − r_l)); SPEC.md eq. (12.3).

    Computed as log(1 + e^{−m}) by ``logaddexp``: finite and accurate for every finite margin
    (the naive −log(σ(m)) gives inf once σ(m) underflows, m < −745).

    Args:
        r_chosen: [N], r(x, y_w).
        r_rejected: [N], r(x, y_l).
    Returns:
        [N] (reduce separately).
    """
    rc = as_float_array(r_chosen, "r_chosen", ndim=1)
    rr = as_float_array(r_rejected, "r_rejected", ndim=1)
    check_same_shape(r_chosen=rc, r_rejected=rr)
    _nonempty(rc.shape[0], "r_chosen")
    return _softplus(-(rc - rr))


def bt_preference_prob(r_chosen: Any, r_rejected: Any) -> FloatArray:
    """Bradley–Terry P(y_w ≻ y_l | x) = σ(r_w − r_l), [N]; SPEC.md eq. (12.4).

    bt_loss = −log of this probability.
    """
    rc = as_float_array(r_chosen, "r_chosen", ndim=1)
    rr = as_float_array(r_rejected, "r_rejected", ndim=1)
    check_same_shape(r_chosen=rc, r_rejected=rr)
    _nonempty(rc.shape[0], "r_chosen")
    out: FloatArray = expit(rc - rr)
    return out


def bt_loss_grad(r_chosen: Any, r_rejected: Any) -> tuple[FloatArray, FloatArray]:
    """Gradient of the per-pair BT loss (12.3) w.r.t. r_w and r_l; SPEC.md eq. (12.4).

    ∂ℓ/∂r_w = −σ(−m) and ∂ℓ/∂r_l = +σ(−m), m = r_w − r_l: a gradient step raises r_w and
    lowers r_l by the same amount, σ(−m) = 1 − P(y_w ≻ y_l).

    Returns:
        (∂ℓ/∂r_chosen [N], ∂ℓ/∂r_rejected [N]).
    """
    rc = as_float_array(r_chosen, "r_chosen", ndim=1)
    rr = as_float_array(r_rejected, "r_rejected", ndim=1)
    check_same_shape(r_chosen=rc, r_rejected=rr)
    _nonempty(rc.shape[0], "r_chosen")
    s: FloatArray = expit(rr - rc)
    return -s, s.copy()


def fit_bt_rewards(winners: Any, losers: Any, n_items: int, weights: Any = None, l2: float = 0.0) -> FloatArray:
    """Maximum-likelihood Bradley–Terry rewards of ``n_items`` items; SPEC.md eq. (12.4).

    r̂ = argmin_r Σ_j w_j softplus(−(r[winners_j] − r[losers_j])) + (l2/2) ‖r‖², by Newton's
    method with the exact Hessian (scipy.optimize ``trust-exact``).  Bradley–Terry fixes rewards
    only up to an additive constant: with l2 = 0 the result has mean zero (with l2 > 0 it has mean
    zero by itself).

    With l2 = 0 a finite maximizer exists only when, for every split of the items into two
    groups, each group beats the other at least once (the "beats" graph is strongly connected;
    Zermelo 1929, Ford 1957); otherwise a ValueError says so.

    Args:
        winners, losers: [M] item indices in [0, n_items), winners[j] != losers[j].
        n_items: K >= 2.
        weights: [M] non-negative counts (or probabilities) of each comparison; None = ones.
        l2: ridge coefficient >= 0.
    Returns:
        [K] rewards.
    """
    k = _check_int(n_items, "n_items", 2)
    w_idx = as_index_array(winners, "winners", k, ndim=1)
    l_idx = as_index_array(losers, "losers", k, ndim=1)
    check_same_shape(winners=w_idx, losers=l_idx)
    _nonempty(w_idx.shape[0], "winners")
    if np.any(w_idx == l_idx):
        raise ValueError("winners, losers: an item cannot be compared with itself (winners[j] == losers[j])")
    if weights is None:
        wt = np.ones(w_idx.shape[0])
    else:
        wt = as_float_array(weights, "weights", ndim=1)
        if wt.shape != w_idx.shape:
            raise ValueError(f"weights: expected shape {w_idx.shape}, got {wt.shape}")
        if np.any(wt < 0):
            raise ValueError("weights: must be >= 0")
    from scipy.optimize import minimize  # here, not at import: ``import reference`` stays fast
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    lam = check_nonnegative(l2, "l2")
    if k * w_idx.shape[0] > MAX_DENSE_ENTRIES or k * k > MAX_DENSE_ENTRIES and lam == 0.0:
        raise ValueError(f"n_items: {k} items x {w_idx.shape[0]} comparisons exceed the dense-size limit {MAX_DENSE_ENTRIES}")
    pos = wt > 0
    if not np.any(pos):
        raise ValueError("weights: need at least one comparison with positive weight")
    if lam == 0.0:
        beats = coo_matrix((np.ones(int(pos.sum())), (l_idx[pos], w_idx[pos])), shape=(k, k))
        n_weak, _ = connected_components(beats, directed=True, connection="weak")
        if n_weak > 1:
            raise ValueError(
                f"winners, losers: the comparisons split the {k} items into {n_weak} unconnected groups; "
                "rewards of different groups are not comparable (pass l2 > 0 to regularize)"
            )
        n_strong, _ = connected_components(beats, directed=True, connection="strong")
        if n_strong > 1:
            raise ValueError(
                "winners, losers: some group of items never loses to the rest, so the maximum-likelihood "
                "rewards are infinite (pass l2 > 0 to regularize)"
            )
    diff = np.zeros((w_idx.shape[0], k))
    diff[np.arange(w_idx.shape[0]), w_idx] = 1.0
    diff[np.arange(w_idx.shape[0]), l_idx] -= 1.0
    # with l2 = 0, pin r_0 = 0 (the problem is then strictly convex); with l2 > 0 use all K
    free = diff if lam > 0 else diff[:, 1:]
    scale = float(wt.sum())

    def fun(z: FloatArray) -> float:
        return float(wt @ _softplus(-(free @ z))) / scale + 0.5 * lam * float(z @ z) / scale

    def jac(z: FloatArray) -> FloatArray:
        s = expit(-(free @ z))
        out: FloatArray = (-(wt * s) @ free + lam * z) / scale
        return out

    def hess(z: FloatArray) -> FloatArray:
        m = free @ z
        c = wt * expit(m) * expit(-m)
        out: FloatArray = ((free * c[:, None]).T @ free + lam * np.eye(free.shape[1])) / scale
        return out

    res = minimize(fun, np.zeros(free.shape[1]), jac=jac, hess=hess, method="trust-exact", options={"gtol": 1e-13})
    # near the optimum the loss is flat below float resolution and the trust region stalls;
    # Newton steps on the gradient (which stays accurate there) finish the job
    z = np.asarray(res.x, dtype=np.float64)
    g = jac(z)
    for _ in range(50):
        step = np.linalg.solve(hess(z), g)
        z_new = z - step
        g_new = jac(z_new)
        if not np.linalg.norm(g_new) < np.linalg.norm(g):
            break
        z, g = z_new, g_new
    r = z if lam > 0 else np.concatenate([[0.0], z])
    if lam == 0.0:
        r = r - r.mean()
    out: FloatArray = r
    return out


def last_token_index(mask: Any) -> IntArray:
    """Position of the last true entry of each row of ``mask`` [N, L], as [N] int64.

    For a reward model's input (mask = non-padding tokens of prompt + response) this is the last
    response token, wherever the padding sits; it is where the score is read (eq. 12.5) and where
    the KL-shaped reward adds it (eq. 12.6).
    """
    m = as_mask(mask, "mask", ndim=2)
    _nonempty(m.shape[0], "mask")
    _require_token_per_row(m)
    out: IntArray = (m.shape[1] - 1 - np.argmax(m[:, ::-1], axis=1)).astype(np.int64)
    return out


def _hidden(hidden: Any, w: Any, b: float) -> tuple[FloatArray, FloatArray, float]:
    h = as_float_array(hidden, "hidden", ndim=3)
    wv = as_float_array(w, "w", ndim=1)
    if wv.shape[0] != h.shape[2]:
        raise ValueError(f"shape mismatch: w{wv.shape} must be [d] with d = hidden.shape[2] = {h.shape[2]}")
    return h, wv, as_scalar(b, "b")


def last_token_reward(hidden: Any, mask: Any, w: Any, b: float) -> FloatArray:
    """Reward model r(x, y) = wᵀ h_{last} + b, a scalar linear head; SPEC.md eq. (12.5).

    h_{last} is the final hidden state of the last non-padding token of prompt + response
    (:func:`last_token_index`), so padding on either side does not change the reward.

    Args:
        hidden: [N, L, d], the reward model's last-layer hidden states (any finite values at padding).
        mask: [N, L] boolean, true on non-padding tokens; every row needs at least one.
        w: [d], b: scalar, the head's weights and bias.
    Returns:
        [N], one score per sequence.
    """
    h, wv, bias = _hidden(hidden, w, b)
    m = as_mask(mask, "mask", ndim=2)
    if m.shape != h.shape[:2]:
        raise ValueError(f"shape mismatch: mask{m.shape} must be [N, L] = {h.shape[:2]} (hidden is [N, L, d])")
    last = last_token_index(m)
    out: FloatArray = h[np.arange(h.shape[0]), last] @ wv + bias
    return out


def value_head(hidden: Any, w: Any, b: float) -> FloatArray:
    """Value head V(s_t) = wᵀ h_t + b at every position, [N, L]; SPEC.md eq. (12.7).

    hidden[n, t] must represent the state s_t = (x, y_<t) in which token t is chosen; for a
    causal LM that is the output at the position BEFORE token t (the last prompt token for t = 0),
    so that values[n, t] lines up with token_logp[n, t] and rewards[n, t].  Values at padding are
    computed but ignored by :func:`masked_gae`.

    Args:
        hidden: [N, L, d]; w: [d]; b: scalar.
    """
    h, wv, bias = _hidden(hidden, w, b)
    out: FloatArray = h @ wv + bias
    return out


# ------------------------------------------------------------------ KL-shaped rewards, returns, GAE (12.6-12.8)


def kl_rewards(scores: Any, logp: Any, ref_logp: Any, mask: Any, beta: float) -> FloatArray:
    """Per-token KL-shaped rewards (Ziegler et al. 2019; Ouyang et al. 2022); SPEC.md eq. (12.6).

    r_{n,l} = −β (logp_{n,l} − ref_logp_{n,l}) on response tokens (mask true),
    plus scores[n] on the last response token of row n, and 0 on padding.  Summed over a row they
    give scores[n] − β log(π/π_ref)(y_n|x), whose expectation under π is E[r] − β KL(π‖π_ref).

    Args:
        scores: [N], reward-model score of each response.
        logp, ref_logp: [N, L], token log-probs under the policy and the reference.
        mask: [N, L], true on response tokens; every row needs at least one.
        beta: KL coefficient, >= 0.
    Returns:
        [N, L].
    """
    sc = as_float_array(scores, "scores", ndim=1)
    lp = as_float_array(logp, "logp", ndim=2)
    ref = as_float_array(ref_logp, "ref_logp", ndim=2)
    m = as_mask(mask, "mask", ndim=2)
    check_same_shape(logp=lp, ref_logp=ref, mask=m)
    if lp.shape[0] != sc.shape[0]:
        raise ValueError(f"shape mismatch: scores{sc.shape} must be [N] with N = logp.shape[0] = {lp.shape[0]}")
    if lp.shape[0] == 0:
        raise ValueError("scores: empty batch (N = 0)")
    _require_token_per_row(m)
    b = check_nonnegative(beta, "beta")
    out = np.where(m, -b * (lp - ref), 0.0)
    out[np.arange(m.shape[0]), last_token_index(m)] += sc
    return out


def _masked_scan(rewards: FloatArray, values: FloatArray | None, m: BoolArray, decay: float, gamma: float) -> FloatArray:
    """Backward scan over the response tokens of each row, skipping padding.

    With values: Â_t = δ_t + decay·Â_{t'}, δ_t = r_t + γ V(s_{t'}) − V(s_t), where t' is the next
    response token of the row (V = 0 and Â = 0 past the last one: the response ends there).
    Without values: G_t = r_t + decay·G_{t'}.
    """
    n, length = rewards.shape
    out = np.zeros((n, length))
    acc = np.zeros(n)
    next_v = np.zeros(n)
    for t in range(length - 1, -1, -1):
        mt = m[:, t]
        if values is None:
            new = rewards[:, t] + decay * acc
        else:
            delta = rewards[:, t] + gamma * next_v - values[:, t]
            new = delta + decay * acc
            next_v = np.where(mt, values[:, t], next_v)
        acc = np.where(mt, new, acc)
        out[:, t] = np.where(mt, new, 0.0)
    return out


def masked_returns(rewards: Any, mask: Any, gamma: float = 1.0) -> FloatArray:
    """Returns-to-go over the response tokens of each row, [N, L]; SPEC.md eq. (12.7).

    G_t = Σ_{k ≥ t, k response} γ^{j(k) − j(t)} r_k, with j(k) the rank of token k among the row's
    response tokens (padding is skipped, as if absent); 0 on padding.  These are the regression
    targets of the value head (S12.8) and, with γ = 1, the rewards-to-go of §3 on each response.

    Args:
        rewards: [N, L] per-token rewards (e.g. :func:`kl_rewards`); values at padding are ignored.
        mask: [N, L], true on response tokens; every row needs at least one.
        gamma: discount in [0, 1]; RLHF uses 1.
    """
    r, m = _masked_batch(rewards, mask, "rewards")
    g = check_unit_interval(gamma, "gamma")
    return _masked_scan(np.where(m, r, 0.0), None, m, g, g)


def masked_gae(rewards: Any, values: Any, mask: Any, gamma: float = 1.0, lam: float = 1.0) -> FloatArray:
    """GAE(γ, λ) over the response tokens of each row, [N, L]; SPEC.md eq. (12.8).

    Each row is one episode of the token MDP: its response tokens in order, padding skipped as if
    absent, and the state after the last response token terminal (no bootstrap).  On those
    tokens this is ``reference.gae`` (eq. 6.8) with ``terminated`` true at the last one:
    Â_t = Σ_l (γλ)^l δ_{t+l}, δ_t = r_t + γ V(s_{t+1}) − V(s_t); 0 on padding.  Rewards and values
    at padding are never read.  With γ = λ = 1, Â_t = G_t − V(s_t) (:func:`masked_returns`).

    Args:
        rewards: [N, L] per-token rewards, e.g. :func:`kl_rewards`.
        values: [N, L], V(s_t) aligned with the tokens (see :func:`value_head`).
        mask: [N, L], true on response tokens; every row needs at least one.
        gamma, lam: in [0, 1]; RLHF uses γ = 1.
    Returns:
        [N, L] advantages.
    """
    r, m = _masked_batch(rewards, mask, "rewards")
    v = as_float_array(values, "values", ndim=2)
    if v.shape != r.shape:
        raise ValueError(f"shape mismatch: values{v.shape} must match rewards{r.shape} ([N, L])")
    g = check_unit_interval(gamma, "gamma")
    lm = check_unit_interval(lam, "lam")
    return _masked_scan(np.where(m, r, 0.0), np.where(m, v, 0.0), m, g * lm, g)


# ------------------------------------------------------------------ DPO (12.9, 12.13)


def dpo_loss(
    policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float
) -> FloatArray:
    """Per-pair DPO loss (Rafailov et al. 2023); SPEC.md eq. (12.9).

    −log σ(β[(log π(y_w|x) − log π_ref(y_w|x)) − (log π(y_l|x) − log π_ref(y_l|x))]),
    from summed sequence log-probabilities, each [N]: the BT loss (12.3) of the implicit
    rewards (12.13), computed stably.
    """
    pc = as_float_array(policy_chosen, "policy_chosen", ndim=1)
    pr = as_float_array(policy_rejected, "policy_rejected", ndim=1)
    rc = as_float_array(ref_chosen, "ref_chosen", ndim=1)
    rr = as_float_array(ref_rejected, "ref_rejected", ndim=1)
    check_same_shape(policy_chosen=pc, policy_rejected=pr, ref_chosen=rc, ref_rejected=rr)
    _nonempty(pc.shape[0], "policy_chosen")
    b = check_positive(beta, "beta")
    margin = b * ((pc - rc) - (pr - rr))
    return _softplus(-margin)


def dpo_implicit_reward(policy_logp: Any, ref_logp: Any, beta: float) -> FloatArray:
    """DPO's implicit reward β log π(y|x)/π_ref(y|x), [N]; SPEC.md eq. (12.13).

    At the optimum π* of (12.10) it equals r(x, y) − β log Z(x): the true reward up to a
    per-prompt constant, so its differences between responses are the true ones.

    Args:
        policy_logp, ref_logp: [N] sequence log-probabilities (eq. 12.2).
        beta: β > 0.
    """
    p = as_float_array(policy_logp, "policy_logp", ndim=1)
    r = as_float_array(ref_logp, "ref_logp", ndim=1)
    check_same_shape(policy_logp=p, ref_logp=r)
    _nonempty(p.shape[0], "policy_logp")
    b = check_positive(beta, "beta")
    out: FloatArray = b * (p - r)
    return out


# ------------------------------------------------------------------ the KL-regularized objective (12.10-12.12)
def _response_dists(ref: Any, rewards: Any) -> tuple[FloatArray, FloatArray]:
    p = as_float_array(ref, "ref_probs")
    r = as_float_array(rewards, "rewards")
    if p.ndim not in (1, 2) or p.shape[-1] == 0:
        raise ValueError(f"ref_probs: expected shape [K] or [P, K] with K >= 1, got {p.shape}")
    check_same_shape(ref_probs=p, rewards=r)
    check_distribution(p, "ref_probs", axis=-1)
    return p, r


def kl_optimal_policy(ref_probs: Any, rewards: Any, beta: float) -> FloatArray:
    """π*(y|x) = π_ref(y|x) exp(r(x,y)/β) / Z(x), the maximizer of (12.10); SPEC.md eq. (12.11).

    Args:
        ref_probs: π_ref over the K responses of a prompt, [K] (or [P, K], one row per prompt).
        rewards: r(x, y), same shape.
        beta: β > 0.
    Returns:
        π*, same shape; zero wherever π_ref is zero.
    """
    p, r = _response_dists(ref_probs, rewards)
    b = check_positive(beta, "beta")
    with np.errstate(divide="ignore"):
        logits = np.where(p > 0, np.log(p) + r / b, -np.inf)
    logits = logits - logits.max(axis=-1, keepdims=True)
    w = np.exp(logits)
    out: FloatArray = w / w.sum(axis=-1, keepdims=True)
    return out


def kl_optimal_value(ref_probs: Any, rewards: Any, beta: float) -> FloatArray | float:
    """max_π J(π) = β log Z(x) = β log Σ_y π_ref(y|x) exp(r(x,y)/β); SPEC.md eq. (12.12).

    Returns a float for [K] input, an array [P] for [P, K].
    """
    p, r = _response_dists(ref_probs, rewards)
    b = check_positive(beta, "beta")
    with np.errstate(divide="ignore"):
        z = np.where(p > 0, np.log(p) + r / b, -np.inf)
    m = z.max(axis=-1)
    out = b * (m + np.log(np.exp(z - m[..., None]).sum(axis=-1)))
    return float(out) if out.ndim == 0 else np.asarray(out, dtype=np.float64)


def kl_regularized_objective(policy_probs: Any, ref_probs: Any, rewards: Any, beta: float) -> FloatArray | float:
    """J(π) = E_{y~π}[r(x,y)] − β KL(π(·|x) ‖ π_ref(·|x)); SPEC.md eq. (12.10).

    Uses 0·log 0 = 0; a policy with mass where π_ref is zero has infinite KL and J = −inf.
    Returns a float for [K] input, an array [P] for [P, K].
    """
    p, r = _response_dists(ref_probs, rewards)
    q = as_float_array(policy_probs, "policy_probs")
    check_same_shape(policy_probs=q, ref_probs=p)
    check_distribution(q, "policy_probs", axis=-1)
    b = check_nonnegative(beta, "beta")
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(q > 0, q * (np.log(q) - np.log(np.where(p > 0, p, 1.0))), 0.0)
        infinite = np.any((q > 0) & (p == 0), axis=-1)
    kl = np.where(infinite, np.inf, terms.sum(axis=-1))
    out = (q * r).sum(axis=-1) - b * kl
    return float(out) if out.ndim == 0 else np.asarray(out, dtype=np.float64)
