"""Claims of SPEC.md §1-§5: the MDP, the likelihood-ratio gradient, variance reduction, values."""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from reference import TabularMDP

from ..exact import enumerate_trajectories, exact_gradient, log_prob_torch
from ..registry import Claim, ClaimViolation, Impl, Measurement, compare, register
from ..strategies import MDPCase, mdp_cases

EXACT_TOL = 1e-9
EXACT_WHY = (
    "exact identity evaluated by full enumeration in float64; the sums have at most a few "
    "thousand terms of magnitude <= 10, so round-off stays below 1e-12 (1e-9 leaves margin)"
)


def _case(init: list[float], trans: Any, rew: Any, horizon: int, gamma: float, logits: Any) -> MDPCase:
    return MDPCase(
        TabularMDP(np.asarray(init, float), np.asarray(trans, float), np.asarray(rew, float), horizon, gamma),
        np.asarray(logits, float),
    )


#: Two states, two actions, stochastic dynamics, T = 3: a case small enough to check by hand.
PINNED_2X2 = _case(
    [0.5, 0.5],
    [[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.25, 0.75]]],
    [[1.0, -1.0], [0.5, 2.0]],
    3,
    1.0,
    [[0.3, -0.2], [1.0, 0.0]],
)
#: T = 1 bandit with a zero-probability initial state.
PINNED_T1 = _case([1.0, 0.0], [[[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 1.0]]], [[0.0, 1.0], [2.0, 0.0]], 1, 1.0, [[0.0, 0.0], [0.0, 0.0]])
#: Discounted, γ = 0.9, one action in one state would be trivial; this has absorbing dynamics.
PINNED_DISC = _case([0.25, 0.75], [[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]], [[1.0, 0.0], [-1.0, 0.5]], 4, 0.9, [[2.0, -2.0], [0.0, 1.0]])
PINNED = (PINNED_2X2, PINNED_T1, PINNED_DISC)


def _cases(**kw: Any) -> Any:
    return lambda: mdp_cases(**kw)


# ---------------------------------------------------------------------------------------- §1


def _check_traj_prob(case: MDPCase, impl: Impl) -> Measurement:
    tr = enumerate_trajectories(case.mdp, case.logits)
    logp = np.array([impl.trajectory_log_prob(case.mdp, case.logits, tr.states[i], tr.actions[i]) for i in range(tr.n)])
    got = np.exp(logp)
    err = max(compare(tr.prob, got).error, abs(float(got.sum()) - 1.0))
    return Measurement(err, expected="P(τ) = μ(s0)·Π π(a_t|s_t)·P(s_t+1|s_t,a_t), Σ_τ P(τ) = 1", got=f"Σ_τ P(τ) = {got.sum()!r}")


register(
    Claim(
        id="MDP-TRAJ-PROB",
        title="trajectory probability factorizes and normalizes",
        statement=(
            "P(τ;θ) = μ(s_0) Π_t π_θ(a_t|s_t) P(s_{t+1}|s_t,a_t) (eq. 1.2), and these probabilities "
            "sum to one over all trajectories of horizon T"
        ),
        section="§1",
        source=("S1.4",),
        method="exact enumeration: every trajectory with P>0 built step by step, compared with trajectory_log_prob; Hypothesis over MDPs (S<=3, A<=3, T<=4) and logits",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_cases(gamma=None),
        check=_check_traj_prob,
        uses=("trajectory_log_prob",),
        examples=PINNED,
    )
)


def _check_j(case: MDPCase, impl: Impl) -> Measurement:
    tr = enumerate_trajectories(case.mdp, case.logits)
    ret = np.array([impl.trajectory_return(tr.rewards[i], case.mdp.gamma) for i in range(tr.n)])
    return compare(float(tr.prob @ ret), impl.expected_return(case.mdp, case.logits), "Σ_τ P(τ)R(τ) vs backward induction")


register(
    Claim(
        id="MDP-J-ENUM-EQUALS-DP",
        title="J by enumeration equals J by backward induction",
        statement="J(θ) = Σ_τ P(τ;θ) R(τ) (eq. 1.4) equals Σ_s μ(s) V_0(s) computed by backward induction (eq. 4.4)",
        section="§1",
        source=("S1.5", "S2.2"),
        method="exact enumeration vs dynamic programming, two independent formulations; Hypothesis over MDPs with γ in [0,1]",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_cases(gamma=None),
        check=_check_j,
        uses=("trajectory_return", "expected_return"),
        examples=PINNED,
    )
)

