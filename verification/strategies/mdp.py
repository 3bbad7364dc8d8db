"""Hypothesis strategies for the specification's inputs (reusable in users' own test suites).

Probabilities are drawn as small integers normalized per row, so they are exact rationals with
zeros appearing often (pruned branches, unreachable states).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from reference import TabularMDP

__all__ = ["MDPCase", "distributions", "gammas", "logit_tables", "mdp_cases", "mdps"]


def distributions(n: int, *, allow_zeros: bool = True) -> st.SearchStrategy[np.ndarray]:
    """A probability vector of length n with rational entries k_i / Σk."""
    lo = 0 if allow_zeros else 1
    return (
        st.lists(st.integers(lo, 4), min_size=n, max_size=n)
        .filter(lambda ks: sum(ks) > 0)
        .map(lambda ks: np.asarray(ks, dtype=np.float64) / float(sum(ks)))
    )


def gammas() -> st.SearchStrategy[float]:
    """Discounts in [0, 1], with 0, 1/2, 0.9 and 1 drawn often."""
    return st.one_of(st.sampled_from([0.0, 0.5, 0.9, 1.0]), st.floats(0.0, 1.0))


@st.composite
def mdps(
    draw: st.DrawFn,
    max_states: int = 3,
    max_actions: int = 3,
    max_horizon: int = 4,
    min_actions: int = 1,
    gamma: float | None = 1.0,
) -> TabularMDP:
    """A random finite-horizon tabular MDP (γ fixed when ``gamma`` is given, drawn otherwise)."""
    n_s = draw(st.integers(1, max_states), label="S")
    n_a = draw(st.integers(min_actions, max_actions), label="A")
    horizon = draw(st.integers(1, max_horizon), label="T")
    init = draw(distributions(n_s))
    trans = np.stack([np.stack([draw(distributions(n_s)) for _ in range(n_a)]) for _ in range(n_s)])
    rew = draw(
        st.lists(st.integers(-4, 4), min_size=n_s * n_a, max_size=n_s * n_a).map(
            lambda xs: np.asarray(xs, dtype=np.float64).reshape(n_s, n_a) / 2.0
        )
    )
    g = draw(gammas()) if gamma is None else gamma
    return TabularMDP(init, trans, rew, horizon, g)


def logit_tables(n_states: int, n_actions: int, bound: float = 3.0) -> st.SearchStrategy[np.ndarray]:
    """Finite logits θ ∈ [−bound, bound]^{S×A}."""
    return st.lists(
        st.floats(-bound, bound, allow_nan=False, allow_infinity=False),
        min_size=n_states * n_actions,
        max_size=n_states * n_actions,
    ).map(lambda xs: np.asarray(xs, dtype=np.float64).reshape(n_states, n_actions))


@dataclass(frozen=True, eq=False)
class MDPCase:
    """An MDP and the policy logits at which a claim is checked."""

    mdp: TabularMDP
    logits: np.ndarray

    def __repr__(self) -> str:
        return f"MDPCase(mdp={self.mdp!r}, logits=np.{self.logits!r})"


@st.composite
def mdp_cases(draw: st.DrawFn, /, **kwargs: Any) -> MDPCase:
    """An :class:`MDPCase`; keyword arguments go to :func:`mdps`."""
    mdp = draw(mdps(**kwargs))
    logits = draw(logit_tables(mdp.n_states, mdp.n_actions), label="logits")
    return MDPCase(mdp, logits)
