"""Hypothesis strategies for §8-§10: importance ratios around the PPO clip band, KL-coefficient
cases on and around the band edges of the adaptive rule, symmetric positive definite matrices
(ill-conditioned ones included), and tabular trust-region problems.

Edge cases are constructed to be *exact in float64*: a ratio "exactly 1 + ε" is a pair
(logp_new, logp_old) with ``np.exp(logp_new - logp_old) == 1.0 + epsilon`` bit for bit, found by
a short search over neighbouring floats, so that a claim's pinned boundary really is on the
boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from .mdp import distributions

__all__ = [
    "KLBetaCase",
    "LineSearchCase",
    "RatioCase",
    "SPDCase",
    "TrustRegionCase",
    "exact_log_ratio",
    "kl_beta_cases",
    "line_search_cases",
    "make_ratio_case",
    "ratio_cases",
    "spd_cases",
    "spd_matrix",
    "trust_region_cases",
]

#: How a sample's ratio ρ = exp(logp_new − logp_old) sits relative to the band [1 − ε, 1 + ε].
RATIO_KINDS = ("inside", "above", "below", "edge_hi", "edge_lo", "one", "ulp_above", "ulp_below")


def exact_log_ratio(logp_old: float, target: float, max_steps: int = 256) -> float | None:
    """A logp_new with ``np.exp(logp_new - logp_old) == target`` exactly, or None if none is near."""
    lp = float(logp_old + np.log(target))
    down = up = lp
    for _ in range(max_steps):
        for cand in (down, up):
            if float(np.exp(cand - logp_old)) == target:
                return cand
        down = float(np.nextafter(down, -np.inf))
        up = float(np.nextafter(up, np.inf))
    return None


@dataclass(frozen=True, eq=False)
class RatioCase:
    """A batch of PPO samples: logp_new, logp_old, advantages ([N] each) and ε; ``kinds`` labels each ρ."""

    logp_new: np.ndarray
    logp_old: np.ndarray
    advantages: np.ndarray
    epsilon: float
    kinds: tuple[str, ...] = ()

    @property
    def ratio(self) -> np.ndarray:
        out: np.ndarray = np.exp(self.logp_new - self.logp_old)
        return out

    def __repr__(self) -> str:
        return (
            f"RatioCase(logp_new=np.{self.logp_new!r}, logp_old=np.{self.logp_old!r}, "
            f"advantages=np.{self.advantages!r}, epsilon={self.epsilon!r}, kinds={self.kinds!r})"
        )


def _target(kind: str, eps: float, u: float) -> float:
    hi, lo = 1.0 + eps, 1.0 - eps
    if kind == "inside":
        return 1.0 + u * eps * 0.98
    if kind == "above":
        return hi * (1.0 + 1e-3 + 3.0 * abs(u))
    if kind == "below":
        return lo * (1.0 - 1e-3 - 0.98 * abs(u))
    if kind == "edge_hi":
        return hi
    if kind == "edge_lo":
        return lo
    if kind == "ulp_above":
        return float(np.nextafter(hi, np.inf))
    if kind == "ulp_below":
        return float(np.nextafter(lo, -np.inf))
    return 1.0


def make_ratio_case(kinds: list[str], advantages: list[float], logp_old: list[float], us: list[float], eps: float) -> RatioCase:
    """Build a :class:`RatioCase` whose samples have the requested ratio kinds (exact at edges)."""
    lps, los = [], []
    for kind, lo, u in zip(kinds, logp_old, us):
        target = _target(kind, eps, u)
        if kind == "one":
            lp: float | None = lo
        elif kind in ("inside", "above", "below"):  # margins of >= 1e-3 relative: no search needed
            lp = float(lo + np.log(target))
        else:
            lp = exact_log_ratio(lo, target)
        if lp is None:  # a coarse logp_old: fall back to one where every nearby ratio is reachable
            lo = 0.0
            lp = exact_log_ratio(lo, target)
            assert lp is not None, (kind, target)
        lps.append(lp)
        los.append(lo)
    return RatioCase(np.array(lps), np.array(los), np.array(advantages, dtype=float), eps, tuple(kinds))


@st.composite
def ratio_cases(draw: st.DrawFn, max_n: int = 12, kinds: tuple[str, ...] = RATIO_KINDS) -> RatioCase:
    """Ratios inside, outside and exactly on the clip band, with positive, negative and zero advantages."""
    eps = draw(st.one_of(st.sampled_from([0.1, 0.2, 0.3]), st.floats(0.01, 0.5)), label="epsilon")
    n = draw(st.integers(1, max_n), label="N")
    ks = draw(st.lists(st.sampled_from(kinds), min_size=n, max_size=n), label="kinds")
    adv = draw(
        st.lists(st.one_of(st.sampled_from([0.0, 1.0, -1.0, 2.5, -0.5]), st.floats(-10, 10)), min_size=n, max_size=n),
        label="advantages",
    )
    lo = draw(st.lists(st.one_of(st.sampled_from([0.0, -0.5, -1.0]), st.floats(-6, 0)), min_size=n, max_size=n), label="logp_old")
    us = draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n))
    return make_ratio_case(ks, adv, lo, us, eps)


@dataclass(frozen=True)
class KLBetaCase:
    """An adaptive-β update: β, the measured KL and the target."""

    beta: float
    kl: float
    kl_target: float


@st.composite
def kl_beta_cases(draw: st.DrawFn) -> KLBetaCase:
    """KLs below, inside and above the band [target/1.5, 1.5·target], and exactly on its edges.

    Edge cases use targets 3m/2^k, for which target/1.5 = 2m/2^k and 1.5·target = 9m/2^(k+1)
    are exact in float64, so every way of writing the comparison sees the same edge.
    """
    beta = draw(st.one_of(st.sampled_from([1.0, 0.5, 3.0]), st.floats(1e-4, 1e4)), label="beta")
    where = draw(st.sampled_from(["below", "inside", "above", "edge_lo", "edge_hi", "zero"]), label="where")
    if where in ("edge_lo", "edge_hi"):
        m = draw(st.integers(1, 33).filter(lambda k: k % 2 == 1))
        k = draw(st.integers(0, 12))
        tgt = 3.0 * m / 2.0**k
        return KLBetaCase(beta, tgt / 1.5 if where == "edge_lo" else 1.5 * tgt, tgt)
    tgt = draw(st.one_of(st.sampled_from([0.01, 0.02, 0.003]), st.floats(1e-4, 1.0)), label="kl_target")
    u = draw(st.floats(0.0, 1.0))
    lo, hi = tgt / 1.5, 1.5 * tgt
    if where == "zero":
        kl = 0.0
    elif where == "below":
        kl = lo * (1.0 - 1e-6) * u
    elif where == "inside":
        kl = lo + (hi - lo) * (1e-6 + (1 - 2e-6) * u)
    else:
        kl = hi * (1.0 + 1e-6 + 10.0 * u)
    return KLBetaCase(beta, kl, tgt)


@dataclass(frozen=True, eq=False)
class SPDCase:
    """A symmetric positive definite H = Q diag(λ) Qᵀ with its eigenvalues, and a right-hand side b."""

    matrix: np.ndarray
    eigenvalues: np.ndarray
    b: np.ndarray

    @property
    def n(self) -> int:
        return int(self.b.shape[0])

    @property
    def cond(self) -> float:
        return float(self.eigenvalues.max() / self.eigenvalues.min())

    @property
    def distinct(self) -> int:
        return int(np.unique(self.eigenvalues).shape[0])

    def __repr__(self) -> str:
        return f"SPDCase(matrix=np.{self.matrix!r}, eigenvalues=np.{self.eigenvalues!r}, b=np.{self.b!r})"


def spd_matrix(eigenvalues: Any, seed: int) -> np.ndarray:
    """Q diag(λ) Qᵀ with a random orthogonal Q (QR of a seeded Gaussian matrix), symmetrized."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(lam.shape[0], lam.shape[0])))
    h = (q * lam) @ q.T
    out: np.ndarray = 0.5 * (h + h.T)
    return out