# ---------------------------------------------------------------------------------------- §2


def _check_score_zero_mean(case: MDPCase, impl: Impl) -> Measurement:
    pi = np.exp(case.logits - case.logits.max(axis=1, keepdims=True))
    pi /= pi.sum(axis=1, keepdims=True)
    worst = 0.0
    for s in range(case.mdp.n_states):
        mean = sum(pi[s, a] * np.asarray(impl.score_function(case.logits, s, a)) for a in range(case.mdp.n_actions))
        worst = max(worst, float(np.max(np.abs(mean))))
    return Measurement(worst, expected=0.0, got=f"max_s |E_a[∇log π(a|s)]| = {worst:.3e}")


register(
    Claim(
        id="PG-SCORE-ZERO-MEAN",
        title="the score function has zero mean",
        statement="E_{a~π_θ(·|s)}[∇_θ log π_θ(a|s)] = 0 for every state s and any logits (eq. 2.3)",
        section="§2",
        source=("S3.8",),
        method="exact sum over actions for every state; Hypothesis over logits in [-3,3]^{S×A}, S,A<=3",
        tolerance=1e-12,
        tolerance_reason="a sum of at most 3 terms of size <= 1 in float64",
        strategy=_cases(),
        check=_check_score_zero_mean,
        uses=("score_function",),
        examples=PINNED,
    )
)


def _check_lr(case: MDPCase, impl: Impl) -> Measurement:
    tr = enumerate_trajectories(case.mdp, case.logits)
    scores = np.asarray(impl.trajectory_score(impl.step_scores(case.logits, tr.states[:, :-1], tr.actions)))
    lr = tr.expect(scores * tr.returns()[:, None])
    return compare(exact_gradient(case.mdp, case.logits), lr, "autograd ∇J vs Σ_τ P(τ)∇log P(τ)R(τ)")


register(
    Claim(
        id="PG-LIKELIHOOD-RATIO",
        title="the likelihood-ratio identity",
        statement="∇_θ J(θ) = Σ_τ P(τ;θ) ∇_θ log P(τ;θ) R(τ) (eq. 2.2), with ∇J taken by autograd through the exact J",
        section="§2",
        source=("S2.4", "S2.5"),
        method="exact enumeration; ∇J by torch autograd through Σ_τ P(τ;θ)R(τ) (no score function involved) vs the reference score; Hypothesis over MDPs and logits, γ in [0,1]",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_cases(gamma=None),
        check=_check_lr,
        uses=("step_scores", "trajectory_score"),
        examples=PINNED,
    )
)


def _check_dynamics_drop(case: MDPCase, impl: Impl) -> Measurement:
    tr = enumerate_trajectories(case.mdp, case.logits)
    th = torch.tensor(case.logits, requires_grad=True)
    logp = log_prob_torch(tr, th)
    jac = np.stack([torch.autograd.grad(logp[i], th, retain_graph=True)[0].numpy().reshape(-1) for i in range(min(tr.n, 64))])
    got = np.asarray(impl.trajectory_score(impl.step_scores(case.logits, tr.states[: jac.shape[0], :-1], tr.actions[: jac.shape[0]])))
    return compare(jac, got, "autograd of the full log P(τ;θ) (dynamics included) vs Σ_t ∇log π(a_t|s_t)")


register(
    Claim(
        id="PG-DYNAMICS-DROP",
        title="the dynamics drop out of the trajectory score",
        statement="∇_θ log P(τ;θ) = Σ_t ∇_θ log π_θ(a_t|s_t): the initial-state and transition factors do not depend on θ (eq. 2.4)",
        section="§2",
        source=("S2.7",),
        method="autograd Jacobian of the full log P(τ;θ) (initial state, policy and dynamics) for up to 64 enumerated trajectories vs the temporal decomposition; Hypothesis over MDPs",
        tolerance=1e-12,
        tolerance_reason="both sides are sums of at most T<=4 terms of size <= 1",
        strategy=_cases(),
        check=_check_dynamics_drop,
        uses=("step_scores", "trajectory_score"),
        examples=PINNED,
        max_examples=8,
    )
)


def _check_reinforce(case: MDPCase, impl: Impl) -> Measurement:
    tr = enumerate_trajectories(case.mdp, case.logits)
    sc = impl.step_scores(case.logits, tr.states[:, :-1], tr.actions)
    est = impl.reinforce_gradient(sc, tr.rewards, case.mdp.gamma, weights=tr.prob)
    return compare(exact_gradient(case.mdp, case.logits), est, "E[ĝ_REINFORCE] vs autograd ∇J")


