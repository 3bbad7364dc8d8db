"""The statistical tier: seeded Monte Carlo for claims that cannot be enumerated.

Every statistical claim states its false-alarm probability α: the chance that a correct
implementation fails on a fresh seed.  The test uses a fixed seed, so it is deterministic; α
says how surprising a failure would be.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import norm

from reference import TabularMDP, softmax_policy
from reference._validate import FloatArray, IntArray


def sample_trajectories(
    mdp: TabularMDP, logits: Any, m: int, rng: np.random.Generator
) -> tuple[IntArray, IntArray, FloatArray]:
    """m i.i.d. trajectories: states [m, T+1], actions [m, T], rewards [m, T]."""
    pi = softmax_policy(logits)
    n_t = mdp.horizon
    states = np.zeros((m, n_t + 1), dtype=np.int64)
    actions = np.zeros((m, n_t), dtype=np.int64)
    states[:, 0] = rng.choice(mdp.n_states, size=m, p=mdp.initial)
    for t in range(n_t):
        s = states[:, t]
        u = rng.random(m)[:, None]
        actions[:, t] = np.minimum((np.cumsum(pi[s], axis=1) < u).sum(axis=1), mdp.n_actions - 1)
        p_next = mdp.transitions[s, actions[:, t]]
        u = rng.random(m)[:, None]
        states[:, t + 1] = np.minimum((np.cumsum(p_next, axis=1) < u).sum(axis=1), mdp.n_states - 1)
    rewards = mdp.rewards[states[:, :-1], actions]
    return states, actions, rewards


def z_bound(alpha: float, k: int = 1) -> float:
    """Two-sided normal quantile with a Bonferroni correction over k coordinates."""
    return float(norm.ppf(1.0 - alpha / (2.0 * k)))


def mean_deviation_in_se(samples: Any, expected: Any) -> float:
    """max_k |mean_k − expected_k| / (sd_k/√n): the largest deviation in standard errors."""
    x = np.asarray(samples, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    n = x.shape[0]
    mean = x.mean(axis=0)
    se = x.std(axis=0, ddof=1) / np.sqrt(n)
    dev = np.abs(mean - e)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(se > 0, dev / se, np.where(dev > 1e-12, np.inf, 0.0))
    return float(np.max(z)) if z.size else 0.0
