"""Errata of source section 11 (the generic template), demonstrated exactly by enumeration."""

from __future__ import annotations

import numpy as np

import reference

from ..registry import all_claims

all_claims()  # register every claim module in canonical (name) order before importing any of them here

from ..claims._offpolicy import exact_gradient_1t, step_tables
from ..claims.s01_policy_gradient import PINNED_2X2
from ..claims.s11_template import template_estimates
from ..exact import enumerate_trajectories
from ..registry import REFERENCE
from . import Demo, Erratum, register_erratum

TEXT_ONE = "the pinned 2x2 MDP of §1 (T=3, γ=1)"


def _v(x: object) -> str:
    with np.printoptions(precision=4, suppress=True):
        return np.array2string(np.asarray(x, dtype=float), separator=", ")


def _gap(a: object, b: object) -> float:
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))


def _demo_e112() -> Demo:
    est = template_estimates(PINNED_2X2, 1.0, REFERENCE)
    src, right, grad = est["as written: baseline from t'=0"], est["baseline V_t(s_t) (11.4)"], est["∇J"]
    v0, vt = float(est["var baseline from 0"]), float(est["var baseline from t"])
    return Demo(
        case=TEXT_ONE + ", baseline V_t(s_t)",
        source_form=f"'baseline corrected rewards to go' Ψ_t = Σ_(t'=0)^(T−1) r_t' − V(s_t): E[ĝ] = {_v(src)}, tr Cov = {v0:.4f}",
        correct_form=f"Ψ_t = Σ_(t'=t)^(T−1) r_t' − V(s_t): E[ĝ] = {_v(right)}, tr Cov = {vt:.4f}",
        separation=f"both unbiased (= ∇J); the written form keeps the past rewards and is not rewards-to-go: variance +{100 * (v0 / vt - 1):.1f}%",
        ok=_gap(src, grad) < 1e-12 and _gap(right, grad) < 1e-12,
        quantity="tr Cov of the estimator the source calls baseline-corrected rewards-to-go",
        source_value=v0,
        correct_value=vt,
        margin=1e-6,
        gamma=1.0,
    )


def _demo_e113() -> Demo:
    est = template_estimates(PINNED_2X2, 1.0, REFERENCE)
    src, right, grad = est["as written: TD without γ"], est["TD residual (11.5)"], est["∇J"]
    return Demo(
        case=TEXT_ONE + ", exact V (the source's template is undiscounted)",
        source_form=f"Ψ_t = r_t + V(s_t+1) − V(s_t): E[ĝ] = {_v(src)}",
        correct_form=f"Ψ_t = r_t + γV(s_t+1) − V(s_t) at γ = 1: E[ĝ] = {_v(right)} = ∇J = {_v(grad)}",
        separation="none: at the template's γ = 1 the two forms are the same residual",
        ok=_gap(right, grad) < 1e-12,
        quantity="‖E[ĝ] − ∇J‖∞",
        source_value=_gap(src, grad),
        correct_value=_gap(right, grad),
        margin=1e-9,
        gamma=1.0,
    )


def _demo_e114() -> Demo:
    est = template_estimates(PINNED_2X2, 1.0, REFERENCE)
    src, right, grad = est["as written: actor-critic with max"], est["actor-critic Σπ Q (11.6)"], est["∇J"]
    return Demo(
        case=TEXT_ONE + ", exact Q",
        source_form=f"Ψ_t = r_t + max_a' V_w(s_t+1, a') − Σ_a π(a|s) Q(s,a): E[ĝ] = {_v(src)}",
        correct_form=f"Ψ_t = r_t + γ Σ_a' π(a'|s_t+1) Q(s_t+1, a') − Σ_a π(a|s_t) Q(s_t, a): E[ĝ] = {_v(right)} = ∇J",
        separation=(
            f"bias {_gap(src, grad):.4f}: the max is the greedy policy's value (Q-learning's target), not π's; it equals "
            f"E[Σ_t ∇log π (max_a' Q' − V')] = {_v(est['predicted bias AC'])}"
        ),
        ok=_gap(right, grad) < 1e-12,
        quantity="‖E[ĝ] − ∇J‖∞",
        source_value=_gap(src, grad),
        correct_value=_gap(right, grad),
        margin=1e-3,
        gamma=1.0,
    )


def _conditional_mean(values: np.ndarray, c: object) -> tuple[np.ndarray, np.ndarray]:
    """E[X_t | s_t = s] over enumerated trajectories, [T, S], and the visit probabilities."""
    from ..strategies.mdp import MDPCase

    assert isinstance(c, MDPCase)
    tr = enumerate_trajectories(c.mdp, c.logits)
    n_t, n_s = c.mdp.horizon, c.mdp.n_states
    num, den = np.zeros((n_t, n_s)), np.zeros((n_t, n_s))
    for t in range(n_t):
        np.add.at(num[t], tr.states[:, t], tr.prob * values[:, t])
        np.add.at(den[t], tr.states[:, t], tr.prob)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan), den