register(
    Claim(
        id="PG-REINFORCE-UNBIASED",
        title="REINFORCE is unbiased",
        statement="E[ĝ] = ∇_θ J(θ) for ĝ = (1/m) Σ_i Σ_t ∇log π(a_t^i|s_t^i) R(τ^i) (eq. 2.5)",
        section="§2",
        source=("S2.8", "S2.9"),
        method="exact enumeration (the expectation of the m=1 estimator; the mean of m i.i.d. copies has the same expectation) vs autograd ∇J; Hypothesis over MDPs, γ in [0,1]",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_cases(gamma=None),
        check=_check_reinforce,
        uses=("reinforce_gradient", "step_scores"),
        examples=PINNED,
    )
)

# ---------------------------------------------------------------------------------------- §3


def _check_rtg(case: MDPCase, impl: Impl) -> Measurement:
    tr = enumerate_trajectories(case.mdp, case.logits)
    sc = impl.step_scores(case.logits, tr.states[:, :-1], tr.actions)
    est = impl.reward_to_go_gradient(sc, tr.rewards, case.mdp.gamma, weights=tr.prob)
    return compare(exact_gradient(case.mdp, case.logits), est, "E[ĝ_RTG] vs autograd ∇J")


register(
    Claim(
        id="PG-RTG-UNBIASED",
        title="rewards-to-go keep the gradient unbiased",
        statement="E[Σ_t ∇log π(a_t|s_t) Σ_{t'>=t} γ^{t'} r_{t'}] = ∇_θ J(θ): dropping past rewards changes no expectation (eq. 3.3)",
        section="§3",
        source=("S3.4", "S3.10", "S3.11"),
        method="exact enumeration vs autograd ∇J; Hypothesis over MDPs, γ in [0,1]",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_cases(gamma=None),
        check=_check_rtg,
        uses=("reward_to_go_gradient", "step_scores"),
        examples=PINNED,
    )
)

#: A one-state, two-action bandit of horizon 2 on which rewards-to-go INCREASE the variance.
RTG_COUNTEREXAMPLE = _case([1.0], [[[1.0], [1.0]]], [[-1.0, 1.0]], 2, 1.0, [[1.0, -2.0]])
#: A case where rewards-to-go reduce it (the usual situation).
RTG_TYPICAL = PINNED_2X2


def _total_variances(case: MDPCase, impl: Impl) -> tuple[float, float]:
    tr = enumerate_trajectories(case.mdp, case.logits)
    sc = tr.step_scores()
    full = np.stack([impl.reinforce_gradient(sc[i : i + 1], tr.rewards[i : i + 1], case.mdp.gamma) for i in range(tr.n)])
    rtg = np.stack([impl.reward_to_go_gradient(sc[i : i + 1], tr.rewards[i : i + 1], case.mdp.gamma) for i in range(tr.n)])
    return float(tr.variance(full).sum()), float(tr.variance(rtg).sum())


def _check_rtg_variance(item: tuple[str, MDPCase], impl: Impl) -> Measurement:
    direction, case = item
    v_full, v_rtg = _total_variances(case, impl)
    got = f"tr Cov[ĝ_REINFORCE] = {v_full:.6g}, tr Cov[ĝ_RTG] = {v_rtg:.6g}"
    ok = v_rtg > v_full * (1 + 1e-6) if direction == "increase" else v_rtg < v_full * (1 - 1e-6)
    if not ok:
        raise ClaimViolation(f"expected rewards-to-go to {direction} the variance on this case; {got}")
    return Measurement(0.0, expected=f"variance {direction}s", got=got)


register(
    Claim(
        id="PG-RTG-VARIANCE",
        title="rewards-to-go reduce variance only conditionally",
        statement=(
            "The source states that rewards-to-go reduce the variance of the gradient estimate. "
            "This holds on typical MDPs but not always: on the pinned one-state bandit (T=2, "
            "r=(-1,1), logits (1,-2)) the total variance tr Cov[ĝ] rises from 0.0653 to 0.0904 "
            "(errata E4). Unbiasedness (PG-RTG-UNBIASED) is unconditional."
        ),
        section="§3",
        source=("S3.11",),
        method="exact variance (trace of the covariance of the m=1 estimator) over all trajectories, on a pinned counterexample (must increase) and a pinned typical MDP (must decrease)",
        tolerance=0.0,
        tolerance_reason="a strict inequality with 1e-6 relative margin, not an approximation",
        strategy=lambda: st.sampled_from([("increase", RTG_COUNTEREXAMPLE), ("decrease", RTG_TYPICAL)]),
        check=_check_rtg_variance,
        uses=("reinforce_gradient", "reward_to_go_gradient"),
        examples=(("increase", RTG_COUNTEREXAMPLE), ("decrease", RTG_TYPICAL)),
        kind="conditional",
        max_examples=2,
    )
)


