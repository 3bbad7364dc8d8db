"""Claims of SPEC.md §11: the generic policy-gradient template and its Ψ_t variants."""

from __future__ import annotations

import zlib

import numpy as np
from hypothesis import strategies as st

from reference import TabularMDP

from ..exact import enumerate_trajectories
from ..registry import Claim, ClaimViolation, Impl, Measurement, compare, register
from ..strategies.mdp import MDPCase, mdp_cases
from ._offpolicy import exact_gradient_1t, step_tables
from .s01_policy_gradient import EXACT_TOL, EXACT_WHY, PINNED_2X2, PINNED_DISC


def _with_gamma(c: MDPCase, gamma: float) -> MDPCase:
    m = c.mdp
    return MDPCase(TabularMDP(m.initial, m.transitions, m.rewards, m.horizon, gamma), c.logits)


#: The pinned 2x2 MDP discounted with γ = 1/2: the TD form without γ is biased here.
TEMPLATE_HALF = _with_gamma(PINNED_2X2, 0.5)
#: Which source forms each pinned case must show to be wrong: "td" (biased), "ac" (biased),
#: "baseline" (unbiased, but with a larger variance than the rewards-to-go form).
TEMPLATE_PINNED: tuple[tuple[tuple[str, ...], MDPCase, float], ...] = (
    (("td", "ac", "baseline"), TEMPLATE_HALF, 0.95),
    (("ac", "baseline"), PINNED_2X2, 0.0),
    (("td", "ac"), PINNED_DISC, 1.0),
)


def template_estimates(case: MDPCase, lam: float, impl: Impl) -> dict[str, np.ndarray]:
    """E[ĝ] for every Ψ_t variant (correct and as written), exact over all trajectories, plus the per-trajectory
    estimates of the two baseline forms (for variances) and the closed-form biases of the source's TD and AC forms."""
    mdp = case.mdp
    tr = enumerate_trajectories(mdp, case.logits)
    tab = step_tables(mdp, case.logits, tr)
    sc = tr.step_scores()
    r, g = tr.rewards, mdp.gamma
    rng = np.random.default_rng(zlib.crc32(case.logits.tobytes()))
    arb = (rng.normal(size=(mdp.horizon, mdp.n_states)) * 3.0)[np.arange(mdp.horizon)[None, :], tr.states[:, :-1]]
    psis = {
        "total return (11.2)": impl.psi_total_return(r, g),
        "reward-to-go (11.3)": impl.psi_reward_to_go(r, g),
        "baseline V_t(s_t) (11.4)": impl.psi_baseline_reward_to_go(r, tab.v, g),
        "arbitrary baseline b_t(s_t) (11.4)": impl.psi_baseline_reward_to_go(r, arb, g),
        "TD residual (11.5)": impl.psi_td_residual(r, tab.v, tab.v_next, g),
        "actor-critic Σπ Q (11.6)": impl.psi_actor_critic(r, tab.q_all, tab.q_next_all, tab.pi, tab.pi_next, g),
        "Q(s_t, a_t) (11.7)": impl.psi_q_value(tab.q, g),
        "advantage (11.8)": impl.psi_advantage(tab.q, tab.v, g),
        f"GAE λ={lam} (11.9)": impl.psi_gae(r, tab.v, tab.v_next, g, lam),
        "as written: baseline from t'=0": impl.psi_baseline_reward_to_go_as_written(r, tab.v, g),
        "as written: TD without γ": impl.psi_td_residual_as_written(r, tab.v, tab.v_next, g),
        "as written: actor-critic with max": impl.psi_actor_critic_as_written(r, tab.q_all, tab.q_next_all, tab.pi, g),
    }
    out = {name: np.asarray(impl.policy_gradient_template(sc, np.asarray(psi), weights=tr.prob)) for name, psi in psis.items()}
    out["∇J"] = exact_gradient_1t(mdp, case.logits)
    per_traj = {k: np.einsum("itn,it->in", sc, np.asarray(psis[k])) for k in ("baseline V_t(s_t) (11.4)", "as written: baseline from t'=0")}
    out["var baseline from t"] = np.array(tr.variance(per_traj["baseline V_t(s_t) (11.4)"]).sum())
    out["var baseline from 0"] = np.array(tr.variance(per_traj["as written: baseline from t'=0"]).sum())
    out["predicted bias TD"] = tr.expect(np.einsum("itn,it->in", sc, tab.disc * (1.0 - g) * tab.v_next))
    out["predicted bias AC"] = tr.expect(np.einsum("itn,it->in", sc, tab.disc * (tab.q_next_all.max(axis=2) - g * tab.v_next)))
    return out


CORRECT = (
    "total return (11.2)",
    "reward-to-go (11.3)",
    "baseline V_t(s_t) (11.4)",
    "arbitrary baseline b_t(s_t) (11.4)",
    "TD residual (11.5)",
    "actor-critic Σπ Q (11.6)",
    "Q(s_t, a_t) (11.7)",
    "advantage (11.8)",
)


