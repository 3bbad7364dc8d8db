"""Errata of source sections 1-5, demonstrated on the pinned two-state MDP of the §1-§5 claims."""

from __future__ import annotations

import numpy as np

import reference

from ..claims.s01_policy_gradient import BASELINE_COUNTEREXAMPLE, PINNED_2X2, RTG_COUNTEREXAMPLE
from ..exact import Trajectories, enumerate_trajectories, exact_gradient
from . import Demo, Erratum, register_erratum

CASE = PINNED_2X2
CASE_TEXT = "the pinned MDP of SPEC.md §1 (S=2, A=2, T=3, γ=1; verification.claims.s01_policy_gradient.PINNED_2X2)"


def _v(x: object) -> str:
    with np.printoptions(precision=4, suppress=True):
        return np.array2string(np.asarray(x, dtype=float), separator=", ")


def _traj() -> Trajectories:
    return enumerate_trajectories(CASE.mdp, CASE.logits)


def _gap(a: object, b: object) -> float:
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))


def _demo_e11() -> Demo:
    tr = _traj()
    mdp = CASE.mdp
    dyn = np.prod(mdp.transitions[tr.states[:, :-1], tr.actions, tr.states[:, 1:]], axis=1)
    # the dynamics-only product over every (s_0, a_0..a_{T-1}, s_1..s_T), not only those with P>0
    n_all = mdp.n_states * mdp.n_actions**mdp.horizon
    total_dyn = float(dyn.sum()) + 0.0  # trajectories with P(τ)=0 may add more; the enumerated ones already exceed 1
    full = np.exp([reference.trajectory_log_prob(mdp, CASE.logits, s, a) for s, a in zip(tr.states, tr.actions)])
    return Demo(
        case=CASE_TEXT,
        source_form=f"Σ_τ Π_t P(s_t+1|s_t,a_t) over the {tr.n} reachable trajectories = {total_dyn:.4f} (≥ 1; over all {n_all} start/action sequences it sums to {n_all}); it does not depend on θ, so its score is 0",
        correct_form=f"Σ_τ μ(s_0) Π_t π(a_t|s_t) P(s_t+1|s_t,a_t) = {full.sum():.15f}",
        separation=f"the source's product is not a probability distribution (sum {total_dyn:.4f} vs 1)",
        ok=abs(full.sum() - 1) < 1e-12 and total_dyn > 1 + 1e-6,
    )


def _demo_e21() -> Demo:
    tr = _traj()
    j = reference.expected_return(CASE.mdp, CASE.logits)
    r0 = float(tr.expect(tr.rewards[:, 0]))
    return Demo(
        case=CASE_TEXT,
        source_form=f"E[r(s_t,a_t)] read at t = 0: {r0:.6f}",
        correct_form=f"J = E[Σ_t r(s_t,a_t)] = {j:.6f}",
        separation=f"differ by {abs(j - r0):.6f}",
        ok=abs(j - r0) > 1e-3,
    )


def _demo_e31() -> Demo:
    tr = _traj()
    sc = tr.step_scores()
    literal = tr.expect(np.einsum("itn,it->in", sc, tr.rewards))  # one shared index t
    grad = exact_gradient(CASE.mdp, CASE.logits)
    return Demo(
        case=CASE_TEXT,
        source_form=f"E[Σ_t ∇log π(a_t|s_t) r(s_t,a_t)] (the repeated index read as one sum) = {_v(literal)}",
        correct_form=f"E[Σ_t ∇log π(a_t|s_t) Σ_t' r(s_t',a_t')] = ∇J = {_v(grad)}",
        separation=f"max |difference| = {_gap(literal, grad):.4f}",
        ok=_gap(literal, grad) > 1e-3,
    )


