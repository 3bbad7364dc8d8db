"""Claims of SPEC.md §7: vanilla policy gradient, the Q actor-critic and A2C.

Expectation claims are exact (every trajectory of a small tabular MDP enumerated); the critic's
semi-gradient is checked against torch autograd of the loss it descends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st

from ..exact import exact_gradient
from ..registry import Claim, ClaimViolation, Impl, Measurement, compare, register
from ..strategies import MDPCase
from ..strategies.rollouts import mixing_factors
from .s06_advantage import (
    EXACT_TOL,
    EXACT_WHY,
    P_DISC,
    P_THREE,
    P_UNDISC,
    PINNED_MDPS,
    BiasCase,
    Exact,
    _mdp_cases,
    _worst,
    critic_error,
    exact_values,
    terminal_mask,
)

# ------------------------------------------------------------------------------------ VPG


def _check_vpg_ascent(item: BiasCase, impl: Impl) -> Measurement:
    """item.seed == 0: V = V^π with item.lam; otherwise V = V^π + ΔV(seed) with λ = 1."""
    case = item.case
    ex = exact_values(case)
    tr, mdp = ex.tr, case.mdp
    table = ex.v if item.seed == 0 else ex.v + critic_error(case, item.seed)
    lam = item.lam if item.seed == 0 else 1.0
    values, _ = ex.v_at(table)
    alpha = 1e-3
    new = np.asarray(impl.vpg_step(case.logits, tr.states[:, :-1], tr.actions, tr.rewards, values, mdp.gamma, lam, alpha, weights=tr.prob))
    grad = exact_gradient(mdp, case.logits)
    m = compare(grad, ((new - case.logits) / alpha).reshape(-1), f"(θ' − θ)/α of the exact VPG step (λ = {lam:.4g}) vs autograd ∇J")
    g2 = float(grad @ grad)
    j0 = float(impl.expected_return(mdp, case.logits))
    j1 = float(impl.expected_return(mdp, new))
    got = f"J(θ) = {j0:.15g}, J(θ') = {j1:.15g}, α‖∇J‖² = {alpha * g2:.3e}"
    if g2 > 1e-9:
        ratio = (j1 - j0) / (alpha * g2)
        if not (j1 > j0 and 0.5 < ratio < 1.5):
            raise ClaimViolation(f"one VPG step of size α = {alpha} did not increase J by about α‖∇J‖²: {got}, ratio {ratio:.4g}")
    return Measurement(m.error, expected=m.expected, got=m.got, detail=m.detail + "; " + got)


@st.composite
def _vpg_cases(draw: st.DrawFn) -> BiasCase:
    case = draw(_mdp_cases())
    if draw(st.booleans(), label="true V"):
        return BiasCase(case, 0, False, draw(mixing_factors(), label="lam"))
    return BiasCase(case, draw(st.integers(1, 2**32 - 1), label="seed"), False, 1.0)


register(
    Claim(
        id="VPG-ASCENT",
        title="one small exact VPG step increases J",
        statement=(
            "The vanilla policy gradient step θ' = θ + α Σ_τ P(τ) Σ_t γ^t ∇log π(a_t|s_t) Â_t (eq. 7.2), with GAE advantages "
            "from a learned V (any V with λ = 1, or V = V^π with any λ), moves along ∇J, and for α = 1e-3 it increases the "
            "exact J by α‖∇J‖²(1 + O(α))"
        ),
        section="§7",
        source=("S7.1", "S7.8", "S6.10"),
        method="exact enumeration (the step averaged over every trajectory with its probability); ∇J by autograd; J before and after by backward induction; Hypothesis over MDPs, γ in [0,1], λ in [0,1]",
        tolerance=1e-9,
        tolerance_reason="(θ' − θ)/α divides the round-off of θ' (~1e-15) by α = 1e-3: ~1e-12, 1e-9 leaves margin; the ascent is a strict inequality with ΔJ/(α‖∇J‖²) in (0.5, 1.5), checked where ‖∇J‖² > 1e-9",
        strategy=_vpg_cases,
        check=_check_vpg_ascent,
        uses=("vpg_step", "expected_return"),
        examples=(BiasCase(P_DISC, 0, False, 0.95), BiasCase(P_THREE, 5, False, 1.0), BiasCase(P_UNDISC, 0, False, 0.0)),
        max_examples=10,
    )
)

# ------------------------------------------------------------------------------------ Q actor-critic


def _check_q_actor(case: MDPCase, impl: Impl) -> Measurement:
    ex = exact_values(case)
    mdp = case.mdp
    alpha = 0.5
    total = np.zeros(case.logits.shape)
    for t, s, a in zip(*np.nonzero(ex.reach)):
        step = np.asarray(impl.q_actor_step(case.logits, int(s), int(a), float(ex.q[t, s, a]), alpha))
        total += mdp.gamma**t * ex.occ[t, s, a] * (step - case.logits) / alpha
    return compare(exact_gradient(mdp, case.logits), total.reshape(-1), "Σ_t γ^t Σ_(s,a) d_t(s,a) (θ' − θ)/α with Q_w = Q^π vs autograd ∇J")


register(
    Claim(
        id="ADV-Q-ACTOR-UNBIASED",
        title="the Q actor-critic's actor step follows ∇J when Q_w = Q^π",
        statement=(
            "The actor step Δθ = α ∇_θ log π_θ(a_t|s_t) Q_w(s_t, a_t) (eq. 7.3, S7.2) with Q_w = Q^π, averaged over the "
            "on-policy occupancy d_t(s, a) with weights γ^t, is α ∇J"
        ),
        section="§7",
        source=("S7.2", "S6.3"),
        method="exact occupancies d_t(s,a) and Q^π by enumeration; one q_actor_step per reachable (t, s, a); ∇J by autograd; Hypothesis over MDPs, γ in [0,1]",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_mdp_cases,
        check=_check_q_actor,
        uses=("q_actor_step",),
        examples=PINNED_MDPS,
        max_examples=10,
    )
)

# ------------------------------------------------------------------------------------ critics


@dataclass(frozen=True, eq=False)
class CriticSamples:
    """Every (trajectory, step) of an enumeration as one critic sample with its probability."""

    x: np.ndarray  # [N·T, d] one-hot features of (t, s_t) or (t, s_t, a_t)
    xn: np.ndarray  # [N·T, d] features of the next (t+1, s_t+1[, a_t+1]); time T is a slot of its own
    r: np.ndarray  # [N·T]
    term: np.ndarray  # [N·T]
    w: np.ndarray  # [N·T], P(τ) / T
    idx: np.ndarray  # [N·T] the one-hot index of x


def _samples(ex: Exact, with_actions: bool) -> CriticSamples:
    tr, mdp = ex.tr, ex.tr.mdp
    n_t, n_s, n_a = mdp.horizon, mdp.n_states, mdp.n_actions
    steps = np.broadcast_to(np.arange(n_t), tr.actions.shape)
    if with_actions:
        dim = (n_t + 1) * n_s * n_a
        idx = (steps * n_s + tr.states[:, :-1]) * n_a + tr.actions
        next_a = np.concatenate([tr.actions[:, 1:], np.zeros((tr.n, 1), dtype=np.int64)], axis=1)
        idx_n = ((steps + 1) * n_s + tr.states[:, 1:]) * n_a + next_a
    else:
        dim = (n_t + 1) * n_s
        idx = steps * n_s + tr.states[:, :-1]
        idx_n = (steps + 1) * n_s + tr.states[:, 1:]
    m = idx.size
    x = np.zeros((m, dim))
    x[np.arange(m), idx.reshape(-1)] = 1.0
    xn = np.zeros((m, dim))
    xn[np.arange(m), idx_n.reshape(-1)] = 1.0
    w = np.broadcast_to(tr.prob[:, None] / n_t, tr.actions.shape).reshape(-1)
    return CriticSamples(x, xn, tr.rewards.reshape(-1), terminal_mask(tr).reshape(-1), w, idx.reshape(-1))


def _expected_update(s: CriticSamples, params: np.ndarray, gamma: float) -> np.ndarray:
    """β = 1: Σ_i ω_i (r_i + γ(1 − term_i) params[next] − params[this]) e_this, written out."""
    nxt = s.xn @ params
    delta = s.r + gamma * np.where(s.term, 0.0, nxt) - params[s.idx]
    out = np.zeros_like(params)
    np.add.at(out, s.idx, s.w * delta)
    return out


def _check_fixed_point(item: BiasCase, impl: Impl, with_actions: bool) -> Measurement:
    case = item.case
    ex = exact_values(case)
    mdp = case.mdp
    s = _samples(ex, with_actions)
    rng = np.random.default_rng(item.seed)
    if with_actions:
        table = np.concatenate([ex.q, rng.normal(size=(1, mdp.n_states, mdp.n_actions)) * 3], axis=0).reshape(-1)
        label = "Q_w = Q^π"
    else:
        table = ex.v.copy()
        table[-1] = rng.normal(size=mdp.n_states) * 3  # the critic's value of the final state: masked
        table = table.reshape(-1)
        label = "V_w = V^π"
    upd = np.asarray(impl.td_critic_update(table, s.x, s.xn, s.r, s.term, mdp.gamma, 1.0, weights=s.w)) - table
    m1 = compare(np.zeros_like(table), upd, f"expected TD(0) update at {label} (β = 1, samples weighted by P(τ)/T)")
    moved = table + rng.normal(size=table.shape)
    upd2 = np.asarray(impl.td_critic_update(moved, s.x, s.xn, s.r, s.term, mdp.gamma, 1.0, weights=s.w)) - moved
    m2 = compare(_expected_update(s, moved, mdp.gamma), upd2, f"expected update away from {label} vs Σ ω δ e_(t,s{',a' if with_actions else ''})")
    if item.must_be_biased and float(np.max(np.abs(upd2))) < 1e-3:
        raise ClaimViolation(f"the expected update at a perturbed critic should not vanish; max |Δw| = {np.max(np.abs(upd2)):.3e}")
    return _worst(m1, m2)


@st.composite
def _critic_cases(draw: st.DrawFn) -> BiasCase:
    return BiasCase(draw(_mdp_cases()), draw(st.integers(0, 2**32 - 1), label="seed"))


CRITIC_PINNED = tuple(BiasCase(c, 3, True) for c in PINNED_MDPS)

register(
    Claim(
        id="A2C-CRITIC-FIXED-POINT",
        title="the expected TD(0) critic update vanishes at V^π",
        statement=(
            "For a time-indexed tabular critic V_w(t, s) = w[t, s], the expected semi-gradient TD(0) update "
            "E[β δ_t ∇_w V_w(s_t)] over on-policy samples (eq. 7.4) is 0 at w = V^π (with any value at the final time, which "
            "termination masks), and equals Σ ω δ e_(t,s) elsewhere (non-zero on pinned perturbations)"
        ),
        section="§7",
        source=("S7.5", "S7.10"),
        method="exact enumeration: every (trajectory, t) is a sample weighted P(τ)/T; td_critic_update with one-hot (t, s) features vs 0 at V^π and vs the update written out at V^π + N(0,1); Hypothesis over MDPs, γ in [0,1]",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_critic_cases,
        check=lambda item, impl: _check_fixed_point(item, impl, False),
        uses=("td_critic_update",),
        examples=CRITIC_PINNED,
        max_examples=15,
    )
)

register(
    Claim(
        id="TD-SARSA-FIXED-POINT",
        title="the expected SARSA critic update vanishes at Q^π",
        statement=(
            "For a time-indexed tabular Q_w(t, s, a), the SARSA update Δw = β(r_t + γQ_w(s_{t+1}, a_{t+1}) − Q_w(s_t, a_t)) "
            "∇_w Q_w(s_t, a_t) (eq. 7.5, S7.3 with the gradient factor the source omits) has expectation 0 at w = Q^π and "
            "equals Σ ω δ e_(t,s,a) elsewhere"
        ),
        section="§7",
        source=("S7.3",),
        method="exact enumeration: every (trajectory, t) with its next action a_t+1 is a sample weighted P(τ)/T; td_critic_update with one-hot (t, s, a) features; Hypothesis over MDPs, γ in [0,1]",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_critic_cases,
        check=lambda item, impl: _check_fixed_point(item, impl, True),
        uses=("td_critic_update",),
        examples=CRITIC_PINNED,
        max_examples=15,
    )
)


@dataclass(frozen=True, eq=False)
class LinearCritic:
    params: np.ndarray
    x: np.ndarray
    xn: np.ndarray
    r: np.ndarray
    term: np.ndarray
    gamma: float
    beta: float
    weights: np.ndarray | None

    def __repr__(self) -> str:
        return (
            f"LinearCritic(params=np.{self.params!r}, x=np.{self.x!r}, xn=np.{self.xn!r}, r=np.{self.r!r}, "
            f"term=np.{self.term!r}, gamma={self.gamma!r}, beta={self.beta!r}, weights={self.weights!r})"
        )


@st.composite
def _linear_critics(draw: st.DrawFn) -> LinearCritic:
    n = draw(st.integers(1, 6), label="N")
    d = draw(st.integers(1, 4), label="d")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    term = rng.random(n) < draw(st.sampled_from([0.0, 0.3, 1.0]), label="termination rate")
    w = rng.random(n) if draw(st.booleans(), label="weighted") else None
    return LinearCritic(
        rng.normal(size=d), rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=n) * 3, term,
        draw(mixing_factors(), label="gamma"), draw(st.sampled_from([1.0, 0.1, 0.5]), label="beta"), w,
    )


def _check_semi_gradient(c: LinearCritic, impl: Impl) -> Measurement:
    w = torch.tensor(c.params, requires_grad=True)
    x, xn = torch.as_tensor(c.x), torch.as_tensor(c.xn)
    om = torch.full((c.x.shape[0],), 1.0 / c.x.shape[0], dtype=torch.float64) if c.weights is None else torch.as_tensor(c.weights)
    target = (torch.as_tensor(c.r) + c.gamma * torch.where(torch.as_tensor(c.term), 0.0, xn @ w)).detach()
    loss = 0.5 * (om * (target - x @ w) ** 2).sum()
    (grad,) = torch.autograd.grad(loss, w)
    expected = c.params - c.beta * grad.numpy()
    got = impl.td_critic_update(c.params, c.x, c.xn, c.r, c.term, c.gamma, c.beta, weights=c.weights)
    return compare(expected, got, "w − β ∇_w ½ Σ ω (stop_gradient(r + γ(1−term) x'ᵀw) − xᵀw)² by torch autograd")


register(
    Claim(
        id="TD-CRITIC-SEMI-GRADIENT",
        title="the TD critic update is a semi-gradient step",
        statement=(
            "td_critic_update(w, ...) = w − β ∇_w ½ Σ_i ω_i (y_i − x_iᵀw)² with the TD target y_i = r_i + γ(1 − terminated_i) "
            "x'_iᵀw held fixed: the update carries the factor ∇_w V_w = x_i (missing in the source's S7.3) and does not "
            "differentiate through the target (that would be the residual-gradient method)"
        ),
        section="§7",
        source=("S7.3", "S7.10"),
        method="Hypothesis over random linear critics (N <= 6 samples, d <= 4 features, terminations, weights, γ in [0,1], β): td_critic_update vs torch autograd of the loss with the target detached",
        tolerance=1e-12,
        tolerance_reason="a few dot products of O(1) numbers: round-off ~1e-15",
        strategy=_linear_critics,
        check=_check_semi_gradient,
        uses=("td_critic_update",),
        examples=(
            LinearCritic(np.array([1.0, -2.0]), np.array([[1.0, 0.5], [0.0, 2.0]]), np.array([[0.5, 1.0], [1.0, 1.0]]), np.array([1.0, -1.0]), np.array([False, True]), 0.9, 0.5, None),
            LinearCritic(np.array([0.5]), np.array([[2.0]]), np.array([[1.0]]), np.array([3.0]), np.array([False]), 1.0, 1.0, np.array([1.0])),
        ),
        max_examples=30,
    )
)

# ------------------------------------------------------------------------------------ A2C


def _check_a2c_actor(case: MDPCase, impl: Impl) -> Measurement:
    ex = exact_values(case)
    tr, mdp = ex.tr, case.mdp
    v, nv = ex.v_at(ex.v)
    g = impl.a2c_actor_gradient(tr.step_scores(), tr.rewards, v, nv, terminal_mask(tr), mdp.gamma, weights=tr.prob)
    return compare(exact_gradient(mdp, case.logits), g, "E[Σ γ^t ∇log π (r_t + γV^π(s_t+1) − V^π(s_t))] vs autograd ∇J")


register(
    Claim(
        id="A2C-ACTOR-TD-ADVANTAGE",
        title="A2C's TD-error actor gradient is exact with V^π",
        statement=(
            "With V_w = V^π, E[Σ_t γ^t ∇log π(a_t|s_t)(r_t + γ(1 − terminated_t)V_w(s_{t+1}) − V_w(s_t))] = ∇J (eq. 7.6, "
            "S7.7 with γ^t); with another V_w it is biased (TD-UNBIASED-ADVANTAGE)"
        ),
        section="§7",
        source=("S7.5", "S7.6", "S7.7"),
        method="exact enumeration vs autograd ∇J; Hypothesis over MDPs, γ in [0,1]",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_mdp_cases,
        check=_check_a2c_actor,
        uses=("a2c_actor_gradient",),
        examples=PINNED_MDPS,
        max_examples=10,
    )
)


def _expected_loss(ex: Exact, impl: Impl, table: np.ndarray) -> float:
    tr = ex.tr
    v, _ = ex.v_at(table)
    loss = np.asarray(impl.a2c_critic_loss(v, tr.rewards, tr.mdp.gamma))
    if loss.shape != tr.rewards.shape:
        raise ClaimViolation(f"a2c_critic_loss: expected per-step losses of shape {tr.rewards.shape}, got {loss.shape}")
    return float(tr.prob @ loss.sum(axis=1))


def _check_critic_target(case: MDPCase, impl: Impl) -> Measurement:
    ex = exact_values(case)
    mdp = case.mdp
    reach_s = ex.reach.any(axis=2)
    grads = np.zeros((mdp.horizon, mdp.n_states))
    for t, s in zip(*np.nonzero(reach_s)):
        up, down = ex.v.copy(), ex.v.copy()
        up[t, s] += 1.0
        down[t, s] -= 1.0
        # central difference: exact for a loss quadratic in V_t(s)
        grads[t, s] = (_expected_loss(ex, impl, up) - _expected_loss(ex, impl, down)) / 2.0
    scale = max(1.0, float(np.max(np.abs(ex.rtg))) ** 2)
    err = float(np.max(np.abs(grads))) / scale
    return Measurement(err, expected=0.0, got=grads, detail="∂/∂V_t(s) of E[Σ_t ℓ_t] at V = V^π for every reachable (t, s) (error / max(1, max G²))")


register(
    Claim(
        id="A2C-CRITIC-LOSS-TARGET",
        title="the critic loss is minimized by V^π",
        statement=(
            "The expected critic loss E[Σ_t ½(V_w(s_t) − G_t)²] with G_t = Σ_{k≥t} γ^{k−t} r_k, the return from s_t (eq. 7.7), "
            "has zero gradient in every reachable table entry V_t(s) at V = V^π; the source's target, the return from s_0 "
            "(S7.9), is minimized by E[G_0 | s_t] instead (errata E7.5)"
        ),
        section="§7",
        source=("S7.9", "S7.10", "S5.2"),
        method="exact enumeration of the expected loss; the derivative in each reachable V_t(s) by a central difference of step 1 (exact for a quadratic); Hypothesis over MDPs, γ in [0,1]",
        tolerance=1e-10,
        tolerance_reason="differences of expected losses of size <= max G² in float64, normalized by max(1, max G²): round-off ~1e-14",
        strategy=_mdp_cases,
        check=_check_critic_target,
        uses=("a2c_critic_loss",),
        examples=PINNED_MDPS,
        max_examples=20,
    )
)