def _check_template(item: tuple[tuple[str, ...], MDPCase, float], impl: Impl) -> Measurement:
    must_differ, case, lam = item
    est = template_estimates(case, lam, impl)
    grad = est["∇J"]
    worst = Measurement(0.0)
    checks = [(name, grad, est[name]) for name in (*CORRECT, next(k for k in est if k.startswith("GAE")))]
    checks += [
        ("as written: baseline from t'=0 (unbiased, mislabelled)", grad, est["as written: baseline from t'=0"]),
        ("as written: TD without γ, bias = E[Σ_t γ^t ∇log π (1−γ) V(s_t+1)]", est["predicted bias TD"], est["as written: TD without γ"] - grad),
        ("as written: actor-critic with max, bias = E[Σ_t γ^t ∇log π (max Q' − γ V')]", est["predicted bias AC"], est["as written: actor-critic with max"] - grad),
    ]
    for name, want, got in checks:
        m = compare(want, got, name)
        if m.error >= worst.error:
            worst = m
    gaps = {
        "td": float(np.max(np.abs(est["as written: TD without γ"] - grad))),
        "ac": float(np.max(np.abs(est["as written: actor-critic with max"] - grad))),
    }
    for key in must_differ:
        if key in gaps and gaps[key] < 1e-3:
            raise ClaimViolation(f"the source's {key} form is unbiased on a pinned case where it must not be (gap {gaps[key]:.3e})")
        if key == "baseline" and not float(est["var baseline from 0"]) > float(est["var baseline from t"]) * (1 + 1e-6):
            raise ClaimViolation(
                f"the source's baseline form (sum from t'=0) did not have a larger variance on the pinned case: "
                f"{float(est['var baseline from 0']):.6g} vs {float(est['var baseline from t']):.6g}"
            )
    detail = (
        f"{worst.detail}; source forms: TD off by {gaps['td']:.4f}, actor-critic off by {gaps['ac']:.4f}, "
        f"baseline from t'=0 tr Cov {float(est['var baseline from 0']):.4f} vs from t {float(est['var baseline from t']):.4f}"
    )
    return Measurement(worst.error, expected=worst.expected, got=worst.got, detail=detail)


register(
    Claim(
        id="TEMPLATE-PSI-UNBIASED",
        title="every Ψ_t of the template gives the same expected gradient",
        statement=(
            "E[Σ_t ∇log π(a_t|s_t) Ψ_t] = ∇J (eq. 11.1) for Ψ_t = the total return, the reward-to-go, the reward-to-go minus "
            "V_t(s_t) or any b_t(s_t), the TD residual, the actor-critic residual with Σ_a π Q, γ^t Q(s_t,a_t), γ^t A(s_t,a_t) and "
            "γ^t GAE(γ,λ) (eqs. 11.2-11.9, exact V and Q, every λ). Of the source's forms, the TD residual without γ (S11.6) and "
            "the actor-critic with max_a' Q (S11.8) are biased by exactly E[Σ_t γ^t ∇log π (1−γ)V(s_t+1)] and "
            "E[Σ_t γ^t ∇log π (max_a' Q(s_t+1,a') − γV(s_t+1))], non-zero on the pinned MDPs; the baseline form summed from "
            "t'=0 (S11.4) is unbiased but mislabelled: on the pinned MDP its variance is larger"
        ),
        section="§11",
        source=("S11.1", "S11.2", "S11.3", "S11.4", "S11.6", "S11.8", "S6.3", "S6.9", "S7.6"),
        method=(
            "exact enumeration of all trajectories; V_t, Q_t by backward induction; ∇J by autograd through the enumerated J; the "
            "source's biases against their closed forms on every case and required non-zero (> 1e-3) on the pinned cases; "
            "variances as tr Cov of the one-trajectory estimator; Hypothesis over MDPs (γ in [0,1]) and λ in [0,1]"
        ),
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=lambda: st.tuples(st.just(()), mdp_cases(gamma=None), st.sampled_from([0.0, 0.5, 0.95, 1.0])),
        check=_check_template,
        uses=(
            "policy_gradient_template",
            "psi_total_return",
            "psi_reward_to_go",
            "psi_baseline_reward_to_go",
            "psi_td_residual",
            "psi_actor_critic",
            "psi_q_value",
            "psi_advantage",
            "psi_gae",
            "psi_baseline_reward_to_go_as_written",
            "psi_td_residual_as_written",
            "psi_actor_critic_as_written",
        ),
        examples=TEMPLATE_PINNED,
        max_examples=25,
    )
)

__all__ = ["CORRECT", "TEMPLATE_HALF", "TEMPLATE_PINNED", "template_estimates"]
