"""Errata of source section 9 (PPO)."""

from __future__ import annotations

import numpy as np

import reference

from ..registry import all_claims

all_claims()  # register every claim module in canonical (name) order before importing any of them here

from ..claims._offpolicy import exact_gradient_1t, step_tables
from ..claims.s01_policy_gradient import PINNED_2X2
from ..exact import enumerate_trajectories
from . import Demo, Erratum, register_erratum


def _v(x: object) -> str:
    with np.printoptions(precision=4, suppress=True):
        return np.array2string(np.asarray(x, dtype=float), separator=", ")


RATIOS = np.array([1.0, 1.5, 0.5, 1.5, 0.5])
ADVS = np.array([5.0, 2.0, 2.0, -2.0, -2.0])
EPS = 0.2


def _demo_e92() -> Demo:
    rho = np.linspace(1e-3, 10.0, 100001)  # includes ρ = 1 ± ε exactly up to the grid step 1e-4
    adv_pos, adv_neg = 2.0, -2.0
    best_pos = float(np.max(reference.ppo_clip(np.log(rho), np.zeros_like(rho), np.full_like(rho, adv_pos), EPS)))
    best_neg = float(np.max(reference.ppo_clip(np.log(rho), np.zeros_like(rho), np.full_like(rho, adv_neg), EPS)))
    return Demo(
        case=f"one sample, Â = ±2, ε = {EPS}, ρ over a grid of 100001 points in (0, 10]",
        source_form=f"the ceilings the source states: (1+ε)Â = {(1 + EPS) * adv_pos:.4f} for Â > 0, (1−ε)Â = {(1 - EPS) * adv_neg:.4f} for Â < 0",
        correct_form=f"max over ρ of L = min(ρÂ, clip(ρ, 1−ε, 1+ε)Â): {best_pos:.4f} for Â = 2, {best_neg:.4f} for Â = −2",
        separation="none: the objective cannot gain by moving the ratio past the band, which is what \"does not benefit by going far away\" says",
        ok=True,
        quantity="the largest value of L for Â = 2 (Â = −2 checked alongside)",
        source_value=(1 + EPS) * adv_pos + abs((1 - EPS) * adv_neg - best_neg),
        correct_value=best_pos,
        margin=1e-9,
    )


def _demo_e93() -> Demo:
    v, target, c1 = 0.5, 1.0, 0.5
    lp = lo = np.zeros(1)
    adv = np.ones(1)
    h = 1e-6

    def loss(val: float) -> float:
        return float(reference.ppo_actor_critic_loss(lp, lo, adv, [val], [target], [0.0], 0.2, c1, 0.0)[0])

    d_loss = (loss(v + h) - loss(v - h)) / (2 * h)  # ∂ℓ/∂V of the correct loss
    lr = 0.1
    correct_v = v - lr * d_loss  # descent on the loss = ascent on L_clip − c1 L_VF
    source_v = v + lr * 2 * c1 * (v - target)  # ascent on the source's "+ c1 L_VF"
    return Demo(
        case=f"one sample, V(s) = {v}, V^targ = {target}, c1 = {c1}, step size {lr}",
        source_form=f"maximize L_policy + c1 L_VF (+ …): one ascent step moves V to {source_v:.3f}, away from the target",
        correct_form=f"maximize L^CLIP − c1 L_VF + c2 H (minimize its negation, eq. 9.9): V moves to {correct_v:.3f}",
        separation="the value term enters with the wrong sign (and the written expression repeats L_policy, mixes the return into the objective and has a stray '2 entropy')",
        ok=correct_v > v,
        quantity="V(s) after one step on the combined objective",
        source_value=source_v,
        correct_value=correct_v,
        margin=1e-3,
    )