def _check_baselines(case: MDPCase, impl: Impl) -> Measurement:
    mdp = case.mdp
    tr = enumerate_trajectories(mdp, case.logits)
    sc = tr.step_scores()
    grad = exact_gradient(mdp, case.logits)
    ret = tr.returns()
    s_t = tr.states[:, :-1]
    v = np.asarray(impl.state_values(mdp, case.logits))
    b_const = impl.constant_baseline(ret, weights=tr.prob)
    b_time = np.asarray(impl.time_dependent_baseline(tr.rewards, mdp.gamma, weights=tr.prob))
    rng = np.random.default_rng(zlib.crc32(tr.prob.tobytes()))
    arbitrary = rng.normal(size=(mdp.horizon, mdp.n_states)) * 3
    steps = np.arange(mdp.horizon)[None, :]
    baselines = {
        "constant": np.full(tr.rewards.shape, b_const),
        "time": np.broadcast_to(b_time, tr.rewards.shape),
        "state V_t(s_t)": v[steps, s_t],
        "arbitrary b(t, s_t)": arbitrary[steps, s_t],
    }
    worst = Measurement(0.0)
    for name, b in baselines.items():
        m = compare(grad, impl.baseline_gradient(sc, tr.rewards, b, mdp.gamma, weights=tr.prob), f"baseline {name}")
        if m.error >= worst.error:
            worst = m
    traj = impl.trajectory_baseline_gradient(sc.sum(axis=1), ret, b_const, weights=tr.prob)
    m = compare(grad, traj, "∇log P(τ)(R(τ) − b) with the constant baseline")
    return m if m.error > worst.error else worst


register(
    Claim(
        id="PG-BASELINE-UNBIASED",
        title="baselines leave the gradient unbiased",
        statement=(
            "Subtracting a baseline that does not depend on a_t leaves E[ĝ] = ∇J: the constant b = E[R] "
            "(eq. 4.1), the time-dependent b_t (eq. 4.3), the state-dependent V_t(s_t) (eq. 4.4) and an "
            "arbitrary b(t, s_t), in the per-step form (eq. 3.5) and the whole-trajectory form (eq. 3.4)"
        ),
        section="§3",
        source=("S3.12", "S3.14", "S3.15", "S4.1", "S4.3", "S4.4"),
        method="exact enumeration of E[ĝ_b] for each baseline vs autograd ∇J; Hypothesis over MDPs, γ in [0,1]",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_cases(gamma=None),
        check=_check_baselines,
        uses=("baseline_gradient", "trajectory_baseline_gradient", "constant_baseline", "time_dependent_baseline", "state_values"),
        examples=PINNED,
    )
)


def _check_action_baseline(item: tuple[bool, MDPCase], impl: Impl) -> Measurement:
    must_be_biased, case = item
    mdp = case.mdp
    tr = enumerate_trajectories(mdp, case.logits)
    sc = tr.step_scores()
    grad = exact_gradient(mdp, case.logits)
    b = mdp.rewards[tr.states[:, :-1], tr.actions] + 1.0  # depends on the action a_t
    bias = np.asarray(impl.baseline_gradient(sc, tr.rewards, b, mdp.gamma, weights=tr.prob)) - grad
    powers = mdp.gamma ** np.arange(mdp.horizon)
    predicted = -tr.expect(np.einsum("itn,it->in", sc, b * powers))
    m = compare(predicted, bias, "bias of an action-dependent baseline vs −E[Σ_t γ^t ∇log π(a_t|s_t) b(s_t,a_t)]")
    if must_be_biased and float(np.max(np.abs(bias))) < 1e-3:
        raise ClaimViolation(f"an action-dependent baseline left the gradient unbiased on a case where it must not (|bias| = {np.max(np.abs(bias)):.3e})")
    return m


