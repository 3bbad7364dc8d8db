"""Hypothesis strategies for §8 and §11: finite distributions for importance sampling, and
behaviour/target policy pairs on small tabular MDPs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from reference import TabularMDP

from .mdp import logit_tables, mdps

__all__ = ["FiniteISCase", "OffPolicyCase", "finite_is_cases", "off_policy_cases"]


@dataclass(frozen=True, eq=False)
class FiniteISCase:
    """Target p [K], sampling distribution q [K] covering p, and values f [K] or [K, d]."""

    p: np.ndarray
    q: np.ndarray
    f: np.ndarray

    def __repr__(self) -> str:
        return f"FiniteISCase(p=np.{self.p!r}, q=np.{self.q!r}, f=np.{self.f!r})"


@st.composite
def finite_is_cases(draw: st.DrawFn, max_k: int = 6) -> FiniteISCase:
    """p and q with rational entries k/Σk, zeros in both (q is zero only where p is), f scalar- or vector-valued."""
    k = draw(st.integers(1, max_k), label="K")
    pk = draw(st.lists(st.integers(0, 4), min_size=k, max_size=k).filter(lambda xs: sum(xs) > 0), label="p counts")
    qk = draw(st.lists(st.integers(0, 4), min_size=k, max_size=k), label="q counts")
    qk = [q if (q > 0 or p == 0) else 1 for p, q in zip(pk, qk)]
    if sum(qk) == 0:
        qk = [1] * k
    dim = draw(st.sampled_from([0, 1, 3]), label="dim of f")
    shape: tuple[int, ...] = (k,) if dim == 0 else (k, dim)
    size = int(np.prod(shape))
    f = np.asarray(draw(st.lists(st.floats(-100, 100), min_size=size, max_size=size)), dtype=float).reshape(shape)
    p = np.asarray(pk, dtype=float) / sum(pk)
    q = np.asarray(qk, dtype=float) / sum(qk)
    return FiniteISCase(p, q, f)


@dataclass(frozen=True, eq=False)
class OffPolicyCase:
    """An MDP, the behaviour policy's logits (θ_old) and the target policy's logits (θ)."""

    mdp: TabularMDP
    logits_old: np.ndarray
    logits: np.ndarray

    def __repr__(self) -> str:
        return f"OffPolicyCase(mdp={self.mdp!r}, logits_old=np.{self.logits_old!r}, logits=np.{self.logits!r})"


@st.composite
def off_policy_cases(draw: st.DrawFn, /, same: bool | None = None, **kwargs: Any) -> OffPolicyCase:
    """A behaviour/target pair on a random MDP (keyword arguments go to :func:`mdps`); the two
    policies are equal when ``same`` is True, different when False, either when None."""
    mdp = draw(mdps(**kwargs))
    old = draw(logit_tables(mdp.n_states, mdp.n_actions), label="logits_old")
    equal = draw(st.booleans(), label="same policy") if same is None else same
    new = old.copy() if equal else draw(logit_tables(mdp.n_states, mdp.n_actions), label="logits")
    return OffPolicyCase(mdp, old, new)