def _demo_e94() -> Demo:
    c = PINNED_2X2
    tr = enumerate_trajectories(c.mdp, c.logits)
    tab = step_tables(c.mdp, c.logits, tr)
    sc = tr.step_scores()
    rng = np.random.default_rng(0)
    err = rng.normal(size=(c.mdp.horizon + 1, c.mdp.n_states)) * 0.5
    err[-1] = 0.0  # V̂_T = 0 stays exact
    steps = np.arange(c.mdp.horizon)[None, :]
    v_approx = tab.v + err[steps, tr.states[:, :-1]]
    nv = tab.v_next + err[steps + 1, tr.states[:, 1:]]
    grad = exact_gradient_1t(c.mdp, c.logits)
    g97 = reference.policy_gradient_template(sc, reference.psi_gae(tr.rewards, v_approx, nv, 1.0, 0.97), weights=tr.prob)
    g1 = reference.policy_gradient_template(sc, reference.psi_gae(tr.rewards, v_approx, nv, 1.0, 1.0), weights=tr.prob)
    g50 = reference.policy_gradient_template(sc, reference.psi_gae(tr.rewards, v_approx, nv, 1.0, 0.5), weights=tr.prob)
    gap = float(np.max(np.abs(g97 - grad)))
    gap50 = float(np.max(np.abs(g50 - grad)))
    return Demo(
        case="the pinned 2x2 MDP of §1 with an inexact critic V̂_t(s) = V_t(s) + e_t(s), e ~ N(0, 1/4) per (t, s) (seed 0)",
        source_form="'OpenAI uses the advantage itself, and not the GAE, but the functionality remains the same'",
        correct_form=(
            f"Spinning Up's PPO buffer computes GAE-λ advantages (λ = 0.97 by default). With V̂: E[ĝ] for λ = 0.97 is {_v(g97)}, "
            f"for λ = 1 (the Monte Carlo advantage G_t − V̂) {_v(g1)} = ∇J"
        ),
        separation=(
            f"with an approximate critic λ changes the expected update: bias {gap:.2e} at λ = 0.97, {gap50:.2e} at λ = 0.5, "
            "exactly 0 at λ = 1 (the bias scales with 1 − λ on this short horizon); the choice is not cosmetic"
        ),
        ok=float(np.max(np.abs(g1 - grad))) < 1e-12 and gap > 1e-4 and gap50 > gap,
    )


def _demo_e95() -> Demo:
    z = np.array([1.0, 0.0, -1.0])  # one state's logits; action 0 is the greedy (exploiting) choice
    pi = reference.softmax_policy(z[None, :])[0]
    h = 1e-6
    grad_h = np.array([(reference.categorical_entropy(z + h * e) - reference.categorical_entropy(z - h * e)) / (2 * h) for e in np.eye(3)])
    closed = -pi * (np.log(pi) + float(reference.categorical_entropy(z)))  # ∂H/∂z_j = −π_j (log π_j + H)
    d_greedy = float((pi[0] * (np.eye(3)[0] - pi)) @ closed)  # d π(a*)/dη along z + η ∇H
    return Demo(
        case=f"one state, logits {_v(z)}, π = {_v(pi)}; a small step of gradient ascent on c2 H[π]",
        source_form="\"the entropy term ensures sufficient exploitation\": the bonus would make the greedy action a* = 0 more likely (sign +1)",
        correct_form=f"∇H = {_v(closed)} (finite differences {_v(grad_h)}); d π(a*)/dη = {d_greedy:.4f} < 0: the bonus spreads probability away from a*, i.e. exploration",
        separation="the word is the opposite of what the term does (the same sentence then says the model should explore)",
        ok=float(np.max(np.abs(grad_h - closed))) < 1e-8,
        quantity="the sign of d π(a*|s)/dη along the entropy bonus's gradient",
        source_value=1.0,
        correct_value=float(np.sign(d_greedy)),
        margin=1.0,
    )