register(
    Claim(
        id="PG-BASELINE-ACTION-BIASED",
        title="an action-dependent baseline biases the gradient (negative control)",
        statement=(
            "With b = b(s_t, a_t) the estimator's bias is exactly −E[Σ_t γ^t ∇log π(a_t|s_t) b(s_t,a_t)], "
            "which is non-zero in general: the proof of unbiasedness needs b independent of a_t"
        ),
        section="§3",
        source=("S3.14",),
        method="exact enumeration: the bias equals its closed form on every case, and exceeds 1e-3 on the pinned cases (b = r(s_t,a_t)+1)",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=lambda: st.tuples(st.just(False), mdp_cases(gamma=None)),
        check=_check_action_baseline,
        uses=("baseline_gradient",),
        examples=((True, PINNED_2X2), (True, PINNED_DISC)),
        kind="negative-control",
    )
)

# ---------------------------------------------------------------------------------------- §4


def _check_minvar(case: MDPCase, impl: Impl) -> Measurement:
    tr = enumerate_trajectories(case.mdp, case.logits)
    g = tr.step_scores().sum(axis=1)
    ret = tr.returns()
    b = np.asarray(impl.min_variance_baseline(g, ret, weights=tr.prob))
    if b.shape != (g.shape[1],):
        raise ClaimViolation(f"min_variance_baseline returned shape {b.shape}, expected {(g.shape[1],)}")
    worst = 0.0
    expected = np.zeros_like(b)
    for k in range(g.shape[1]):
        gk = g[:, k]
        e2 = float(tr.prob @ gk**2)
        if e2 < 1e-12:
            expected[k] = b[k]
            continue

        def var(bk: float, gk: np.ndarray = gk) -> float:
            x = gk * (ret - bk)
            return float(tr.prob @ x**2 - (tr.prob @ x) ** 2)

        scale = max(1.0, float(np.max(np.abs(ret))))
        res = minimize_scalar(var, bracket=(-scale, scale), method="brent", options={"xtol": 1e-12})
        expected[k] = res.x
        # the returned b must be at least as good as scipy's optimum, and close to it
        if var(float(b[k])) > var(float(res.x)) + 1e-12 * max(1.0, var(float(res.x))):
            worst = max(worst, abs(float(b[k]) - float(res.x)) / scale + 1.0)
        worst = max(worst, abs(float(b[k]) - float(res.x)) / scale)
    return Measurement(worst, expected=expected, got=b, detail="per-coordinate argmin_b Var[g_k(R − b)] by scipy.optimize (Brent)")


register(
    Claim(
        id="PG-MINVAR-OPTIMAL",
        title="the minimum-variance baseline minimizes the variance",
        statement=(
            "For each parameter coordinate k, b_k = E[g_k² R] / E[g_k²] with g = ∇log P(τ;θ) minimizes "
            "Var[g_k (R(τ) − b_k)] (eq. 4.2); the source writes one scalar b, which is only right per coordinate (errata E5)"
        ),
        section="§4",
        source=("S4.2",),
        method="exact variance as a function of b_k by enumeration, minimized by scipy.optimize.minimize_scalar (Brent, xtol 1e-12); the returned b must be as good and within tolerance of scipy's argmin",
        tolerance=1e-6,
        tolerance_reason="Brent's method locates a minimum of a quadratic to about sqrt(machine eps) relative, ~1e-8; 1e-6 of the return scale leaves margin",
        strategy=_cases(),
        check=_check_minvar,
        uses=("min_variance_baseline",),
        examples=PINNED,
    )
)

# ---------------------------------------------------------------------------------------- §5


def _check_vf_regression(case: MDPCase, impl: Impl) -> Measurement:
    mdp = case.mdp
    tr = enumerate_trajectories(mdp, case.logits)
    s_t = tr.states[:, :-1]
    targets = np.stack([impl.discounted_returns(tr.rewards[i], mdp.gamma) for i in range(tr.n)])
    x = impl.tabular_time_features(s_t, mdp.n_states)
    w = np.repeat(tr.prob, mdp.horizon)
    phi = np.asarray(impl.fit_linear_value(x, targets.reshape(-1), w)).reshape(mdp.horizon, mdp.n_states)
    v = np.asarray(impl.state_values(mdp, case.logits))[: mdp.horizon]
    visit = np.zeros((mdp.horizon, mdp.n_states))
    np.add.at(visit, (np.broadcast_to(np.arange(mdp.horizon), s_t.shape), s_t), tr.prob[:, None])
    mask = visit > 0
    return compare(v[mask], phi[mask], "fitted V_t(s) vs backward-induction V_t(s) on every reachable (t, s)")


