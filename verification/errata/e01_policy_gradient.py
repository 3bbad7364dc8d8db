"""Errata of source sections 1-5, demonstrated on the pinned two-state MDP of the §1-§5 claims."""

from __future__ import annotations

import numpy as np

import reference

from ..claims.s01_policy_gradient import BASELINE_COUNTEREXAMPLE, PINNED_2X2, RTG_COUNTEREXAMPLE
from ..exact import Trajectories, enumerate_trajectories, exact_gradient
from ..strategies import MDPCase
from . import Demo, Erratum, register_erratum

#: The pinned MDP of §1 read with the source's conventions: one fixed start state s_0 = 0, γ = 1.
CASE = MDPCase(
    reference.TabularMDP(np.array([1.0, 0.0]), PINNED_2X2.mdp.transitions, PINNED_2X2.mdp.rewards, PINNED_2X2.mdp.horizon, 1.0),
    PINNED_2X2.logits,
)
CASE_TEXT = "the pinned MDP of SPEC.md §1 with the source's fixed start state s_0 = 0 (S=2, A=2, T=3, γ=1; PINNED_2X2's dynamics, rewards and logits)"



def _v(x: object) -> str:
    with np.printoptions(precision=4, suppress=True):
        return np.array2string(np.asarray(x, dtype=float), separator=", ")


def _traj() -> Trajectories:
    return enumerate_trajectories(CASE.mdp, CASE.logits)


def _gap(a: object, b: object) -> float:
    return float(np.max(np.abs(np.asarray(a, float) - np.asarray(b, float))))


