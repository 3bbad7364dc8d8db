"""Hypothesis strategies for the practice functions of SPEC.md §17.

A :class:`PracticeBatch` is one ragged token batch ``[B, T]`` with a response mask in one of five
layouts (right padding, left padding, holes, rows without a token, full) and every per-token array
the §17 losses take.  Entries outside the mask are in-domain garbage: drawn from the same range
as the real entries (log-probs <= 0 and moderate, values and rewards of the same scale), never
inf or 1e300, so a function that reads padding gets a different, finite answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray

__all__ = ["LAYOUTS", "PracticeBatch", "make_batch", "practice_batches", "reward_groups", "RewardGroups"]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

LAYOUTS = ("right", "left", "holes", "empty_row", "full")


@dataclass(frozen=True, eq=False)
class PracticeBatch:
    """A ragged batch (see the module docstring); ``make_batch(seed, b, t, layout)`` rebuilds it."""

    seed: int
    layout: str
    mask: BoolArray
    loss: FloatArray
    logp_new: FloatArray
    logp_old: FloatArray
    advantages: FloatArray
    values: FloatArray
    old_values: FloatArray
    returns: FloatArray
    rewards: FloatArray
    clip_low: float
    clip_high: float
    dual_clip: float
    value_clip: float

    @property
    def shape(self) -> tuple[int, int]:
        b, t = self.mask.shape
        return int(b), int(t)

    def __repr__(self) -> str:
        b, t = self.shape
        return f"make_batch(seed={self.seed}, b={b}, t={t}, layout={self.layout!r})"


def _mask(rng: np.random.Generator, b: int, t: int, layout: str) -> BoolArray:
    m = np.zeros((b, t), dtype=bool)
    for i in range(b):
        n = int(rng.integers(1, t + 1))
        if layout == "right":
            m[i, :n] = True
        elif layout == "left":
            m[i, t - n :] = True
        elif layout == "full":
            m[i, :] = True
        else:
            m[i] = rng.random(t) < 0.6
            if not m[i].any():
                m[i, int(rng.integers(0, t))] = True
    if layout == "empty_row":
        m[int(rng.integers(0, b))] = False
    return m


def make_batch(seed: int, b: int, t: int, layout: str) -> PracticeBatch:
    """The batch of ``seed``: log-probs in [-4, -0.05], log-ratios in [-1, 1], advantages, values,
    returns and rewards in [-2, 2] (a tenth of the advantages exactly 0), on every position."""
    rng = np.random.default_rng(seed)
    m = _mask(rng, b, t, layout)
    logp_old = rng.uniform(-4.0, -0.05, (b, t))
    logp_new = logp_old + rng.uniform(-1.0, 1.0, (b, t))
    adv = rng.uniform(-2.0, 2.0, (b, t))
    adv[rng.random((b, t)) < 0.1] = 0.0
    values = rng.uniform(-2.0, 2.0, (b, t))
    old_values = values + rng.uniform(-0.6, 0.6, (b, t))
    return PracticeBatch(
        seed=seed, layout=layout, mask=m,
        loss=rng.uniform(-2.0, 2.0, (b, t)),
        logp_new=logp_new, logp_old=logp_old, advantages=adv,
        values=values, old_values=old_values,
        returns=rng.uniform(-2.0, 2.0, (b, t)),
        rewards=rng.uniform(-2.0, 2.0, (b, t)),
        clip_low=float(rng.choice([0.1, 0.2, 0.3])),
        clip_high=float(rng.choice([0.2, 0.28, 0.4])),
        dual_clip=float(rng.choice([1.5, 3.0, 10.0])),
        value_clip=float(rng.choice([0.05, 0.2, 0.5])),
    )


def practice_batches(max_b: int = 4, max_t: int = 6) -> st.SearchStrategy[PracticeBatch]:
    return st.builds(
        make_batch,
        seed=st.integers(0, 2**32 - 1),
        b=st.integers(1, max_b),
        t=st.integers(1, max_t),
        layout=st.sampled_from(LAYOUTS),
    )


@dataclass(frozen=True, eq=False)
class RewardGroups:
    """``rewards`` [N] in groups of ``group_size`` (ties and constant groups drawn on purpose)."""

    rewards: FloatArray
    group_size: int

    def __repr__(self) -> str:
        return f"RewardGroups(rewards=np.array({self.rewards.tolist()!r}), group_size={self.group_size})"


@st.composite
def reward_groups(draw: st.DrawFn, min_group: int = 1, max_group: int = 5, max_groups: int = 4) -> RewardGroups:
    g = draw(st.integers(min_group, max_group))
    n_groups = draw(st.integers(1, max_groups))
    kind = draw(st.sampled_from(["uniform", "binary", "constant_group"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if kind == "binary":  # verifier rewards 0/1: ties everywhere, constant groups often
        r = rng.integers(0, 2, g * n_groups).astype(np.float64)
    else:
        r = np.round(rng.uniform(-3.0, 3.0, g * n_groups), 3)
        if kind == "constant_group":
            r[:g] = r[0]
    return RewardGroups(r, g)
