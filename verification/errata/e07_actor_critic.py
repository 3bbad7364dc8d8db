"""Errata of source section 7 (vanilla policy gradient, actor-critic, A2C), demonstrated numerically."""

from __future__ import annotations

import numpy as np

import reference

from ..claims.s06_advantage import P_DISC, P_THREE, critic_error, exact_values, terminal_mask
from ..claims.s07_actor_critic import _samples
from ..exact import exact_gradient
from . import Demo, Erratum, register_erratum
from .e06_advantage import DISC_TEXT, THREE_TEXT, _v


def _demo_e71() -> Demo:
    ex = exact_values(P_DISC)
    tr, mdp = ex.tr, P_DISC.mdp
    values, _ = ex.v_at(ex.v + critic_error(P_DISC, 5))
    new = reference.vpg_step(P_DISC.logits, tr.states[:, :-1], tr.actions, tr.rewards, values, mdp.gamma, 1.0, 0.1, weights=tr.prob)
    j0 = reference.expected_return(mdp, P_DISC.logits)
    j1 = reference.expected_return(mdp, new)
    grad = exact_gradient(mdp, P_DISC.logits)
    return Demo(
        case=DISC_TEXT + "; a learned baseline V = V^π + ΔV, λ = 1, α = 0.1, the step averaged over every trajectory",
        source_form="'the vanilla policy gradient is given as follows' followed by an unreproduced figure: no equation to implement",
        correct_form=f"θ' = θ + α Σ_τ P(τ) Σ_t γ^t ∇log π(a_t|s_t) Â_t (eq. 7.2): J {j0:.6f} → {j1:.6f}",
        separation=f"the step direction equals ∇J = {_v(grad)} (max error {float(np.max(np.abs((new - P_DISC.logits).reshape(-1) / 0.1 - grad))):.1e})",
        ok=j1 > j0 and float(np.max(np.abs((new - P_DISC.logits).reshape(-1) / 0.1 - grad))) < 1e-12,
    )


def _demo_e72() -> Demo:
    ex = exact_values(P_THREE)
    tr, g = ex.tr, P_THREE.mdp.gamma
    v, nv = ex.v_at(ex.v)
    next_r = np.concatenate([tr.rewards[:, 1:], np.zeros((tr.n, 1))], axis=1)
    term = terminal_mask(tr)
    shifted = next_r + g * np.where(term, 0.0, nv) - v
    right = tr.rewards + g * np.where(term, 0.0, nv) - v
    err_shift = float(np.max(np.abs((ex.cond(shifted) - ex.adv)[ex.reach])))
    err_right = float(np.max(np.abs((ex.cond(right) - ex.adv)[ex.reach])))
    return Demo(
        case=THREE_TEXT + ", V = V^π",
        source_form=f"'a_t … outputs s_(t+1) and reward r_(t+1)' read with r_(t+1) = r(s_(t+1), a_(t+1)): E[r_(t+1) + γV(s_(t+1)) − V(s_t) | s_t, a_t] misses A_t by up to {err_shift:.4f}",
        correct_form=f"the reward of acting in s_t is r_t = r(s_t, a_t) (SPEC.md §0; Sutton and Barto call the same number R_(t+1)): E[δ_t | s_t, a_t] = A_t (max error {err_right:.1e})",
        separation="the prose and the equations index the same reward differently; read inconsistently, the TD error pairs the wrong reward with the state",
        ok=err_right < 1e-12 and err_shift > 1e-3,
    )


