"""Hypothesis strategies for §12 (RLHF): preference pairs, padded token batches, tabular
autoregressive models over small vocabularies, response bandits and comparison graphs.

Padding is described by a :class:`Padding` (one left offset per row and a common length), so
the same compact rows can be laid out with padding on the left, on the right, on both sides or
not at all; :func:`pad_rows` fills the padding with loud garbage, so that any value read from
a padding slot shows up in the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from hypothesis import strategies as st

__all__ = [
    "BanditCase",
    "BTGraphCase",
    "HiddenCase",
    "LogprobPairs",
    "Padding",
    "TokenBatch",
    "TokenModelCase",
    "bandit_cases",
    "bt_graph_cases",
    "hidden_cases",
    "logprob_pairs",
    "pad_rows",
    "paddings",
    "preference_pairs",
    "token_batches",
    "token_model_cases",
]

#: Margins that sit on numerical boundaries of σ and softplus: 0, tiny, the float64 exp limits
#: (exp(709) overflows, exp(−745) underflows), and |m| = 1e4.
BOUNDARY_MARGINS = (0.0, 5e-324, 1e-300, 1e-16, 1e-8, 1.0, 36.0, 37.0, 708.0, 709.5, 745.0, 746.0, 800.0, 1e4)

STYLES = ("none", "left", "right", "both")


def _np(a: np.ndarray) -> str:
    """An exact, copy-pasteable repr (floats round-trip), for reproducers."""
    return f"np.array({a.tolist()!r})"


def _nps(arrays: Sequence[np.ndarray]) -> str:
    return "(" + "".join(_np(a) + ", " for a in arrays) + ")"


def _signed_margins() -> st.SearchStrategy[float]:
    boundary = st.tuples(st.sampled_from(BOUNDARY_MARGINS), st.sampled_from((1.0, -1.0))).map(lambda t: t[0] * t[1])
    return st.one_of(boundary, st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False), st.floats(-40.0, 40.0))


@st.composite
def preference_pairs(draw: st.DrawFn, max_n: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """(r_chosen [N], r_rejected [N]), N >= 1, with margins r_w − r_l up to about ±1e4 and on the
    numerical boundaries of σ (BOUNDARY_MARGINS); r_l is drawn near 0 or up to ±100."""
    n = draw(st.integers(1, max_n), label="N")
    margins = draw(st.lists(_signed_margins(), min_size=n, max_size=n), label="margins")
    base = draw(st.lists(st.one_of(st.just(0.0), st.floats(-100.0, 100.0)), min_size=n, max_size=n), label="r_rejected")
    rr = np.asarray(base, dtype=np.float64)
    rc = rr + np.asarray(margins, dtype=np.float64)
    return rc, rr


@dataclass(frozen=True)
class Padding:
    """Row n occupies positions lefts[n] .. lefts[n] + lengths[n] − 1 of a row of ``length``."""

    lefts: tuple[int, ...]
    lengths: tuple[int, ...]
    length: int
    style: str

    def mask(self) -> np.ndarray:
        m = np.zeros((len(self.lefts), self.length), dtype=np.bool_)
        for i, (a, n) in enumerate(zip(self.lefts, self.lengths)):
            m[i, a : a + n] = True
        return m


@st.composite
def paddings(draw: st.DrawFn, lengths: Sequence[int], style: str | None = None, max_extra: int = 3) -> Padding:
    """A layout of rows with the given real lengths: padding on the left (generation), right
    (training), both, or none; ``style`` None draws one (padding is drawn more often than not)."""
    s = style if style is not None else draw(st.sampled_from(STYLES + ("left", "right", "both")), label="padding")
    width = max(lengths) + (0 if s == "none" else draw(st.integers(1, max_extra), label="extra"))
    lefts = []
    for n in lengths:
        room = width - n
        if s == "none":
            lefts.append(0)
        elif s == "left":
            lefts.append(room)
        elif s == "right":
            lefts.append(0)
        else:
            lefts.append(draw(st.integers(0, room)))
    if s == "none":
        width = max(lengths)
    return Padding(tuple(lefts), tuple(int(n) for n in lengths), int(width), s)


def pad_rows(rows: Sequence[np.ndarray], padding: Padding, garbage: float = 1e3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Lay out compact rows ([n_i, ...] each) as a padded array [N, L, ...] and its mask [N, L].

    Padding slots hold deterministic pseudo-random values of size ~``garbage`` (negative when
    ``garbage`` is negative), so a function that reads them is caught."""
    rng = np.random.default_rng(seed)
    tail = np.asarray(rows[0]).shape[1:]
    out = rng.uniform(0.5, 1.5, size=(len(rows), padding.length, *tail)) * garbage
    if garbage > 0:
        out *= rng.choice([-1.0, 1.0], size=out.shape)
    for i, (row, a) in enumerate(zip(rows, padding.lefts)):
        r = np.asarray(row, dtype=np.float64)
        out[i, a : a + r.shape[0]] = r
    return out, padding.mask()