def _demo_e32() -> Demo:
    tr = _traj()
    sc = tr.step_scores()
    t = CASE.mdp.horizon - 1
    past = tr.rewards[:, :t].sum(axis=1)
    sq = (sc[:, t] ** 2).sum(axis=1)
    joint = float(tr.expect(sq * past))
    product = float(tr.expect(sq)) * float(tr.expect(past))
    cond_zero = tr.expect(sc[:, t] * past[:, None])
    all_rewards = tr.expect(sc[:, t] * tr.rewards.sum(axis=1)[:, None])
    return Demo(
        case=CASE_TEXT + f", t = {t}",
        source_form=(
            f"independence: E[‖∇log π_t‖² Σ_(t'<t) r] = {joint:.5f} but E[‖∇log π_t‖²]·E[Σ_(t'<t) r] = {product:.5f}; "
            f"with the source's upper limit T−1, E[∇log π_t Σ_(t'=0)^(T−1) r] = {_v(all_rewards)} ≠ 0"
        ),
        correct_form=f"E[∇log π_t Σ_(t'<t) r] = {_v(cond_zero)} by E[∇log π_t | history] = 0",
        separation=f"the score and past rewards are dependent (gap {abs(joint - product):.5f}); the term still vanishes for a different reason",
        ok=abs(joint - product) > 1e-4 and _gap(cond_zero, 0.0) < 1e-12 and _gap(all_rewards, 0.0) > 1e-3,
    )


def _demo_e33() -> Demo:
    pi = reference.softmax_policy(CASE.logits)
    s = 0
    mean = sum(pi[s, a] * reference.score_function(CASE.logits, s, a) for a in range(2))
    return Demo(
        case=f"state 0 of {CASE_TEXT}, π(·|0) = {_v(pi[0])}",
        source_form=f"the chain ends in ∫ π(a_t|s_t) dt, which read literally is Σ_a π(a|s) = {pi[0].sum():.1f}, not 0",
        correct_form=f"Σ_a π(a|s) ∇log π(a|s) = ∇ Σ_a π(a|s) = ∇1 = {_v(np.asarray(mean)[s])}",
        separation="the gradient operator must stay outside the sum; the expectation is exactly 0",
        ok=_gap(mean, 0.0) < 1e-15,
    )


def _demo_e22() -> Demo:
    import torch

    from ..exact import log_prob_torch

    tr = _traj()
    i = int(np.argmax(tr.prob))
    th = torch.tensor(CASE.logits, requires_grad=True)
    full = log_prob_torch(tr, th)[i]
    without_mu = full - float(np.log(CASE.mdp.initial[tr.states[i, 0]]))
    (g_full,) = torch.autograd.grad(full, th, retain_graph=True)
    (g_src,) = torch.autograd.grad(without_mu, th)
    gap_value = float(full.detach() - without_mu.detach())
    gap_grad = float((g_full - g_src).abs().max())
    return Demo(
        case=CASE_TEXT + f", its most likely trajectory s = {tr.states[i].tolist()}, a = {tr.actions[i].tolist()}",
        source_form=f"log Π_t P(s_t+1|s_t,a_t)π(a_t|s_t) = {float(without_mu.detach()):.6f}",
        correct_form=f"log μ(s_0)Π_t P(s_t+1|s_t,a_t)π(a_t|s_t) = {float(full.detach()):.6f}",
        separation=f"the log-probabilities differ by log μ(s_0) = {gap_value:.6f}; their θ-gradients differ by {gap_grad:.1e} (μ does not depend on θ)",
        ok=abs(gap_value) > 1e-3 and gap_grad < 1e-15,
    )


def _demo_e37() -> Demo:
    c = BASELINE_COUNTEREXAMPLE
    tr = enumerate_trajectories(c.mdp, c.logits)
    g = tr.step_scores().sum(axis=1)
    ret = tr.returns()
    b = float(tr.prob @ ret)
    v0 = _tr_cov(tr, g * ret[:, None])
    vb = _tr_cov(tr, g * (ret - b)[:, None])
    bk = reference.min_variance_baseline(g, ret, weights=tr.prob)
    vk = _tr_cov(tr, g * (ret[:, None] - bk[None, :]))
    return Demo(
        case="one state, two actions, T=1, r=(0, 1), logits (−2, −1)",
        source_form=f"'a baseline reduces the variance': tr Cov without baseline {v0:.4f}, with b = E[R] = {b:.4f}: {vb:.4f}",
        correct_form=f"unbiased either way; the per-coordinate minimum-variance baseline b = {_v(bk)} gives {vk:.4f}",
        separation=f"the constant baseline multiplies the variance by {vb / v0:.2f}",
        ok=vb > v0 and vk <= min(v0, vb) + 1e-15,
    )


def _tr_cov(tr: Trajectories, x: np.ndarray) -> float:
    return float(tr.variance(x).sum())