def _demo_e73() -> Demo:
    ex = exact_values(P_DISC)
    mdp = P_DISC.mdp
    s = _samples(ex, with_actions=True)
    n_t = mdp.horizon
    q_true = np.concatenate([ex.q, np.zeros((1, mdp.n_states, mdp.n_actions))], axis=0).reshape(-1)
    reach = np.concatenate([ex.reach, np.zeros((1, mdp.n_states, mdp.n_actions), bool)], axis=0).reshape(-1)
    w_ok = np.zeros(q_true.shape)
    w_src = np.zeros(q_true.shape)
    for _ in range(3000):
        w_ok = reference.td_critic_update(w_ok, s.x, s.xn, s.r, s.term, mdp.gamma, float(n_t), weights=s.w)
        nxt = s.xn @ w_src
        delta = s.r + mdp.gamma * np.where(s.term, 0.0, nxt) - s.x @ w_src
        w_src = w_src + float(n_t) * float(s.w @ delta)  # Δw = β(r + γQ_w(s',a') − Q_w(s,a)), no ∇_w Q_w
    err_ok = float(np.max(np.abs(w_ok - q_true)[reach]))
    err_src = float(np.max(np.abs(w_src - q_true)[reach]))
    return Demo(
        case=DISC_TEXT + "; tabular Q_w(t, s, a), 3000 expected SARSA updates from w = 0 (β = T, samples weighted P(τ)/T)",
        source_form=f"Δw = β(r + γQ_w(s',a') − Q_w(s,a)): a scalar added to every weight; max |Q_w − Q^π| = {err_src:.4f}",
        correct_form=f"Δw = β(r + γQ_w(s',a') − Q_w(s,a)) ∇_w Q_w(s,a): max |Q_w − Q^π| = {err_ok:.1e}",
        separation="without ∇_w Q_w only the average TD error is driven to zero, not each entry's",
        ok=err_ok < 1e-9 and err_src > 1e-2,
    )


def _demo_e74() -> Demo:
    ex = exact_values(P_DISC)
    tr, mdp = ex.tr, P_DISC.mdp
    term = terminal_mask(tr)
    v, nv = ex.v_at(ex.v)
    delta = tr.rewards + mdp.gamma * np.where(term, 0.0, nv) - v
    mean = ex.cond(delta)
    var = ex.cond(delta**2) - mean**2
    v2, nv2 = ex.v_at(ex.v + critic_error(P_DISC, 11))
    delta2 = tr.rewards + mdp.gamma * np.where(term, 0.0, nv2) - v2
    bias2 = float(np.max(np.abs((ex.cond(delta2) - ex.adv)[ex.reach])))
    return Demo(
        case=DISC_TEXT,
        source_form="Â_w(s,a) = Q_w(s,a) − V_w(s) ≈ r(s_t,a_t) + γV_w(s_(t+1)) − V_w(s_t)",
        correct_form=(
            f"E[δ_t | s_t, a_t] = A_t(s_t, a_t) exactly when V_w = V^π (max error {float(np.max(np.abs((mean - ex.adv)[ex.reach]))):.1e}); "
            f"a single δ_t has conditional variance up to {float(np.max(var[ex.reach])):.4f}; with V_w ≠ V^π the mean is off by up to {bias2:.4f}"
        ),
        separation="'≈' holds in conditional expectation and only for the true value function",
        ok=float(np.max(np.abs((mean - ex.adv)[ex.reach]))) < 1e-12 and float(np.max(var[ex.reach])) > 1e-3 and bias2 > 1e-3,
    )


def _demo_e75() -> Demo:
    ex = exact_values(P_THREE)
    tr, mdp = ex.tr, P_THREE.mdp
    g0 = ex.rtg[:, 0]
    src_min = ex.cond(np.broadcast_to(g0[:, None], tr.rewards.shape).copy())
    occ = ex.occ
    occ_s = occ.sum(axis=2)
    src_v = np.divide((occ * src_min).sum(axis=2), occ_s, out=np.zeros_like(occ_s), where=occ_s > 0)
    v_true = ex.v[:-1]
    reach = occ_s > 0
    gap = float(np.max(np.abs(src_v - v_true)[reach]))
    loss_true = float(tr.prob @ reference.a2c_critic_loss(ex.v_at(ex.v)[0], tr.rewards, mdp.gamma).sum(axis=1))
    return Demo(
        case=THREE_TEXT + "; a time-indexed tabular critic V(t, s) minimizing the expected loss",
        source_form=f"L = ½‖V_θ − (Σ_t γ^t r_t | s_0 = s)‖²: its minimizer is V(t, s) = E[G_0 | s_t = s], e.g. t = 1: {_v(src_v[1])}",
        correct_form=f"ℓ_t = ½(V_w(s_t) − Σ_(k≥t) γ^(k−t) r_k)²: minimized by V^π, t = 1: {_v(v_true[1])} (expected loss at V^π {loss_true:.4f})",
        separation=f"max |E[G_0 | s_t] − V_t^π(s_t)| = {gap:.4f}; the source also writes the critic's parameters as θ (the actor's) and updates w",
        ok=gap > 1e-3,
    )


