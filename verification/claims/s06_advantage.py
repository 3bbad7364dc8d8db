"""Claims of SPEC.md §6: Q, V, the advantage, TD residuals and generalized advantage estimation.

Rollout claims run under Hypothesis over rollouts in the canonical convention (terminations and
truncations anywhere, T = 1, γ, λ ∈ {0, 1}, [T] and [T, N]); expectation claims are exact, by
enumerating every trajectory of a small tabular MDP.  Expected values are computed here, in
plain loops written for the check, never by the function under test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np
from hypothesis import strategies as st

from reference import TabularMDP

from ..exact import Trajectories, enumerate_trajectories, exact_gradient
from ..registry import Claim, ClaimViolation, Impl, Measurement, compare, register
from ..strategies import MDPCase, mdp_cases
from ..strategies.rollouts import Rollout, mixing_factors, rollouts

FORMS_TOL = 1e-12
FORMS_WHY = (
    "two summation orders of at most a few thousand terms; the error is normalized by "
    "max(1, max_t Σ_l (γλ)^l |δ_t+l|), the condition of the sum, so round-off stays below "
    "~T·eps ≈ 1e-13 even where the terms cancel"
)
EXACT_TOL = 1e-9
EXACT_WHY = (
    "exact identity evaluated by full enumeration in float64; sums of at most a few thousand "
    "terms of magnitude <= 10, round-off below 1e-12 (1e-9 leaves margin)"
)


# ------------------------------------------------------------------------------------ helpers


def _ends(done: np.ndarray) -> list[int]:
    """e(t): the last step of t's episode (first done at or after t, else T − 1)."""
    n = len(done)
    out = [n - 1] * n
    nxt = n - 1
    for t in range(n - 1, -1, -1):
        if done[t]:
            nxt = t
        out[t] = nxt
    return out


def _delta(ro: Rollout) -> np.ndarray:
    """δ_t = r_t + γ (1 − terminated_t) V(s_{t+1}) − V(s_t), written out for the checks."""
    boot = np.where(ro.terminated, 0.0, ro.next_values)
    out: np.ndarray = ro.rewards + ro.gamma * boot - ro.values
    return out


def _columns(ro: Rollout) -> Iterator[Rollout]:
    if ro.rewards.ndim == 1:
        yield ro
        return
    for j in range(ro.rewards.shape[1]):
        yield ro.replace(**{name: getattr(ro, name)[:, j] for name in ("rewards", "values", "next_values", "terminated", "truncated")})


def _abs_gae(ro: Rollout) -> np.ndarray:
    """Σ_l (γλ)^l |δ_{t+l}| over t's episode: the scale (condition) of each advantage's sum."""
    d = np.abs(_delta(ro))
    if d.ndim == 2:
        return np.stack([_abs_gae(c) for c in _columns(ro)], axis=1)
    c = ro.gamma * ro.lam
    done = ro.done.tolist()
    dl = d.tolist()
    out = [0.0] * len(dl)
    acc = 0.0
    for t in range(len(dl) - 1, -1, -1):
        acc = dl[t] + (0.0 if done[t] else c * acc)
        out[t] = acc
    return np.asarray(out)


def _scaled(expected: Any, got: Any, scale: float, detail: str = "") -> Measurement:
    e = np.asarray(expected, dtype=np.float64)
    g = np.asarray(got, dtype=np.float64)
    if e.shape != g.shape:
        raise ClaimViolation(f"shape mismatch: expected shape {e.shape}, got {g.shape}")
    if e.size == 0:
        return Measurement(0.0, expected=e, got=g, detail=detail)
    if not np.all(np.isfinite(g)):
        return Measurement(float("inf"), expected=e, got=g, detail=detail)
    err = float(np.max(np.abs(g - e))) / max(1.0, scale)
    return Measurement(err, expected=e, got=g, detail=detail + f" (error / max(1, {scale:.3g}))")


def _worst(*ms: Measurement) -> Measurement:
    return max(ms, key=lambda m: m.error)


def _ro(r: list[float], v: list[float], nv: list[float], term: list[int], trunc: list[int], g: float, lm: float) -> Rollout:
    return Rollout(
        np.asarray(r, float), np.asarray(v, float), np.asarray(nv, float),
        np.asarray(term, bool), np.asarray(trunc, bool), g, lm,
    )


def long_rollout(seed: int, n_t: int, n_env: int | None, density: float, g: float, lm: float, consistent: bool = False) -> Rollout:
    """A seeded rollout long enough for gae_fast's blocked path (T > 48)."""
    rng = np.random.default_rng(seed)
    shape = (n_t,) if n_env is None else (n_t, n_env)
    r = rng.normal(size=shape) * 3
    v = rng.normal(size=shape) * 10
    nv = rng.normal(size=shape) * 10
    term = rng.random(shape) < density / 2
    trunc = rng.random(shape) < density / 2
    if consistent:
        inside = ~(term | trunc)[:-1]
        nv[:-1] = np.where(inside, v[1:], nv[:-1])
    return Rollout(r, v, nv, term, trunc, g, lm)


@st.composite
def long_rollouts(draw: st.DrawFn, batched: bool | None = None) -> Rollout:
    """Seeded long rollouts: T in 49..3000, [T] or [T, N], end densities from none to every step."""
    n_t = draw(st.integers(49, 3000), label="T")
    is_b = draw(st.booleans()) if batched is None else batched
    n_env = draw(st.integers(1, 5), label="N") if is_b else None
    density = draw(st.sampled_from([0.0, 0.001, 0.02, 0.3, 1.0]), label="end density")
    return long_rollout(draw(st.integers(0, 2**32 - 1), label="seed"), n_t, n_env, density, draw(mixing_factors()), draw(mixing_factors()))