register(
    Claim(
        id="VF-REGRESSION",
        title="value regression on all trajectories recovers V^π",
        statement=(
            "Least-squares regression of a time-indexed tabular V_φ(t, s) on the returns G_t (eq. 5.1), "
            "with every trajectory weighted by its probability, recovers V^π_t(s) on every reachable (t, s)"
        ),
        section="§5",
        source=("S5.2",),
        method="exact enumeration; weighted least squares (numpy lstsq) vs backward induction; Hypothesis over MDPs, γ in [0,1]",
        tolerance=1e-8,
        tolerance_reason="a least-squares solve on a diagonal normal matrix whose entries (visit probabilities) can be as small as ~1e-4; float64 lstsq keeps ~1e-12, 1e-8 leaves margin",
        strategy=_cases(gamma=None),
        check=_check_vf_regression,
        uses=("fit_linear_value", "tabular_time_features", "discounted_returns", "state_values"),
        examples=PINNED,
    )
)


@st.composite
def _reward_seqs(draw: st.DrawFn) -> tuple[np.ndarray, float]:
    n = draw(st.integers(0, 60), label="T")
    r = draw(st.lists(st.floats(-100, 100, allow_nan=False), min_size=n, max_size=n))
    g = draw(st.one_of(st.sampled_from([0.0, 1.0, 0.5, 0.99]), st.floats(0, 1)))
    return np.asarray(r, dtype=np.float64), g


def _check_returns_fast(item: tuple[np.ndarray, float], impl: Impl) -> Measurement:
    r, g = item
    lit = np.asarray(impl.discounted_returns_literal(r, g))
    fast = np.asarray(impl.discounted_returns(r, g))
    if lit.shape != r.shape or fast.shape != r.shape:
        raise ClaimViolation(f"shape: rewards {r.shape}, literal {lit.shape}, fast {fast.shape}")
    scale = max(1.0, float(np.abs(r).sum()))
    err = float(np.max(np.abs(lit - fast))) / scale if r.size else 0.0
    return Measurement(err, expected=lit, got=fast, detail="error relative to max(1, Σ|r_t|)")


register(
    Claim(
        id="RET-FAST-EQUALS-LITERAL",
        title="the filtered discounted return equals the literal sum",
        statement="G_t = Σ_{k>=t} γ^{k−t} r_k computed term by term (eq. 3.1) equals the backward filter G_t = r_t + γ G_{t+1} (eq. 3.2)",
        section="§3",
        source=("S3.4", "X-FAST-FORMS"),
        method="Hypothesis over reward sequences (T in 0..60, |r| <= 100) and γ in [0,1] with 0, 1/2, 0.99, 1 pinned",
        tolerance=1e-12,
        tolerance_reason="two summation orders of at most 60 terms: round-off <= 60·eps·Σ|r| ≈ 1.3e-14·Σ|r|",
        strategy=_reward_seqs,
        check=_check_returns_fast,
        uses=("discounted_returns", "discounted_returns_literal"),
        examples=((np.zeros(0), 0.5), (np.array([1.0]), 0.0), (np.array([1.0, -2.0, 3.0]), 1.0), (np.array([1.0, 1.0, 1.0, 1.0]), 0.0)),
    )
)


# ---------------------------------------------------------------------- §2: beyond enumeration


def _check_pg_theorem(case: MDPCase, impl: Impl) -> Measurement:
    return compare(exact_gradient(case.mdp, case.logits), impl.policy_gradient_theorem(case.mdp, case.logits), "occupancy-weighted Q (DP) vs autograd through the enumerated J")


register(
    Claim(
        id="PG-THEOREM-EXACT",
        title="the policy-gradient theorem computes ∇J without enumeration",
        statement="∇J = Σ_t γ^t Σ_s d_t(s) Σ_a π(a|s) ∇log π(a|s) Q_t(s,a) (eq. 2.6), with d_t the state occupancy, equals autograd through the enumerated J",
        section="§2",
        source=("S2.4", "S2.9", "X-DISCOUNT"),
        method="dynamic programming (forward occupancy, backward Q) vs torch autograd through Σ_τ P(τ;θ)R(τ); Hypothesis over MDPs, γ in [0,1]",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_cases(gamma=None),
        check=_check_pg_theorem,
        uses=("policy_gradient_theorem",),
        examples=PINNED,
    )
)