def _demo_e11() -> Demo:
    mdp = CASE.mdp
    pi = reference.softmax_policy(CASE.logits)
    # mass over every (a_0, s_1, ..., a_{T-1}, s_T) from the fixed s_0, summed by forward recursion
    dyn_only = mdp.initial.copy()  # the source's product: Π_t P(s_{t+1}|s_t,a_t), no policy factor
    full = mdp.initial.copy()  # Π_t π(a_t|s_t) P(s_{t+1}|s_t,a_t)
    for _ in range(mdp.horizon):
        dyn_only = np.einsum("s,sap->p", dyn_only, mdp.transitions)
        full = np.einsum("s,sa,sap->p", full, pi, mdp.transitions)
    total_src, total = float(dyn_only.sum()), float(full.sum())
    return Demo(
        case=CASE_TEXT,
        source_form=f"Σ_τ Π_t P(s_t+1|s_t,a_t) over every action and next-state sequence from s_0 = {total_src:.6f} (= A^T); it does not depend on θ, so its score is 0",
        correct_form=f"Σ_τ Π_t π_θ(a_t|s_t) P(s_t+1|s_t,a_t) = {total:.15f}",
        separation=f"the source's product is not a probability distribution (total mass {total_src:.4f}, not 1)",
        ok=abs(total - 1) < 1e-12,
        quantity="total mass Σ_τ P(τ) over all trajectories from s_0",
        source_value=total_src,
        correct_value=total,
        margin=1e-9,
        gamma=1.0,
        fixed_start=True,
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
        ok=True,
        quantity="J(θ)",
        source_value=r0,
        correct_value=j,
        margin=1e-3,
        gamma=1.0,
        fixed_start=True,
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
    chose0 = (tr.actions[:, t] == 0).astype(float)  # the event "a_t = 0"
    cov = float(tr.expect(chose0 * past)) - float(tr.expect(chose0)) * float(tr.expect(past))
    all_rewards = tr.expect(sc[:, t] * tr.rewards.sum(axis=1)[:, None])
    return Demo(
        case=CASE_TEXT + f", t = {t}",
        source_form=(
            f"'the rewards from past time steps before t are independent from the action taken at time step t': yet Cov(1[a_t = 0], Σ_(t'<t) r) = {cov:.5f}; "
            f"E[‖∇log π_t‖² Σ_(t'<t) r] = {joint:.5f} but E[‖∇log π_t‖²]·E[Σ_(t'<t) r] = {product:.5f}; "
            f"with the source's upper limit T−1, E[∇log π_t Σ_(t'=0)^(T−1) r] = {_v(all_rewards)} ≠ 0"
        ),
        correct_form=f"E[∇log π_t Σ_(t'<t) r] = {_v(cond_zero)} by E[∇log π_t | history] = 0",
        separation=f"the score and past rewards are dependent (gap {abs(joint - product):.5f}); the term still vanishes for a different reason",
        ok=_gap(cond_zero, 0.0) < 1e-12,
        quantity="Cov(1[a_t = 0], Σ_(t'<t) r) at t = T−1: 0 under the independence the source invokes",
        source_value=0.0,
        correct_value=cov,
        margin=1e-4,
        gamma=1.0,
        fixed_start=True,
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
        quantity="the fourth line of the chain, ∫ π(a_t|s_t) dt read as Σ_a π(a|s), against Σ_a ∇π(a|s) (max |·|)",
        source_value=float(pi[0].sum()),
        correct_value=_gap(mean, 0.0),
        margin=0.5,
        gamma=1.0,
        fixed_start=True,
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
    return Demo(
        case=CASE_TEXT + f", its most likely trajectory s = {tr.states[i].tolist()}, a = {tr.actions[i].tolist()}",
        source_form=f"log Π_t P(s_t+1|s_t,a_t)π(a_t|s_t) = {float(without_mu.detach()):.6f}",
        correct_form=f"log μ(s_0)Π_t P(s_t+1|s_t,a_t)π(a_t|s_t) = {float(full.detach()):.6f} (μ(s_0) = 1: the start is fixed)",
        separation="none: with the source's fixed start state μ(s_0) = 1 and the two forms coincide",
        ok=True,
        quantity="|log P_source(τ) − log P(τ)| + max |∇log P_source(τ) − ∇log P(τ)| (0 when the forms agree)",
        source_value=abs(float(without_mu.detach() - full.detach())) + float((g_full - g_src).abs().max()),
        correct_value=0.0,
        margin=1e-12,
        gamma=1.0,
        fixed_start=True,
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
        quantity="tr Cov of the baseline estimator; the source's claim bounds it by the variance without a baseline",
        source_value=v0,
        correct_value=vb,
        margin=1e-6,
        gamma=1.0,
        fixed_start=True,
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
        quantity="tr Cov[ĝ_RTG]; the source's claim bounds it by tr Cov[ĝ_REINFORCE]",
        source_value=v_full,
        correct_value=v_rtg,
        margin=1e-6,
        gamma=1.0,
        fixed_start=True,
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
        ok=_gap(est, grad) < 1e-12,
        quantity="‖E[∇log P(τ)(R(τ) − b)]‖∞ (the proof's conclusion ∇(0) against the exact expectation)",
        source_value=0.0,
        correct_value=_gap(est, 0.0),
        margin=1e-3,
        gamma=1.0,
        fixed_start=True,
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
        ok=_gap(tr.expect(written), grad) < 1e-12 and _gap(tr.expect(right), grad) < 1e-12,
        quantity="tr Cov of the estimator called the rewards-to-go form",
        source_value=_tr_cov(tr, written),
        correct_value=_tr_cov(tr, right),
        margin=1e-6,
        gamma=1.0,
        fixed_start=True,
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
        ok=_gap(right, grad) < 1e-12,
        quantity="‖E[estimator] − ∇J‖∞",
        source_value=_gap(src, grad),
        correct_value=_gap(right, grad),
        margin=1e-3,
        gamma=1.0,
        fixed_start=True,
    )


def _batch_means(tr: Trajectories, m: int) -> dict[str, np.ndarray]:
    """E[ĝ] over every batch of m i.i.d. trajectories (n^m batches, exact), for the source's
    same-batch baselines and for the leave-one-out fix."""
    import itertools

    idx = np.array(list(itertools.product(range(tr.n), repeat=m)))  # [n^m, m]
    w = np.prod(tr.prob[idx], axis=1)  # [n^m]
    g = tr.step_scores().sum(axis=1)  # [n, d] ∇log P(τ)
    sc = tr.step_scores()  # [n, T, d]
    ret = tr.returns()  # [n]
    rtg = np.cumsum(tr.rewards[:, ::-1], axis=1)[:, ::-1]  # [n, T]
    r_b, g_b = ret[idx], g[idx]  # [B, m], [B, m, d]
    b_same = r_b.mean(axis=1, keepdims=True)  # (4.1) from the same batch
    b_loo = (r_b.sum(axis=1, keepdims=True) - r_b) / (m - 1)
    traj_same = np.einsum("bkd,bk->bd", g_b, r_b - b_same) / m
    traj_loo = np.einsum("bkd,bk->bd", g_b, r_b - b_loo) / m
    rtg_b, sc_b = rtg[idx], sc[idx]  # [B, m, T], [B, m, T, d]
    bt_same = rtg_b.mean(axis=1, keepdims=True)  # (4.3) from the same batch
    bt_loo = (rtg_b.sum(axis=1, keepdims=True) - rtg_b) / (m - 1)
    time_same = np.einsum("bktd,bkt->bd", sc_b, rtg_b - bt_same) / m
    time_loo = np.einsum("bktd,bkt->bd", sc_b, rtg_b - bt_loo) / m
    return {k: w @ v for k, v in
            {"traj_same": traj_same, "traj_loo": traj_loo, "time_same": time_same, "time_loo": time_loo}.items()}


def _demo_e43() -> Demo:
    tr = _traj()
    grad = exact_gradient(CASE.mdp, CASE.logits)
    means = {m: _batch_means(tr, m) for m in (2, 3)}
    scaled = max(_gap(means[m][k], (1 - 1 / m) * grad) for m in means for k in ("traj_same", "time_same"))
    loo = max(_gap(means[m][k], grad) for m in means for k in ("traj_loo", "time_loo"))
    m2 = means[2]
    return Demo(
        case=CASE_TEXT + f"; every batch of m = 2 ({tr.n}² batches) and m = 3 ({tr.n}³) trajectories enumerated, each weighted by its probability",
        source_form=(
            f"b = (1/m) Σ_i R(τ^i) and b_t = (1/m) Σ_i Σ_(k≥t) r_k^i from the batch ĝ is computed on: m = 2 gives E[ĝ] = {_v(m2['traj_same'])} "
            f"(trajectory form (3.4)) and {_v(m2['time_same'])} (rewards-to-go form (3.5)); both equal (1 − 1/m)∇J for m = 2 and 3 (max deviation {scaled:.1e})"
        ),
        correct_form=f"leave-one-out baselines (the mean of the other m − 1 trajectories): E[ĝ] = {_v(m2['traj_loo'])} = ∇J = {_v(grad)} (max deviation {loo:.1e})",
        separation=f"the same-batch baseline shrinks the expected gradient by the factor 1 − 1/m: ‖E[ĝ] − ∇J‖∞ = {_gap(m2['traj_same'], grad):.4f} at m = 2",
        ok=scaled < 1e-12 and loo < 1e-12,
        quantity="‖E[ĝ] − ∇J‖∞ at m = 2, trajectory form (3.4) (the time-dependent form and m = 3 are checked alongside)",
        source_value=_gap(m2["traj_same"], grad),
        correct_value=_gap(m2["traj_loo"], grad),
        margin=1e-3,
        gamma=1.0,
        fixed_start=True,
    )


def _demo_e52() -> Demo:
    tr = _traj()
    mdp = CASE.mdp
    rtg = np.cumsum(tr.rewards[:, ::-1], axis=1)[:, ::-1].reshape(-1)  # [n·T] targets G_t
    w = np.repeat(tr.prob, mdp.horizon)  # each (trajectory, t) weighted by P(τ)
    states = tr.states[:, :-1]
    state_only = np.eye(mdp.n_states)[states.reshape(-1)]  # V_φ(s): one weight per state
    phi_s = reference.fit_linear_value(state_only, rtg, weights=w)
    phi_ts = reference.fit_linear_value(reference.tabular_time_features(states, mdp.n_states), rtg, weights=w)
    table = phi_ts.reshape(mdp.horizon, mdp.n_states)
    v = reference.state_values(mdp, CASE.logits)
    return Demo(
        case=CASE_TEXT + "; the exact minimizer of the source's regression loss (the expectation over trajectories, not a sample)",
        source_form=f"V_φ a function of the state alone: the minimizer is V_φ = {_v(phi_s)} (a visit-weighted mix of V_0, V_1, V_2)",
        correct_form=f"V_φ of (t, s) (time features): the minimizer is the table V_t(s) = {_v(table)}, equal to backward induction's V_0(s_0) = {v[0, 0]:.6f}",
        separation=f"at s_0 the state-only fit gives {phi_s[0]:.6f}, V^π(s_0) = V_0(s_0) = {v[0, 0]:.6f}; either is a valid baseline (unbiased), only one is V^π",
        ok=_gap(table[0, 0], v[0, 0]) < 1e-12,
        quantity="the fitted value at the start state s_0 = 0, t = 0",
        source_value=float(phi_s[0]),
        correct_value=float(table[0, 0]),
        margin=1e-3,
        gamma=1.0,
        fixed_start=True,
    )


for _e in [
    Erratum("E1.1", ("S1.4",), "incomplete", "P(τ) = Π_t P(s_{t+1}|s_t,a_t)",
            "P(τ;θ) = Π_t π_θ(a_t|s_t) P(s_{t+1}|s_t,a_t) from the fixed s_0 (times μ(s_0) when the start is drawn)",
            "a trajectory's probability includes the policy's choices; without them the product is not a distribution (its mass is A^T) and does not depend on θ",
            ("MDP-TRAJ-PROB",), _demo_e11,
            revision="rewritten: the source fixes its start state s_0, so μ(s_0) is not part of the error; the policy factor is"),
    Erratum("E2.1", ("S2.2",), "typo", "J(θ) = E[r(s_t,a_t); π_θ]", "J(θ) = E_{τ~π_θ}[R(τ)] = E[Σ_t r(s_t,a_t)]",
            "the objective is the expected total reward, not the reward of one step", ("MDP-J-ENUM-EQUALS-DP",), _demo_e21),
    Erratum("E2.2", ("S2.7",), "withdrawn", "∇log P(τ) = ∇log[Π_t P(s_{t+1}|s_t,a_t)·π_θ(a_t|s_t)] (no start-state factor)",
            "the same: with the source's fixed start state there is no start-state factor",
            "the source's MDP has one start state s_0 (its §1), so μ(s_0) = 1 and leaving it out is correct",
            ("PG-DYNAMICS-DROP",), _demo_e22,
            revision="withdrawn: the entry read the source with a random start state it does not have; with its fixed s_0 both forms agree exactly (the old demonstration itself showed a gradient difference of 0.0)"),
    Erratum("E3.1", ("S3.2", "S3.5"), "notation", "Σ_t ∇log π(a_t|s_t) Σ_t r(s_t,a_t), and r(t')(s_t',a_t')",
            "Σ_t ∇log π(a_t|s_t) Σ_t' r(s_t',a_t')", "the two sums should have distinct indices; r(t')(…) is a typesetting slip",
            ("PG-REINFORCE-UNBIASED",), None,
            revision="reclassified from typo: the inner Σ_(t=0)^(T−1) binds its own t, so as written it is the whole sum R(τ) (the display's own left side), and the estimator is REINFORCE; the biased one-index reading the old demonstration computed is not the text's. Reusing the name is notation"),
    Erratum("E3.2", ("S3.7", "S3.9"), "wrong", "E[Σ_t ∇log π Σ_{t'<t} r] = Σ_t E[∇log π]·E[Σ_{t'=0}^{T−1} r] by independence",
            "E[∇log π(a_t|s_t) r_t'] = E[r_t' E[∇log π(a_t|s_t) | s_0..s_t, a_0..a_{t−1}]] = 0 for t' < t",
            "the score at t and the past rewards are dependent (both depend on s_t's history); the term vanishes because the score has conditional mean zero. With the written upper limit T−1 the term would not vanish",
            ("PG-RTG-UNBIASED", "PG-SCORE-ZERO-MEAN"), _demo_e32),
    Erratum("E3.3", ("S3.8",), "typo", "∫ π ∇log π dπ = ∫ π ∇π/π dπ = ∫ π dt = ∇·1 = 0",
            "Σ_a π(a|s)∇log π(a|s) = Σ_a ∇π(a|s) = ∇Σ_a π(a|s) = ∇1 = 0", "the integration variable is the action and ∇ must stay in front of the integral",
            ("PG-SCORE-ZERO-MEAN",), _demo_e33),
    Erratum("E3.4", ("S3.11",), "wrong", "\"using rewards to go does not change the overall bias but does reduce the variance\"",
            "they never change the expectation; they reduce the variance on typical problems but not always",
            "removing zero-mean terms that are negatively correlated with the rest increases the variance",
            ("PG-RTG-VARIANCE", "PG-RTG-UNBIASED"), _demo_e34,
            revision="narrowed to S3.11: the baseline's variance claim (S3.13) is softer (\"helps to reduce\") and is E3.7"),
    Erratum("E3.7", ("S3.13",), "incomplete", "subtracting a baseline reduces the variance of the gradient estimate",
            "any action-independent baseline keeps the estimator unbiased; only a well-chosen one (e.g. the per-coordinate optimum (4.2)) is guaranteed not to increase the variance",
            "Var[g(R − b)] = E[g²(R − b)²] − (E[gR])² is a quadratic in b minimized at E[g²R]/E[g²]; a b far from that minimizer, such as E[R] when g² and R are negatively correlated, increases it",
            ("PG-BASELINE-VARIANCE", "PG-MINVAR-OPTIMAL"), _demo_e37,
            revision="reclassified from wrong: the source says a baseline \"helps to reduce variance\", which is true of a well-chosen one (near (4.2)); what it omits is that a poor constant, even b = E[R], can increase it"),
    Erratum("E3.5", ("S3.14",), "wrong", "E[∇log P(τ)(R − b)] = … = ∇(E[R] − E[R]) = ∇(0)",
            "E[∇log P(τ)(R − b)] = ∇J − b ∇Σ_τ P(τ;θ) = ∇J", "the proof substitutes b = E[R] and concludes the whole estimator has mean 0; only the baseline term does",
            ("PG-BASELINE-UNBIASED",), _demo_e35),
    Erratum("E3.6", ("S3.16",), "ambiguous", "Σ_t ∇log π (Σ_{k<t} r + Σ_{k≥t} r − b(s_t)), \"where the last step utilizes our rewards to go trick\"",
            "Σ_t ∇log π (Σ_{k≥t} r − b(s_t))", "the written form re-adds the past rewards: still unbiased, but it is not rewards-to-go and keeps their variance",
            ("PG-BASELINE-UNBIASED",), _demo_e36,
            readings=("the display as written, the estimator the text calls the rewards-to-go form (its past-reward terms kept): unbiased but with the past rewards' variance",
                      "the display as the full return split at t, from which the trick drops Σ_{k<t} r, leaving (3.5)")),
    Erratum("E4.1", ("S4.2",), "notation", "b = Σ_i (∇log P(τ^i))² R(τ^i) / Σ_i (∇log P(τ^i))²",
            "with the square read as ‖g‖² it is the minimum-variance scalar baseline E[‖g‖²R]/E[‖g‖²]; read elementwise it is the per-coordinate one b_k = E[g_k²R]/E[g_k²] (4.2)",
            "the square of a gradient vector is not defined by the source; each reading minimizes the total variance within its class of baselines",
            ("PG-MINVAR-OPTIMAL",), None,
            revision="reclassified from incomplete: the scalar reading is the exact minimizer of tr Cov over scalar baselines (d/db Σ_k E[g_k²(R − b)²] = 0), so neither reading is an error; which one is meant is notation"),
    Erratum("E4.2", ("S4.4",), "notation", "b(s_t) = E[r_t + … + r_{T−1}] = V^π(s_t)",
            "V_t(s) = E[Σ_{k≥t} r_k | s_t = s]: the expectation is conditioned on s_t, and indexed by time",
            "the unconditioned E[·] is shorthand; the source's own sentence says the baseline is \"the expected return from a specific state and time\"",
            ("PG-BASELINE-UNBIASED", "VF-REGRESSION"), None,
            revision="reclassified from incomplete (overstated): the source states both the conditioning on the state and the dependence on time in words; only the formula's notation leaves them out"),
    Erratum("E4.3", ("S4.1", "S4.3"), "incomplete", "b = E[R(τ)] ≈ (1/m) Σ_i R(τ^i) and b_t = (1/m) Σ_i Σ_{k≥t} r(s_k^i, a_k^i), with the m trajectories of ĝ",
            "a baseline must not depend on the trajectory it multiplies: estimate it from other trajectories (leave-one-out, b^(i) = (1/(m−1)) Σ_{j≠i} R(τ^j), or a separate batch); from the same batch E[ĝ] = (1 − 1/m)∇J exactly",
            "the batch mean contains R(τ^i) itself, and E[∇log P(τ^i) R(τ^i)/m] = ∇J/m does not vanish; the other trajectories' terms do",
            ("PG-BASELINE-UNBIASED",), _demo_e43,
            revision="added: the same-batch baseline's bias was missing from the errata"),
    Erratum("E5.1", ("S5.1",), "typo", "(Σ_{k=t}^{T−1} r(s_k,a_k) − V^π(s_k))", "(Σ_{k=t}^{T−1} r(s_k,a_k) − V^π(s_t))",
            "the baseline is the value of the current state s_t; values of later states depend on a_t and bias the gradient",
            ("PG-BASELINE-UNBIASED",), _demo_e51),
    Erratum("E5.2", ("S5.2",), "ambiguous", "regress V_φ(s_t) on Σ_{k≥t} r to estimate V^π(s_t)",
            "regress V_φ(t, s_t) (time features, (5.1) with `reference.tabular_time_features`): with a finite horizon the minimizer is V_t(s) only when V_φ sees t",
            "a value function of the state alone cannot represent V_t; its regression minimizer is the visit-weighted mix Σ_t P(s_t = s) V_t(s) / Σ_t P(s_t = s). It is still a valid baseline (the gradient stays unbiased), but it is not the V^π(s_t) the section says it estimates",
            ("VF-REGRESSION", "PG-BASELINE-UNBIASED"), _demo_e52,
            readings=("V_φ a function of the state alone, as \"a neural network\" on s_t suggests: its minimizer is not V^π(s_t)",
                      "V_φ given the time step as well (the section's own \"from a specific state and time\"): the minimizer is V_t(s)"),
            revision="added: the value-function section's claim that the regression estimates V^π(s_t) holds only under one reading"),
    Erratum("E5.3", ("S5.1",), "notation", "\"Using the value function, our estimation of J(θ) is thus: ĝ = …\"",
            "ĝ estimates ∇_θ J(θ)", "a wording slip: the display is the gradient estimator of §3 with a value baseline, as its ĝ says",
            ("PG-BASELINE-UNBIASED",), None,
            revision="added on re-reading: a wording slip with one reading, so it is recorded as notation rather than counted"),
]:
    register_erratum(_e)