def _demo_e115() -> Demo:
    c = PINNED_2X2
    tr = enumerate_trajectories(c.mdp, c.logits)
    total = np.repeat(tr.rewards.sum(axis=1, keepdims=True), c.mdp.horizon, axis=1)
    fit, den = _conditional_mean(total, c)  # argmin_V E[(Σ_(t'=0) r − V(s_t))²] per (t, s)
    v = reference.state_values(c.mdp, c.logits)[: c.mdp.horizon]
    gap = float(np.nanmax(np.abs(fit - v)[den > 0]))
    diff = np.where(den > 0, np.abs(np.nan_to_num(fit) - v), -1.0)
    worst = tuple(int(x) for x in np.unravel_index(int(np.argmax(diff)), diff.shape))
    return Demo(
        case=TEXT_ONE,
        source_form=f"critic J(w) = ½E‖Ψ_t‖² with S11.4's Ψ_t = Σ_(t'=0) r − V_w(s_t): minimizer V(t, s) = E[R(τ) | s_t = s] = {_v(fit[1:])} (t = 1, 2)",
        correct_form=f"regressing the return from t (§5) gives V_t(s) = E[Σ_(t'>=t) r | s_t = s] = {_v(v[1:])}",
        separation=f"the critic learns past rewards as well (max gap {gap:.4f} on reachable (t, s)); as a baseline it stays unbiased, but it is not V^π",
        ok=float(np.nanmax(np.abs(fit[0] - v[0])[den[0] > 0])) < 1e-12,
        quantity=f"the critic's minimizer V(t, s) at (t, s) = {worst}, where the two differ most",
        source_value=float(fit[worst]),
        correct_value=float(v[worst]),
        margin=1e-3,
        gamma=1.0,
    )


def _demo_e116() -> Demo:
    c = PINNED_2X2
    mdp = c.mdp
    tr = enumerate_trajectories(mdp, c.logits)
    n_t, n_s, g = mdp.horizon, mdp.n_states, mdp.gamma
    rows, targets, weights = [], [], []
    for i in range(tr.n):
        for t in range(n_t):
            row = np.zeros(n_t * n_s)
            row[t * n_s + tr.states[i, t]] -= 1.0
            if t + 1 < n_t:
                row[(t + 1) * n_s + tr.states[i, t + 1]] += g
            rows.append(row)
            targets.append(-tr.rewards[i, t])
            weights.append(np.sqrt(tr.prob[i]))
    a = np.asarray(rows) * np.asarray(weights)[:, None]
    b = np.asarray(targets) * np.asarray(weights)
    sol = np.linalg.lstsq(a, b, rcond=None)[0].reshape(n_t, n_s)  # minimizes E[Σ_t δ_t²] over every V_t(s)
    v = reference.state_values(mdp, c.logits)[:n_t]
    _, den = _conditional_mean(np.zeros((tr.n, n_t)), c)
    tab = step_tables(mdp, c.logits, tr)
    mstde_true = float(tr.expect(((tr.rewards + g * tab.v_next - tab.v) ** 2).sum(axis=1)))
    resid = (a @ sol.reshape(-1) - b)
    gap = float(np.max(np.abs(sol - v)[den > 0]))
    diff = np.where(den > 0, np.abs(sol - v), -1.0)
    worst = tuple(int(x) for x in np.unravel_index(int(np.argmax(diff)), diff.shape))
    grad = exact_gradient_1t(mdp, c.logits)
    return Demo(
        case=TEXT_ONE + " (stochastic transitions), time-indexed table V_t(s), V_T = 0",
        source_form=f"minimize J(w) = ½E‖r + γV_w(s_t+1) − V_w(s_t)‖² over all of w (gradient through V(s_t+1) too): V = {_v(sol)}, E[Σ δ²] = {float(resid @ resid):.4f}",
        correct_form=f"V^π = {_v(v)} (E[Σ δ²] = {mstde_true:.4f} there): the fixed point of TD's semi-gradient, or the regression on returns of §5",
        separation=f"max gap {gap:.4f}: the mean squared TD error is minimized by a different V when s_t+1 is random (the double-sampling bias); |∇J| = {np.linalg.norm(grad):.3f} for scale",
        ok=float(resid @ resid) < mstde_true,
        quantity=f"V_t(s) at (t, s) = {worst}, where the two differ most",
        source_value=float(sol[worst]),
        correct_value=float(v[worst]),
        margin=1e-3,
        gamma=1.0,
    )