for _e in [
    Erratum("E7.1", ("S7.1",), "incomplete", "the vanilla policy gradient 'is given as follows' (a figure that is not reproduced)",
            "θ' = θ + α Σ_i w_i Σ_t γ^t ∇log π(a_t^i|s_t^i) Â_t^i with GAE advantages from a learned V_φ, then V_φ fitted to the returns (eqs. 7.2, 5.1)",
            "the text states no update; the specification writes the algorithm the figure shows (Spinning Up's VPG)",
            ("VPG-ASCENT",), _demo_e71),
    Erratum("E7.2", ("S7.2", "S7.3"), "ambiguous", "action a_t 'outputs a new state s_(t+1) and reward r_(t+1)', while the updates use r(s_t, a_t)",
            "one index for the reward of acting in s_t: r_t = r(s_t, a_t) (SPEC.md §0)",
            "with r_(t+1) read as the next step's reward the TD error pairs the wrong reward with s_t and is not an advantage estimate",
            ("TD-UNBIASED-ADVANTAGE",), _demo_e72),
    Erratum("E7.3", ("S7.3",), "wrong", "Δw = β(r(s_t,a_t) + γQ_w(s_(t+1),a_(t+1)) − Q_w(s_t,a_t))",
            "Δw = β(r(s_t,a_t) + γQ_w(s_(t+1),a_(t+1)) − Q_w(s_t,a_t)) ∇_w Q_w(s_t,a_t)",
            "the TD error is a scalar and w a vector: the semi-gradient step needs the factor ∇_w Q_w; without it every weight moves by the same amount",
            ("TD-CRITIC-SEMI-GRADIENT", "TD-SARSA-FIXED-POINT"), _demo_e73),
    Erratum("E7.4", ("S7.5",), "incomplete", "Â_w(s,a) = Q_w(s,a) − V_w(s) ≈ r(s_t,a_t) + γV_w(s_(t+1)) − V_w(s_t)",
            "E[r_t + γV(s_(t+1)) − V(s_t) | s_t, a_t] = A_t(s_t, a_t) when V = V^π; otherwise biased by γE[ΔV(s_(t+1)) | s_t, a_t] − ΔV(s_t)",
            "the TD error is a one-sample estimate of the advantage, unbiased only in conditional expectation and only with the true V",
            ("TD-UNBIASED-ADVANTAGE", "A2C-ACTOR-TD-ADVANTAGE"), _demo_e74),
    Erratum("E7.5", ("S7.9", "S7.10"), "wrong", "L_VF = (1/m) Σ_i ½‖V_θ − (Σ_(t=0)^(T−1) γ^t r_t | s_0 = s)‖²",
            "L_VF = (1/m) Σ_i Σ_t ½(V_w(s_t^i) − Σ_(k=t)^(T−1) γ^(k−t) r_k^i)² (per step, the return from s_t, the critic's own parameters w)",
            "every state's value must be regressed on the return that follows it; the return from s_0 makes the minimizer E[G_0 | s_t], not V^π(s_t)",
            ("A2C-CRITIC-LOSS-TARGET",), _demo_e75),
]:
    register_erratum(_e)
