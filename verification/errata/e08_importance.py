"""Errata of source section 8 (importance sampling), demonstrated exactly on the pinned MDPs of §8."""

from __future__ import annotations

import numpy as np

import reference

from ..registry import all_claims

all_claims()  # register every claim module in canonical (name) order before importing any of them here

from ..claims._offpolicy import exact_gradient_1t, step_tables, surrogate_gradient_autograd
from ..claims.s08_importance import OFF_2X2, ON_2X2, log_ratio_gradient
from ..exact import enumerate_trajectories
from . import Demo, Erratum, register_erratum

CASE_TEXT = "the pinned 2x2 MDP of §1 (T=3, γ=1) with behaviour logits θ_old = [[0.3,−0.2],[1,0]]"


def _v(x: object) -> str:
    with np.printoptions(precision=4, suppress=True):
        return np.array2string(np.asarray(x, dtype=float), separator=", ")


def _gap(a: object, b: object) -> float:
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))


def _demo_e81() -> Demo:
    src_on, target_on = log_ratio_gradient(ON_2X2)
    src_off, target_off = log_ratio_gradient(OFF_2X2)
    grad_j = exact_gradient_1t(ON_2X2.mdp, ON_2X2.logits)
    cos = float(src_on @ grad_j / (np.linalg.norm(src_on) * np.linalg.norm(grad_j)))
    return Demo(
        case=CASE_TEXT + "; θ = θ_old, and θ = [[−0.5,0.7],[0.2,0.4]]",
        source_form=(
            f"weight log π_θ/log π_old: at θ = θ_old E[ĝ] = {_v(src_on)} (cosine with ∇J: {cos:.3f}); "
            f"at the other θ {_v(src_off)}"
        ),
        correct_form=f"weight exp(log π_θ − log π_old): at θ = θ_old E[ĝ] = ∇J = {_v(target_on)}; at the other θ ∇_θL = {_v(target_off)}",
        separation=(
            f"max gaps {_gap(src_on, target_on):.4f} and {_gap(src_off, target_off):.4f}; at θ = θ_old the log ratio is 1 but its "
            "gradient ∇log π_θ / log π_old flips the sign (log π_old < 0) and reweights every action by 1/|log π_old|"
        ),
        ok=_gap(target_on, grad_j) < 1e-12 and _gap(src_off, target_off) > 1e-3,
        quantity="‖E[ĝ] − ∇J‖∞ at θ = θ_old (the other θ is checked alongside, against ∇_θL)",
        source_value=_gap(src_on, grad_j),
        correct_value=_gap(target_on, grad_j),
        margin=1e-3,
        gamma=1.0,
    )


def _demo_e82() -> Demo:
    c = ON_2X2
    tr = enumerate_trajectories(c.mdp, c.logits)
    tab = step_tables(c.mdp, c.logits, tr)
    psi = tab.disc * tab.advantage
    per_traj = reference.importance_weighted_gradient(tr.step_scores(), tab.logp, tab.logp, psi, weights=tr.prob)  # 1/m
    n_steps = c.mdp.horizon
    per_step = per_traj / n_steps  # 1/N with N = m·T samples
    grad = exact_gradient_1t(c.mdp, c.logits)
    return Demo(
        case=CASE_TEXT + f", θ = θ_old, m trajectories of T = {n_steps} steps, N = mT",
        source_form=f"(1/N) Σ_(i=1)^m Σ_t ...: E[ĝ] = {_v(per_step)}",
        correct_form=f"(1/m) Σ_(i=1)^m Σ_t ... (or (1/N) Σ over all N steps of a per-step loss): E[ĝ] = {_v(per_traj)} = ∇J = {_v(grad)}",
        separation=f"the mixed normalization scales the gradient by m/N = 1/T = {1 / n_steps:.4f}: the same direction, a different step size",
        ok=_gap(per_traj, grad) < 1e-12,
        quantity="‖E[ĝ] − ∇J‖∞ (N read as the number of steps mT)",
        source_value=_gap(per_step, grad),
        correct_value=_gap(per_traj, grad),
        margin=1e-3,
        gamma=1.0,
    )


def _demo_e83() -> Demo:
    c = ON_2X2
    tr = enumerate_trajectories(c.mdp, c.logits)
    tab = step_tables(c.mdp, c.logits, tr)
    sc = tr.step_scores()
    outside = tr.expect(sc.sum(axis=1) * tab.advantage[:, :1])  # (Σ_t ∇log π_t) A(s_0, a_0)
    inside = tr.expect(np.einsum("itn,it->in", sc, tab.advantage))
    grad = exact_gradient_1t(c.mdp, c.logits)
    return Demo(
        case=CASE_TEXT + ", θ = θ_old",
        source_form=f"(Σ_t ∇log π(a_t|s_t)) A^π(s,a) with one advantage per trajectory, read as A(s_0,a_0): E = {_v(outside)}",
        correct_form=f"Σ_t ∇log π(a_t|s_t) A^(π_old)(s_t,a_t): E = {_v(inside)} = ∇J",
        separation=f"max gap {_gap(outside, grad):.4f}: the advantage must be indexed by (s_t, a_t), inside the sum over t",
        ok=_gap(inside, grad) < 1e-12,
        quantity="‖E[ĝ] − ∇J‖∞",
        source_value=_gap(outside, grad),
        correct_value=_gap(inside, grad),
        margin=1e-3,
        gamma=1.0,
    )