def _large_mdp(seed: int) -> MDPCase:
    rng = np.random.default_rng(seed)
    n_s, n_a, horizon = 6, 4, 12
    trans = rng.dirichlet(np.full(n_s, 0.5), size=(n_s, n_a))
    return MDPCase(
        TabularMDP(rng.dirichlet(np.ones(n_s)), trans, rng.normal(size=(n_s, n_a)), horizon, 0.95),
        rng.normal(size=(n_s, n_a)),
    )


#: (seed of the MDP and of the sampler, number of batches, trajectories per batch)
MC_CASE = (20240419, 50, 400)
MC_ALPHA = 1e-6


def _check_mc(item: tuple[int, int, int], impl: Impl) -> Measurement:
    from scipy.stats import t as student_t

    from ..montecarlo import sample_trajectories

    seed, n_batches, per_batch = item
    case = _large_mdp(seed)
    mdp = case.mdp
    truth = np.asarray(reference_policy_gradient(mdp, case.logits))
    rng = np.random.default_rng(seed + 1)
    worst, detail = 0.0, ""
    # Bonferroni over 2 estimators × n coordinates; batch means are ~normal (CLT over 400 paths)
    k = 2 * truth.shape[0]
    crit = float(student_t.ppf(1 - MC_ALPHA / (2 * k), n_batches - 1))
    means: dict[str, list[np.ndarray]] = {"REINFORCE": [], "rewards-to-go": []}
    for _ in range(n_batches):
        states, actions, rewards = sample_trajectories(mdp, case.logits, per_batch, rng)
        sc = impl.step_scores(case.logits, states[:, :-1], actions)
        means["REINFORCE"].append(np.asarray(impl.reinforce_gradient(sc, rewards, mdp.gamma)))
        means["rewards-to-go"].append(np.asarray(impl.reward_to_go_gradient(sc, rewards, mdp.gamma)))
    for name, ms in means.items():
        arr = np.stack(ms)
        se = arr.std(axis=0, ddof=1) / np.sqrt(n_batches)
        tstat = np.abs(arr.mean(axis=0) - truth) / np.where(se > 0, se, np.inf)
        if float(tstat.max()) > worst:
            worst, detail = float(tstat.max()), name
    ratio = worst / crit
    return Measurement(
        ratio,
        expected=truth,
        got=np.stack(means[detail or "REINFORCE"]).mean(axis=0),
        detail=f"largest |mean − ∇J| = {worst:.2f} standard errors ({detail}); critical value {crit:.2f} (α = {MC_ALPHA:g}, Bonferroni over {k})",
    )


def reference_policy_gradient(mdp: TabularMDP, logits: Any) -> Any:
    """Ground truth for the Monte Carlo tier (always the reference, never the implementation under test)."""
    from reference import policy_gradient_theorem

    return policy_gradient_theorem(mdp, logits)


register(
    Claim(
        id="PG-MC-LARGE-MDP",
        title="sampled REINFORCE and rewards-to-go are unbiased beyond enumeration",
        statement=(
            "On an MDP too large to enumerate (S=6, A=4, T=12, γ=0.95: 24^12 action-state sequences), the "
            "means of 50 batches of 400 sampled REINFORCE and rewards-to-go estimates agree with the exact ∇J "
            "of the policy-gradient theorem (eq. 2.6) within the Student-t critical value"
        ),
        section="§2",
        source=("S2.8", "S2.9", "S3.10"),
        method="statistical tier: seeded sampling (verification.montecarlo), t-test per coordinate on 50 batch means, Bonferroni over 2 estimators × 24 coordinates; the error reported is the largest t statistic divided by the critical value",
        tolerance=1.0,
        tolerance_reason="a ratio of the largest t statistic to the Bonferroni-corrected critical value; ≤ 1 accepts",
        strategy=lambda: st.just(MC_CASE),
        check=_check_mc,
        uses=("reinforce_gradient", "reward_to_go_gradient", "step_scores"),
        examples=(MC_CASE,),
        kind="statistical",
        false_alarm=MC_ALPHA,
        max_examples=1,
    )
)


# ------------------------------------------------------------------------- §3: variance facts


