"""Errata of source section 6 (Q, V, advantage, GAE), each demonstrated numerically."""

from __future__ import annotations

import numpy as np

import reference

from ..claims.s06_advantage import P_THREE, WORKED, exact_values
from ..exact import exact_gradient
from . import Demo, Erratum, register_erratum

DISC_TEXT = "the pinned MDP P_DISC of SPEC.md §6 (S=2, A=2, T=3, γ=0.9; verification.claims.s06_advantage)"
THREE_TEXT = "the pinned MDP P_THREE of SPEC.md §6 (S=3, A=2, T=4, γ=0.8)"


def _v(x: object) -> str:
    with np.printoptions(precision=4, suppress=True):
        return np.array2string(np.asarray(x, dtype=float), separator=", ")


def _demo_e63() -> Demo:
    ex = exact_values(P_THREE)
    tr = ex.tr
    t = 1
    n_s = P_THREE.mdp.n_states
    given_s0 = np.zeros(n_s)
    for s in range(n_s):
        sel = tr.states[:, 0] == s
        if tr.prob[sel].sum() > 0:
            given_s0[s] = float(tr.prob[sel] @ ex.rtg[sel, t] / tr.prob[sel].sum())
    v1 = reference.state_values(P_THREE.mdp, P_THREE.logits)[t]
    reach = ex.reach[t].any(axis=1) & (P_THREE.mdp.initial > 0)
    gap = float(np.max(np.abs(given_s0[reach] - v1[reach])))
    worst = int(np.flatnonzero(reach)[np.argmax(np.abs(given_s0[reach] - v1[reach]))])
    return Demo(
        case=THREE_TEXT + ", t = 1, states reachable both at t = 0 and t = 1",
        source_form=f"E[Σ_l γ^l r_(t+l) | s_0 = s] = {_v(given_s0[reach])}",
        correct_form=f"V_1(s) = E[Σ_l γ^l r_(1+l) | s_1 = s] = {_v(v1[reach])}",
        separation=f"conditioning on the start state instead of s_t: max |difference| {gap:.4f}",
        ok=True,
        quantity=f"V at t = 1 of the state s = {worst} (the reachable state where the forms differ most)",
        source_value=float(given_s0[worst]),
        correct_value=float(v1[worst]),
        margin=1e-3,
    )


def _demo_e64() -> Demo:
    ex = exact_values(P_THREE)
    tr, g = ex.tr, P_THREE.mdp.gamma
    v_now, _ = ex.v_at(ex.v)
    v3 = ex.v[3, tr.states[:, 3]]
    r = tr.rewards
    base = r[:, 0] + g * r[:, 1] + g**2 * r[:, 2] - v_now[:, 0]
    x_src = np.zeros_like(r)
    x_ok = np.zeros_like(r)
    x_src[:, 0] = base + g * v3
    x_ok[:, 0] = base + g**3 * v3
    err_src = float(np.max(np.abs((ex.cond(x_src) - ex.adv)[0][ex.reach[0]])))
    err_ok = float(np.max(np.abs((ex.cond(x_ok) - ex.adv)[0][ex.reach[0]])))
    return Demo(
        case=THREE_TEXT + ", t = 0, V = V^π",
        source_form=f"E[r_0 + γr_1 + γ²r_2 + γV(s_3) − V(s_0) | s_0, a_0] misses A_0(s_0,a_0) by up to {err_src:.4f}",
        correct_form=f"with γ³V(s_3) the conditional mean equals A_0 (max error {err_ok:.1e})",
        separation=f"(γ − γ³) E[V(s_3)] = {(g - g**3):.3f}·E[V_3]",
        ok=err_ok < 1e-12,
        quantity="max over (s_0, a_0) of |E[estimator | s_0, a_0] − A_0(s_0, a_0)|",
        source_value=err_src,
        correct_value=err_ok,
        margin=1e-3,
    )