def _demo_e34() -> Demo:
    c = RTG_COUNTEREXAMPLE
    tr = enumerate_trajectories(c.mdp, c.logits)
    sc = tr.step_scores()
    full = np.einsum("itn,i->in", sc, tr.rewards.sum(axis=1))
    rtg = np.einsum("itn,it->in", sc, np.cumsum(tr.rewards[:, ::-1], axis=1)[:, ::-1])
    v_full, v_rtg = _tr_cov(tr, full), _tr_cov(tr, rtg)
    return Demo(
        case="one state, two actions, T=2, r=(−1, 1), logits (1, −2)",
        source_form=f"'rewards-to-go reduce the variance': tr Cov[ĝ_REINFORCE] = {v_full:.4f}",
        correct_form=f"tr Cov[ĝ_RTG] = {v_rtg:.4f}, with equal means {_v(tr.expect(full))} = {_v(tr.expect(rtg))}",
        separation=f"the variance rises by {100 * (v_rtg / v_full - 1):.1f}%",
        ok=v_rtg > v_full and _gap(tr.expect(full), tr.expect(rtg)) < 1e-12,
    )


def _demo_e35() -> Demo:
    tr = _traj()
    b = reference.constant_baseline(tr.returns(), weights=tr.prob)
    est = reference.trajectory_baseline_gradient(tr.step_scores().sum(axis=1), tr.returns(), b, weights=tr.prob)
    grad = exact_gradient(CASE.mdp, CASE.logits)
    return Demo(
        case=CASE_TEXT + f", b = E[R] = {b:.4f}",
        source_form="the proof concludes E[∇log P(τ)(R(τ) − b)] = ∇(E[R] − E[R]) = 0",
        correct_form=f"E[∇log P(τ)(R(τ) − b)] = {_v(est)} = ∇J = {_v(grad)}",
        separation=f"the expectation is ∇J (norm {np.linalg.norm(grad):.4f}), not 0: only E[∇log P(τ) b] = 0",
        ok=_gap(est, grad) < 1e-12 and float(np.linalg.norm(grad)) > 1e-3,
    )


def _demo_e36() -> Demo:
    tr = _traj()
    sc = tr.step_scores()
    v = reference.state_values(CASE.mdp, CASE.logits)
    steps = np.arange(CASE.mdp.horizon)
    b = v[steps[None, :], tr.states[:, :-1]]
    rtg = np.cumsum(tr.rewards[:, ::-1], axis=1)[:, ::-1]
    written = np.einsum("itn,it->in", sc, tr.rewards.sum(axis=1)[:, None] - b)
    right = np.einsum("itn,it->in", sc, rtg - b)
    grad = exact_gradient(CASE.mdp, CASE.logits)
    return Demo(
        case=CASE_TEXT + ", b(s_t) = V_t(s_t)",
        source_form=f"Σ_t ∇log π (Σ_(k<t) r + Σ_(k≥t) r − b): mean {_v(tr.expect(written))}, tr Cov {_tr_cov(tr, written):.4f}",
        correct_form=f"Σ_t ∇log π (Σ_(k≥t) r − b): mean {_v(tr.expect(right))}, tr Cov {_tr_cov(tr, right):.4f}",
        separation="both are unbiased (= ∇J); the written form keeps the past rewards and their variance",
        ok=_gap(tr.expect(written), grad) < 1e-12 and _gap(tr.expect(right), grad) < 1e-12 and _tr_cov(tr, written) > _tr_cov(tr, right),
    )


def _demo_e41() -> Demo:
    tr = _traj()
    g = tr.step_scores().sum(axis=1)
    ret = tr.returns()
    per = reference.min_variance_baseline(g, ret, weights=tr.prob)
    sq = (g**2).sum(axis=1)
    scalar = float(tr.prob @ (sq * ret) / (tr.prob @ sq))
    var_per = tr.variance(g * (ret[:, None] - per[None, :]))
    var_scalar = tr.variance(g * (ret[:, None] - scalar))
    return Demo(
        case=CASE_TEXT,
        source_form=f"one scalar b = E[‖g‖² R]/E[‖g‖²] = {scalar:.4f}: Var per coordinate {_v(var_scalar)}",
        correct_form=f"b_k = E[g_k² R]/E[g_k²] = {_v(per)}: Var per coordinate {_v(var_per)}",
        separation=f"per-coordinate baselines lower the total variance by {float(var_scalar.sum() - var_per.sum()):.5f}",
        ok=bool(np.all(var_per <= var_scalar + 1e-12)) and float(var_scalar.sum() - var_per.sum()) > 1e-6,
    )