for _e in [
    Erratum("E11.1", ("S11.1",), "notation", "For m batches, Ĵ(θ) = (1/m) Σ_i [Σ_t ∇_θ log π_θ(a_t^i|s_t^i) Ψ_t^i]",
            "ĝ = (1/m) Σ_(i=1)^m Σ_t ∇_θ log π_θ(a_t^i|s_t^i) Ψ_t^i, an estimate of ∇_θ J(θ) from m trajectories",
            "the template is a gradient estimator; J(θ) is the scalar objective",
            ("TEMPLATE-PSI-UNBIASED",), None,
            revision="reclassified from typo: naming the gradient estimator Ĵ and its m trajectories \"m batches\" is a naming slip with one reading (every Ψ_t that follows is a gradient weight); nothing of the source's evaluates to a different number"),
    Erratum("E11.2", ("S11.4",), "typo", "Baseline Corrected Rewards to Go: Ψ_t = Σ_(t'=0)^(T−1) r(s_t', a_t') − V_w(s_t)",
            "Ψ_t = Σ_(t'=t)^(T−1) r(s_t', a_t') − V_w(s_t)",
            "summed from t' = 0 the estimator is still unbiased (past rewards act as an action-independent baseline) but it is not a rewards-to-go form and keeps the past rewards' variance",
            ("TEMPLATE-PSI-UNBIASED",), _demo_e112,
            revision="reclassified from ambiguous: the text says \"we combine baseline correction with rewards to go\", so the lower limit t' = 0 is an index slip with one fix, demonstrated at the template's γ = 1"),
    Erratum("E11.3", ("S11.6", "S11.7"), "withdrawn", "Ψ_t = r(s_t,a_t) + V_w(s_t+1) − V_w(s_t), and J(w) = ½E‖r + V_w(s_t+1) − V_w(s_t)‖²",
            "Ψ_t = r(s_t,a_t) + γV_w(s_t+1) − V_w(s_t) (the TD residual of §6), and the critic's target r + γV(s_t+1)",
            "for γ < 1 the undiscounted residual biases the gradient by E[Σ_t ∇log π (1−γ)V(s_t+1)], and its critic fits the undiscounted value",
            ("TEMPLATE-PSI-UNBIASED",), _demo_e113,
            revision="withdrawn: the template is undiscounted throughout (SPEC §0: the source is the case γ = 1), and there its TD form r + V(s_t+1) − V(s_t) is exact; the old demonstration needed γ = 1/2, which the template never uses"),
    Erratum("E11.4", ("S11.8",), "wrong", "Ψ_t = r(s_t,a_t) + max_(a_t+1) V_w(s_t+1, a_t+1) − Σ_a π_θ(a|s) Q(s, a)",
            "Ψ_t = r(s_t,a_t) + γ Σ_a' π_θ(a'|s_t+1) Q_w(s_t+1, a') − Σ_a π_θ(a|s_t) Q_w(s_t, a)",
            "the bootstrap must be the value of the policy being improved, E_(a'~π)[Q(s', a')]; the max is the greedy policy's (Q-learning's) target, and V_w takes one argument",
            ("TEMPLATE-PSI-UNBIASED",), _demo_e114),
    Erratum("E11.5", ("S11.5",), "typo", "critic objective J(w) = ½E‖Ψ_t‖² for Ψ_t = Σ_(t'=0)^(T−1) r − V_w(s_t)",
            "fit V_w(s_t) to the return from t, Σ_(t'>=t) r (§5); with Ψ from t' = 0 the minimizer is E[R(τ) | s_t], not V^π",
            "the S11.4 form puts past rewards into the regression target",
            ("VF-REGRESSION", "TEMPLATE-PSI-UNBIASED"), _demo_e115,
            revision="reclassified from wrong: ½E‖Ψ_t‖² is the right critic objective for the rewards-to-go Ψ the text names; the error is E11.2's index slip carried into the critic"),
    Erratum("E11.6", ("S11.7",), "ambiguous", "J(w) = ½E‖r(s_t,a_t) + V_w(s_t+1) − V_w(s_t)‖² (minimized over w)",
            "TD learning treats r + γV_w(s_t+1) as a fixed target (semi-gradient); minimizing the mean squared TD error through both terms has a different minimizer when transitions are random",
            "E[(r + γV(s') − V(s))²] includes Var[γV(s') | s], which the minimizer trades against the TD error (the double-sampling problem, Baird 1995)",
            ("VF-REGRESSION",), _demo_e116,
            readings=("J(w) minimized through both V_w(s_t) and V_w(s_t+1), as an objective over w reads: its minimizer is not V^π when s_t+1 is random",
                      "J(w)'s semi-gradient, with r + V_w(s_t+1) held as the target (TD(0), (7.4)): its fixed point is V^π"),
            revision="reclassified from incomplete and demonstrated at the template's γ = 1 (it used γ = 1/2)"),
]:
    register_erratum(_e)