def _demo_e65() -> Demo:
    ro = WORKED.replace(
        rewards=np.array([1.0, 1.0, 2.0, 1.0]), next_values=np.array([2.0, 1.0, 2.0, 1.0]),
        terminated=np.zeros(4, bool), truncated=np.zeros(4, bool),
    )
    d = reference.td_residuals(ro.rewards, ro.values, ro.next_values, ro.terminated, ro.gamma)
    g, lm = ro.gamma, ro.lam
    src_k3 = sum(g**l * d[1] for l in range(3))
    ok_k3 = float(reference.k_step_advantage(ro.rewards, ro.values, ro.next_values, ro.terminated, ro.truncated, g, 3)[0])
    s67 = d[0] + g * d[1] + g**2 * d[2]
    src_gae = sum((g * lm) ** l * d[1] for l in range(4))
    ok_gae = float(reference.gae(*ro.args)[0])
    return Demo(
        case=f"rollout r = {_v(ro.rewards)}, V = {_v(ro.values)}, V_next = {_v(ro.next_values)} (consistent), no episode end, γ = λ = 1/2, t = 0; δ = {_v(d)}",
        source_form=f"Â^(3) = Σ_(l<3) γ^l δ_(t+1) = {src_k3:.4f}; Â^GAE = Σ_l (γλ)^l δ_(t+1) = {src_gae:.4f}",
        correct_form=f"Â^(3) = Σ_(l<3) γ^l δ_(t+l) = {ok_k3:.4f} (= S6.7's δ_t + γδ_(t+1) + γ²δ_(t+2) = {s67:.4f}); Â^GAE = {ok_gae:.4f}",
        separation=f"the source's index gives {src_k3:.4f} vs {ok_k3:.4f} and {src_gae:.4f} vs {ok_gae:.4f}",
        ok=abs(ok_k3 - s67) < 1e-12 and abs(src_gae - ok_gae) > 1e-3,
        quantity="Â_0^(3)",
        source_value=float(src_k3),
        correct_value=ok_k3,
        margin=1e-3,
    )


def _demo_e66() -> Demo:
    term = np.array([False, False, False, True])
    ro = WORKED.replace(terminated=term, truncated=np.zeros(4, bool), lam=0.95)
    n = 4
    ks = [float(reference.k_step_advantage(ro.rewards, ro.values, ro.next_values, ro.terminated, ro.truncated, ro.gamma, k)[0]) for k in range(1, n + 1)]
    # the source's series (1−λ) Σ_(k≥1) λ^(k−1) Â^(k), with Â^(k) = Â^(n) for k ≥ n (nothing after the
    # terminal state), summed term by term until λ^(k−1) < 1e-300
    series, k, w = 0.0, 1, 1.0
    while w > 1e-300:
        series += (1 - ro.lam) * w * ks[min(k, n) - 1]
        k, w = k + 1, w * ro.lam
    rec = float(reference.gae(*ro.args)[0])
    return Demo(
        case=f"the 4-step worked rollout ending in a terminal state, γ = 1/2, λ = 0.95, t = 0; Â^(1..4) = {_v(ks)} (every Â^(k), k ≥ 4, equals Â^(4))",
        source_form=f"the source's infinite mix (1−λ) Σ_(k≥1) λ^(k−1) Â^(k), summed over {k - 1} terms: {series:.12f}",
        correct_form=f"Σ_(l<4) (γλ)^l δ_(t+l) by the recursion (6.9): {rec:.12f}",
        separation="none: on a finite episode the source's infinite mix is exact (the old demonstration truncated it at k = 4, which the source never writes)",
        ok=True,
        quantity="Â_0^GAE",
        source_value=series,
        correct_value=rec,
        margin=1e-9,
    )