def _demo_e42() -> Demo:
    v = reference.state_values(CASE.mdp, CASE.logits)
    return Demo(
        case=CASE_TEXT,
        source_form="V^π(s_t) = E[r_t + … + r_(T−1)] as one function of the state",
        correct_form=f"V_t(s) depends on the time left: V_0 = {_v(v[0])}, V_1 = {_v(v[1])}, V_2 = {_v(v[2])}",
        separation=f"V_0(0) − V_2(0) = {v[0, 0] - v[2, 0]:.4f}",
        ok=abs(v[0, 0] - v[2, 0]) > 1e-3,
    )


def _demo_e51() -> Demo:
    tr = _traj()
    sc = tr.step_scores()
    v = reference.state_values(CASE.mdp, CASE.logits)
    steps = np.arange(CASE.mdp.horizon)
    vs = v[steps[None, :], tr.states[:, :-1]]
    rtg = np.cumsum(tr.rewards[:, ::-1], axis=1)[:, ::-1]
    inside = np.cumsum((tr.rewards - vs)[:, ::-1], axis=1)[:, ::-1]  # Σ_{k≥t} (r_k − V(s_k))
    grad = exact_gradient(CASE.mdp, CASE.logits)
    src = tr.expect(np.einsum("itn,it->in", sc, inside))
    right = tr.expect(np.einsum("itn,it->in", sc, rtg - vs))
    return Demo(
        case=CASE_TEXT,
        source_form=f"E[Σ_t ∇log π Σ_(k≥t)(r_k − V(s_k))] = {_v(src)}",
        correct_form=f"E[Σ_t ∇log π (Σ_(k≥t) r_k − V(s_t))] = {_v(right)} = ∇J",
        separation=f"subtracting V at the later states s_k (which depend on a_t) biases the gradient by {_gap(src, grad):.4f}",
        ok=_gap(right, grad) < 1e-12 and _gap(src, grad) > 1e-3,
    )


