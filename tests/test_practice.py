"""§17 practice functions against independent formulations: exact Fraction loops written from the
equations, scipy, case-split forms (Spinning Up's g(ε, A)), hand-worked tiny cases; the torch twins
against numpy in float64 and their gradients against closed forms and finite differences; bad
input; garbage in padding never read."""

from __future__ import annotations

import math
import statistics
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

from reference import practice as P
from reference import practice_torch as PT

_P, _PT = P, PT

F = Fraction
RNG_SEED = 20261203

# ------------------------------------------------------------------ fixtures: ragged token batches


def _batch(seed: int, b: int = 3, t: int = 5, holes: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """A [B, T] loss and a mask with left/right padding, a hole, and (row 0) an empty row."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(b, t))
    m = np.zeros((b, t), dtype=bool)
    m[1, 1:4] = True  # left and right padding
    m[2, :] = True
    if holes:
        m[2, 2] = False  # a hole
    if b > 3:
        m[3:, : t - 1] = True
    return x, m


def _garbage(x: np.ndarray, m: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(m, x, rng.uniform(-2.0, 2.0, size=x.shape))


def _fr(x: np.ndarray) -> list[list[Fraction]]:
    return [[F(float(v)) for v in row] for row in x]


def _agg_exact(loss: np.ndarray, m: np.ndarray, mode: str, norm_length: float | None = None, norm_batch: bool = True) -> Fraction:
    """Eq. (17.1) in exact arithmetic, row by row, from its definition."""
    lf = _fr(loss)
    b, t = loss.shape
    rows = [[lf[i][j] for j in range(t) if m[i, j]] for i in range(b)]
    if mode == "token_mean":
        toks = [v for r in rows for v in r]
        return sum(toks, F(0)) / len(toks) if toks else F(0)
    if mode == "seq_mean_token_sum_norm":
        nl = F(t) if norm_length is None else F(norm_length)
        return sum((v for r in rows for v in r), F(0)) / ((b if norm_batch else 1) * nl)
    nonempty = [r for r in rows if r]
    if not nonempty:
        return F(0)
    if mode == "seq_mean_token_mean":
        return sum((sum(r, F(0)) / len(r) for r in nonempty), F(0)) / len(nonempty)
    return sum((sum(r, F(0)) for r in nonempty), F(0)) / len(nonempty)


# --------------------------------------------------------------------------------- aggregate_loss


@pytest.mark.parametrize("mode", P.AGG_MODES)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_aggregate_loss_matches_exact_definition(mode: str, seed: int) -> None:
    loss, m = _batch(seed, b=4, t=5)
    got = P.aggregate_loss(loss, m, mode)
    assert got == pytest.approx(float(_agg_exact(loss, m, mode)), rel=1e-14, abs=1e-15)
    # garbage at padding is never read
    assert P.aggregate_loss(_garbage(loss, m, seed + 100), m, mode) == got
    # float {0, 1} masks are masks
    assert P.aggregate_loss(loss, m.astype(np.float64), mode) == got


def test_aggregate_loss_hand_worked() -> None:
    loss = np.array([[1.0, 2.0, 3.0], [4.0, 0.0, 0.0]])
    m = np.array([[1, 1, 1], [1, 0, 0]], dtype=bool)
    assert P.aggregate_loss(loss, m, "token_mean") == 10 / 4
    assert P.aggregate_loss(loss, m, "seq_mean_token_mean") == (2.0 + 4.0) / 2
    assert P.aggregate_loss(loss, m, "seq_mean_token_sum") == (6.0 + 4.0) / 2
    assert P.aggregate_loss(loss, m, "seq_mean_token_sum_norm") == 10 / (2 * 3)
    assert P.aggregate_loss(loss, m, "seq_mean_token_sum_norm", 5.0) == 10 / (2 * 5)
    assert P.aggregate_loss(loss, m, "seq_mean_token_sum_norm", norm_batch=False) == 10 / 3


def test_aggregate_loss_empty_rows_and_empty_mask() -> None:
    loss = np.array([[1.0, 2.0], [5.0, 7.0]])
    m = np.array([[0, 0], [1, 1]], dtype=bool)
    # a row without a token is not averaged in (it would halve the seq_mean modes)
    assert P.aggregate_loss(loss, m, "seq_mean_token_mean") == 6.0
    assert P.aggregate_loss(loss, m, "seq_mean_token_sum") == 12.0
    for mode in P.AGG_MODES:
        assert P.aggregate_loss(loss, np.zeros((2, 2), dtype=bool), mode) == 0.0


def test_aggregate_loss_bad_input() -> None:
    loss, m = _batch(0)
    with pytest.raises(ValueError, match="mode"):
        P.aggregate_loss(loss, m, "token_sum")
    with pytest.raises(TypeError, match="mode"):
        P.aggregate_loss(loss, m, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="norm_length"):
        P.aggregate_loss(loss, m, "seq_mean_token_sum_norm", 0.0)
    with pytest.raises(ValueError, match="mask"):
        P.aggregate_loss(loss, m[:, :2], "token_mean")
    with pytest.raises(ValueError, match="loss"):
        P.aggregate_loss(np.full_like(loss, np.nan), m)
    with pytest.raises(TypeError, match="norm_batch"):
        P.aggregate_loss(loss, m, norm_batch=1)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ policy_loss


def _ppo_obj_casesplit(rho: float, a: float, el: float, eh: float, c: float | None) -> float:
    """Spinning Up's form: min(ρA, g(ε, A)), g = (1 + ε_high)A for A >= 0, (1 − ε_low)A for A < 0;
    dual clip: max with cA for A < 0."""
    if a >= 0:
        o = min(rho * a, (1 + eh) * a)
    else:
        o = min(rho * a, (1 - el) * a)
        if c is not None:
            o = max(o, c * a)
    return o


@pytest.mark.parametrize("agg", P.AGG_MODES)
@pytest.mark.parametrize("dual", [None, 3.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_policy_loss_matches_case_split(agg: str, dual: float | None, seed: int) -> None:
    rng = np.random.default_rng(seed)
    _, m = _batch(seed, b=4, t=5)
    lo = rng.uniform(-3.0, -0.1, size=m.shape)
    lp = lo + rng.uniform(-1.5, 1.5, size=m.shape)
    adv = rng.uniform(-2.0, 2.0, size=m.shape)
    o = np.array([[_ppo_obj_casesplit(math.exp(lp[i, j] - lo[i, j]), adv[i, j], 0.2, 0.28, dual) for j in range(5)] for i in range(4)])
    want = -float(_agg_exact(o, m, agg))
    got = P.policy_loss(lp, lo, adv, m, 0.2, 0.28, dual, agg)
    assert got == pytest.approx(want, rel=1e-12, abs=1e-14)
    def g(x: np.ndarray) -> np.ndarray:
        return _garbage(x, m, seed + 7)

    assert P.policy_loss(g(lp), g(lo), g(adv), m, 0.2, 0.28, dual, agg) == got


def _ppo_grad_casesplit(rho: float, a: float, el: float, eh: float, c: float | None) -> float:
    """d o / d logp_new of the case-split form: ρA where the unclipped branch is active, else 0."""
    if a >= 0:
        return rho * a if rho < 1 + eh else 0.0
    if rho <= 1 - el:
        return 0.0
    if c is not None and rho * a < c * a:
        return 0.0
    return rho * a


@pytest.mark.parametrize("dual", [None, 2.0])
def test_policy_loss_torch_gradient_matches_case_split(dual: float | None) -> None:
    rng = np.random.default_rng(3)
    _, m = _batch(3, b=4, t=6)
    lo = rng.uniform(-3.0, -0.1, size=m.shape)
    lp = lo + rng.choice([-1.2, -0.5, -0.05, 0.05, 0.5, 1.2], size=m.shape)  # away from the kinks
    adv = rng.choice([-1.5, -0.3, 0.4, 1.1], size=m.shape)
    x = torch.tensor(lp, requires_grad=True)
    loss = PT.policy_loss(x, torch.tensor(lo), torch.tensor(adv), torch.tensor(m), 0.2, 0.2, dual, "token_mean")
    assert float(loss.detach()) == pytest.approx(P.policy_loss(lp, lo, adv, m, 0.2, 0.2, dual), rel=1e-13)
    (grad,) = torch.autograd.grad(loss, x)
    n = m.sum()
    want = np.array(
        [[-_ppo_grad_casesplit(math.exp(lp[i, j] - lo[i, j]), adv[i, j], 0.2, 0.2, dual) / n if m[i, j] else 0.0 for j in range(6)] for i in range(4)]
    )
    np.testing.assert_allclose(grad.numpy(), want, rtol=1e-12, atol=1e-15)


def test_policy_loss_hand_worked_dual_clip() -> None:
    # ρ = e^2 ≈ 7.39 with A = −1: the PPO objective −7.39 is bounded below by c·A = −3
    lp, lo, adv, m = (np.array([[2.0]]), np.array([[0.0]]), np.array([[-1.0]]), np.array([[True]]))
    assert P.policy_loss(lp, lo, adv, m) == pytest.approx(math.exp(2.0), rel=1e-15)
    assert P.policy_loss(lp, lo, adv, m, 0.2, 0.2, 3.0) == 3.0
    # dual clip never touches a positive advantage
    assert P.policy_loss(lp, lo, -adv, m, 0.2, 0.2, 3.0) == pytest.approx(-1.2, rel=1e-15)


def test_policy_loss_bad_input() -> None:
    z = np.zeros((2, 2))
    m = np.ones((2, 2), dtype=bool)
    with pytest.raises(ValueError, match="dual_clip"):
        P.policy_loss(z, z, z, m, 0.2, 0.2, 1.0)
    with pytest.raises(ValueError, match="clip_low"):
        P.policy_loss(z, z, z, m, 1.0)
    with pytest.raises(ValueError, match="clip_high"):
        P.policy_loss(z, z, z, m, 0.2, -0.1)
    with pytest.raises(ValueError, match="agg"):
        P.policy_loss(z, z, z, m, 0.2, 0.2, None, "mean")
    with pytest.raises(ValueError, match="shape"):
        P.policy_loss(z, z[:1], z, m)


# ------------------------------------------------------------------------------------- value_loss


@pytest.mark.parametrize("clip", [None, 0.0, 0.3])
@pytest.mark.parametrize("agg", ["token_mean", "seq_mean_token_sum"])
def test_value_loss_matches_definition(clip: float | None, agg: str) -> None:
    rng = np.random.default_rng(5)
    _, m = _batch(5, b=4, t=5)
    v, vo, ret = (rng.uniform(-2, 2, size=m.shape) for _ in range(3))

    def per(i: int, j: int) -> float:
        un = (v[i, j] - ret[i, j]) ** 2
        if clip is None:
            return float(0.5 * un)
        vc = vo[i, j] + min(max(v[i, j] - vo[i, j], -clip), clip)
        return float(0.5 * max(un, (vc - ret[i, j]) ** 2))

    want = float(_agg_exact(np.array([[per(i, j) for j in range(5)] for i in range(4)]), m, agg))
    got = P.value_loss(v, vo, ret, m, clip, agg)
    assert got == pytest.approx(want, rel=1e-13)
    assert got >= P.value_loss(v, vo, ret, m, None, agg) - 1e-15
    def g(x: np.ndarray) -> np.ndarray:
        return _garbage(x, m, 9)

    assert P.value_loss(g(v), g(vo), g(ret), m, clip, agg) == got


def test_value_loss_torch_gradient_on_both_branches() -> None:
    # token 0: unclipped branch wins, gradient v − R; token 1: clipped branch wins with the clip
    # binding, gradient 0; token 2: clipped branch wins inside the band (v = v_old + 0.1),
    # gradient (v − R) through the clipped form
    v = np.array([[1.0, 2.0, 0.1]])
    vo = np.array([[0.9, 0.0, 0.0]])
    ret = np.array([[0.0, 3.0, 0.1]])
    m = np.ones((1, 3), dtype=bool)
    x = torch.tensor(v, requires_grad=True)
    loss = PT.value_loss(x, torch.tensor(vo), torch.tensor(ret), torch.tensor(m), 0.5)
    # by hand: ½·max(1, (0.9 + 0.1)²) = ½; ½·max(1, (0 + 0.5 − 3)²) = 3.125; ½·max(0, 0) = 0
    assert float(loss.detach()) == pytest.approx((0.5 + 3.125 + 0.0) / 3, rel=1e-14)
    (grad,) = torch.autograd.grad(loss, x)
    np.testing.assert_allclose(grad.numpy(), [[1.0 / 3, 0.0, 0.0]], atol=1e-15)


def test_value_loss_bad_input() -> None:
    z = np.zeros((1, 2))
    m = np.ones((1, 2), dtype=bool)
    with pytest.raises(ValueError, match="clip"):
        P.value_loss(z, z, z, m, -0.1)
    with pytest.raises(ValueError, match="returns"):
        P.value_loss(z, z, np.full((1, 2), np.inf), m)


# ------------------------------------------------------------------------------------- kl_penalty


def test_kl_penalty_matches_math() -> None:
    lp = np.array([[-0.1, -2.0, -5.0], [-1.0, -0.5, -3.0]])
    rl = np.array([[-1.0, -0.3, -5.0], [-4.0, -0.2, -0.5]])
    for kind, f in {
        "k1": lambda r: r,
        "k2": lambda r: r * r / 2,
        "k3": lambda r: math.exp(-r) - 1 + r,
        "abs": abs,
    }.items():
        want = np.vectorize(f)(lp - rl)
        np.testing.assert_allclose(P.kl_penalty(lp, rl, kind), want, rtol=1e-13, atol=1e-16)
    assert P.kl_penalty(np.array([-1.0]), np.array([-13.5]), "k1", clamp=10.0)[0] == 10.0
    assert P.kl_penalty(np.array([-13.5]), np.array([-1.0]), "k1", clamp=10.0)[0] == -10.0


def test_kl_penalty_k3_small_r_no_cancellation() -> None:
    # e^{-r} − 1 + r = r²/2 − r³/6 + ...: at r = 1e-9 the naive form loses every digit
    r = 1e-9
    got = P.kl_penalty(np.array([r - 1.0]), np.array([-1.0]), "k3")[0]
    assert got == pytest.approx(r * r / 2, rel=1e-6)


def test_kl_penalty_bad_input() -> None:
    with pytest.raises(ValueError, match="kind"):
        P.kl_penalty(np.zeros(2), np.zeros(2), "k4")
    with pytest.raises(ValueError, match="clamp"):
        P.kl_penalty(np.zeros(2), np.zeros(2), "k1", clamp=0.0)
    with pytest.raises(ValueError, match="k3"):
        P.kl_penalty(np.array([-800.0]), np.array([0.0]), "k3")


# ------------------------------------------------------------------------- log-probs and entropy


def test_token_logprobs_matches_scipy_and_leaves_input() -> None:
    rng = np.random.default_rng(11)
    z = rng.normal(size=(2, 3, 5)) * 3
    z0 = z.copy()
    y = rng.integers(0, 5, size=(2, 3))
    for tau in (1.0, 0.7, 2.5):
        want = np.take_along_axis(scipy.special.log_softmax(z / tau, axis=-1), y[..., None], -1)[..., 0]
        np.testing.assert_allclose(P.token_logprobs(z, y, tau), want, rtol=1e-13, atol=1e-15)
        zt = torch.tensor(z)
        np.testing.assert_allclose(PT.token_logprobs(zt, torch.tensor(y), tau).numpy(), want, rtol=1e-13, atol=1e-15)
        np.testing.assert_array_equal(zt.numpy(), z0)
    np.testing.assert_array_equal(z, z0)


def test_token_logprobs_minus_inf() -> None:
    z = np.array([[[0.0, -np.inf, math.log(3.0)]]])
    assert P.token_logprobs(z, np.array([[0]]))[0, 0] == pytest.approx(math.log(1 / 4), rel=1e-15)
    assert P.token_logprobs(z, np.array([[1]]))[0, 0] == -np.inf
    with pytest.raises(ValueError, match="logits"):
        P.token_logprobs(np.full((1, 1, 2), -np.inf), np.array([[0]]))
    with pytest.raises(ValueError, match="tokens"):
        P.token_logprobs(z, np.array([[3]]))
    with pytest.raises(ValueError, match="temperature"):
        P.token_logprobs(z, np.array([[0]]), 0.0)


def test_token_entropy_matches_scipy_bounds_and_minus_inf() -> None:
    rng = np.random.default_rng(12)
    z = rng.normal(size=(3, 4, 6)) * 2
    for tau in (1.0, 0.5, 3.0):
        want = scipy.stats.entropy(scipy.special.softmax(z / tau, axis=-1), axis=-1)
        got = P.token_entropy(z, tau)
        np.testing.assert_allclose(got, want, rtol=1e-12)
        assert np.all(got >= 0) and np.all(got <= math.log(6) + 1e-15)
        np.testing.assert_allclose(PT.token_entropy(torch.tensor(z), tau).numpy(), want, rtol=1e-12)
    # a −inf logit is a token of probability 0: the entropy is that of the other tokens
    zi = np.array([[[0.0, -np.inf, 0.0, -np.inf]]])
    assert P.token_entropy(zi)[0, 0] == pytest.approx(math.log(2), rel=1e-15)
    x = torch.tensor(zi, requires_grad=True)
    h = PT.token_entropy(x)
    assert float(h.detach()) == pytest.approx(math.log(2), rel=1e-15)
    (g,) = torch.autograd.grad(h.sum(), x)
    assert bool(torch.isfinite(g).all())
    # a one-hot (all other logits −inf) has entropy exactly 0
    assert P.token_entropy(np.array([[[5.0, -np.inf]]]))[0, 0] == 0.0


# -------------------------------------------------------------------------------- masked_whiten


@pytest.mark.parametrize("ddof", [0, 1])
@pytest.mark.parametrize("shift_mean", [True, False])
@pytest.mark.parametrize("placement", ["var", "std"])
def test_masked_whiten_matches_statistics(ddof: int, shift_mean: bool, placement: str) -> None:
    x, m = _batch(21, b=4, t=5)
    vals = [float(v) for v in x[m]]
    mu = statistics.fmean(vals)
    var = statistics.variance(vals) if ddof else statistics.pvariance(vals)
    eps = 1e-3
    den = math.sqrt(var + eps) if placement == "var" else math.sqrt(var) + eps
    want = np.where(m, (x - mu) / den + (0.0 if shift_mean else mu), 0.0)
    got = P.masked_whiten(x, m, shift_mean, ddof, eps, eps_placement=placement)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(P.masked_whiten(_garbage(x, m, 3), m, shift_mean, ddof, eps, eps_placement=placement), got)
    gt = PT.masked_whiten(torch.tensor(x), torch.tensor(m), shift_mean, ddof, eps, eps_placement=placement)
    np.testing.assert_allclose(gt.numpy(), want, rtol=1e-12, atol=1e-14)


def test_masked_whiten_edges() -> None:
    m = np.array([[True, False]])
    with pytest.raises(ValueError, match="mask"):
        P.masked_whiten(np.array([[1.0, 2.0]]), m)  # one entry, ddof 1
    assert P.masked_whiten(np.array([[1.0, 2.0]]), m, True, 0)[0, 0] == 0.0
    np.testing.assert_array_equal(P.masked_whiten(np.array([[3.0, 3.0]]), np.ones((1, 2), bool), True, 1, 0.0), [[0.0, 0.0]])
    with pytest.raises(ValueError, match="ddof"):
        P.masked_whiten(np.zeros((1, 3)), np.ones((1, 3), bool), True, 2)


# ---------------------------------------------------------------------- group / RLOO advantages


@pytest.mark.parametrize("scale", P.GROUP_SCALES)
@pytest.mark.parametrize("ddof", [0, 1])
def test_group_advantages_matches_statistics(scale: str, ddof: int) -> None:
    r = np.array([1.0, 0.0, 0.5, 2.0, -1.0, 3.0, 0.25, 0.25, 0.75])
    g = 3
    eps = 1e-4
    sd_f = statistics.stdev if ddof else statistics.pstdev
    want = []
    for k in range(0, 9, g):
        grp = [float(v) for v in r[k : k + g]]
        mu = statistics.fmean(grp)
        sd = sd_f(grp) if scale == "group" else sd_f([float(v) for v in r])
        want += [(v - mu) if scale == "none" else (v - mu) / (sd + eps) for v in grp]
    got = P.group_advantages(r, g, scale, eps, ddof=ddof)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(PT.group_advantages(torch.tensor(r), g, scale, eps, ddof=ddof).numpy(), want, rtol=1e-13, atol=1e-15)


def test_group_advantages_conventions() -> None:
    r = np.array([2.0, 4.0])
    np.testing.assert_allclose(P.group_advantages(r, 2, "group", 1e-3, eps_placement="var"), [-1 / math.sqrt(2 + 1e-3), 1 / math.sqrt(2 + 1e-3)], rtol=1e-14)
    np.testing.assert_array_equal(P.group_advantages(r, 1), [0.0, 0.0])
    np.testing.assert_allclose(P.group_advantages(r, 1, "group", 1e-6, singleton="raw"), r / (1 + 1e-6), rtol=1e-15)
    np.testing.assert_array_equal(P.group_advantages(r, 1, "none", singleton="raw"), r)
    with pytest.raises(ValueError, match="group_size"):
        P.group_advantages(r, 1, singleton="error")
    with pytest.raises(ValueError, match="group_size"):
        P.group_advantages(np.zeros(5), 2)
    # equal rewards with eps = 0: the centred rewards are 0 and so is A (never 0/0)
    np.testing.assert_array_equal(P.group_advantages(np.full(3, 0.1), 3, "group", 0.0), np.zeros(3))


def test_rloo_exact_and_as_scaled_group_none() -> None:
    r = [F(3, 2), F(-1, 4), F(2), F(0), F(5), F(-3, 8)]
    g = 3
    want = []
    for k in range(0, 6, g):
        grp = r[k : k + g]
        want += [grp[i] - sum(grp[j] for j in range(g) if j != i) / (g - 1) for i in range(g)]
    arr = np.array([float(v) for v in r])
    np.testing.assert_allclose(P.rloo_advantages(arr, g), [float(v) for v in want], rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(P.rloo_advantages(arr, g), g / (g - 1) * P.group_advantages(arr, g, "none"), rtol=1e-14, atol=1e-15)
    with pytest.raises(ValueError, match="group_size"):
        P.rloo_advantages(arr, 1)


# -------------------------------------------------------------------------------------- masked_gae


def _gae_episode_exact(r: list[Fraction], v: list[Fraction], gamma: Fraction, lam: Fraction) -> list[Fraction]:
    """Â_t = Σ_l (γλ)^l δ_{t+l}, δ_t = r_t + γV_{t+1} − V_t, V after the last token 0: the explicit sum."""
    n = len(r)
    vn = v + [F(0)]
    delta = [r[t] + gamma * vn[t + 1] - v[t] for t in range(n)]
    return [sum(((gamma * lam) ** k * delta[t + k] for k in range(n - t)), F(0)) for t in range(n)]


@pytest.mark.parametrize("gamma,lam", [(1.0, 0.95), (0.5, 0.0), (1.0, 1.0), (0.75, 0.5)])
def test_masked_gae_skip_matches_explicit_sum(gamma: float, lam: float) -> None:
    rng = np.random.default_rng(31)
    _, m = _batch(31, b=4, t=6)
    rew = rng.uniform(-1, 1, size=m.shape)
    val = rng.uniform(-1, 1, size=m.shape)
    want = np.zeros(m.shape)
    for i in range(m.shape[0]):
        idx = np.flatnonzero(m[i])
        if idx.size:
            adv = _gae_episode_exact([F(float(x)) for x in rew[i, idx]], [F(float(x)) for x in val[i, idx]], F(gamma), F(lam))
            want[i, idx] = [float(a) for a in adv]
    got = P.masked_gae(rew, val, m, gamma, lam)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(P.masked_gae(_garbage(rew, m, 1), _garbage(val, m, 2), m, gamma, lam), got)
    gt = PT.masked_gae(torch.tensor(rew), torch.tensor(val), torch.tensor(m), gamma, lam)
    np.testing.assert_allclose(gt.numpy(), want, rtol=1e-12, atol=1e-14)


def test_masked_gae_step_convention_is_openrlhf_loop() -> None:
    rng = np.random.default_rng(32)
    _, m = _batch(32, b=4, t=6)
    rew = rng.uniform(-1, 1, size=m.shape)
    val = rng.uniform(-1, 1, size=m.shape)
    gamma, lam = 0.9, 0.8
    # OpenRLHF's recursion, written from its description: zero outside the mask, step through
    rz, vz = rew * m, val * m
    want = np.zeros(m.shape)
    last = np.zeros(m.shape[0])
    for t in reversed(range(m.shape[1])):
        nv = vz[:, t + 1] if t + 1 < m.shape[1] else 0.0
        last = rz[:, t] + gamma * nv - vz[:, t] + gamma * lam * last
        want[:, t] = last
    want = np.where(m, want, 0.0)
    np.testing.assert_allclose(P.masked_gae(rew, val, m, gamma, lam, holes="step"), want, rtol=1e-13, atol=1e-15)
    # with only left and right padding the two conventions agree; with a hole they do not
    m2 = m.copy()
    m2[2, 2] = True
    np.testing.assert_allclose(P.masked_gae(rew, val, m2, gamma, lam, holes="step"), P.masked_gae(rew, val, m2, gamma, lam), rtol=1e-13, atol=1e-15)
    assert not np.allclose(P.masked_gae(rew, val, m, gamma, lam, holes="step"), P.masked_gae(rew, val, m, gamma, lam))


# -------------------------------------------------------------------------------- preference_loss


def _pl(h: float, beta: float, kind: str, eps: float = 0.0) -> float:
    def ls(z: float) -> float:  # log σ(z) by cases, no shared code with the reference
        return -math.log1p(math.exp(-z)) if z >= 0 else float(z - math.log1p(math.exp(z)))

    z = beta * h
    if kind == "sigmoid":
        return -(1 - eps) * ls(z) - eps * ls(-z)
    if kind == "robust":
        return (-(1 - eps) * ls(z) + eps * ls(-z)) / (1 - 2 * eps)
    if kind == "ipo":
        return (h - 1 / (2 * beta)) ** 2
    return max(0.0, 1 - z)


@pytest.mark.parametrize("kind,eps", [("sigmoid", 0.0), ("sigmoid", 0.1), ("robust", 0.0), ("robust", 0.2), ("ipo", 0.0), ("hinge", 0.0)])
def test_preference_loss_matches_cases(kind: str, eps: float) -> None:
    pc = np.array([-3.0, -10.0, -1.0, -400.0, 0.0])
    pr = np.array([-4.0, -2.0, -1.0, -0.5, -800.0])
    rc = np.array([-3.5, -9.0, -2.0, -0.2, 0.0])
    rr = np.array([-3.0, -2.5, -1.5, -0.1, 0.0])
    h = (pc - rc) - (pr - rr)
    for beta in (0.1, 1.0, 12.5):
        want = [_pl(float(x), beta, kind, eps) for x in h]
        got = P.preference_loss(pc, pr, rc, rr, beta, kind, eps)
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300)
        gt = PT.preference_loss(torch.tensor(pc), torch.tensor(pr), torch.tensor(rc), torch.tensor(rr), beta, kind, eps)
        np.testing.assert_allclose(gt.numpy(), want, rtol=1e-13, atol=1e-300)


def test_preference_loss_extremes_and_robust_identity() -> None:
    one = np.array([0.0])
    # |βh| = 1e4: −log σ(1e4) = e^{−1e4} underflows to 0 exactly; −log σ(−1e4) = 1e4
    assert P.preference_loss(np.array([1e4]), one, one, one, 1.0)[0] == 0.0
    assert P.preference_loss(np.array([-1e4]), one, one, one, 1.0)[0] == 1e4
    # robust: (1 − ε)·ℓ_rob(h) + ε·ℓ_rob(−h) = ℓ_clean(h) (unbiased under flips), exactly for ε = 1/4
    for h in (-2.0, 0.3, 5.0):

        def lr(x: float) -> float:
            return float(P.preference_loss(np.array([x]), one, one, one, 1.0, "robust", 0.25)[0])

        clean = P.preference_loss(np.array([h]), one, one, one, 1.0)[0]
        assert 0.75 * lr(h) + 0.25 * lr(-h) == pytest.approx(clean, rel=1e-13)
    with pytest.raises(ValueError, match="label_smoothing"):
        P.preference_loss(one, one, one, one, 1.0, "robust", 0.5)
    with pytest.raises(ValueError, match="label_smoothing"):
        P.preference_loss(one, one, one, one, 1.0, "ipo", 0.1)
    with pytest.raises(ValueError, match="beta"):
        P.preference_loss(one, one, one, one, 0.0)
    with pytest.raises(ValueError, match="kind"):
        P.preference_loss(one, one, one, one, 1.0, "kto")


def test_preference_loss_torch_gradient_closed_form() -> None:
    # d/dπ_w of −log σ(βh) = −β σ(−βh); of (h − 1/(2β))² = 2(h − 1/(2β))
    pc = torch.tensor([0.3, -1.0], dtype=torch.float64, requires_grad=True)
    pr = torch.tensor([0.1, 0.5], dtype=torch.float64, requires_grad=True)
    zeros = torch.zeros(2, dtype=torch.float64)
    beta = 2.0
    h = np.array([0.2, -1.5])
    (gw, gl) = torch.autograd.grad(PT.preference_loss(pc, pr, zeros, zeros, beta).sum(), (pc, pr))
    np.testing.assert_allclose(gw.numpy(), -beta * scipy.special.expit(-beta * h), rtol=1e-14)
    np.testing.assert_allclose(gl.numpy(), beta * scipy.special.expit(-beta * h), rtol=1e-14)
    (gw,) = torch.autograd.grad(PT.preference_loss(pc, pr, zeros, zeros, beta, "ipo").sum(), (pc,))
    np.testing.assert_allclose(gw.numpy(), 2 * (h - 1 / (2 * beta)), rtol=1e-14)


# ----------------------------------------------------------------------------- adaptive KL update


def test_adaptive_kl_update_exact() -> None:
    def exact(beta: Fraction, kl: Fraction, target: Fraction, horizon: Fraction, n: Fraction) -> Fraction:
        e = min(max(kl / target - 1, F(-1, 5)), F(1, 5))
        return beta * (1 + e * n / horizon)

    for args in [(F(1, 10), F(6, 100), F(6, 100), F(10000), F(256)), (F(1, 10), F(1, 1), F(6, 100), F(10000), F(256)),
                 (F(1, 5), F(0), F(6, 100), F(10000), F(512)), (F(1, 5), F(7, 100), F(6, 100), F(1000), F(64)),
                 (F(1, 5), F(-1, 10), F(6, 100), F(1000), F(64))]:
        got = P.adaptive_kl_update(*(float(a) for a in args))
        assert got == pytest.approx(float(exact(*args)), rel=1e-15)
        assert PT.adaptive_kl_update(*(float(a) for a in args)) == got
    assert PT.adaptive_kl_update(torch.tensor(0.1, dtype=torch.float64), torch.tensor(0.5, dtype=torch.float64), 0.06, 10000, 256) == P.adaptive_kl_update(0.1, 0.5, 0.06, 10000, 256)
    with pytest.raises(ValueError, match="n_steps"):
        P.adaptive_kl_update(0.1, 0.0, 0.06, 1.0, 6.0)
    with pytest.raises(ValueError, match="target"):
        P.adaptive_kl_update(0.1, 0.0, 0.0, 1.0, 1.0)


# ----------------------------------------------------------------- torch twins: values and grads


def _twin_cases() -> list[tuple[Any, ...]]:
    """(name, numpy call, torch call, indices of the differentiable args) on one ragged batch."""
    P: Any = _P  # noqa: N806  (calls with *args; the signatures are tested elsewhere)
    PT: Any = _PT  # noqa: N806
    rng = np.random.default_rng(RNG_SEED)
    _, m = _batch(RNG_SEED, b=4, t=5)
    lp = rng.uniform(-2.0, -0.1, size=m.shape)
    lo = lp + rng.uniform(-0.6, 0.6, size=m.shape)
    adv = rng.uniform(-1.0, 1.0, size=m.shape)
    v, vo, ret = (rng.uniform(-1, 1, size=m.shape) for _ in range(3))
    logits = rng.normal(size=(2, 3, 4))
    n1 = [rng.uniform(-5, -1, size=6) for _ in range(4)]
    r6 = rng.uniform(-1, 1, size=6)
    return [
        ("aggregate_loss", lambda *a: P.aggregate_loss(*a, "seq_mean_token_mean"), lambda *a: PT.aggregate_loss(*a, "seq_mean_token_mean"), (adv, m), (0,)),
        ("policy_loss", lambda *a: P.policy_loss(*a, 0.2, 0.2, 2.0, "seq_mean_token_sum"), lambda *a: PT.policy_loss(*a, 0.2, 0.2, 2.0, "seq_mean_token_sum"), (lp, lo, adv, m), (0,)),
        ("value_loss", lambda *a: P.value_loss(*a, 0.2), lambda *a: PT.value_loss(*a, 0.2), (v, vo, ret, m), (0,)),
        ("kl_penalty", lambda *a: P.kl_penalty(*a, "k3"), lambda *a: PT.kl_penalty(*a, "k3"), (lp, lo), (0,)),
        ("token_logprobs", lambda z: P.token_logprobs(z, np.array([[0, 1, 3], [2, 2, 0]]), 0.8), lambda z: PT.token_logprobs(z, torch.tensor([[0, 1, 3], [2, 2, 0]]), 0.8), (logits,), (0,)),
        ("token_entropy", lambda z: P.token_entropy(z, 1.3), lambda z: PT.token_entropy(z, 1.3), (logits,), (0,)),
        ("masked_whiten", P.masked_whiten, PT.masked_whiten, (v, m), (0,)),
        ("group_advantages", lambda r: P.group_advantages(r, 3), lambda r: PT.group_advantages(r, 3), (r6,), (0,)),
        ("rloo_advantages", lambda r: P.rloo_advantages(r, 2), lambda r: PT.rloo_advantages(r, 2), (r6,), (0,)),
        ("masked_gae", lambda *a: P.masked_gae(*a, 0.9, 0.8), lambda *a: PT.masked_gae(*a, 0.9, 0.8), (ret, v, m), (0, 1)),
        ("preference_loss", lambda *a: P.preference_loss(*a, 0.5, "robust", 0.1), lambda *a: PT.preference_loss(*a, 0.5, "robust", 0.1), tuple(n1), (0, 1)),
    ]


@pytest.mark.parametrize("case", _twin_cases(), ids=lambda c: c[0])
def test_torch_twin_value_and_gradcheck(case: Any) -> None:
    name, fnp, ftorch, args, diff = case
    targs = [torch.tensor(a, requires_grad=(i in diff)) if a.dtype != bool else torch.tensor(a) for i, a in enumerate(args)]
    got = ftorch(*targs)
    np.testing.assert_allclose(got.detach().numpy(), fnp(*args), rtol=1e-12, atol=1e-14)
    assert torch.autograd.gradcheck(lambda *d: ftorch(*[d[diff.index(i)] if i in diff else t for i, t in enumerate(targs)]), [targs[i] for i in diff])


def test_torch_twins_run_in_float32() -> None:
    _, m = _batch(1)
    lp = torch.full(m.shape, -1.0, dtype=torch.float32)
    out = PT.policy_loss(lp, lp, torch.ones(m.shape, dtype=torch.float32), torch.tensor(m))
    assert out.dtype == torch.float32 and float(out) == -1.0


def test_import_reference_does_not_import_practice_torch() -> None:
    import subprocess
    import sys

    code = "import sys, reference; reference.policy_loss; print('reference.practice_torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
