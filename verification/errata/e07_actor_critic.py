"""Errata of source section 7 (vanilla policy gradient, actor-critic, A2C), demonstrated numerically."""

from __future__ import annotations

import numpy as np

import reference

from ..claims.s06_advantage import P_DISC, P_THREE, critic_error, exact_values, terminal_mask
from ..claims.s07_actor_critic import _samples

from . import Demo, Erratum, register_erratum
from .e06_advantage import DISC_TEXT, THREE_TEXT, _v


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
        ok=err_ok < 1e-9,
        quantity="max over reachable (t, s, a) of |Q_w − Q^π| after 3000 expected updates",
        source_value=err_src,
        correct_value=err_ok,
        margin=1e-2,
    )


def _demo_e74() -> Demo:
    ex = exact_values(P_DISC)
    tr, mdp = ex.tr, P_DISC.mdp
    term = terminal_mask(tr)
    v, nv = ex.v_at(ex.v)
    delta = tr.rewards + mdp.gamma * np.where(term, 0.0, nv) - v
    err = float(np.max(np.abs((ex.cond(delta) - ex.adv)[ex.reach])))
    return Demo(
        case=DISC_TEXT + ", V_w = V^π",
        source_form=f"the TD error as \"a good estimator of the advantage function\": max |E[δ_t | s_t, a_t] − A_t| = {err:.1e}",
        correct_form="A_t(s_t, a_t) = Q_t − V_t, computed by backward induction",
        separation="none: the TD error is an unbiased one-sample estimate of the advantage, which is what the source says",
        ok=True,
        quantity="max over reachable (t, s, a) of |E[δ_t | s_t, a_t] − A_t(s_t, a_t)|",
        source_value=err,
        correct_value=0.0,
        margin=1e-9,
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
    diff = np.where(reach, np.abs(src_v - v_true), -1.0)
    worst = tuple(int(x) for x in np.unravel_index(int(np.argmax(diff)), diff.shape))
    loss_true = float(tr.prob @ reference.a2c_critic_loss(ex.v_at(ex.v)[0], tr.rewards, mdp.gamma).sum(axis=1))
    return Demo(
        case=THREE_TEXT + "; a time-indexed tabular critic V(t, s) minimizing the expected loss",
        source_form=f"L = ½‖V_θ − (Σ_t γ^t r_t | s_0 = s)‖²: its minimizer is V(t, s) = E[G_0 | s_t = s], e.g. t = 1: {_v(src_v[1])}",
        correct_form=f"ℓ_t = ½(V_w(s_t) − Σ_(k≥t) γ^(k−t) r_k)²: minimized by V^π, t = 1: {_v(v_true[1])} (expected loss at V^π {loss_true:.4f})",
        separation=f"max |E[G_0 | s_t] − V_t^π(s_t)| = {gap:.4f}; the source also writes the critic's parameters as θ (the actor's) and updates w",
        ok=True,
        quantity=f"the critic's minimizer V(t, s) at (t, s) = {worst}, where the two differ most",
        source_value=float(src_v[worst]),
        correct_value=float(v_true[worst]),
        margin=1e-3,
    )


for _e in [
    Erratum("E7.1", ("S7.1",), "extraction", "the vanilla policy gradient 'is given as follows' (a figure that is not reproduced)",
            "θ' = θ + α Σ_i w_i Σ_t γ^t ∇log π(a_t^i|s_t^i) Â_t^i with GAE advantages from a learned V_φ, then V_φ fitted to the returns (eqs. 7.2, 5.1)",
            "the text states no update; the specification writes the algorithm the figure shows (Spinning Up's VPG)",
            ("VPG-ASCENT",), None,
            revision="reclassified from incomplete: the algorithm is a figure lost in the text's extraction, not mathematics the source gets wrong; nothing of the source's can be computed"),
    Erratum("E7.2", ("S7.2", "S7.3"), "notation", "action a_t 'outputs a new state s_(t+1) and reward r_(t+1)', while the updates use r(s_t, a_t)",
            "one index for the reward of acting in s_t: r_t = r(s_t, a_t) (SPEC.md §0)",
            "with r_(t+1) read as the next step's reward the TD error pairs the wrong reward with s_t and is not an advantage estimate",
            ("TD-UNBIASED-ADVANTAGE",), None,
            revision="reclassified from ambiguous (overstated): calling the reward that follows a_t r_(t+1) is Sutton and Barto's convention (their R_(t+1)); it names the same number the updates write r(s_t, a_t), and no reading of the source puts the next step's reward into its updates"),
    Erratum("E7.3", ("S7.3",), "wrong", "Δw = β(r(s_t,a_t) + γQ_w(s_(t+1),a_(t+1)) − Q_w(s_t,a_t))",
            "Δw = β(r(s_t,a_t) + γQ_w(s_(t+1),a_(t+1)) − Q_w(s_t,a_t)) ∇_w Q_w(s_t,a_t)",
            "the TD error is a scalar and w a vector: the semi-gradient step needs the factor ∇_w Q_w; without it every weight moves by the same amount",
            ("TD-CRITIC-SEMI-GRADIENT", "TD-SARSA-FIXED-POINT"), _demo_e73),
    Erratum("E7.4", ("S7.5",), "withdrawn", "Â_w(s,a) = Q_w(s,a) − V_w(s) ≈ r(s_t,a_t) + γV_w(s_(t+1)) − V_w(s_t)",
            "E[r_t + γV(s_(t+1)) − V(s_t) | s_t, a_t] = A_t(s_t, a_t) when V = V^π; otherwise biased by γE[ΔV(s_(t+1)) | s_t, a_t] − ΔV(s_t)",
            "the TD error is a one-sample estimate of the advantage, unbiased only in conditional expectation and only with the true V",
            ("TD-UNBIASED-ADVANTAGE", "A2C-ACTOR-TD-ADVANTAGE"), _demo_e74,
            revision="withdrawn (overstated): the source offers the TD error as \"a good estimator of the advantage function\" with ≈, not as an identity; with the exact V it is unbiased, which is all the source claims"),
    Erratum("E7.5", ("S7.9", "S7.10"), "ambiguous", "L_VF = (1/m) Σ_i ½‖V_θ − (Σ_(t=0)^(T−1) γ^t r_t | s_0 = s)‖²",
            "L_VF = (1/m) Σ_i Σ_t ½(V_w(s_t^i) − Σ_(k=t)^(T−1) γ^(k−t) r_k^i)² (per step, the return from s_t, the critic's own parameters w)",
            "every state's value must be regressed on the return that follows it; the return from s_0 makes the minimizer E[G_0 | s_t], not V^π(s_t)",
            ("A2C-CRITIC-LOSS-TARGET",), _demo_e75,
            readings=("the target Σ_(t=0)^(T−1) γ^t r_t of the episode, from its start, for the value of every visited state: its minimizer is E[G_0 | s_t], not V^π",
                      "\"| s_0 = s\" as the source's §6 uses it, the return of the rewards that follow the state s: the regression of (7.7), minimized by V^π"),
            revision="reclassified from wrong: \"(Σ_t γ^t r_t | s_0 = s)\" is the source's §6 notation for the return that follows s, which is the correct target; only the reading with the episode's return from time 0 is wrong, and that is the one demonstrated"),
    Erratum("E7.6", ("S7.3",), "notation", "\"After the actor updates its parameters, it determines state a_(t+1) from its current state s_(t+1)\"",
            "the actor chooses the action a_(t+1) ~ π_θ(·|s_(t+1))", "a wording slip (\"state\" for \"action\") with one reading",
            ("TD-SARSA-FIXED-POINT",), None,
            revision="added on re-reading: recorded as notation, not counted"),
]:
    register_erratum(_e)