for _e in [
    Erratum("E1.1", ("S1.4",), "incomplete", "P(τ) = Π_t P(s_{t+1}|s_t,a_t)",
            "P(τ;θ) = μ(s_0) Π_t π_θ(a_t|s_t) P(s_{t+1}|s_t,a_t)",
            "a trajectory's probability includes the start state and the policy's choices; without them the product is not a distribution and does not depend on θ",
            ("MDP-TRAJ-PROB",), _demo_e11),
    Erratum("E2.1", ("S2.2",), "typo", "J(θ) = E[r(s_t,a_t); π_θ]", "J(θ) = E_{τ~π_θ}[R(τ)] = E[Σ_t r(s_t,a_t)]",
            "the objective is the expected total reward, not the reward of one step", ("MDP-J-ENUM-EQUALS-DP",), _demo_e21),
    Erratum("E2.2", ("S2.7",), "incomplete", "∇log P(τ) = ∇log[Π_t P(s_{t+1}|s_t,a_t)·π_θ(a_t|s_t)] (no start-state factor)",
            "∇log P(τ;θ) = ∇[log μ(s_0) + Σ_t log P(s_{t+1}|s_t,a_t) + Σ_t log π_θ(a_t|s_t)] = Σ_t ∇log π_θ(a_t|s_t)",
            "the start-state factor belongs to P(τ); it drops out of the gradient for the same reason as the dynamics",
            ("PG-DYNAMICS-DROP",), _demo_e22),
    Erratum("E3.1", ("S3.2", "S3.5"), "typo", "Σ_t ∇log π(a_t|s_t) Σ_t r(s_t,a_t), and r(t')(s_t',a_t')",
            "Σ_t ∇log π(a_t|s_t) Σ_t' r(s_t',a_t')", "the two sums need distinct indices; read with one index the estimator is biased",
            ("PG-REINFORCE-UNBIASED",), _demo_e31),
    Erratum("E3.2", ("S3.7", "S3.9"), "wrong", "E[Σ_t ∇log π Σ_{t'<t} r] = Σ_t E[∇log π]·E[Σ_{t'=0}^{T−1} r] by independence",
            "E[∇log π(a_t|s_t) r_t'] = E[r_t' E[∇log π(a_t|s_t) | s_0..s_t, a_0..a_{t−1}]] = 0 for t' < t",
            "the score at t and the past rewards are dependent (both depend on s_t's history); the term vanishes because the score has conditional mean zero. With the written upper limit T−1 the term would not vanish",
            ("PG-RTG-UNBIASED", "PG-SCORE-ZERO-MEAN"), _demo_e32),
    Erratum("E3.3", ("S3.8",), "typo", "∫ π ∇log π dπ = ∫ π ∇π/π dπ = ∫ π dt = ∇·1 = 0",
            "Σ_a π(a|s)∇log π(a|s) = Σ_a ∇π(a|s) = ∇Σ_a π(a|s) = ∇1 = 0", "the integration variable is the action and ∇ must stay in front of the integral",
            ("PG-SCORE-ZERO-MEAN",), _demo_e33),
    Erratum("E3.4", ("S3.11", "S3.13"), "wrong", "rewards-to-go (and baselines) reduce the variance",
            "they never change the expectation; they reduce the variance on typical problems but not always",
            "removing zero-mean terms that are negatively correlated with the rest increases the variance",
            ("PG-RTG-VARIANCE", "PG-RTG-UNBIASED"), _demo_e34),
    Erratum("E3.7", ("S3.13",), "wrong", "subtracting a baseline reduces the variance of the gradient estimate",
            "any action-independent baseline keeps the estimator unbiased; only a well-chosen one (e.g. the per-coordinate optimum (4.2)) is guaranteed not to increase the variance",
            "Var[g(R − b)] = E[g²(R − b)²] − (E[gR])² is a quadratic in b minimized at E[g²R]/E[g²]; a b far from that minimizer, such as E[R] when g² and R are negatively correlated, increases it",
            ("PG-BASELINE-VARIANCE", "PG-MINVAR-OPTIMAL"), _demo_e37),
    Erratum("E3.5", ("S3.14",), "wrong", "E[∇log P(τ)(R − b)] = … = ∇(E[R] − E[R]) = ∇(0)",
            "E[∇log P(τ)(R − b)] = ∇J − b ∇Σ_τ P(τ;θ) = ∇J", "the proof substitutes b = E[R] and concludes the whole estimator has mean 0; only the baseline term does",
            ("PG-BASELINE-UNBIASED",), _demo_e35),
    Erratum("E3.6", ("S3.16",), "ambiguous", "Σ_t ∇log π (Σ_{k<t} r + Σ_{k≥t} r − b(s_t)), called the rewards-to-go form",
            "Σ_t ∇log π (Σ_{k≥t} r − b(s_t))", "the written form re-adds the past rewards: still unbiased, but it is not rewards-to-go and keeps their variance",
            ("PG-BASELINE-UNBIASED",), _demo_e36),
    Erratum("E4.1", ("S4.2",), "incomplete", "b = Σ_i (∇log P(τ^i))² R(τ^i) / Σ_i (∇log P(τ^i))²",
            "b_k = E[g_k² R]/E[g_k²] for each coordinate k of g = ∇log P(τ;θ)",
            "the variance of a vector estimator is minimized coordinate by coordinate; squaring a gradient vector is elementwise",
            ("PG-MINVAR-OPTIMAL",), _demo_e41),
    Erratum("E4.2", ("S4.4",), "incomplete", "b(s_t) = E[r_t + … + r_{T−1}] = V^π(s_t)",
            "V_t(s) = E[Σ_{k≥t} γ^{k−t} r_k | s_t = s], conditioned on the state and indexed by time", "with a finite horizon the expected reward-to-go depends on how many steps are left",
            ("PG-BASELINE-UNBIASED", "VF-REGRESSION"), _demo_e42),
    Erratum("E5.1", ("S5.1",), "typo", "(Σ_{k=t}^{T−1} r(s_k,a_k) − V^π(s_k))", "(Σ_{k=t}^{T−1} r(s_k,a_k) − V^π(s_t))",
            "the baseline is the value of the current state s_t; values of later states depend on a_t and bias the gradient",
            ("PG-BASELINE-UNBIASED",), _demo_e51),
]:
    register_erratum(_e)