@st.composite
def spd_cases(draw: st.DrawFn, max_n: int = 8, max_log10_cond: int = 10) -> SPDCase:
    """SPD matrices n <= max_n: spread spectra (log-uniform between 1 and κ), clustered spectra
    (a few distinct eigenvalues), diagonal ones and multiples of I; κ up to 10^max_log10_cond;
    an overall scale of 1e-3, 1 or 1e3."""
    n = draw(st.integers(1, max_n), label="n")
    log_cond = draw(st.integers(0, max_log10_cond), label="log10_cond")
    cond = 10.0**log_cond
    shape = draw(st.sampled_from(["spread", "clustered", "diagonal", "identity"]), label="spectrum")
    scale = draw(st.sampled_from([1.0, 1e-3, 1e3]), label="scale")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    if shape == "identity" or n == 1:
        lam = np.ones(n)
    elif shape == "clustered":
        k = draw(st.integers(1, min(3, n)), label="distinct")
        vals = np.concatenate([[1.0, cond], np.exp(rng.uniform(0.0, np.log(cond), max(k - 2, 0)))])[:k]
        lam = np.concatenate([vals, rng.choice(vals, n - k)])
    else:
        lam = np.exp(rng.uniform(0.0, np.log(cond), n))
        lam[0], lam[-1] = 1.0, cond
    lam = np.sort(lam * scale)
    h = np.diag(lam) if shape == "diagonal" else spd_matrix(lam, seed)
    b = rng.normal(size=n)
    if draw(st.booleans(), label="b is an eigenvector"):
        b = np.linalg.eigh(h)[1][:, -1] * 3.0
    return SPDCase(h, lam, b)