for _e in [
    Erratum("E9.1", ("S9.4",), "extraction", "min(π_θ/π_θk Â) A^(π_θk(s,a)), clip(π_θ/π_θk), space 1−ε, space 1+ε) Â^(π_θk(s,a)))",
            "L(s,a,θ_k,θ) = min(ρ A^(π_θk)(s,a), clip(ρ, 1−ε, 1+ε) A^(π_θk)(s,a)), ρ = π_θ(a|s)/π_θk(a|s)",
            "the parentheses are broken: the advantage multiplies both arguments of the min, and clip takes the ratio and the two bounds",
            ("PPO-CLIP-CASES",), None,
            revision="reclassified from typo: the \"space\" tokens and the unbalanced parentheses are the text extraction's damage to a typeset formula, not the author's mathematics; the intended form is recoverable from S9.5 and S9.7"),
    Erratum("E9.2", ("S9.6", "S9.8"), "withdrawn", "the min (A > 0) / max (A < 0) caps the objective, so the new policy does not benefit from going far from the old one",
            "the caps (1+ε)A and (1−ε)A are correct ceilings, but only on the side that would improve the objective; on the other side L = ρA is unclipped, its gradient is ρA ≠ 0, and the ratio can leave the band",
            "min(ρA, clip(ρ)A) is a pessimistic bound: it removes the incentive to move further in the improving direction only",
            ("PPO-CLIP-POS", "PPO-CLIP-NEG", "PPO-CLIP-PESSIMISTIC"), _demo_e92,
            revision="withdrawn (overstated): the source says the objective has a ceiling and so the policy does not benefit from going far, which is exactly true; it does not claim that the ratio stays in the band or that the other side is clipped"),
    Erratum("E9.3", ("S9.10",), "wrong", "L_policy = min(ρA, clip(ρ, 1−ε, 1+ε)) + L_VF − (Σ γ^t r_t | s_0 = s) + 2 entropy − Σ p log p + L_PPO + L_policy + c1 L_VF + c2 L_ENTROPY",
            "maximize L^CLIP − c1 L^VF + c2 H[π_θ], i.e. minimize ℓ = −L^CLIP + c1 (V_θ(s) − V^targ)² − c2 H[π_θ(·|s)] (Schulman et al. 2017, eq. 9)",
            "the value loss must be subtracted from an objective that is maximized; the written expression adds it, repeats L_policy and drops A from the clipped term",
            ("PPO-COMBINED-LOSS",), _demo_e93,
            revision="narrowed: the stray terms (\"+ L_VF − (Σ γ^t r_t | s_0 = s) + 2 entropy − Σ p log p\") look like a figure's labels merged by the extraction; the error is the sign of c1 L_VF in L_PPO = L_policy + c1 L_VF + c2 L_ENTROPY, which the next sentence (\"minimize L_VF\") contradicts"),
    Erratum("E9.4", ("S9.9",), "prose", "OpenAI uses the advantage itself, and not the GAE, but the functionality remains the same",
            "Spinning Up's PPO estimates advantages with GAE-λ (λ = 0.97 by default); with an approximate critic, λ < 1 changes the expected update (it is unbiased only at λ = 1 or with the exact V)",
            "GAE(λ) mixes bootstrapped TD residuals; their bias is that of the critic",
            ("TEMPLATE-PSI-UNBIASED",), _demo_e94,
            revision="reclassified from wrong: the remark is about a third party's code and is inaccurate as such (Spinning Up's ppo.py computes GAE-λ), but it has no mathematical form to evaluate; read with the source's exact advantages the two give the same expected update, and only an approximate critic (the demonstration, for information) separates them"),
    Erratum("E9.5", ("S9.10",), "typo", "\"The entropy term ensures sufficient exploitation by penalizing the model for making deterministic choices\"",
            "the entropy bonus c2 H[π] encourages exploration: its gradient moves probability away from the most likely action",
            "exploitation is choosing the best-looking action; the term does the opposite, as the sentence's own \"we want the model to explore\" says",
            ("PPO-ENTROPY",), _demo_e95,
            revision="added: §15 used to note this slip and rule it out; it is a wording slip with one fix, which §16 calls a typo"),
]:
    register_erratum(_e)
