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


def _demo_e91() -> Demo:
    lp, lo = np.log(RATIOS), np.zeros_like(RATIOS)
    literal = np.minimum(RATIOS * ADVS, np.clip(RATIOS, 1 - EPS, 1 + EPS))  # Â left outside the clip term
    right = reference.ppo_clip(lp, lo, ADVS, EPS)
    return Demo(
        case=f"ρ = {_v(RATIOS)}, Â = {_v(ADVS)}, ε = {EPS}",
        source_form=f"min(ρÂ, clip(ρ, 1−ε, 1+ε)) with Â outside the clip term (the grouping S9.4 and S9.10 suggest): {_v(literal)}",
        correct_form=f"min(ρÂ, clip(ρ, 1−ε, 1+ε)Â) = {_v(right)}",
        separation="the misgrouped form is not even proportional to Â (at ρ = 1 it returns min(Â, 1) instead of Â)",
        ok=bool(np.max(np.abs(literal - right)) > 1.0) and float(right[0]) == 5.0,
    )


def _demo_e92() -> Demo:
    lp, lo = np.log(RATIOS), np.zeros_like(RATIOS)
    val = reference.ppo_clip(lp, lo, ADVS, EPS)
    grad = reference.ppo_clip_grad(lp, lo, ADVS, EPS)
    return Demo(
        case=f"ρ = {_v(RATIOS)}, Â = {_v(ADVS)}, ε = {EPS}",
        source_form="'the new policy does not benefit by going far away from the old policy' (clipping keeps it close)",
        correct_form=(
            f"L = {_v(val)}, ∂L/∂log π = {_v(grad)}: the ceilings hold (L <= 1.2Â for Â > 0, L <= 0.8Â for Â < 0), and the "
            "gradient is 0 only where moving further would have helped (Â > 0, ρ > 1+ε; Â < 0, ρ < 1−ε)"
        ),
        separation=(
            "on the side that hurts the objective (Â > 0 with ρ = 0.5; Â < 0 with ρ = 1.5) nothing is clipped and the gradient "
            f"({grad[2]:.2f}, {grad[3]:.2f}) keeps pulling the ratio back; clipping is one-sided, so ρ can and does leave [1−ε, 1+ε]"
        ),
        ok=grad[1] == 0.0 and grad[4] == 0.0 and grad[2] != 0.0 and grad[3] != 0.0 and val[1] == 1.2 * 2.0,
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
        ok=correct_v > v > source_v,
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


for _e in [
    Erratum("E9.1", ("S9.4",), "typo", "min(π_θ/π_θk Â) A^(π_θk(s,a)), clip(π_θ/π_θk), space 1−ε, space 1+ε) Â^(π_θk(s,a)))",
            "L(s,a,θ_k,θ) = min(ρ A^(π_θk)(s,a), clip(ρ, 1−ε, 1+ε) A^(π_θk)(s,a)), ρ = π_θ(a|s)/π_θk(a|s)",
            "the parentheses are broken: the advantage multiplies both arguments of the min, and clip takes the ratio and the two bounds",
            ("PPO-CLIP-CASES",), _demo_e91),
    Erratum("E9.2", ("S9.6", "S9.8"), "incomplete", "the min (A > 0) / max (A < 0) caps the objective, so the new policy does not benefit from going far from the old one",
            "the caps (1+ε)A and (1−ε)A are correct ceilings, but only on the side that would improve the objective; on the other side L = ρA is unclipped, its gradient is ρA ≠ 0, and the ratio can leave the band",
            "min(ρA, clip(ρ)A) is a pessimistic bound: it removes the incentive to move further in the improving direction only",
            ("PPO-CLIP-POS", "PPO-CLIP-NEG", "PPO-CLIP-PESSIMISTIC"), _demo_e92),
    Erratum("E9.3", ("S9.10",), "wrong", "L_policy = min(ρA, clip(ρ, 1−ε, 1+ε)) + L_VF − (Σ γ^t r_t | s_0 = s) + 2 entropy − Σ p log p + L_PPO + L_policy + c1 L_VF + c2 L_ENTROPY",
            "maximize L^CLIP − c1 L^VF + c2 H[π_θ], i.e. minimize ℓ = −L^CLIP + c1 (V_θ(s) − V^targ)² − c2 H[π_θ(·|s)] (Schulman et al. 2017, eq. 9)",
            "the value loss must be subtracted from an objective that is maximized; the written expression adds it, repeats L_policy and drops A from the clipped term",
            ("PPO-COMBINED-LOSS",), _demo_e93),
    Erratum("E9.4", ("S9.9",), "wrong", "OpenAI uses the advantage itself, and not the GAE, but the functionality remains the same",
            "Spinning Up's PPO estimates advantages with GAE-λ (λ = 0.97 by default); with an approximate critic, λ < 1 changes the expected update (it is unbiased only at λ = 1 or with the exact V)",
            "GAE(λ) mixes bootstrapped TD residuals; their bias is that of the critic",
            ("TEMPLATE-PSI-UNBIASED",), _demo_e94),
]:
    register_erratum(_e)