@dataclass(frozen=True, eq=False)
class TrustRegionCase:
    """A tabular trust-region problem: θ_k [S, A], advantages [S, A], state distribution d [S], δ."""

    logits_old: np.ndarray
    advantages: np.ndarray
    state_dist: np.ndarray
    max_kl: float

    def __repr__(self) -> str:
        return (
            f"TrustRegionCase(logits_old=np.{self.logits_old!r}, advantages=np.{self.advantages!r}, "
            f"state_dist=np.{self.state_dist!r}, max_kl={self.max_kl!r})"
        )


@st.composite
def trust_region_cases(draw: st.DrawFn, max_states: int = 3, max_actions: int = 3) -> TrustRegionCase:
    """Random tabular problems: logits in [−3, 3], advantages in [−2, 2] (centred under π_θk or
    not), state distributions with zeros allowed, δ in {1e-3, 1e-2, 0.05} or drawn."""
    n_s = draw(st.integers(1, max_states), label="S")
    n_a = draw(st.integers(2, max_actions), label="A")
    size = n_s * n_a
    th = np.asarray(draw(st.lists(st.floats(-3, 3), min_size=size, max_size=size)), dtype=float).reshape(n_s, n_a)
    adv = np.asarray(draw(st.lists(st.floats(-2, 2), min_size=size, max_size=size)), dtype=float).reshape(n_s, n_a)
    if draw(st.booleans(), label="centred advantages"):
        pi = np.exp(th - th.max(axis=1, keepdims=True))
        pi /= pi.sum(axis=1, keepdims=True)
        adv = adv - (pi * adv).sum(axis=1, keepdims=True)
    d = draw(distributions(n_s), label="state_dist")
    delta = draw(st.one_of(st.sampled_from([1e-3, 1e-2, 0.05]), st.floats(1e-4, 0.1)), label="max_kl")
    return TrustRegionCase(th, adv, d, delta)


@dataclass(frozen=True, eq=False)
class LineSearchCase:
    """A synthetic trust-region line search in n dimensions.

    objective(x) = gᵀ(x − θ) − ½(x − θ)ᵀM(x − θ) (concave; linear when M = 0),
    constraint(x) = ½(x − θ)ᵀH(x − θ)(1 + cubic·‖x − θ‖) (a KL-like quadratic with a cubic excess),
    tried along θ + α^j Δ for j < max_backtracks.
    """

    g: np.ndarray
    m: np.ndarray
    h: np.ndarray
    cubic: float
    theta: np.ndarray
    step: np.ndarray
    max_kl: float
    alpha: float
    max_backtracks: int

    def objective(self, x: np.ndarray) -> float:
        d = np.asarray(x, dtype=float) - self.theta
        return float(self.g @ d - 0.5 * d @ self.m @ d)

    def constraint(self, x: np.ndarray) -> float:
        d = np.asarray(x, dtype=float) - self.theta
        return float(0.5 * d @ self.h @ d * (1.0 + self.cubic * np.linalg.norm(d)))

    def __repr__(self) -> str:
        return (
            f"LineSearchCase(g=np.{self.g!r}, m=np.{self.m!r}, h=np.{self.h!r}, cubic={self.cubic!r}, "
            f"theta=np.{self.theta!r}, step=np.{self.step!r}, max_kl={self.max_kl!r}, alpha={self.alpha!r}, "
            f"max_backtracks={self.max_backtracks!r})"
        )


@st.composite
def line_search_cases(draw: st.DrawFn) -> LineSearchCase:
    """Steps that are accepted at once, after backtracking, or never (a descent direction, a step
    too long for the number of tries), with linear and concave objectives."""
    n = draw(st.integers(1, 4), label="n")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    h = spd_matrix(np.exp(rng.uniform(0.0, np.log(100.0), n)), seed)
    m = spd_matrix(np.exp(rng.uniform(0.0, np.log(10.0), n)), seed + 1) * draw(st.sampled_from([0.0, 0.1, 1.0, 10.0]), label="M scale")
    g = rng.normal(size=n)
    delta = draw(st.sampled_from([1e-3, 1e-2, 0.1]), label="max_kl")
    x = np.linalg.solve(h, g)
    nat = np.sqrt(2.0 * delta / float(g @ x)) * x
    scale = draw(st.sampled_from([-1.0, 0.5, 1.0, 1.5, 3.0, 10.0, 100.0]), label="step scale")
    theta = rng.normal(size=n)
    return LineSearchCase(
        g, m, h, draw(st.sampled_from([0.0, 1.0, 10.0]), label="cubic"), theta, scale * nat, delta,
        draw(st.sampled_from([0.5, 0.8, 0.9]), label="alpha"), draw(st.sampled_from([1, 5, 10]), label="max_backtracks"),
    )