def _demo_e84() -> Demo:
    c = OFF_2X2
    tr = enumerate_trajectories(c.mdp, c.logits_old)
    new, old = step_tables(c.mdp, c.logits, tr), step_tables(c.mdp, c.logits_old, tr)
    sc = reference.step_scores(c.logits, tr.states[:, :-1], tr.actions)
    psi = old.disc * old.advantage
    per_step = reference.importance_weighted_gradient(sc, new.logp, old.logp, psi, weights=tr.prob)
    n_t = c.mdp.horizon
    full_new = np.repeat(new.logp.sum(axis=1, keepdims=True), n_t, axis=1)
    full_old = np.repeat(old.logp.sum(axis=1, keepdims=True), n_t, axis=1)
    traj = reference.importance_weighted_gradient(sc, full_new, full_old, np.repeat(tr.returns()[:, None], n_t, axis=1), weights=tr.prob)
    grad = exact_gradient_1t(c.mdp, c.logits)
    surr = surrogate_gradient_autograd(tr, c.logits_old, c.logits, psi)
    return Demo(
        case=CASE_TEXT + ", target θ = [[−0.5,0.7],[0.2,0.4]]",
        source_form=f"∇J(θ) ≈ E_old[Σ_t ρ_t ∇log π_θ(a_t|s_t) A^(π_old)]: {_v(per_step)} (= ∇_θ L(θ_old, θ) = {_v(surr)})",
        correct_form=f"∇J(θ) = {_v(grad)} = E_old[Π_t ρ_t Σ_t ∇log π_θ R(τ)] = {_v(traj)}",
        separation=(
            f"max gap {_gap(per_step, grad):.4f}: per-step ratios correct the action distribution but not the state distribution "
            "or the advantage's policy; the result is the surrogate's gradient, equal to ∇J only at θ = θ_old"
        ),
        ok=_gap(traj, grad) < 1e-12,
        quantity="‖source's estimator − ∇_θ J(θ, θ')‖∞, with J(θ, θ') = L(θ', θ) the surrogate the source's two-argument notation names",
        source_value=_gap(per_step, surr),
        correct_value=0.0,
        margin=1e-9,
        gamma=1.0,
    )


for _e in [
    Erratum("E8.1", ("S8.2", "S8.3"), "wrong", "∇_θ {log π_θ(a|s) / log π_θ'(a|s)} A^π(s,a)",
            "∇_θ {π_θ(a|s) / π_θ'(a|s)} A^(π_θ')(s,a), with π_θ/π_θ' = exp(log π_θ − log π_θ')",
            "the importance weight is a ratio of probabilities; a ratio of log-probabilities is 1 at θ = θ' but its gradient is ∇log π_θ / log π_θ', a negative, action-dependent rescaling",
            ("IS-LOG-RATIO-BIASED", "IS-OFF-POLICY-GRADIENT"), _demo_e81),
    Erratum("E8.2", ("S8.2", "S8.3"), "ambiguous", "(1/N) Σ_(i=1)^m",
            "(1/m) Σ_(i=1)^m over trajectories (or 1/N with N the number of samples summed)",
            "the normalizer must count what the sum runs over; mixing them rescales the gradient by 1/T",
            ("IS-OFF-POLICY-GRADIENT",), _demo_e82,
            readings=("N the number of samples the double sum adds, mT (the usual meaning of N beside m trajectories): the gradient shrinks by 1/T",
                      "N = m, the number of trajectories, a letter left over from a text that sums i = 1..N: the on-policy estimator of ∇J"),
            revision="reclassified from typo: the source never defines N, and with N = m the display is right; only the reading N = mT is wrong, and that is the one demonstrated"),
    Erratum("E8.3", ("S8.2", "S8.3"), "typo", "(Σ_t ∇_θ log π_θ(a_(i,t)|s_(i,t))) A^π(s,a)",
            "Σ_t ∇_θ log π_θ(a_(i,t)|s_(i,t)) A^(π_θ')(s_(i,t), a_(i,t))",
            "each step's score is weighted by the advantage of that step, estimated for the behaviour policy that collected the data",
            ("IS-OFF-POLICY-GRADIENT",), _demo_e83),
    Erratum("E8.4", ("S8.2", "S8.3"), "withdrawn", "∇_θ J(θ) ≈ (1/N) Σ_i Σ_t ∇_θ{π_θ/π_θ'} A^π(s,a) (with the ratio corrected)",
            "that estimator is the gradient of the surrogate L(θ', θ); ∇J(θ) itself needs the product of the ratios along the trajectory (or up to t, with Q^(π_θ))",
            "per-step ratios reweight the action at s_t, not the probability of reaching s_t, and the advantage is the behaviour policy's; both agree with ∇J only at θ = θ'",
            ("IS-OFF-POLICY-GRADIENT",), _demo_e84,
            revision="withdrawn (overstated): the source writes the importance-weighted estimator as ∇_θ J(θ, θ'), a function of both policies, not as ∇_θ J(θ); with the ratio corrected (E8.1) that is exactly the surrogate's gradient, and the source's next sections use it as such"),
]:
    register_erratum(_e)