@dataclass(frozen=True, eq=False)
class TokenBatch:
    """Compact per-token rewards and values of N responses, a padding layout, γ and λ."""

    rewards: tuple[np.ndarray, ...]
    values: tuple[np.ndarray, ...]
    padding: Padding
    gamma: float
    lam: float

    def __repr__(self) -> str:
        return (
            f"TokenBatch(rewards={_nps(self.rewards)}, values={_nps(self.values)}, "
            f"padding={self.padding!r}, gamma={self.gamma!r}, lam={self.lam!r})"
        )


def _vals(n: int, bound: float) -> st.SearchStrategy[np.ndarray]:
    return st.lists(st.floats(-bound, bound, allow_nan=False), min_size=n, max_size=n).map(lambda xs: np.asarray(xs, dtype=np.float64))


@st.composite
def token_batches(draw: st.DrawFn, max_rows: int = 4, max_len: int = 6) -> TokenBatch:
    """N <= 4 responses of 1..6 tokens with rewards and values in [−10, 10]; γ, λ in [0, 1]
    with 0 and 1 drawn often; padding on either side."""
    n = draw(st.integers(1, max_rows), label="N")
    lengths = draw(st.lists(st.integers(1, max_len), min_size=n, max_size=n), label="lengths")
    rewards = tuple(draw(_vals(k, 10.0)) for k in lengths)
    values = tuple(draw(_vals(k, 10.0)) for k in lengths)
    unit = st.one_of(st.sampled_from([0.0, 0.5, 0.95, 1.0]), st.floats(0.0, 1.0))
    return TokenBatch(rewards, values, draw(paddings(lengths)), draw(unit, label="gamma"), draw(unit, label="lam"))


@dataclass(frozen=True, eq=False)
class HiddenCase:
    """Compact hidden states [n_i, d] of N sequences, a linear head (w, b), and a padding layout."""

    hidden: tuple[np.ndarray, ...]
    w: np.ndarray
    b: float
    padding: Padding

    def __repr__(self) -> str:
        return f"HiddenCase(hidden={_nps(self.hidden)}, w={_np(self.w)}, b={self.b!r}, padding={self.padding!r})"


@st.composite
def hidden_cases(draw: st.DrawFn, max_rows: int = 4, max_len: int = 5, max_dim: int = 4) -> HiddenCase:
    """Reward-model inputs: hidden states in [−5, 5]^d, d <= 4, 1..5 real tokens per row."""
    n = draw(st.integers(1, max_rows), label="N")
    d = draw(st.integers(1, max_dim), label="d")
    lengths = draw(st.lists(st.integers(1, max_len), min_size=n, max_size=n), label="lengths")
    hidden = tuple(draw(_vals(k * d, 5.0)).reshape(k, d) for k in lengths)
    w = draw(_vals(d, 2.0), label="w")
    b = draw(st.floats(-3.0, 3.0), label="b")
    return HiddenCase(hidden, w, b, draw(paddings(lengths)))


@dataclass(frozen=True, eq=False)
class TokenModelCase:
    """A tabular autoregressive policy and reference over responses of length L from V tokens.

    Attributes:
        vocab: V; length: L.
        policy_logits, ref_logits: [Σ_{t<L} V^t, V] next-token logits (rows ordered as
            ``reference.prefix_index``).
        scores: [V^L] reward of each response (lexicographic order).
        beta: KL coefficient >= 0.
        lam: a GAE λ in [0, 1].
        style: padding style for the enumerated responses; seed: for garbage and baselines.
    """

    vocab: int
    length: int
    policy_logits: np.ndarray
    ref_logits: np.ndarray
    scores: np.ndarray
    beta: float
    lam: float
    style: str
    seed: int

    def __repr__(self) -> str:
        return (
            f"TokenModelCase(vocab={self.vocab}, length={self.length}, policy_logits={_np(self.policy_logits)}, "
            f"ref_logits={_np(self.ref_logits)}, scores={_np(self.scores)}, beta={self.beta!r}, lam={self.lam!r}, "
            f"style={self.style!r}, seed={self.seed})"
        )


@st.composite
def token_model_cases(draw: st.DrawFn, max_vocab: int = 3, max_responses: int = 27) -> TokenModelCase:
    """Small vocabularies (V <= 3) and lengths with V^L <= 27; logits in [−3, 3]; scores in
    [−3, 3] in halves; β in {0, 0.1, 1, 5} or [0.01, 5]."""
    v = draw(st.integers(1, max_vocab), label="V")
    max_len = 1
    while v ** (max_len + 1) <= max_responses and max_len < 4:
        max_len += 1
    length = draw(st.integers(1, max_len), label="L")
    rows = sum(v**t for t in range(length))
    logit = st.floats(-3.0, 3.0, allow_nan=False)
    pol = np.asarray(draw(st.lists(logit, min_size=rows * v, max_size=rows * v), label="policy_logits")).reshape(rows, v)
    ref = np.asarray(draw(st.lists(logit, min_size=rows * v, max_size=rows * v), label="ref_logits")).reshape(rows, v)
    k = v**length
    scores = np.asarray(draw(st.lists(st.integers(-6, 6), min_size=k, max_size=k), label="scores"), dtype=np.float64) / 2.0
    beta = draw(st.one_of(st.sampled_from([0.0, 0.1, 1.0, 5.0]), st.floats(0.01, 5.0)), label="beta")
    lam = draw(st.one_of(st.sampled_from([0.0, 1.0, 0.95]), st.floats(0.0, 1.0)), label="lam")
    style = draw(st.sampled_from(STYLES), label="padding")
    seed = draw(st.integers(0, 2**16), label="seed")
    return TokenModelCase(v, length, pol.astype(np.float64), ref.astype(np.float64), scores, float(beta), float(lam), style, seed)