def _check_var_over_m(case: MDPCase, impl: Impl) -> Measurement:
    tr = enumerate_trajectories(case.mdp, case.logits)
    if tr.n > 400:  # pairs grow as N²; the strategy keeps N small, this is a guard
        tr = enumerate_trajectories(PINNED_2X2.mdp, PINNED_2X2.logits)
        case = PINNED_2X2
    sc = impl.step_scores(case.logits, tr.states[:, :-1], tr.actions)
    single = np.stack([np.asarray(impl.reinforce_gradient(sc[i : i + 1], tr.rewards[i : i + 1], case.mdp.gamma)) for i in range(tr.n)])
    var1 = tr.variance(single)
    # every ordered pair (i, j) of independent draws, probability p_i p_j
    grid_i, grid_j = np.meshgrid(np.arange(tr.n), np.arange(tr.n), indexing="ij")
    ii, jj = grid_i.reshape(-1), grid_j.reshape(-1)
    pair = np.stack(
        [np.asarray(impl.reinforce_gradient(sc[[i, j]], tr.rewards[[i, j]], case.mdp.gamma)) for i, j in zip(ii, jj)]
    )
    w = tr.prob[ii] * tr.prob[jj]
    mean2 = w @ pair
    var2 = w @ (pair - mean2) ** 2
    return compare(var1 / 2.0, var2, "Var of the mean of m = 2 independent estimates vs Var[ĝ_1]/2")


register(
    Claim(
        id="PG-VARIANCE-1-OVER-M",
        title="averaging m trajectories divides the variance by m",
        statement="For m i.i.d. trajectories the estimator (2.5) has Var[ĝ_m] = Var[ĝ_1]/m per coordinate, checked exactly for m = 2",
        section="§3",
        source=("S3.3",),
        method="exact enumeration of every ordered pair of trajectories (probability P(τ_i)P(τ_j)); Hypothesis over MDPs with S, A ≤ 2, T ≤ 3",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_cases(max_states=2, max_actions=2, max_horizon=3, gamma=None),
        check=_check_var_over_m,
        uses=("reinforce_gradient", "step_scores"),
        examples=(PINNED_T1, PINNED_2X2),
        max_examples=15,
    )
)

#: A T = 1 bandit on which the constant baseline b = E[R] TRIPLES the variance.
BASELINE_COUNTEREXAMPLE = _case([1.0], [[[1.0], [1.0]]], [[0.0, 1.0]], 1, 1.0, [[-2.0, -1.0]])


def _check_baseline_variance(item: tuple[str, MDPCase], impl: Impl) -> Measurement:
    direction, case = item
    tr = enumerate_trajectories(case.mdp, case.logits)
    g = tr.step_scores().sum(axis=1)
    ret = tr.returns()
    b = float(impl.constant_baseline(ret, weights=tr.prob))
    def per_traj(bb: float) -> np.ndarray:
        return np.stack([np.asarray(impl.trajectory_baseline_gradient(g[i : i + 1], ret[i : i + 1], bb)) for i in range(tr.n)])

    v0 = float(tr.variance(per_traj(0.0)).sum())
    vb = float(tr.variance(per_traj(b)).sum())
    got = f"tr Cov without baseline = {v0:.6g}, with b = E[R] = {b:.4g}: {vb:.6g}"
    ok = vb > v0 * (1 + 1e-6) if direction == "increase" else vb < v0 * (1 - 1e-6)
    if not ok:
        raise ClaimViolation(f"expected the constant baseline to {direction} the variance on this case; {got}")
    return Measurement(0.0, expected=f"variance {direction}s", got=got)


register(
    Claim(
        id="PG-BASELINE-VARIANCE",
        title="a baseline reduces variance only conditionally",
        statement=(
            "The source states that subtracting a baseline reduces the variance. With the constant "
            "b = E[R] (its 'simple choice', eq. 4.1) this holds on typical MDPs but not always: on the "
            "pinned bandit (T=1, r=(0,1), logits (−2,−1)) tr Cov[ĝ] rises from 0.0284 to 0.0840 (errata E3.7). "
            "Unbiasedness (PG-BASELINE-UNBIASED) is unconditional; the per-coordinate optimum (4.2) never increases it."
        ),
        section="§3",
        source=("S3.13", "S4.1"),
        method="exact variance of the m=1 estimator (3.4) with b = 0 and b = E[R], on a pinned counterexample (must increase) and a pinned typical MDP (must decrease)",
        tolerance=0.0,
        tolerance_reason="a strict inequality with 1e-6 relative margin, not an approximation",
        strategy=lambda: st.sampled_from([("increase", BASELINE_COUNTEREXAMPLE), ("decrease", PINNED_2X2)]),
        check=_check_baseline_variance,
        uses=("constant_baseline", "trajectory_baseline_gradient"),
        examples=(("increase", BASELINE_COUNTEREXAMPLE), ("decrease", PINNED_2X2)),
        kind="conditional",
        max_examples=2,
    )
)
