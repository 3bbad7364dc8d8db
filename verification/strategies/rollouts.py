"""Hypothesis strategies for rollouts in the canonical convention of SPEC.md §0 (reusable).

A :class:`Rollout` holds the seven arguments of ``gae(rewards, values, next_values, terminated,
truncated, gamma, lam)``.  The strategies put terminations and truncations anywhere (t = 0,
t = T − 1, back to back, both flags on one step), draw T = 1 and γ, λ ∈ {0, 1} often, and mix
small dyadic numbers (exact in float64) with wide floats.  ``consistent=True`` gives rollouts
in which next_values[t] == values[t+1] whenever step t does not end an episode (a rollout
collected from one critic); at episode ends and at the last step next_values stays free (the
value of the true final state).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

__all__ = ["Rollout", "episode_flags", "mixing_factors", "rollout_numbers", "rollouts"]


@dataclass(frozen=True, eq=False)
class Rollout:
    """One rollout: arrays of shape [T] (or [T, N]) and the factors γ, λ."""

    rewards: np.ndarray
    values: np.ndarray
    next_values: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    gamma: float
    lam: float

    @property
    def args(self) -> tuple[Any, ...]:
        """(rewards, values, next_values, terminated, truncated, gamma, lam)."""
        return (self.rewards, self.values, self.next_values, self.terminated, self.truncated, self.gamma, self.lam)

    @property
    def arrays(self) -> tuple[np.ndarray, ...]:
        return (self.rewards, self.values, self.next_values, self.terminated, self.truncated)

    @property
    def done(self) -> np.ndarray:
        out: np.ndarray = self.terminated | self.truncated
        return out

    def replace(self, **kw: Any) -> "Rollout":
        """A copy with some fields replaced (dataclasses.replace)."""
        return dataclasses.replace(self, **kw)

    def __repr__(self) -> str:
        with np.printoptions(precision=17, threshold=200):
            return (
                f"Rollout(rewards=np.{self.rewards!r}, values=np.{self.values!r}, "
                f"next_values=np.{self.next_values!r}, terminated=np.{self.terminated!r}, "
                f"truncated=np.{self.truncated!r}, gamma={self.gamma!r}, lam={self.lam!r})"
            )


def mixing_factors() -> st.SearchStrategy[float]:
    """γ or λ in [0, 1], with 0, 1 and the usual 0.5, 0.9, 0.95, 0.99 drawn often."""
    return st.one_of(st.sampled_from([0.0, 1.0, 0.5, 0.9, 0.95, 0.99]), st.floats(0.0, 1.0))


def rollout_numbers(wide: bool = True) -> st.SearchStrategy[float]:
    """Rewards and values: dyadic k/4 in [−4, 4] (exact), or floats in [−100, 100]."""
    small = st.integers(-16, 16).map(lambda k: k / 4.0)
    if not wide:
        return small
    return st.one_of(small, st.floats(-100.0, 100.0, allow_nan=False, allow_infinity=False))


_END_POOLS = {
    "sparse": ["none"] * 8 + ["term", "term", "trunc", "trunc", "both"],
    "dense": ["none", "term", "trunc", "both"],
    "every step": ["term", "trunc", "term", "trunc", "both"],
}


@st.composite
def episode_flags(draw: st.DrawFn, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(terminated, truncated) of length n.

    A style is drawn first (no episode end, sparse ends, dense ends, an end at every step:
    back to back), then one kind per step; both flags on one step happen too (terminated wins:
    no bootstrap).  An end at t = 0 and at t = T − 1 is forced half of the time each.
    """
    style = draw(st.sampled_from(["none", "sparse", "dense", "every step"]), label="end style")
    kinds = ["none"] * n
    if style != "none":
        kinds = draw(st.lists(st.sampled_from(_END_POOLS[style]), min_size=n, max_size=n), label="ends")
    term = np.array([k in ("term", "both") for k in kinds], dtype=np.bool_)
    trunc = np.array([k in ("trunc", "both") for k in kinds], dtype=np.bool_)
    for pos, label in ((0, "end at t=0"), (n - 1, "end at t=T-1")):
        if n and draw(st.booleans(), label=label):
            kind = draw(st.sampled_from(["term", "trunc"]), label=label + " kind")
            term[pos], trunc[pos] = kind == "term", kind == "trunc"
    return term, trunc


@st.composite
def rollouts(
    draw: st.DrawFn,
    max_t: int = 24,
    min_t: int = 1,
    batched: bool | None = False,
    consistent: bool | None = False,
    max_envs: int = 3,
    wide: bool = True,
    gamma: float | None = None,
    lam: float | None = None,
) -> Rollout:
    """A :class:`Rollout` of length T in [min_t, max_t] (T = 1 drawn often).

    Args:
        batched: False for [T], True for [T, N] with N in 1..max_envs, None to draw either.
        consistent: False for free next_values, True for next_values[t] == values[t+1] inside
            episodes, None to draw either.
        wide: also draw wide floats (otherwise only dyadic k/4, exact in float64).
        gamma, lam: fixed factors, or None to draw them.
    """
    n_t = draw(st.one_of(st.just(min_t), st.integers(min_t, max_t)), label="T")
    is_batched = draw(st.booleans(), label="batched") if batched is None else batched
    n_env = draw(st.integers(1, max_envs), label="N") if is_batched else 1
    is_consistent = draw(st.booleans(), label="consistent") if consistent is None else consistent
    num = rollout_numbers(wide)
    cols = []
    for _ in range(n_env):
        r = np.asarray(draw(st.lists(num, min_size=n_t, max_size=n_t), label="rewards"), dtype=np.float64)
        v = np.asarray(draw(st.lists(num, min_size=n_t, max_size=n_t), label="values"), dtype=np.float64)
        nv = np.asarray(draw(st.lists(num, min_size=n_t, max_size=n_t), label="next_values"), dtype=np.float64)
        term, trunc = draw(episode_flags(n_t))
        if is_consistent and n_t > 1:
            inside = ~(term | trunc)[:-1]
            nv[:-1] = np.where(inside, v[1:], nv[:-1])
        cols.append((r, v, nv, term, trunc))
    g = draw(mixing_factors(), label="gamma") if gamma is None else gamma
    lm = draw(mixing_factors(), label="lam") if lam is None else lam
    if is_batched:
        arrays = [np.stack([c[k] for c in cols], axis=1) for k in range(5)]
    else:
        arrays = list(cols[0])
    return Rollout(arrays[0], arrays[1], arrays[2], arrays[3], arrays[4], float(g), float(lm))