@dataclass(frozen=True, eq=False)
class BanditCase:
    """One prompt's K responses: π_ref [K], rewards [K] and β > 0 (the KL-regularized bandit)."""

    ref_probs: np.ndarray
    rewards: np.ndarray
    beta: float

    def __repr__(self) -> str:
        return f"BanditCase(ref_probs={_np(self.ref_probs)}, rewards={_np(self.rewards)}, beta={self.beta!r})"


@st.composite
def bandit_cases(
    draw: st.DrawFn, max_k: int = 6, allow_zeros: bool = True, reward_bound: float = 5.0, beta_range: tuple[float, float] = (0.05, 5.0)
) -> BanditCase:
    """π_ref with rational entries (zeros allowed unless ``allow_zeros`` is false), rewards in
    [−bound, bound], β in ``beta_range`` with its ends drawn often."""
    k = draw(st.integers(1 if allow_zeros else 2, max_k), label="K")
    lo = 0 if allow_zeros else 1
    ks = draw(st.lists(st.integers(lo, 4), min_size=k, max_size=k).filter(lambda xs: sum(xs) > 0), label="ref weights")
    ref = np.asarray(ks, dtype=np.float64) / float(sum(ks))
    rewards = draw(_vals(k, reward_bound), label="rewards")
    beta = draw(st.one_of(st.sampled_from(list(beta_range)), st.floats(*beta_range)), label="beta")
    return BanditCase(ref, rewards, float(beta))


@dataclass(frozen=True, eq=False)
class LogprobPairs:
    """Sequence log-probabilities of chosen and rejected responses under π and π_ref, and β."""

    policy_chosen: np.ndarray
    policy_rejected: np.ndarray
    ref_chosen: np.ndarray
    ref_rejected: np.ndarray
    beta: float

    def __repr__(self) -> str:
        return (
            f"LogprobPairs(policy_chosen={_np(self.policy_chosen)}, policy_rejected={_np(self.policy_rejected)}, "
            f"ref_chosen={_np(self.ref_chosen)}, ref_rejected={_np(self.ref_rejected)}, beta={self.beta!r})"
        )


@st.composite
def logprob_pairs(draw: st.DrawFn, max_n: int = 6, scale: float = 2500.0, beta_max: float = 5.0) -> LogprobPairs:
    """Four [N] arrays of sequence log-probs in [−scale, 0] (0, tiny and the extremes drawn
    often), β in (0, beta_max]; with the defaults |β·margin| reaches 1e4 and beyond."""
    n = draw(st.integers(1, max_n), label="N")
    lp = st.one_of(st.sampled_from([0.0, -1e-12, -0.5, -scale]), st.floats(-scale, 0.0), st.floats(-30.0, 0.0))

    def arr(label: str) -> np.ndarray:
        return np.asarray(draw(st.lists(lp, min_size=n, max_size=n), label=label), dtype=np.float64)

    beta = draw(st.one_of(st.sampled_from([0.01, 0.1, 1.0, beta_max]), st.floats(1e-3, beta_max)), label="beta")
    return LogprobPairs(arr("policy_chosen"), arr("policy_rejected"), arr("ref_chosen"), arr("ref_rejected"), float(beta))


@dataclass(frozen=True, eq=False)
class BTGraphCase:
    """True rewards of K items and the compared pairs (i, j), i != j, forming a connected graph."""

    rewards: np.ndarray
    pairs: tuple[tuple[int, int], ...]

    def __repr__(self) -> str:
        return f"BTGraphCase(rewards={_np(self.rewards)}, pairs={self.pairs!r})"


@st.composite
def bt_graph_cases(draw: st.DrawFn, max_k: int = 6, reward_bound: float = 3.0) -> BTGraphCase:
    """K in 2..6 items with rewards in [−bound, bound]; a random spanning tree plus extra edges."""
    k = draw(st.integers(2, max_k), label="K")
    rewards = draw(_vals(k, reward_bound), label="rewards")
    order = draw(st.permutations(list(range(k))), label="order")
    pairs = set()
    for i in range(1, k):
        parent = order[draw(st.integers(0, i - 1))]
        pairs.add((min(parent, order[i]), max(parent, order[i])))
    extra = draw(st.lists(st.tuples(st.integers(0, k - 1), st.integers(0, k - 1)), max_size=k), label="extra")
    pairs |= {(min(a, b), max(a, b)) for a, b in extra if a != b}
    return BTGraphCase(rewards, tuple(sorted(pairs)))