for _e in [
    Erratum("E6.1", ("S6.1",), "notation", "Q^π(s,a) = E[Σ_(l=0)^∞ r_l | s_0 = s, a_0 = a]",
            "Q_t(s,a) = E[Σ_(l=0)^(T−1−t) γ^l r_(t+l) | s_t = s, a_t = a] (finite horizon; infinite horizons need γ < 1 or termination)",
            "an undiscounted infinite sum of rewards diverges unless the episode ends; with a finite horizon Q depends on t",
            ("ADV-Q-V-ENUM",), None,
            revision="reclassified from incomplete (overstated): the source's episodes have a finite horizon T, so Σ_(l≥0) r_l is a finite sum (no reward after T) and, conditioned at time 0, it is Q_0 exactly; writing Q^π(s,a) without the time index is the usual shorthand. The slip of conditioning on s_0 while summing from t is E6.3"),
    Erratum("E6.2", ("S6.2",), "notation", "V(s) = E[Q(s,a)]", "V_t(s) = E_(a~π(·|s))[Q_t(s,a)], so that E_(a~π)[A_t(s,a)] = 0",
            "the expectation's distribution is not written; in a section about π's advantage the only reading is a ~ π(·|s)",
            ("ADV-Q-V-ENUM", "ADV-BASELINE-UNBIASED"), None,
            revision="reclassified from ambiguous (overstated): the entry demonstrated a uniform average over actions, a reading the source gives no ground for; an unsubscripted E is notation"),
    Erratum("E6.3", ("S6.4",), "typo", "Q^π(s,a) = E[Σ_l γ^l r_(t+l) | s_0 = s, a_0 = a], V^π(s) = E[Σ_l γ^l r_(t+l) | s_0 = s]",
            "Q_t(s,a) = E[Σ_l γ^l r_(t+l) | s_t = s, a_t = a], V_t(s) = E[Σ_l γ^l r_(t+l) | s_t = s]",
            "the sum starts at time t, so the condition is on the state (and action) at t, not at 0",
            ("ADV-Q-V-ENUM",), _demo_e63),
    Erratum("E6.4", ("S6.5",), "typo", "Â ≈ [r_t + γ r_(t+1) + γ² r_(t+2) + γ V(s_(t+3))] − V(s_t)",
            "Â^(3) = r_t + γ r_(t+1) + γ² r_(t+2) + γ³ V(s_(t+3)) − V(s_t)",
            "the bootstrap after k rewards is discounted by γ^k; with γ its conditional mean is not A even for V = V^π",
            ("GAE-KSTEP-TELESCOPE",), _demo_e64),
    Erratum("E6.5", ("S6.8", "S6.9"), "typo", "Â_t^(k) := Σ_(l=0)^(k−1) γ^l δ_(t+1); Â^GAE = Σ_(l≥0) (γλ)^l δ_(t+1)",
            "Â_t^(k) = Σ_(l=0)^(k−1) γ^l δ_(t+l); Â_t^GAE = Σ_(l≥0) (γλ)^l δ_(t+l)",
            "the summation index must appear in the residual's time; as written every term is δ_(t+1) and the sum contradicts S6.7",
            ("GAE-MIX-EQUALS-SUM", "GAE-KSTEP-TELESCOPE"), _demo_e65),
    Erratum("E6.6", ("S6.9",), "withdrawn", "Â^GAE = (1−λ)(Â^(1) + λÂ^(2) + λ²Â^(3) + …) = Σ_(l≥0) (γλ)^l δ_(t+l), derived through 1/(1−λ)",
            "on an episode with n_t steps left: (1−λ) Σ_(k<n_t) λ^(k−1) Â^(k) + λ^(n_t−1) Â^(n_t) = Σ_(l<n_t) (γλ)^l δ_(t+l); λ = 1 is the limit (Â^(n_t))",
            "a rollout has finitely many residuals; the estimators beyond the episode end all equal Â^(n_t) and carry the tail weight λ^(n_t−1). The steps through 1/(1−λ) are 0·∞ at λ = 1",
            ("GAE-MIX-EQUALS-SUM", "GAE-FORMS-AGREE"), _demo_e66,
            revision="withdrawn: every k-step estimator with k ≥ n_t equals the n_t-step one (as §6 itself says), so the source's infinite (1−λ) mix is exact on a finite episode for λ < 1, and its closed form Σ (γλ)^l δ_(t+l) (index as in E6.5) holds at λ = 1 too; the old demonstration truncated the mix at k = 4, which the source never writes"),
    Erratum("E6.7", ("S6.10",), "withdrawn", "λ = 0 (TD(0)) has high bias; λ = 1 (policy gradient with a baseline) has high variance",
            "the bias of GAE(γ,λ) comes only from the error of V: with V = V^π every λ gives ∇J exactly; with V ≠ V^π λ = 1 is unbiased and smaller λ weights the error more",
            "E[δ_t | s_t, a_t] = A_t when V = V^π, so no λ is biased by itself",
            ("GAE-VPI-UNBIASED", "TD-UNBIASED-ADVANTAGE"), None,
            revision="withdrawn: the source attributes λ = 0's bias to its reliance on \"the estimated value function\", which is exactly the correct statement; no source form was computed, and nothing the source says differs from it"),
]:
    register_erratum(_e)