#: Pinned boundary rollouts (T = 1, ends at t = 0 and T − 1, back to back, both flags, γ, λ at 0 and 1).
B_T1_TERM = _ro([1.0], [0.5], [7.0], [1], [0], 0.9, 0.95)
B_T1_TRUNC = _ro([1.0], [0.5], [7.0], [0], [1], 0.9, 0.95)
B_T1_NONE = _ro([1.0], [0.5], [7.0], [0], [0], 1.0, 1.0)
B_ENDS_0_LAST = _ro([1.0, -2.0, 0.5, 3.0], [0.25, 1.0, -1.0, 2.0], [4.0, -1.0, 2.0, 5.0], [1, 0, 0, 1], [0, 0, 0, 0], 0.9, 0.8)
B_BACK_TO_BACK = _ro([1.0, 2.0, 3.0, 4.0, 5.0], [0.5, -0.5, 1.5, 2.0, 0.0], [3.0, 1.0, -2.0, 6.0, 1.0], [1, 0, 1, 0, 0], [0, 1, 0, 1, 0], 0.99, 0.95)
B_BOTH_FLAGS = _ro([1.0, 1.0, 1.0], [0.0, 0.5, 1.0], [2.0, 3.0, 4.0], [0, 1, 0], [1, 1, 0], 0.5, 0.5)
B_TRUNC_MID = _ro([0.0, 1.0, 0.0, 1.0, 2.0], [1.0, 2.0, 3.0, 4.0, 5.0], [2.0, 9.0, 4.0, 5.0, 6.0], [0, 0, 0, 0, 0], [0, 1, 0, 0, 0], 1.0, 1.0)
B_GAMMA0 = _ro([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [5.0, 5.0, 5.0], [0, 1, 0], [0, 0, 0], 0.0, 0.7)
B_LAM0 = _ro([1.0, 2.0, 3.0], [1.0, -1.0, 1.0], [-1.0, 5.0, 2.0], [0, 0, 1], [0, 0, 0], 0.9, 0.0)
#: SPEC.md §6's worked example: T = 4, a termination after step 1, a truncation after step 2.
WORKED = _ro([1.0, 0.0, 2.0, 1.0], [1.0, 2.0, 1.0, 2.0], [2.0, 4.0, 3.0, 1.0], [0, 1, 0, 0], [0, 0, 1, 0], 0.5, 0.5)
B_BATCHED = Rollout(
    np.array([[1.0, 0.0], [2.0, 1.0], [3.0, 0.5]]), np.array([[0.5, 0.0], [1.0, 2.0], [0.0, 1.0]]),
    np.array([[1.0, 3.0], [0.0, 1.0], [2.0, 2.0]]), np.array([[0, 1], [0, 0], [1, 0]], bool),
    np.array([[0, 0], [1, 0], [0, 0]], bool), 0.9, 0.9,
)
B_LONG = long_rollout(7, 2500, None, 0.01, 0.99, 0.95)
B_LONG_UNIT = long_rollout(8, 1500, None, 0.002, 1.0, 1.0, consistent=True)
B_LONG_BATCHED = long_rollout(9, 700, 4, 0.01, 0.99, 0.95)
BOUNDARY = (B_T1_TERM, B_T1_TRUNC, B_T1_NONE, B_ENDS_0_LAST, B_BACK_TO_BACK, B_BOTH_FLAGS, B_TRUNC_MID, B_GAMMA0, B_LAM0, WORKED, B_BATCHED)
CONSISTENT_PINNED = (
    _ro([1.0, 2.0, 3.0, 4.0], [0.5, 1.0, 1.5, 2.0], [1.0, 1.5, 7.0, 3.0], [0, 0, 0, 0], [0, 0, 1, 0], 0.9, 0.5),
    _ro([1.0, -1.0, 2.0], [0.0, 2.0, 1.0], [2.0, 5.0, 4.0], [0, 1, 0], [0, 0, 0], 0.5, 0.0),
    _ro([1.0], [3.0], [2.0], [0], [0], 0.9, 1.0),
    _ro([1.0, 0.0, 2.0, 1.0], [1.0, 2.0, 1.0, 2.0], [2.0, 4.0, 3.0, 1.0], [0, 1, 0, 0], [0, 0, 1, 0], 0.5, 0.5),
)


def make_consistent(ro: Rollout) -> Rollout:
    """next_values[t] := values[t+1] wherever step t does not end an episode (one critic)."""
    nv = ro.next_values.copy()
    inside = ~ro.done[:-1]
    nv[:-1] = np.where(inside, ro.values[1:], nv[:-1])
    return ro.replace(next_values=nv)


def _rollout_cases(max_t: int = 24) -> Callable[[], Any]:
    return lambda: rollouts(max_t=max_t, batched=None)


# ------------------------------------------------------------------------------------ GAE-LAMBDA0


def _check_lambda0(ro: Rollout, impl: Impl) -> Measurement:
    ro0 = ro.replace(lam=0.0)
    delta = _delta(ro0)
    scale = float(np.max(np.abs(delta), initial=0.0))
    td = np.asarray(impl.td_residuals(ro.rewards, ro.values, ro.next_values, ro.terminated, ro.gamma))
    ms = [_scaled(delta, td, scale, "td_residuals vs r + γ(1 − terminated)V(s_t+1) − V(s_t)")]
    for name in ("gae", "gae_fast"):
        ms.append(_scaled(td, np.asarray(getattr(impl, name)(*ro0.args)), scale, f"{name}(λ=0) vs td_residuals"))
    return _worst(*ms)


register(
    Claim(
        id="GAE-LAMBDA0",
        title="GAE with λ = 0 is the TD residual",
        statement="With λ = 0, Â_t = δ_t = r_t + γ(1 − terminated_t) V(s_{t+1}) − V(s_t) (eq. 6.4) at every step, episode ends included (S6.10)",
        section="§6",
        source=("S6.6", "S6.10", "X-TERMINATION"),
        method="Hypothesis over rollouts ([T] and [T, N], T <= 24, ends anywhere, γ in [0,1]): gae and gae_fast at λ=0 vs td_residuals, and td_residuals vs eq. (6.4) written out",
        tolerance=FORMS_TOL,
        tolerance_reason="the same three float operations in possibly different order: <= 2 ulp of max|δ|",
        strategy=_rollout_cases(),
        check=_check_lambda0,
        uses=("td_residuals", "gae", "gae_fast"),
        examples=BOUNDARY + (B_LONG,),
    )
)

# ------------------------------------------------------------------------------------ GAE-LAMBDA1


def _lambda1_expected(ro: Rollout) -> np.ndarray:
    if ro.rewards.ndim == 2:
        return np.stack([_lambda1_expected(c) for c in _columns(ro)], axis=1)
    ends = _ends(ro.done)
    out = np.zeros(len(ro.rewards))
    for t in range(len(out)):
        e = ends[t]
        ret = sum(ro.gamma ** (k - t) * ro.rewards[k] for k in range(t, e + 1))
        if not ro.terminated[e]:
            ret += ro.gamma ** (e + 1 - t) * ro.next_values[e]
        out[t] = ret - ro.values[t]
    return out


def _check_lambda1(ro: Rollout, impl: Impl) -> Measurement:
    ro1 = ro.replace(lam=1.0)
    exp = _lambda1_expected(ro1)
    scale = float(np.max(_abs_gae(ro1), initial=0.0))
    return _worst(*(_scaled(exp, np.asarray(getattr(impl, n)(*ro1.args)), scale, f"{n}(λ=1) vs Σ γ^k r + γ^n V(s_end+1)·[not terminated] − V(s_t)") for n in ("gae", "gae_fast")))


register(
    Claim(
        id="GAE-LAMBDA1",
        title="GAE with λ = 1 is the bootstrapped return minus V",
        statement=(
            "On consistent rollouts (next_values[t] = values[t+1] inside an episode), with λ = 1, Â_t = Σ_{k=t}^{e} γ^{k−t} r_k + γ^{e+1−t}(1 − terminated_e) V(s_{e+1}) − V(s_t), e the last step of "
            "s_t's episode: the discounted return to the episode end, bootstrapped at a truncation (and at the end of the "
            "arrays), minus the baseline (S6.10)"
        ),
        section="§6",
        source=("S6.10", "X-TERMINATION"),
        method="Hypothesis over consistent rollouts (next_values[t] = values[t+1] inside episodes; [T] and [T, N], ends anywhere, γ in [0,1]): gae and gae_fast at λ=1 vs the return written out step by step",
        tolerance=FORMS_TOL,
        tolerance_reason=FORMS_WHY,
        strategy=lambda: rollouts(max_t=24, batched=None, consistent=True),
        check=_check_lambda1,
        uses=("gae", "gae_fast"),
        examples=tuple(make_consistent(b) for b in BOUNDARY) + (B_LONG_UNIT,),
    )
)

# ------------------------------------------------------------------------------------ mix = sum


def _mix_from_k_step(ro: Rollout, k_step: Callable[[int], np.ndarray]) -> np.ndarray:
    """(1−λ) Σ_{k<n_t} λ^{k−1} X^(k)_t + λ^{n_t−1} X^(n_t)_t for a 1-D rollout."""
    n_t = len(ro.rewards)
    ends = _ends(ro.done)
    table = [np.asarray(k_step(k), dtype=np.float64) for k in range(1, n_t + 1)]
    out = np.zeros(n_t)
    lm = ro.lam
    for t in range(n_t):
        n = ends[t] - t + 1
        acc = sum((1.0 - lm) * lm ** (k - 1) * table[k - 1][t] for k in range(1, n))
        out[t] = acc + lm ** (n - 1) * table[n - 1][t]
    return out


def _check_mix(ro: Rollout, impl: Impl) -> Measurement:
    mix = _mix_from_k_step(ro, lambda k: impl.k_step_advantage(ro.rewards, ro.values, ro.next_values, ro.terminated, ro.truncated, ro.gamma, k))
    scale = float(np.max(_abs_gae(ro), initial=0.0))
    return _scaled(mix, np.asarray(impl.gae_sum(*ro.args)), scale, "(1−λ)-weighted mix of k_step_advantage (with the tail) vs gae_sum")


register(
    Claim(
        id="GAE-MIX-EQUALS-SUM",
        title="the (1−λ) mix of k-step estimators equals Σ (γλ)^l δ_t+l",
        statement=(
            "(1−λ) Σ_{k=1}^{n_t−1} λ^{k−1} Â_t^(k) + λ^{n_t−1} Â_t^(n_t) = Σ_{l=0}^{n_t−1} (γλ)^l δ_{t+l} (eqs. 6.7, 6.8), with "
            "Â^(k) = Σ_{l<k} γ^l δ_{t+l} (eq. 6.6) and n_t the steps left in s_t's episode: the source's derivation (S6.9) "
            "with the index l and the finite-horizon tail"
        ),
        section="§6",
        source=("S6.7", "S6.8", "S6.9", "X-GAE-FINITE"),
        method="Hypothesis over 1-D rollouts (T <= 16, ends anywhere, γ, λ in [0,1]): the mix assembled in the check from k_step_advantage for k = 1..T vs gae_sum",
        tolerance=FORMS_TOL,
        tolerance_reason=FORMS_WHY,
        strategy=lambda: rollouts(max_t=16),
        check=_check_mix,
        uses=("k_step_advantage", "gae_sum"),
        examples=tuple(b for b in BOUNDARY if b.rewards.ndim == 1),
        max_examples=30,
    )
)

# ------------------------------------------------------------------------------------ forms agree


def _check_forms(ro: Rollout, impl: Impl) -> Measurement:
    scale = float(np.max(_abs_gae(ro), initial=0.0))
    ref = np.asarray(impl.gae(*ro.args))
    ms = [_scaled(ref, np.asarray(impl.gae_fast(*ro.args)), scale, "gae_fast vs gae (recursion)")]
    if ro.rewards.shape[0] <= 400:
        ms.append(_scaled(ref, np.asarray(impl.gae_sum(*ro.args)), scale, "gae_sum vs gae (recursion)"))
        ms.append(_scaled(ref, np.asarray(impl.gae_literal(*ro.args)), scale, "gae_literal (the mix) vs gae (recursion)"))
    elif ro.rewards.ndim == 1:
        # long rollouts: the O(T·n) forms on a window that starts at an episode start
        starts = np.flatnonzero(ro.done[:-1]) + 1
        s0 = int(starts[len(starts) // 2]) if len(starts) else 0
        window = ro.replace(**{n: getattr(ro, n)[s0:] for n in ("rewards", "values", "next_values", "terminated", "truncated")})
        ends = np.flatnonzero(window.done)
        stop = int(ends[min(len(ends) - 1, 3)]) + 1 if len(ends) else len(window.rewards)
        if stop <= 400:
            w = window.replace(**{n: getattr(window, n)[:stop] for n in ("rewards", "values", "next_values", "terminated", "truncated")})
            cut = ref[s0 : s0 + stop]
            ms.append(_scaled(cut, np.asarray(impl.gae_literal(*w.args)), scale, f"gae_literal on steps {s0}..{s0 + stop - 1} vs gae"))
    return _worst(*ms)


register(
    Claim(
        id="GAE-FORMS-AGREE",
        title="literal, sum, recursive and fast GAE agree",
        statement=(
            "The literal (1−λ) mix with its tail (eq. 6.7), the explicit sum (eq. 6.8), the backward recursion (eq. 6.9) and "
            "the blocked vectorized scan (eq. 6.10) return the same advantages on every rollout: terminations and "
            "truncations anywhere (t = 0, t = T−1, back to back, both flags on one step), T = 1, γ, λ in {0, 1}, [T] and [T, N]"
        ),
        section="§6",
        source=("S6.9", "X-FAST-FORMS", "X-TERMINATION", "X-GAE-FINITE"),
        method="Hypothesis over short rollouts (T <= 24, all four forms) and seeded long ones (T in 49..3000, the fast form's blocked path; literal form on a window of whole episodes)",
        tolerance=FORMS_TOL,
        tolerance_reason=FORMS_WHY,
        strategy=lambda: st.one_of(rollouts(max_t=24, batched=None), long_rollouts()),
        check=_check_forms,
        uses=("gae", "gae_fast", "gae_sum", "gae_literal"),
        examples=BOUNDARY + (B_LONG, B_LONG_UNIT, B_LONG_BATCHED),
    )
)

# ------------------------------------------------------------------------------------ isolation


@dataclass(frozen=True, eq=False)
class IsolationCase:
    rollout: Rollout
    episode: int
    seed: int

    def __repr__(self) -> str:
        return f"IsolationCase({self.rollout!r}, episode={self.episode}, seed={self.seed})"


def _episodes(done: np.ndarray) -> list[tuple[int, int]]:
    out, start = [], 0
    for t in range(len(done)):
        if done[t] or t == len(done) - 1:
            out.append((start, t + 1))
            start = t + 1
    return out


def _check_isolation(case: IsolationCase, impl: Impl) -> Measurement:
    ro = case.rollout
    eps = _episodes(ro.done)
    lo, hi = eps[case.episode % len(eps)]
    rng = np.random.default_rng(case.seed)
    changed = {n: getattr(ro, n).copy() for n in ("rewards", "values", "next_values")}
    for arr in changed.values():
        arr[lo:hi] = rng.normal(size=hi - lo) * 50
    ro2 = ro.replace(**changed)
    keep = np.ones(len(ro.rewards), dtype=bool)
    keep[lo:hi] = False
    scale = float(np.max(_abs_gae(ro), initial=0.0))
    ms = []
    for name in ("gae", "gae_fast"):
        a = np.asarray(getattr(impl, name)(*ro.args))
        b = np.asarray(getattr(impl, name)(*ro2.args))
        ms.append(_scaled(a[keep], b[keep], scale, f"{name}: advantages outside episode [{lo}, {hi}) before vs after changing it"))
    return _worst(*ms)


@st.composite
def _isolation_cases(draw: st.DrawFn) -> IsolationCase:
    ro = draw(st.one_of(rollouts(max_t=24), long_rollouts(batched=False)))
    return IsolationCase(ro, draw(st.integers(0, 50), label="episode"), draw(st.integers(0, 2**32 - 1), label="seed"))


register(
    Claim(
        id="GAE-EPISODE-ISOLATION",
        title="episodes do not leak into each other",
        statement=(
            "Changing the rewards, values and next values of one episode leaves every other episode's advantages unchanged: "
            "nothing flows across a termination, a truncation, or the end of the arrays"
        ),
        section="§6",
        source=("X-TERMINATION",),
        method="Hypothesis over 1-D rollouts (short, and seeded long ones for the fast form) and a chosen episode whose rewards/values are replaced by N(0, 50²) draws; gae and gae_fast before vs after",
        tolerance=FORMS_TOL,
        tolerance_reason="exact (0) in the recursion and the fast form, which multiply the carried advantage by 0 at an end; the tolerance admits implementations that correct a global filter at the boundaries (rounding-level leakage)",
        strategy=_isolation_cases,
        check=_check_isolation,
        uses=("gae", "gae_fast"),
        examples=(IsolationCase(B_BACK_TO_BACK, 1, 0), IsolationCase(WORKED, 0, 1), IsolationCase(WORKED, 2, 2), IsolationCase(B_ENDS_0_LAST, 1, 3), IsolationCase(B_LONG, 3, 4)),
    )
)

# ------------------------------------------------------------------------------------ linearity


@dataclass(frozen=True, eq=False)
class LinearCase:
    x: Rollout
    y: Rollout
    a: float
    b: float

    def __repr__(self) -> str:
        return f"LinearCase({self.x!r}, {self.y!r}, a={self.a!r}, b={self.b!r})"


@st.composite
def _linear_cases(draw: st.DrawFn) -> LinearCase:
    x = draw(rollouts(max_t=24, batched=None), label="x")
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="seed"))
    y = x.replace(**{n: rng.normal(size=x.rewards.shape) * 10 for n in ("rewards", "values", "next_values")})
    coef = st.one_of(st.sampled_from([0.0, 1.0, -1.0, 2.5]), st.floats(-3.0, 3.0))
    return LinearCase(x, y, draw(coef, label="a"), draw(coef, label="b"))


def _check_linear(case: LinearCase, impl: Impl) -> Measurement:
    x, y, a, b = case.x, case.y, case.a, case.b
    z = x.replace(**{n: a * getattr(x, n) + b * getattr(y, n) for n in ("rewards", "values", "next_values")})
    scale = abs(a) * float(np.max(_abs_gae(x), initial=0.0)) + abs(b) * float(np.max(_abs_gae(y), initial=0.0))
    ms = []
    for name in ("gae", "gae_fast"):
        fn = getattr(impl, name)
        combo = a * np.asarray(fn(*x.args)) + b * np.asarray(fn(*y.args))
        ms.append(_scaled(combo, np.asarray(fn(*z.args)), scale, f"{name}(a·x + b·y) vs a·{name}(x) + b·{name}(y)"))
    return _worst(*ms)


register(
    Claim(
        id="GAE-LINEAR",
        title="advantages are linear in rewards and values",
        statement=(
            "For fixed episode ends, γ and λ, Â(a·r + b·r', a·V + b·V', a·V_next + b·V'_next) = a·Â(r, V, V_next) + "
            "b·Â(r', V', V'_next): GAE is a linear map (no normalization inside)"
        ),
        section="§6",
        source=("S6.9", "X-GAE-FINITE"),
        method="Hypothesis over rollouts ([T] and [T, N]), a second set of N(0,10²) arrays with the same ends, and a, b in [−3, 3]; gae and gae_fast",
        tolerance=FORMS_TOL,
        tolerance_reason="round-off of two evaluations of a linear map, normalized by |a|·scale(x) + |b|·scale(y) (the condition of the combination)",
        strategy=_linear_cases,
        check=_check_linear,
        uses=("gae", "gae_fast"),
        examples=(
            LinearCase(WORKED, WORKED.replace(rewards=np.array([2.0, -1.0, 0.0, 3.0])), 2.0, -1.0),
            LinearCase(B_BACK_TO_BACK, B_BACK_TO_BACK.replace(values=np.ones(5)), 0.5, 1.5),
        ),
    )
)

# ------------------------------------------------------------------------------------ batched


def _check_batched(ro: Rollout, impl: Impl) -> Measurement:
    scale = float(np.max(_abs_gae(ro), initial=0.0))
    ms = []
    for name in ("gae", "gae_fast"):
        fn = getattr(impl, name)
        whole = np.asarray(fn(*ro.args))
        cols = np.stack([np.asarray(fn(*c.args)) for c in _columns(ro)], axis=1)
        ms.append(_scaled(cols, whole, scale, f"{name} on [T, N] vs N separate [T] calls"))
    return _worst(*ms)


register(
    Claim(
        id="GAE-BATCHED",
        title="the batched [T, N] form treats environments independently",
        statement="For [T, N] inputs (time on axis 0, one environment per column), gae and gae_fast equal N separate calls on the columns",
        section="§6",
        source=("X-FAST-FORMS", "X-TERMINATION"),
        method="Hypothesis over batched rollouts (N <= 3, T <= 24) and seeded long ones (T in 49..3000, N <= 5)",
        tolerance=FORMS_TOL,
        tolerance_reason="the same recursion per column; only the order of independent operations changes",
        strategy=lambda: st.one_of(rollouts(max_t=24, batched=True), long_rollouts(batched=True)),
        check=_check_batched,
        uses=("gae", "gae_fast"),
        examples=(B_BATCHED, B_LONG_BATCHED),
    )
)

# ------------------------------------------------------------------------------------ k-step


def _check_telescope(ro: Rollout, impl: Impl) -> Measurement:
    n_t = ro.rewards.shape[0]
    scale = float(np.max(np.abs(ro.rewards), initial=0.0) * n_t + np.max(np.abs(ro.values), initial=0.0) + np.max(np.abs(ro.next_values), initial=0.0))
    ms = [
        _scaled(
            np.asarray(impl.td_residuals(ro.rewards, ro.values, ro.next_values, ro.terminated, ro.gamma)),
            np.asarray(impl.k_step_advantage(ro.rewards, ro.values, ro.next_values, ro.terminated, ro.truncated, ro.gamma, 1)),
            scale, "k_step_advantage(k=1) vs td_residuals",
        )
    ]
    for k in range(1, n_t + 2):
        adv = np.asarray(impl.k_step_advantage(ro.rewards, ro.values, ro.next_values, ro.terminated, ro.truncated, ro.gamma, k))
        ret = np.asarray(impl.k_step_return(ro.rewards, ro.next_values, ro.terminated, ro.truncated, ro.gamma, k))
        ms.append(_scaled(ret - ro.values, adv, scale, f"k = {k}: Σ_l<k γ^l δ_t+l vs G^(k)_t − V(s_t)"))
    return _worst(*ms)


register(
    Claim(
        id="GAE-KSTEP-TELESCOPE",
        title="a k-step advantage is a k-step return minus V",
        statement=(
            "On consistent rollouts (next_values[t] = values[t+1] inside an episode), Σ_{l<k} γ^l δ_{t+l} = "
            "Σ_{l<k} γ^l r_{t+l} + γ^k V(s_{t+k}) − V(s_t) (eqs. 6.5, 6.6), cut at the episode end; k = 1 is δ_t (S6.5, S6.7 "
            "with the source's γ V(s_t+3) read as γ³ V(s_t+3))"
        ),
        section="§6",
        source=("S6.5", "S6.7", "S6.8"),
        method="Hypothesis over consistent rollouts ([T] and [T, N], T <= 12) for every k in 1..T+1: k_step_advantage vs k_step_return − values, and k = 1 vs td_residuals",
        tolerance=FORMS_TOL,
        tolerance_reason="telescoping sums of at most 12 terms, normalized by T·max|r| + max|V| + max|V_next|",
        strategy=lambda: rollouts(max_t=12, batched=None, consistent=True),
        check=_check_telescope,
        uses=("k_step_advantage", "k_step_return", "td_residuals"),
        examples=CONSISTENT_PINNED,
        max_examples=30,
    )
)


def _check_lambda_return(ro: Rollout, impl: Impl) -> Measurement:
    def k_step(c: Rollout) -> Callable[[int], np.ndarray]:
        return lambda k: np.asarray(impl.k_step_return(c.rewards, c.next_values, c.terminated, c.truncated, c.gamma, k))

    mix = np.stack([_mix_from_k_step(c, k_step(c)) for c in _columns(ro)], axis=1)
    if ro.rewards.ndim == 1:
        mix = mix[:, 0]
    scale = float(np.max(_abs_gae(ro), initial=0.0) + np.max(np.abs(ro.values), initial=0.0))
    lr = np.asarray(impl.lambda_returns(*ro.args))
    return _worst(
        _scaled(mix, lr, scale, "λ-return as the (1−λ) mix of k_step_return (with the tail) vs lambda_returns"),
        _scaled(np.asarray(impl.gae(*ro.args)) + ro.values, lr, scale, "gae + values vs lambda_returns"),
    )


register(
    Claim(
        id="GAE-LAMBDA-RETURN",
        title="λ-return = GAE + V = the mix of k-step returns",
        statement=(
            "On consistent rollouts the λ-return G_t^λ = (1−λ) Σ_{k<n_t} λ^{k−1} G_t^(k) + λ^{n_t−1} G_t^(n_t) (the TD(λ) value "
            "target, eq. 6.11) equals Â_t^GAE + V(s_t)"
        ),
        section="§6",
        source=("S6.9", "X-GAE-FINITE"),
        method="Hypothesis over consistent rollouts ([T] and [T, N], T <= 12): the mix assembled in the check from k_step_return vs lambda_returns, and gae + values vs lambda_returns",
        tolerance=FORMS_TOL,
        tolerance_reason=FORMS_WHY,
        strategy=lambda: rollouts(max_t=12, batched=None, consistent=True),
        check=_check_lambda_return,
        uses=("lambda_returns", "k_step_return", "gae"),
        examples=CONSISTENT_PINNED,
        max_examples=30,
    )
)

# ------------------------------------------------------------------------------------ exact (MDP)


@dataclass(frozen=True, eq=False)
class Exact:
    """Enumeration-based Q, V, A of a case (computed here, independently of the reference)."""

    tr: Trajectories
    rtg: np.ndarray  # [N, T], G_t = Σ_{k≥t} γ^{k−t} r_k
    occ: np.ndarray  # [T, S, A], d_t(s, a) = P(s_t = s, a_t = a)
    q: np.ndarray  # [T, S, A], E[G_t | s_t, a_t] (0 where unreachable)
    v: np.ndarray  # [T+1, S], E[G_t | s_t] (0 where unreachable; V_T = 0)
    reach: np.ndarray  # [T, S, A] bool

    @property
    def adv(self) -> np.ndarray:
        out: np.ndarray = self.q - self.v[:-1, :, None]
        return out

    def at(self, table: np.ndarray) -> np.ndarray:
        """table[t, s_t, a_t] per trajectory and step, [N, T]."""
        tr = self.tr
        steps = np.arange(tr.mdp.horizon)[None, :]
        return np.asarray(table[steps, tr.states[:, :-1], tr.actions])

    def v_at(self, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(table[t, s_t], table[t+1, s_{t+1}]) per trajectory and step, each [N, T]."""
        tr = self.tr
        steps = np.arange(tr.mdp.horizon)[None, :]
        return np.asarray(table[steps, tr.states[:, :-1]]), np.asarray(table[steps + 1, tr.states[:, 1:]])

    def cond(self, x: np.ndarray) -> np.ndarray:
        """E[x_t | s_t = s, a_t = a] for x of shape [N, T], [T, S, A] (0 where unreachable)."""
        tr, mdp = self.tr, self.tr.mdp
        tot = np.zeros((mdp.horizon, mdp.n_states, mdp.n_actions))
        steps = np.broadcast_to(np.arange(mdp.horizon), tr.actions.shape)
        np.add.at(tot, (steps, tr.states[:, :-1], tr.actions), tr.prob[:, None] * x)
        out: np.ndarray = np.divide(tot, self.occ, out=np.zeros_like(tot), where=self.reach)
        return out


def exact_values(case: MDPCase) -> Exact:
    mdp = case.mdp
    tr = enumerate_trajectories(mdp, case.logits)
    n_t = mdp.horizon
    rtg = np.zeros(tr.rewards.shape)
    acc = np.zeros(tr.n)
    for t in range(n_t - 1, -1, -1):
        acc = tr.rewards[:, t] + mdp.gamma * acc
        rtg[:, t] = acc
    occ = np.zeros((n_t, mdp.n_states, mdp.n_actions))
    steps = np.broadcast_to(np.arange(n_t), tr.actions.shape)
    np.add.at(occ, (steps, tr.states[:, :-1], tr.actions), np.broadcast_to(tr.prob[:, None], tr.actions.shape))
    reach = occ > 0
    ex = Exact(tr, rtg, occ, np.zeros_like(occ), np.zeros((n_t + 1, mdp.n_states)), reach)
    q = ex.cond(rtg)
    occ_s = occ.sum(axis=2)
    v = np.zeros((n_t + 1, mdp.n_states))
    v[:-1] = np.divide((occ * q).sum(axis=2), occ_s, out=np.zeros_like(occ_s), where=occ_s > 0)
    return Exact(tr, rtg, occ, q, v, reach)


def _case(init: list[float], trans: Any, rew: Any, horizon: int, gamma: float, logits: Any) -> MDPCase:
    return MDPCase(
        TabularMDP(np.asarray(init, float), np.asarray(trans, float), np.asarray(rew, float), horizon, gamma),
        np.asarray(logits, float),
    )


#: Two states, two actions, stochastic dynamics, T = 3, γ = 0.9.
P_DISC = _case([0.5, 0.5], [[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.25, 0.75]]], [[1.0, -1.0], [0.5, 2.0]], 3, 0.9, [[0.3, -0.2], [1.0, 0.0]])
#: Three states, T = 4, γ = 0.8: long enough for the k-step tails and the s_0-vs-s_t targets to differ.
P_THREE = _case(
    [0.6, 0.4, 0.0],
    [[[0.2, 0.8, 0.0], [0.0, 0.5, 0.5]], [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], [[0.5, 0.0, 0.5], [0.0, 1.0, 0.0]]],
    [[1.0, 0.0], [-1.0, 2.0], [0.5, -0.5]],
    4,
    0.8,
    [[0.5, -0.5], [0.0, 1.0], [-1.0, 0.2]],
)
#: Undiscounted (the source's γ = 1), T = 3.
P_UNDISC = _case([0.5, 0.5], [[[0.5, 0.5], [1.0, 0.0]], [[0.0, 1.0], [0.25, 0.75]]], [[1.0, -1.0], [0.5, 2.0]], 3, 1.0, [[0.3, -0.2], [1.0, 0.0]])
PINNED_MDPS = (P_DISC, P_THREE, P_UNDISC)


def _mdp_cases() -> Any:
    return mdp_cases(gamma=None)


def _check_qva(case: MDPCase, impl: Impl) -> Measurement:
    ex = exact_values(case)
    a = np.asarray(impl.advantages(case.mdp, case.logits))
    if a.shape != ex.q.shape:
        raise ClaimViolation(f"advantages: expected shape {ex.q.shape} ([T, S, A]), got {a.shape}")
    m1 = compare(ex.adv[ex.reach], a[ex.reach], "A_t(s,a) vs E[G_t | s_t=s, a_t=a] − E[G_t | s_t=s] on every reachable (t, s, a)")
    z = case.logits - case.logits.max(axis=1, keepdims=True)
    pi = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    mean = np.einsum("sa,tsa->ts", pi, a)
    m2 = Measurement(float(np.max(np.abs(mean))), expected=0.0, got=mean, detail="Σ_a π(a|s) A_t(s, a) for every (t, s)")
    return _worst(m1, m2)


register(
    Claim(
        id="ADV-Q-V-ENUM",
        title="Q, V and A are conditional expectations of the return",
        statement=(
            "Q_t(s,a) = E[Σ_{l} γ^l r_{t+l} | s_t = s, a_t = a], V_t(s) = E_{a~π(·|s)}[Q_t(s,a)] and A_t = Q_t − V_t "
            "(eqs. 6.1-6.3, time-indexed and finite-horizon); Σ_a π(a|s) A_t(s,a) = 0"
        ),
        section="§6",
        source=("S6.1", "S6.2", "S6.4"),
        method="exact enumeration: conditional means of the discounted reward-to-go over all trajectories vs advantages (backward induction); Hypothesis over MDPs, γ in [0,1]",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_mdp_cases,
        check=_check_qva,
        uses=("advantages",),
        examples=PINNED_MDPS,
        max_examples=30,
    )
)


def _check_adv_baseline(case: MDPCase, impl: Impl) -> Measurement:
    ex = exact_values(case)
    tr, mdp = ex.tr, case.mdp
    sc = tr.step_scores()
    grad = exact_gradient(mdp, case.logits)
    a = ex.at(np.asarray(impl.advantages(mdp, case.logits)))
    q = ex.at(np.asarray(impl.action_values(mdp, case.logits)))
    g_a = impl.advantage_gradient(sc, a, mdp.gamma, weights=tr.prob)
    g_q = impl.advantage_gradient(sc, q, mdp.gamma, weights=tr.prob)
    return _worst(compare(grad, g_a, "E[Σ γ^t ∇log π A_t(s_t,a_t)] vs autograd ∇J"), compare(grad, g_q, "E[Σ γ^t ∇log π Q_t(s_t,a_t)] vs autograd ∇J"))


register(
    Claim(
        id="ADV-BASELINE-UNBIASED",
        title="the advantage gives the same gradient as Q",
        statement=(
            "E[Σ_t γ^t ∇log π(a_t|s_t) A_t(s_t,a_t)] = E[Σ_t γ^t ∇log π(a_t|s_t) Q_t(s_t,a_t)] = ∇J (eq. 6.12): V_t(s_t) is a "
            "baseline (S6.3); the source's version is γ = 1"
        ),
        section="§6",
        source=("S6.2", "S6.3"),
        method="exact enumeration of both expectations vs autograd ∇J; Hypothesis over MDPs, γ in [0,1]",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_mdp_cases,
        check=_check_adv_baseline,
        uses=("advantages", "action_values", "advantage_gradient"),
        examples=PINNED_MDPS,
        max_examples=10,
    )
)


@dataclass(frozen=True, eq=False)
class BiasCase:
    """An MDP case, the seed of a critic error ΔV, and whether this case must show a bias."""

    case: MDPCase
    seed: int
    must_be_biased: bool = False
    lam: float = 1.0

    def __repr__(self) -> str:
        return f"BiasCase({self.case!r}, seed={self.seed}, must_be_biased={self.must_be_biased}, lam={self.lam!r})"


def critic_error(case: MDPCase, seed: int) -> np.ndarray:
    """A seeded error ΔV_t(s), [T+1, S], non-zero at t = T too (a critic's value of the final state)."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(case.mdp.horizon + 1, case.mdp.n_states)) * 2.0


def terminal_mask(tr: Trajectories) -> np.ndarray:
    """terminated[i, t]: the finite-horizon episode ends after step T − 1, [N, T]."""
    term = np.zeros(tr.actions.shape, dtype=bool)
    term[:, -1] = True
    return term


def _check_td_unbiased(item: BiasCase, impl: Impl) -> Measurement:
    case = item.case
    ex = exact_values(case)
    tr, mdp = ex.tr, case.mdp
    term = terminal_mask(tr)
    v, nv = ex.v_at(ex.v)
    delta = np.asarray(impl.td_residuals(tr.rewards.T, v.T, nv.T, term.T, mdp.gamma)).T
    m1 = compare(ex.adv[ex.reach], ex.cond(delta)[ex.reach], "E[δ_t | s_t, a_t] with V = V^π vs A_t(s_t, a_t)")
    dv = critic_error(case, item.seed)
    v2, nv2 = ex.v_at(ex.v + dv)
    delta2 = np.asarray(impl.td_residuals(tr.rewards.T, v2.T, nv2.T, term.T, mdp.gamma)).T
    bias = ex.cond(delta2) - ex.adv
    _, dv_next = ex.v_at(dv)
    dv_now, _ = ex.v_at(dv)
    expected_bias = ex.cond(mdp.gamma * np.where(term, 0.0, dv_next) - dv_now)
    m2 = compare(expected_bias[ex.reach], bias[ex.reach], "bias of E[δ_t|s_t,a_t] with V = V^π + ΔV vs γE[ΔV_t+1(s_t+1)·(1−terminated)|s_t,a_t] − ΔV_t(s_t)")
    if item.must_be_biased and float(np.max(np.abs(bias[ex.reach]))) < 1e-3:
        raise ClaimViolation(f"expected a visible bias (> 1e-3) with V ≠ V^π on this pinned case; max |bias| = {np.max(np.abs(bias[ex.reach])):.3e}")
    no_trunc = np.zeros_like(term)
    adv = np.asarray(impl.gae(tr.rewards.T, v2.T, nv2.T, term.T, no_trunc.T, mdp.gamma, 1.0)).T
    g = impl.advantage_gradient(tr.step_scores(), adv, mdp.gamma, weights=tr.prob)
    m3 = compare(exact_gradient(mdp, case.logits), g, "E[Σ γ^t ∇log π Â_t^GAE(λ=1)] with V = V^π + ΔV vs autograd ∇J")
    return _worst(m1, m2, m3)


@st.composite
def _bias_cases(draw: st.DrawFn) -> BiasCase:
    return BiasCase(draw(_mdp_cases()), draw(st.integers(0, 2**32 - 1), label="seed"))


register(
    Claim(
        id="TD-UNBIASED-ADVANTAGE",
        title="the TD residual is an unbiased advantage only with the true V",
        statement=(
            "With V = V^π, E[δ_t | s_t, a_t] = A_t(s_t, a_t) exactly (S6.6, S7.5). With V = V^π + ΔV the bias is "
            "γE[ΔV_{t+1}(s_{t+1})(1 − terminated_t) | s_t, a_t] − ΔV_t(s_t), non-zero in general; the policy gradient built on "
            "λ = 1 GAE stays equal to ∇J for any V (S6.10)"
        ),
        section="§6",
        source=("S6.6", "S6.10", "S7.5"),
        method="exact enumeration (conditional means over all trajectories; ∇J by autograd); ΔV ~ N(0, 2²) seeded, non-zero at the final time T; Hypothesis over MDPs, γ in [0,1]; the bias must exceed 1e-3 on pinned cases",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_bias_cases,
        check=_check_td_unbiased,
        uses=("td_residuals", "gae", "advantage_gradient"),
        examples=tuple(BiasCase(c, 11, True) for c in PINNED_MDPS),
        max_examples=10,
    )
)


def _check_gae_vpi(item: BiasCase, impl: Impl) -> Measurement:
    case = item.case
    ex = exact_values(case)
    tr, mdp = ex.tr, case.mdp
    term = terminal_mask(tr)
    v, nv = ex.v_at(ex.v)
    adv = np.asarray(impl.gae(tr.rewards.T, v.T, nv.T, term.T, np.zeros_like(term).T, mdp.gamma, item.lam)).T
    g = impl.advantage_gradient(tr.step_scores(), adv, mdp.gamma, weights=tr.prob)
    return compare(exact_gradient(mdp, case.logits), g, f"E[Σ γ^t ∇log π Â_t^GAE(λ={item.lam:.4g})] with V = V^π vs autograd ∇J")


@st.composite
def _vpi_cases(draw: st.DrawFn) -> BiasCase:
    return BiasCase(draw(_mdp_cases()), 0, False, draw(mixing_factors(), label="lam"))


register(
    Claim(
        id="GAE-VPI-UNBIASED",
        title="with the true V every λ gives an unbiased gradient",
        statement=(
            "With V = V^π, E[Σ_t γ^t ∇log π(a_t|s_t) Â_t^GAE(γ,λ)] = ∇J for every λ in [0, 1]: λ trades bias for variance only "
            "through the error of V (the source's 'λ = 0 has high bias', S6.10, holds for an estimated V)"
        ),
        section="§6",
        source=("S6.10", "X-GAE-FINITE"),
        method="exact enumeration vs autograd ∇J; Hypothesis over MDPs (γ in [0,1]) and λ in [0,1]",
        tolerance=EXACT_TOL,
        tolerance_reason=EXACT_WHY,
        strategy=_vpi_cases,
        check=_check_gae_vpi,
        uses=("gae", "advantage_gradient"),
        examples=(BiasCase(P_DISC, 0, False, 0.0), BiasCase(P_THREE, 0, False, 0.5), BiasCase(P_UNDISC, 0, False, 0.95)),
        max_examples=10,
    )
)
