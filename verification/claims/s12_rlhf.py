"""Claims of SPEC.md §12 (RLHF): the token-level MDP, the reward model, KL-shaped rewards,
token-level advantages and values, the KL-regularized optimum and DPO.

Exact wherever the response space is small enough to enumerate (V <= 3 tokens, V^L <= 27
responses): the "expected" sides are computed here from first principles (explicit softmax per
prefix, explicit sums with ``math.fsum``, mpmath at 60 digits, torch autograd through the
enumerated objective), never from the functions under test.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, TypeVar, cast

import mpmath
import numpy as np
import torch
from hypothesis import strategies as st
from scipy.optimize import minimize, root
from scipy.special import expit

from ..registry import Claim, ClaimViolation, Impl, Measurement, compare, register
from ..strategies.rlhf import (
    BOUNDARY_MARGINS,
    BanditCase,
    BTGraphCase,
    HiddenCase,
    LogprobPairs,
    Padding,
    TokenBatch,
    TokenModelCase,
    bandit_cases,
    bt_graph_cases,
    hidden_cases,
    logprob_pairs,
    pad_rows,
    preference_pairs,
    token_batches,
    token_model_cases,
)

EXACT_TOL = 1e-12
EXACT_WHY = (
    "exact identity in float64 over at most 27 responses of at most 4 tokens, with values of size "
    "<= 30; every step is a handful of correctly rounded operations, so round-off stays below 1e-14 "
    "of the scale (1e-12 leaves margin)"
)
DBL_MIN = 2.2250738585072014e-308
#: 2^−970 = DBL_MIN / eps.  Results smaller than this are compared in absolute terms at this
#: scale: a correct implementation may flush values below the normal range (DBL_MIN) to 0 or
#: round them on the subnormal grid (scipy's expit(−710) is 0), an absolute error <= DBL_MIN that
#: this scale turns into <= eps; above 2^−970 full relative accuracy is still required.
TINY = 2.0**-970
MP_DIGITS = 60

_F = TypeVar("_F", bound=Callable[..., Any])


def _mp60(fn: _F) -> _F:
    """Run a check with mpmath at 60 significant digits (a local context, not a global setting)."""

    @functools.wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with mpmath.workdps(MP_DIGITS):
            return fn(*args, **kwargs)

    return cast(_F, wrapped)

# ---------------------------------------------------------------------------------------- helpers


def _softplus_mp(x: Any) -> Any:
    """softplus(x) = log(1 + e^x) at 60 significant digits (log1p keeps tiny e^x)."""
    return mpmath.log1p(mpmath.exp(x))


def _rel_floor(got: float, exact: Any) -> float:
    """|got − exact| / max(|exact|, 2^−970): relative error, with results so small that float64
    cannot hold them to full precision compared in absolute terms (see TINY)."""
    if not math.isfinite(got):
        return math.inf
    e = mpmath.mpf(exact)
    return float(abs(mpmath.mpf(got) - e) / max(abs(e), mpmath.mpf(TINY)))


def _responses(v: int, length: int) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = [()]
    for _ in range(length):
        out = [p + (a,) for p in out for a in range(v)]
    return out


def _row(prefix: tuple[int, ...], v: int) -> int:
    """Row of the next-token table for a prefix: Σ_{k<t} V^k + base-V value of the prefix."""
    code = 0
    for a in prefix:
        code = code * v + a
    return int(sum(v**k for k in range(len(prefix))) + code)


def _log_softmax_row(z: np.ndarray) -> list[float]:
    m = max(float(x) for x in z)
    lse = m + math.log(math.fsum(math.exp(float(x) - m) for x in z))
    return [float(x) - lse for x in z]


class TokenModel:
    """The enumerated token MDP of a TokenModelCase, computed independently of ``reference``."""

    def __init__(self, case: TokenModelCase):
        self.case = case
        v, n = case.vocab, case.length
        self.ys = _responses(v, n)
        self.pol = [_log_softmax_row(r) for r in case.policy_logits]
        self.ref = [_log_softmax_row(r) for r in case.ref_logits]
        self.rows = np.array([[_row(y[:t], v) for t in range(n)] for y in self.ys], dtype=np.int64)
        self.tokens = np.array(self.ys, dtype=np.int64).reshape(len(self.ys), n)
        self.logp = np.array([[self.pol[self.rows[i, t]][y[t]] for t in range(n)] for i, y in enumerate(self.ys)])
        self.ref_logp = np.array([[self.ref[self.rows[i, t]][y[t]] for t in range(n)] for i, y in enumerate(self.ys)])
        self.seq_logp = np.array([math.fsum(r) for r in self.logp])
        self.seq_ref = np.array([math.fsum(r) for r in self.ref_logp])
        self.prob = np.exp(self.seq_logp)
        self.ref_prob = np.exp(self.seq_ref)
        self.padding = Padding(
            tuple(self._lefts()), tuple([n] * len(self.ys)), n + (0 if case.style == "none" else 2), case.style
        )

    def _lefts(self) -> list[int]:
        rng = np.random.default_rng(self.case.seed)
        k = len(self.ys)
        return {
            "none": [0] * k,
            "left": [2] * k,
            "right": [0] * k,
            "both": [int(x) for x in rng.integers(0, 3, size=k)],
        }[self.case.style]

    def padded(self, per_token: np.ndarray, garbage: float, salt: int = 0) -> tuple[np.ndarray, np.ndarray]:
        return pad_rows(list(per_token), self.padding, garbage, self.case.seed + salt)

    def objective(self) -> float:
        """J(π) = Σ_y π(y)[r(y) − β log(π(y)/π_ref(y))], explicit sum."""
        c = self.case
        return math.fsum(float(p) * (float(r) - c.beta * (float(a) - float(b))) for p, r, a, b in zip(self.prob, c.scores, self.seq_logp, self.seq_ref))

    def shaped(self) -> np.ndarray:
        """Per-token KL-shaped rewards of every response (compact [K, L]), written out here."""
        out: np.ndarray = -self.case.beta * (self.logp - self.ref_logp)
        out[:, -1] += self.case.scores
        return out

    def values(self) -> dict[tuple[int, ...], float]:
        """Exact V(prefix) = E[Σ_{k>=t} shaped r_k | prefix] by backward recursion over the tree."""
        c = self.case
        v, n = c.vocab, c.length
        score = {y: float(s) for y, s in zip(self.ys, c.scores)}
        val: dict[tuple[int, ...], float] = {}
        for t in range(n - 1, -1, -1):
            for p in _responses(v, t):
                lp, lr = self.pol[_row(p, v)], self.ref[_row(p, v)]
                terms = []
                for a in range(v):
                    r = -c.beta * (lp[a] - lr[a]) + (score[p + (a,)] if t == n - 1 else val[p + (a,)])
                    terms.append(math.exp(lp[a]) * r)
                val[p] = math.fsum(terms)
        return val


def _bandit_pinned(ref: list[float], rewards: list[float], beta: float) -> BanditCase:
    return BanditCase(np.asarray(ref, dtype=np.float64), np.asarray(rewards, dtype=np.float64), beta)


def _model_pinned(v: int, length: int, beta: float, lam: float, style: str, seed: int) -> TokenModelCase:
    rows = sum(v**t for t in range(length))
    rng = np.random.default_rng(seed)
    return TokenModelCase(
        v, length, np.round(rng.normal(size=(rows, v)), 3), np.round(rng.normal(size=(rows, v)), 3),
        np.round(rng.normal(size=v**length) * 2, 1), beta, lam, style, seed,
    )


#: Two tokens, three positions, right padding: hand-sized; V = 3, L = 2 with left padding; the
#: single-token and single-response edge cases; β = 0 (no KL term).
PINNED_MODELS = (
    _model_pinned(2, 3, 0.5, 0.95, "right", 1),
    _model_pinned(3, 2, 1.0, 0.0, "left", 2),
    _model_pinned(3, 1, 0.1, 1.0, "both", 3),
    _model_pinned(1, 3, 2.0, 0.5, "none", 4),
    _model_pinned(2, 2, 0.0, 1.0, "both", 5),
)

# ---------------------------------------------------------------------------------------- token MDP


def _check_seq_factorizes(case: TokenModelCase, impl: Impl) -> Measurement:
    tm = TokenModel(case)
    tok = np.asarray(impl.tabular_token_log_probs(case.policy_logits, tm.tokens))
    m_tok = compare(tm.logp, tok, "log π(y_t|x,y_<t) of the tabular model vs an explicit softmax of the prefix's row")
    lp_pad, mask = tm.padded(tm.logp, -7.0)
    seq = np.asarray(impl.sequence_log_prob(lp_pad, mask))
    m_seq = compare(tm.seq_logp, seq, "masked Σ_t log π(y_t|·) with padding vs fsum over the response tokens only")
    total = math.fsum(float(x) for x in np.exp(seq))
    m_sum = Measurement(abs(total - 1.0), expected=1.0, got=total, detail="Σ_y π(y|x) over all V^L responses")
    return max((m_tok, m_seq, m_sum), key=lambda m: m.error)


register(
    Claim(
        id="RLHF-SEQ-FACTORIZES",
        title="a response's log-probability is the masked sum of its token log-probabilities",
        statement=(
            "In the token MDP (state = prompt + tokens so far, deterministic concatenation) "
            "log π(y|x) = Σ_t log π(y_t|x, y_<t) over the response tokens only, padding ignored (eq. 12.2); "
            "the token probabilities of a tabular autoregressive model are the softmax of its prefix's row "
            "(eq. 12.1), and the probabilities of all V^L responses sum to one"
        ),
        section="§12",
        source=("S12.1", "S12.2", "S12.3"),
        method=(
            "exact enumeration of all V^L <= 27 responses (V <= 3, L <= 4); expected token log-probs by an "
            "explicit per-prefix softmax, sequence sums by math.fsum; padding (left, right, both) filled "
            "with log-probs of −7 that must not count; Hypothesis over logits in [−3, 3]"
        ),
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=token_model_cases,
        check=_check_seq_factorizes,
        uses=("tabular_token_log_probs", "sequence_log_prob"),
        examples=PINNED_MODELS,
    )
)

# ---------------------------------------------------------------------------------------- reward model


@_mp60
def _check_loss_sign(pair: tuple[np.ndarray, np.ndarray], impl: Impl) -> Measurement:
    rc, rr = pair
    loss = np.asarray(impl.bt_loss(rc, rr))
    gw, gl = (np.asarray(g) for g in impl.bt_loss_grad(rc, rr))
    prob = np.asarray(impl.bt_preference_prob(rc, rr))
    log2 = math.log(2.0)
    worst = Measurement(0.0)
    for i in range(rc.shape[0]):
        m_exact = mpmath.mpf(float(rc[i])) - mpmath.mpf(float(rr[i]))
        s_neg = mpmath.mpf(1) / (1 + mpmath.exp(m_exact))  # σ(−m)
        s_pos = mpmath.mpf(1) / (1 + mpmath.exp(-m_exact))  # σ(m)
        where = f"pair {i}: r_w = {rc[i]!r}, r_l = {rr[i]!r}"
        # the sign law: loss < log 2 iff r_w > r_l (resolvable in float64 once |m| > 4e-16)
        if abs(m_exact) > 1e-12:
            if (loss[i] < log2) != (m_exact > 0):
                raise ClaimViolation(f"{where}: loss {loss[i]!r} vs log 2 = {log2!r} disagrees with the sign of r_w − r_l")
            if (prob[i] > 0.5) != (m_exact > 0):
                raise ClaimViolation(f"{where}: P(y_w ≻ y_l) = {prob[i]!r} is on the wrong side of 1/2")
        elif abs(loss[i] - log2) > 1e-12:
            raise ClaimViolation(f"{where}: |r_w − r_l| <= 1e-12 but loss {loss[i]!r} != log 2")
        # equal and opposite gradient, a descent step raises r_w and lowers r_l
        if not (gw[i] == -gl[i] and gw[i] <= 0.0 <= gl[i]):
            raise ClaimViolation(f"{where}: ∂ℓ/∂r_w = {gw[i]!r}, ∂ℓ/∂r_l = {gl[i]!r}; expected −σ(−m) and +σ(−m)")
        # decreasing in the margin, and the gradient is the loss's derivative
        if abs(m_exact) <= 30:
            h = 1e-5
            up = float(np.asarray(impl.bt_loss(np.array([rc[i] + h]), np.array([rr[i]])))[0])
            down = float(np.asarray(impl.bt_loss(np.array([rc[i] - h]), np.array([rr[i]])))[0])
            if not up < down:
                raise ClaimViolation(f"{where}: the loss does not decrease in the margin ({down!r} at m−h, {up!r} at m+h)")
            fd = (up - down) / (2 * h)
            if abs(fd - float(gw[i])) > 1e-6:
                raise ClaimViolation(f"{where}: ∂ℓ/∂r_w = {gw[i]!r} but the central difference of bt_loss gives {fd!r}")
        errs = [_rel_floor(float(-gw[i]), s_neg), _rel_floor(float(gl[i]), s_neg), _rel_floor(float(prob[i]), s_pos)]
        if max(errs) >= worst.error:
            worst = Measurement(
                max(errs), expected=f"σ(−m) = {mpmath.nstr(s_neg, 17)}, σ(m) = {mpmath.nstr(s_pos, 17)}",
                got=f"−∂ℓ/∂r_w = {-gw[i]!r}, ∂ℓ/∂r_l = {gl[i]!r}, P = {prob[i]!r}", detail=where,
            )
    return worst


_SIGN_EXAMPLES = (
    (np.array([1.0, 0.0, 0.0, 3e-13, 0.0]), np.array([0.0, 1.0, 0.0, 0.0, 2e-12])),
    (np.array([1e4, -1e4, 745.5, -745.5, 36.7]), np.array([0.0, 0.0, 0.0, 0.0, 0.0])),
    (np.array([5e-324, 1e-300, 100.0]), np.array([0.0, 0.0, 100.0 + 2**-46])),
)

register(
    Claim(
        id="RM-LOSS-SIGN",
        title="the Bradley–Terry loss rewards the right order",
        statement=(
            "ℓ = −log σ(r_w − r_l) (eq. 12.3) is below log 2 exactly when r_w > r_l (and P(y_w ≻ y_l) = σ(r_w − r_l) "
            "is above 1/2), strictly decreases in the margin, and its gradient (eq. 12.4) is ∂ℓ/∂r_w = −σ(−m) = −∂ℓ/∂r_l: "
            "a descent step raises r_w and lowers r_l by the same amount"
        ),
        section="§12",
        source=("S12.5", "S12.6", "X-BT"),
        method=(
            "Hypothesis over pairs with margins up to ±1e4 and on σ's float64 boundaries; σ(±m) in mpmath at "
            "60 digits from the exact float inputs; the sign law checked for |m| > 1e-12 (log 2 − m/2 rounds to "
            "log 2 below ~1e-16); monotonicity and ∂ℓ/∂r_w by central differences of bt_loss for |m| <= 30"
        ),
        tolerance=1e-12,
        tolerance_reason=(
            "relative error of σ(±m) against 60-digit mpmath (absolute below 2^−970, where float64 loses precision or flushes to 0): expit is accurate "
            "to a few ulps and the rounding of m = r_w − r_l (<= eps·|m|) moves σ(−m) by at most |m|·eps <= 745·1.1e-16 "
            "where σ(−m) is representable"
        ),
        strategy=preference_pairs,
        check=_check_loss_sign,
        uses=("bt_loss", "bt_loss_grad", "bt_preference_prob"),
        examples=_SIGN_EXAMPLES,
    )
)


@_mp60
def _check_loss_stable(pair: tuple[np.ndarray, np.ndarray], impl: Impl) -> Measurement:
    rc, rr = pair
    loss = np.asarray(impl.bt_loss(rc, rr), dtype=np.float64)
    if loss.shape != rc.shape:
        raise ClaimViolation(f"bt_loss returned shape {loss.shape}, expected {rc.shape}")
    worst = Measurement(0.0)
    for i in range(rc.shape[0]):
        exact = _softplus_mp(-(mpmath.mpf(float(rc[i])) - mpmath.mpf(float(rr[i]))))
        if not math.isfinite(float(loss[i])):
            raise ClaimViolation(f"pair {i}: bt_loss({rc[i]!r}, {rr[i]!r}) = {loss[i]!r} is not finite (exact {mpmath.nstr(exact, 17)})")
        err = _rel_floor(float(loss[i]), exact)
        if err >= worst.error:
            worst = Measurement(err, expected=mpmath.nstr(exact, 17), got=float(loss[i]), detail=f"pair {i}: r_w = {rc[i]!r}, r_l = {rr[i]!r}")
    return worst


_BIG = np.array([1e4, -1e4, 800.0, -800.0, 746.0, -746.0, 709.5, -709.5, 37.0, -37.0, 1e-300, 0.0])

register(
    Claim(
        id="RM-LOSS-STABLE",
        title="the reward-model loss is finite and accurate for huge margins",
        statement=(
            "bt_loss(r_w, r_l) is finite and equals softplus(−(r_w − r_l)) to float64 precision for every margin with "
            "|r_w − r_l| <= 1e4, including where e^{±m} overflows or underflows (the naive −log σ(m) returns inf for m < −745)"
        ),
        section="§12",
        source=("S12.5",),
        method="Hypothesis over pairs (margins on exp's overflow/underflow boundaries and up to ±1e4) vs softplus in mpmath at 60 digits from the exact float inputs",
        tolerance=1e-12,
        tolerance_reason=(
            "relative error (absolute below 2^−970 ≈ 1e-292, where float64 loses precision or flushes to 0): logaddexp is accurate to a few ulps and the rounding "
            "of the margin changes softplus(−m) by a relative 1.45·eps·min(|m|, 745) <= 1.2e-13"
        ),
        strategy=preference_pairs,
        check=_check_loss_stable,
        uses=("bt_loss",),
        examples=((_BIG, np.zeros_like(_BIG)), (np.array([5000.0, -5000.0]), np.array([-5000.0, 5000.0]))),
    )
)


def _expected_bt_loss(impl: Impl, case: BTGraphCase) -> tuple[Callable[[np.ndarray], float], Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """Expected BT loss under Bradley–Terry labels: each compared pair (i, j) appears as i ≻ j with
    probability σ(r_i − r_j) and as j ≻ i otherwise (the infinite-data limit of the RM dataset)."""
    i = np.array([a for a, _ in case.pairs] + [b for _, b in case.pairs], dtype=np.int64)
    j = np.array([b for _, b in case.pairs] + [a for a, _ in case.pairs], dtype=np.int64)
    w = expit(case.rewards[i] - case.rewards[j])  # independent of the code under test
    k = case.rewards.shape[0]

    def full(z: np.ndarray) -> np.ndarray:
        return np.concatenate([[0.0], z])

    def fun(z: np.ndarray) -> float:
        r = full(z)
        return float(w @ np.asarray(impl.bt_loss(r[i], r[j])))

    def jac(z: np.ndarray) -> np.ndarray:
        r = full(z)
        gw, gl = (np.asarray(g) for g in impl.bt_loss_grad(r[i], r[j]))
        g = np.zeros(k)
        np.add.at(g, i, w * gw)
        np.add.at(g, j, w * gl)
        return g[1:]

    def hess(z: np.ndarray) -> np.ndarray:
        r = full(z)
        c = w * expit(r[i] - r[j]) * expit(r[j] - r[i])
        h = np.zeros((k, k))
        np.add.at(h, (i, i), c)
        np.add.at(h, (j, j), c)
        np.add.at(h, (i, j), -c)
        np.add.at(h, (j, i), -c)
        return h[1:, 1:]

    return fun, jac, hess, i, j, w


def _check_bt_recovers(case: BTGraphCase, impl: Impl) -> Measurement:
    fun, jac, hess, i, j, w = _expected_bt_loss(impl, case)
    truth = case.rewards - case.rewards[0]
    res = minimize(fun, np.zeros(truth.shape[0] - 1), jac=jac, hess=hess, method="trust-exact", options={"gtol": 1e-12})
    # the loss is flat below float resolution near its minimum: polish by solving ∇L = 0 (hybr)
    sol = root(jac, res.x, jac=hess, method="hybr", tol=1e-15)
    better = np.linalg.norm(jac(sol.x)) <= np.linalg.norm(jac(res.x))  # hybr may flag "no progress" at the float floor
    got = np.concatenate([[0.0], sol.x if better else res.x])
    # the loss itself (not only its gradient) must be stationary at the truth: central differences
    h = 1e-5
    for q in range(truth.shape[0] - 1):
        e = np.zeros(truth.shape[0] - 1)
        e[q] = h
        fd = (fun(truth[1:] + e) - fun(truth[1:] - e)) / (2 * h)
        if abs(fd) > 1e-7:
            raise ClaimViolation(f"the expected loss Σ P(i≻j)·bt_loss is not stationary at the true rewards: ∂L/∂r_{q + 1} ≈ {fd!r} by central differences")
    m_opt = compare(truth, got, "argmin of Σ_(i,j) P(i≻j)·bt_loss(r_i, r_j) by scipy trust-exact (r_0 = 0) vs the true r − r_0")
    fitted = np.asarray(impl.fit_bt_rewards(i, j, truth.shape[0], weights=w))
    m_fit = compare(truth, fitted - fitted[0], "fit_bt_rewards on the expected counts vs the true r − r_0")
    if abs(float(np.mean(fitted))) > 1e-12 * max(1.0, float(np.abs(fitted).max())):
        raise ClaimViolation(f"fit_bt_rewards returned rewards with mean {np.mean(fitted)!r}; the documented gauge is mean zero")
    return max((m_opt, m_fit), key=lambda m: m.error)


register(
    Claim(
        id="RM-BT-RECOVERS-REWARD",
        title="minimizing the BT loss recovers the true reward differences",
        statement=(
            "When preferences follow Bradley–Terry, P(i ≻ j) = σ(r_i − r_j), the expected reward-model loss "
            "Σ_(i,j) [P(i≻j) ℓ(r̂_i, r̂_j) + P(j≻i) ℓ(r̂_j, r̂_i)] over a connected set of compared pairs is minimized "
            "exactly at r̂ = r + const: the loss identifies reward differences, not levels (eq. 12.4)"
        ),
        section="§12",
        source=("S12.5", "X-BT"),
        method=(
            "exact expected loss over K <= 6 items and a random connected comparison graph; minimized by "
            "scipy.optimize trust-exact with the gradient from bt_loss_grad and an independent Hessian, polished by "
            "solving ∇L = 0 with scipy.optimize.root (hybr), and by fit_bt_rewards; both compared with r − r_0; the "
            "loss itself must be stationary at r (central differences of bt_loss, h = 1e-5, |∂L| <= 1e-7)"
        ),
        tolerance=1e-10,
        tolerance_reason=(
            "the gradient is solved to ~1e-16 and the Hessian's smallest eigenvalue is >= ~1e-3 for rewards in [−3, 3] "
            "on a connected graph of <= 6 items, so the minimizer is located to ~1e-13; 1e-10 leaves margin for the conditioning"
        ),
        strategy=bt_graph_cases,
        check=_check_bt_recovers,
        uses=("bt_loss", "bt_loss_grad", "fit_bt_rewards"),
        examples=(
            BTGraphCase(np.array([0.0, 1.0]), ((0, 1),)),
            BTGraphCase(np.array([2.0, -1.0, 0.5, 3.0]), ((0, 1), (1, 2), (2, 3))),
            BTGraphCase(np.array([-3.0, 3.0, 0.0, 1.5, -2.5, 0.25]), ((0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (1, 2), (3, 4))),
        ),
    )
)


def _check_padding_invariant(case: HiddenCase, impl: Impl) -> Measurement:
    h_pad, mask = pad_rows(list(case.hidden), case.padding, 1e3, seed=len(case.hidden))
    got = np.asarray(impl.last_token_reward(h_pad, mask, case.w, case.b))
    expected = np.array([math.fsum([*(float(a) * float(b) for a, b in zip(h[-1], case.w)), case.b]) for h in case.hidden])
    compact = np.array([float(np.asarray(impl.last_token_reward(h[None], np.ones((1, h.shape[0]), bool), case.w, case.b))[0]) for h in case.hidden])
    scale = max(1.0, max(math.fsum(abs(float(a) * float(b)) for a, b in zip(h[-1], case.w)) + abs(case.b) for h in case.hidden))
    err = max(float(np.max(np.abs(got - expected))), float(np.max(np.abs(compact - expected)))) / scale
    return Measurement(err, expected=expected, got=got, detail=f"padded ({case.padding.style}) and unpadded rewards vs wᵀh_last + b")


_H = (np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]]), np.array([[-2.0, 1.0]]))
register(
    Claim(
        id="RM-PADDING-INVARIANT",
        title="padding does not change the reward model's score",
        statement=(
            "The reward r(x, y) = wᵀh + b is read from the hidden state of the last non-padding token (eq. 12.5): "
            "the same sequence padded on the left, on the right, on both sides or not at all gets the same score"
        ),
        section="§12",
        source=("S12.4",),
        method="Hypothesis over N <= 4 sequences of 1..5 tokens, d <= 4, padding filled with hidden states of size ~1e3; padded and unpadded calls vs fsum(w·h_last) + b",
        tolerance=1e-14,
        tolerance_reason="a dot product of <= 4 terms of size <= 10, relative to Σ|w_k h_k| + |b|: at most a few ulps",
        strategy=hidden_cases,
        check=_check_padding_invariant,
        uses=("last_token_reward",),
        examples=(
            HiddenCase(_H, np.array([1.0, -1.0]), 0.5, Padding((0, 0), (3, 1), 5, "right")),
            HiddenCase(_H, np.array([1.0, -1.0]), 0.5, Padding((2, 4), (3, 1), 5, "left")),
            HiddenCase(_H, np.array([1.0, -1.0]), 0.5, Padding((1, 2), (3, 1), 5, "both")),
        ),
    )
)

# ---------------------------------------------------------------------------------------- KL-shaped rewards


def _check_kl_reward_sum(case: TokenModelCase, impl: Impl) -> Measurement:
    tm = TokenModel(case)
    lp, mask = tm.padded(tm.logp, -3.0, 1)
    ref, _ = tm.padded(tm.ref_logp, -3.0, 2)
    shaped = np.asarray(impl.kl_rewards(case.scores, lp, ref, mask, case.beta))
    if shaped.shape != mask.shape:
        raise ClaimViolation(f"kl_rewards returned shape {shaped.shape}, expected {mask.shape}")
    if np.any(shaped[~mask] != 0.0):
        raise ClaimViolation(f"kl_rewards is non-zero on padding: {shaped[~mask]}")
    compact = np.stack([shaped[i, mask[i]] for i in range(mask.shape[0])])
    m_tok = compare(tm.shaped(), compact, "per token: −β log(π/π_ref)(y_t|·), plus the score on the last response token")
    per_row = np.array([math.fsum(r) for r in compact])
    target = case.scores - case.beta * (tm.seq_logp - tm.seq_ref)
    m_row = compare(target, per_row, "Σ_t shaped r_t vs r(y) − β log(π/π_ref)(y|x)")
    expect = math.fsum(float(p) * float(s) for p, s in zip(tm.prob, per_row))
    j_ref = float(impl.kl_regularized_objective(tm.prob / tm.prob.sum(), tm.ref_prob / tm.ref_prob.sum(), case.scores, case.beta))
    m_j = compare(np.full(2, tm.objective()), np.array([expect, j_ref]), "E_π[Σ_t shaped r_t] and kl_regularized_objective vs Σ_y π(y)[r(y) − β log(π/π_ref)(y)]")
    return max((m_tok, m_row, m_j), key=lambda m: m.error)


register(
    Claim(
        id="RLHF-KL-REWARD-SUM",
        title="per-token KL-shaped rewards sum to the KL-regularized reward",
        statement=(
            "The shaped rewards (eq. 12.6) are −β log(π/π_ref)(y_t|x, y_<t) on every response token plus the score on "
            "the last response token and 0 on padding; per response they sum to r(x,y) − β log(π/π_ref)(y|x), so their "
            "expectation under π is E[r] − β KL(π‖π_ref) = J(π) (eq. 12.10)"
        ),
        section="§12",
        source=("X-KL-SHAPED-REWARD",),
        method=(
            "exact enumeration of all V^L <= 27 responses with padding (left, right, both; garbage log-probs at pads); "
            "token log-probs by an explicit softmax; sums by math.fsum; J both by explicit sum and by kl_regularized_objective"
        ),
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=token_model_cases,
        check=_check_kl_reward_sum,
        uses=("kl_rewards", "kl_regularized_objective"),
        examples=PINNED_MODELS,
    )
)

# ---------------------------------------------------------------------------------------- token advantages and values


def _explicit_gae(r: np.ndarray, v: np.ndarray, gamma: float, lam: float) -> np.ndarray:
    n = r.shape[0]
    nxt = [float(x) for x in v[1:]] + [0.0]
    delta = [float(r[t]) + gamma * nxt[t] - float(v[t]) for t in range(n)]
    return np.array([math.fsum((gamma * lam) ** l * delta[t + l] for l in range(n - t)) for t in range(n)])


def _check_token_gae(batch: TokenBatch, impl: Impl) -> Measurement:
    pad = batch.padding
    r_pad, mask = pad_rows(list(batch.rewards), pad, 1e3, seed=1)
    v_pad, _ = pad_rows(list(batch.values), pad, 1e3, seed=2)
    scale = max(1.0, max(float(np.abs(r).sum() + np.abs(v).sum()) for r, v in zip(batch.rewards, batch.values)))
    worst = Measurement(0.0)
    runs = [
        ("gae", batch.gamma, batch.lam, np.asarray(impl.masked_gae(r_pad, v_pad, mask, batch.gamma, batch.lam))),
        ("gae γ=λ=1", 1.0, 1.0, np.asarray(impl.masked_gae(r_pad, v_pad, mask, 1.0, 1.0))),
        ("returns", batch.gamma, None, np.asarray(impl.masked_returns(r_pad, mask, batch.gamma))),
    ]
    for name, g, lam, out in runs:
        if out.shape != mask.shape:
            raise ClaimViolation(f"{name}: returned shape {out.shape}, expected {mask.shape}")
        if np.any(out[~mask] != 0.0):
            raise ClaimViolation(f"{name}: non-zero on padding: {out[~mask]}")
        for i, (r, v) in enumerate(zip(batch.rewards, batch.values)):
            if lam is None:
                exp = np.array([math.fsum(g**k * float(x) for k, x in enumerate(r[t:])) for t in range(r.shape[0])])
                what = "G_t = Σ_k γ^k r_(t+k) over the row's response tokens"
            elif name == "gae γ=λ=1":
                exp = np.array([math.fsum(float(x) for x in r[t:]) - float(v[t]) for t in range(r.shape[0])])
                what = "Â_t = Σ_(k>=t) r_k − V(s_t) (γ = λ = 1)"
            else:
                exp = _explicit_gae(r, v, g, lam)
                what = "Â_t = Σ_l (γλ)^l δ_(t+l), terminal after the last response token"
            got = out[i, mask[i]]
            err = float(np.max(np.abs(got - exp))) / scale
            if err >= worst.error:
                worst = Measurement(err, expected=exp, got=got, detail=f"row {i}, {name}: {what}; padding {pad.style}")
    return worst


register(
    Claim(
        id="RLHF-TOKEN-GAE-MASKED",
        title="token-level GAE ignores padding",
        statement=(
            "GAE over the response tokens of each row (eq. 12.8) equals Σ_l (γλ)^l δ_{t+l} computed on the row without "
            "its padding, with the state after the last response token terminal; padding (on either side, whatever "
            "its rewards and values) never changes a real token's advantage and gets 0; with γ= λ = 1 the advantage is "
            "the return-to-go minus the value, G_t − V(s_t), and masked_returns gives G_t (eq. 12.7)"
        ),
        section="§12",
        source=("S6.9", "S12.1", "S12.8"),
        method="Hypothesis over N <= 4 responses of 1..6 tokens, rewards and values in [−10, 10], γ, λ in [0, 1]; padding slots hold ±1e3; explicit sums with math.fsum",
        tolerance=EXACT_TOL,
        tolerance_reason="sums of <= 6 terms of size <= 10 with weights <= 1, relative to Σ|r| + Σ|V| of the row: round-off <= ~1e-15",
        strategy=token_batches,
        check=_check_token_gae,
        uses=("masked_gae", "masked_returns"),
        examples=(
            TokenBatch((np.array([0.0, 0.0, 1.0]), np.array([2.0])), (np.array([0.5, 0.5, 0.5]), np.array([1.0])), Padding((0, 0), (3, 1), 4, "right"), 1.0, 0.95),
            TokenBatch((np.array([0.0, 0.0, 1.0]), np.array([2.0])), (np.array([0.5, 0.5, 0.5]), np.array([1.0])), Padding((1, 3), (3, 1), 4, "left"), 1.0, 0.0),
            TokenBatch((np.array([1.0, -1.0, 2.0, 0.5]),), (np.array([0.0, 1.0, -1.0, 2.0]),), Padding((1,), (4,), 6, "both"), 0.9, 1.0),
        ),
    )
)


def _baseline_table(case: TokenModelCase) -> np.ndarray:
    rows = sum(case.vocab**t for t in range(case.length))
    out: np.ndarray = np.random.default_rng(case.seed + 7).normal(size=rows) * 3.0
    return out


def _check_token_pg(case: TokenModelCase, impl: Impl) -> Measurement:
    tm = TokenModel(case)
    # ∇J by autograd through the enumerated J(θ) = Σ_y π_θ(y)[r(y) − β log(π_θ(y)/π_ref(y))]
    th = torch.tensor(case.policy_logits, requires_grad=True)
    logpi = torch.log_softmax(th, dim=1)
    k, n, v = len(tm.ys), case.length, case.vocab
    pick = np.zeros((k, th.numel()))  # pick[i] counts the (row, token) cells that response i uses
    np.add.at(pick, (np.repeat(np.arange(k), n), (tm.rows * v + tm.tokens).reshape(-1)), 1.0)
    seq = torch.as_tensor(pick) @ logpi.reshape(-1)
    ref_seq = torch.as_tensor(tm.seq_ref)
    j = (torch.exp(seq) * (torch.as_tensor(case.scores) - case.beta * (seq - ref_seq))).sum()
    (grad,) = torch.autograd.grad(j, th)
    expected = grad.numpy().reshape(-1)
    # the score of each token: ∇_θ log π(y_t|prefix) = e_row ⊗ (e_{y_t} − π(·|row))
    pi = np.exp(np.array(tm.pol))
    score = np.zeros((k, n, pi.shape[0], v))
    for i in range(k):
        for t in range(n):
            score[i, t, tm.rows[i, t]] -= pi[tm.rows[i, t]]
            score[i, t, tm.rows[i, t], tm.tokens[i, t]] += 1.0
    score = score.reshape(k, n, -1)
    lp, mask = tm.padded(tm.logp, -3.0, 1)
    ref, _ = tm.padded(tm.ref_logp, -3.0, 2)
    shaped = np.asarray(impl.kl_rewards(case.scores, lp, ref, mask, case.beta))
    vals = tm.values()
    exact_v = np.array([[vals[y[:t]] for t in range(n)] for y in tm.ys])
    arbitrary_v = _baseline_table(case)[tm.rows]
    worst = Measurement(0.0)
    for name, values, lam in (("λ = 1, arbitrary V(prefix)", arbitrary_v, 1.0), (f"λ = {case.lam}, exact V^π", exact_v, case.lam)):
        v_pad, _ = tm.padded(values, 1e3, 3)
        adv = np.asarray(impl.masked_gae(shaped, v_pad, mask, 1.0, lam))
        a = np.stack([adv[i, mask[i]] for i in range(k)])
        est = np.einsum("i,itn,it->n", tm.prob, score, a)
        m = compare(expected, est, f"Σ_y π(y) Σ_t ∇log π(y_t|·) Â_t with {name} vs autograd ∇J")
        if m.error >= worst.error:
            worst = m
    return worst


register(
    Claim(
        id="RLHF-TOKEN-PG-UNBIASED",
        title="token-level advantages of the shaped rewards give the gradient of the KL-regularized objective",
        statement=(
            "With the KL-shaped rewards (eq. 12.6) and token-level GAE (eq. 12.8, γ = 1), "
            "E_π[Σ_t ∇_θ log π_θ(y_t|x, y_<t) Â_t] = ∇_θ J(θ), J = E[r] − β KL(π_θ‖π_ref) (eq. 12.10): for λ = 1 with any "
            "value function of the prefix as baseline, and for every λ with the exact V^π. This is the on-policy PPO "
            "gradient of RLHF; it fails if the score is placed on any token but the last"
        ),
        section="§12",
        source=("S12.1", "S12.7", "X-KL-SHAPED-REWARD"),
        method=(
            "exact enumeration of all V^L <= 27 responses with padding; ∇J by torch autograd through the enumerated J "
            "(no estimator involved); the score of each token written out; V^π by backward recursion over the prefix tree"
        ),
        tolerance=1e-10,
        tolerance_reason="float64 sums of <= 27 × 4 terms of size <= ~100 (scores, log-ratios with β <= 5, baselines ~10): round-off <= 108·100·eps ≈ 2.4e-12 of the gradient scale; 1e-10 leaves margin",
        strategy=token_model_cases,
        check=_check_token_pg,
        uses=("kl_rewards", "masked_gae"),
        examples=PINNED_MODELS,
        max_examples=25,
    )
)


def _check_value_regression(case: TokenModelCase, impl: Impl) -> Measurement:
    tm = TokenModel(case)
    n_rows = sum(case.vocab**t for t in range(case.length))
    onehot = np.eye(n_rows)[tm.rows]  # the token MDP's state: one-hot of the prefix, [K, L, rows]
    h_pad, mask = tm.padded(onehot, 1e3, 4)
    r_pad, _ = tm.padded(tm.shaped(), 1e3, 5)
    g = np.asarray(impl.masked_returns(r_pad, mask, 1.0))
    w = np.broadcast_to(tm.prob[:, None], mask.shape)[mask]
    x = np.concatenate([h_pad[mask], np.ones((int(mask.sum()), 1))], axis=1)  # the head's bias as a constant feature
    phi = np.asarray(impl.fit_linear_value(x, g[mask], w))
    v_fit = np.asarray(impl.value_head(h_pad, phi[:-1], float(phi[-1])))
    vals = tm.values()
    exact = np.array([[vals[y[:t]] for t in range(case.length)] for y in tm.ys])
    got = np.stack([v_fit[i, mask[i]] for i in range(mask.shape[0])])
    m_v = compare(exact, got, "value head fitted by weighted least squares on masked returns vs V^π(prefix) by backward recursion")
    m_j = compare(tm.objective(), float(got[0, 0]), "V(s_0) = J(π) = E[r] − β KL")
    return max((m_v, m_j), key=lambda m: m.error)


register(
    Claim(
        id="RLHF-VALUE-REGRESSION",
        title="the value head regressed on token returns recovers V^π",
        statement=(
            "A linear value head wᵀh + b on the token MDP's state (eq. 12.7; here h is a one-hot of the prefix), fitted by least "
            "squares to the returns-to-go of the KL-shaped rewards on response tokens only (S12.8; §5's eq. 5.1), "
            "each response weighted by π(y|x), recovers V^π(x, y_<t) = E[Σ_{k>=t} r_k | x, y_<t] at every prefix; "
            "at the prompt it equals J(π) = E[r] − β KL(π‖π_ref)"
        ),
        section="§12",
        source=("S12.7", "S12.8"),
        method=(
            "exact enumeration of all V^L <= 27 responses with padding (hidden states and rewards of size ~1e3 in the "
            "padding slots); fit_linear_value (numpy lstsq) vs backward recursion over the prefix tree"
        ),
        tolerance=1e-10,
        tolerance_reason="a weighted least-squares solve whose weights (prefix probabilities) go down to ~1e-8 (logits in [−3, 3], L <= 4): the √weighted design has condition ~1e4, so lstsq keeps ~1e-12 of the value scale; 1e-10 leaves margin",
        strategy=token_model_cases,
        check=_check_value_regression,
        uses=("masked_returns", "fit_linear_value", "value_head"),
        examples=PINNED_MODELS,
    )
)

# ---------------------------------------------------------------------------------------- the KL-regularized optimum


def _support_logits_to_policy(z: np.ndarray, support: np.ndarray, k: int) -> np.ndarray:
    p = np.zeros(k)
    e = np.exp(z - z.max())
    p[support] = e / e.sum()
    return p


@_mp60
def _check_optimum(case: BanditCase, impl: Impl) -> Measurement:
    ref, r, beta = case.ref_probs, case.rewards, case.beta
    k = ref.shape[0]
    support = np.flatnonzero(ref > 0)
    pistar = np.asarray(impl.kl_optimal_policy(ref, r, beta))
    value = float(impl.kl_optimal_value(ref, r, beta))
    # independent closed forms: log Z = logsumexp_y (log π_ref + r/β) over the support (mpmath)
    log_z = mpmath.log(mpmath.fsum(mpmath.mpf(float(ref[i])) * mpmath.exp(mpmath.mpf(float(r[i])) / beta) for i in support))
    exact_value = float(beta * log_z)
    exact_pi = np.zeros(k)
    for i in support:
        exact_pi[i] = float(mpmath.mpf(float(ref[i])) * mpmath.exp(mpmath.mpf(float(r[i])) / beta - log_z))
    scale = max(1.0, float(np.max(np.abs(r))))
    errs = [
        Measurement(float(np.max(np.abs(pistar - exact_pi))), expected=exact_pi, got=pistar, detail="π* vs π_ref e^{r/β}/Z in mpmath"),
        Measurement(abs(value - exact_value) / scale, expected=exact_value, got=value, detail="kl_optimal_value vs β log Z in mpmath"),
    ]
    j_star = float(impl.kl_regularized_objective(exact_pi, ref, r, beta))
    errs.append(Measurement(abs(j_star - exact_value) / scale, expected=exact_value, got=j_star, detail="J(π*) vs β log Z"))
    # every perturbation lowers J, by exactly β KL(π‖π*): J(π) = β log Z − β KL(π‖π*)
    rng = np.random.default_rng(k)
    for _ in range(4):
        q = np.zeros(k)
        q[support] = rng.dirichlet(np.ones(support.shape[0]))
        for eps in (1e-3, 0.1, 0.5, 1.0):
            p = (1 - eps) * exact_pi + eps * q
            p = p / p.sum()
            j = float(impl.kl_regularized_objective(p, ref, r, beta))
            kl = math.fsum(float(p[i]) * (math.log(float(p[i])) - math.log(float(exact_pi[i]))) for i in support if p[i] > 0)
            if j > exact_value + 1e-12 * scale:
                raise ClaimViolation(f"J(π) = {j!r} exceeds J(π*) = β log Z = {exact_value!r} at π = {p!r}")
            errs.append(Measurement(abs(j - (exact_value - beta * kl)) / scale, expected=exact_value - beta * kl, got=j, detail=f"J((1−ε)π* + εq), ε = {eps}: β log Z − β KL(π‖π*)"))
    # a numerical optimizer over the simplex (softmax on the support) finds nothing better
    if support.shape[0] > 1:
        res = minimize(lambda z: -float(impl.kl_regularized_objective(_support_logits_to_policy(z, support, k), ref, r, beta)),
                       np.zeros(support.shape[0]), method="BFGS", jac="3-point", options={"gtol": 1e-10})
        j_opt = -float(res.fun)
        if j_opt > exact_value + 1e-9 * scale or j_opt < exact_value - 1e-6 * scale:
            raise ClaimViolation(f"scipy's maximum of J over the simplex, {j_opt!r}, disagrees with β log Z = {exact_value!r}")
    return max(errs, key=lambda m: m.error)


register(
    Claim(
        id="RLHF-OPTIMUM",
        title="π* ∝ π_ref e^{r/β} maximizes the KL-regularized objective",
        statement=(
            "π*(y|x) = π_ref(y|x) e^{r(x,y)/β}/Z(x) (eq. 12.11) maximizes J(π) = E_π[r] − β KL(π‖π_ref) (eq. 12.10) "
            "with J(π*) = β log Z(x) (eq. 12.12); every other π has J(π) = β log Z − β KL(π‖π*) < J(π*)"
        ),
        section="§12",
        source=("X-KL-OPTIMUM",),
        method=(
            "closed forms in mpmath at 60 digits; 16 perturbations (1−ε)π* + εq per case with the exact identity "
            "J(π) = β log Z − β KL(π‖π*); scipy BFGS over the simplex (softmax on supp π_ref) may not exceed β log Z; "
            "Hypothesis over K <= 6 responses, π_ref with zeros, r in [−5, 5], β in [0.05, 5]"
        ),
        tolerance=1e-12,
        tolerance_reason="J and π* from <= 6 terms with r/β <= 100: exp/log round-off relative to max(1, |r|) stays below 1e-14; scipy's optimum is only bounded (1e-9 above, 1e-6 below)",
        strategy=bandit_cases,
        check=_check_optimum,
        uses=("kl_optimal_policy", "kl_optimal_value", "kl_regularized_objective"),
        examples=(
            _bandit_pinned([0.25, 0.25, 0.5], [1.0, 0.0, -1.0], 0.5),
            _bandit_pinned([0.5, 0.0, 0.5], [0.0, 100.0, 1.0], 1.0),
            _bandit_pinned([1.0], [3.0], 0.05),
            _bandit_pinned([0.1, 0.2, 0.3, 0.4], [5.0, -5.0, 5.0, -5.0], 0.05),
        ),
        max_examples=20,
    )
)

# ---------------------------------------------------------------------------------------- DPO


def _dpo_exact(c: LogprobPairs, i: int) -> Any:
    f = mpmath.mpf
    m = c.beta * ((f(float(c.policy_chosen[i])) - f(float(c.ref_chosen[i]))) - (f(float(c.policy_rejected[i])) - f(float(c.ref_rejected[i]))))
    return _softplus_mp(-m)


def _dpo_cond(c: LogprobPairs, i: int) -> float:
    """max(1, β Σ|inputs|): the relative rounding of the margin is <= 4 eps of this."""
    return max(1.0, c.beta * float(abs(c.policy_chosen[i]) + abs(c.ref_chosen[i]) + abs(c.policy_rejected[i]) + abs(c.ref_rejected[i])))


def _check_dpo_is_bt(c: LogprobPairs, impl: Impl) -> Measurement:
    loss = np.asarray(impl.dpo_loss(c.policy_chosen, c.policy_rejected, c.ref_chosen, c.ref_rejected, c.beta))
    implicit_c = c.beta * (c.policy_chosen - c.ref_chosen)
    implicit_r = c.beta * (c.policy_rejected - c.ref_rejected)
    bt = np.asarray(impl.bt_loss(implicit_c, implicit_r))
    got_c = np.asarray(impl.dpo_implicit_reward(c.policy_chosen, c.ref_chosen, c.beta))
    got_r = np.asarray(impl.dpo_implicit_reward(c.policy_rejected, c.ref_rejected, c.beta))
    worst = compare(np.concatenate([implicit_c, implicit_r]), np.concatenate([got_c, got_r]), "dpo_implicit_reward vs β(log π − log π_ref)")
    for i in range(loss.shape[0]):
        denom = max(float(bt[i]), TINY) * _dpo_cond(c, i)
        err = abs(float(loss[i]) - float(bt[i])) / denom if math.isfinite(float(loss[i])) else math.inf
        if err >= worst.error:
            worst = Measurement(err, expected=float(bt[i]), got=float(loss[i]), detail=f"pair {i}: dpo_loss vs bt_loss(β log π/π_ref (y_w), β log π/π_ref (y_l)), error relative to the loss × β Σ|log-probs|")
    return worst


register(
    Claim(
        id="DPO-IS-BT",
        title="the DPO loss is the Bradley–Terry loss of the implicit reward",
        statement=(
            "dpo_loss(π_w, π_l, ref_w, ref_l, β) (eq. 12.9) = bt_loss(r̂_w, r̂_l) (eq. 12.3) with the implicit reward "
            "r̂ = β log π(y|x)/π_ref(y|x) (eq. 12.13)"
        ),
        section="§12",
        source=("X-DPO", "X-BT"),
        method="Hypothesis over sequence log-probs in [−50, 0] (0 and tiny values pinned) and β in (0, 10]; the implicit rewards computed here",
        tolerance=1e-13,
        tolerance_reason=(
            "error relative to the loss and to max(1, β Σ|log-probs|): the two groupings of the margin differ by "
            "<= 4 eps of β Σ|log-probs|, which moves softplus by a relative <= 1.45× that"
        ),
        strategy=lambda: logprob_pairs(scale=50.0, beta_max=10.0),
        check=_check_dpo_is_bt,
        uses=("dpo_loss", "bt_loss", "dpo_implicit_reward"),
        examples=(
            LogprobPairs(np.array([-1.0, -5.0, 0.0]), np.array([-2.0, -1.0, 0.0]), np.array([-1.5, -4.0, 0.0]), np.array([-1.5, -4.0, -3.0]), 0.1),
            LogprobPairs(np.array([-20.0]), np.array([-3.0]), np.array([-3.0]), np.array([-20.0]), 10.0),
        ),
    )
)


@_mp60
def _check_dpo_stable(c: LogprobPairs, impl: Impl) -> Measurement:
    loss = np.asarray(impl.dpo_loss(c.policy_chosen, c.policy_rejected, c.ref_chosen, c.ref_rejected, c.beta))
    worst = Measurement(0.0)
    for i in range(loss.shape[0]):
        exact = _dpo_exact(c, i)
        if not math.isfinite(float(loss[i])):
            raise ClaimViolation(f"pair {i}: dpo_loss = {loss[i]!r} is not finite (exact {mpmath.nstr(exact, 17)})")
        err = _rel_floor(float(loss[i]), exact) / _dpo_cond(c, i)
        if err >= worst.error:
            worst = Measurement(err, expected=mpmath.nstr(exact, 17), got=float(loss[i]), detail=f"pair {i}, β = {c.beta}: error relative to the loss and to max(1, β Σ|log-probs|)")
    return worst


register(
    Claim(
        id="DPO-STABLE",
        title="the DPO loss is finite and accurate for huge margins",
        statement=(
            "dpo_loss is finite and equals softplus(−β[(log π_w − log π_ref,w) − (log π_l − log π_ref,l)]) to float64 "
            "precision for sequence log-probs down to −2500 and |β·margin| beyond 1e4 (where e^{±margin} over- or underflows)"
        ),
        section="§12",
        source=("X-DPO",),
        method="Hypothesis over sequence log-probs in [−2500, 0] and β in (0, 5] vs softplus in mpmath at 60 digits from the exact float inputs",
        tolerance=1e-13,
        tolerance_reason=(
            "error relative to the loss (absolute below 2^−970) and divided by max(1, β Σ|log-probs|): "
            "forming the margin in float64 rounds it by <= 4 eps of β Σ|log-probs|, which moves softplus(−m) by a relative <= 1.45× that"
        ),
        strategy=logprob_pairs,
        check=_check_dpo_stable,
        uses=("dpo_loss",),
        examples=(
            LogprobPairs(np.array([0.0, -2500.0]), np.array([-2500.0, 0.0]), np.array([-2500.0, 0.0]), np.array([0.0, -2500.0]), 5.0),
            LogprobPairs(np.array([-800.0, -1.0]), np.array([-1.0, -750.0]), np.array([-1.0, -1.0]), np.array([-1.0, -1.0]), 1.0),
        ),
    )
)


def _check_dpo_optimum(case: BanditCase, impl: Impl) -> Measurement:
    ref, r, beta = case.ref_probs, case.rewards, case.beta
    k = ref.shape[0]
    log_ref = np.log(ref)
    z = log_ref + r / beta
    log_pistar = z - (z.max() + math.log(math.fsum(float(x) for x in np.exp(z - z.max()))))
    pistar = np.asarray(impl.kl_optimal_policy(ref, r, beta))
    m_pi = compare(np.exp(log_pistar), pistar, "kl_optimal_policy vs π_ref e^{r/β}/Z")
    implicit = np.asarray(impl.dpo_implicit_reward(log_pistar, log_ref, beta))
    m_diff = compare(r - r[0], implicit - implicit[0], "implicit reward differences at π* vs true reward differences")
    # the expected DPO loss under BT labels is minimized at π* (margins = true margins on every pair)
    i, j = np.array([(a, b) for a in range(k) for b in range(k) if a != b], dtype=np.int64).T
    p = expit(r[i] - r[j])

    def expected_loss(logits: np.ndarray) -> float:
        lp = logits - (logits.max() + math.log(float(np.exp(logits - logits.max()).sum())))
        return float(p @ np.asarray(impl.dpo_loss(lp[i], lp[j], log_ref[i], log_ref[j], beta)))

    res = minimize(expected_loss, log_ref.copy(), method="BFGS", jac="3-point", options={"gtol": 1e-11})
    lp_hat = res.x - (res.x.max() + math.log(float(np.exp(res.x - res.x.max()).sum())))
    at_star = expected_loss(log_pistar)
    if at_star > float(res.fun) + 1e-10:
        raise ClaimViolation(f"the expected DPO loss at π* ({at_star!r}) exceeds scipy's minimum ({res.fun!r})")
    m_min = compare(log_pistar, lp_hat, "argmin of the expected DPO loss (scipy BFGS) vs log π*")
    m_min = Measurement(m_min.error * 1e-6, expected=m_min.expected, got=m_min.got, detail=m_min.detail + " (error scaled by 1e-6: the optimizer's argmin is good to ~1e-7)")
    return max((m_pi, m_diff, m_min), key=lambda m: m.error)


register(
    Claim(
        id="DPO-OPTIMUM",
        title="at the KL-regularized optimum DPO's implicit reward is the true reward",
        statement=(
            "At π = π* (eq. 12.11) the implicit reward β log π*/π_ref = r − β log Z (eq. 12.13), so implicit reward "
            "differences between responses equal the true ones; and the expected DPO loss (eq. 12.9) under "
            "Bradley–Terry labels from r is minimized at π*"
        ),
        section="§12",
        source=("X-DPO", "X-KL-OPTIMUM"),
        method=(
            "closed-form π* by log-sum-exp here; implicit reward differences compared exactly; the expected DPO loss "
            "over all ordered pairs minimized by scipy BFGS (3-point gradient) from π_ref and compared with log π*; "
            "Hypothesis over K in 2..5, π_ref > 0, r in [−2, 2], β in [0.2, 3]"
        ),
        tolerance=1e-12,
        tolerance_reason=(
            "π* and β log π*/π_ref are a few exp/log operations on values <= 20: round-off ~1e-15 of max(1, |r|); "
            "the optimizer's argmin, from 3-point finite-difference gradients (~eps^(2/3)) and curvature down to ~1e-3, "
            "is good to ~1e-7 and enters scaled by 1e-6 (so 1e-12 means 1e-6 there)"
        ),
        strategy=lambda: bandit_cases(max_k=5, allow_zeros=False, reward_bound=2.0, beta_range=(0.2, 3.0)),
        check=_check_dpo_optimum,
        uses=("dpo_implicit_reward", "dpo_loss", "kl_optimal_policy"),
        examples=(
            _bandit_pinned([0.5, 0.5], [1.0, 0.0], 1.0),
            _bandit_pinned([0.1, 0.2, 0.3, 0.4], [2.0, -2.0, 0.5, 0.0], 0.2),
        ),
        max_examples=15,
    )
)

__all__ = ["PINNED_MODELS", "TokenModel", "BOUNDARY_MARGINS"]
