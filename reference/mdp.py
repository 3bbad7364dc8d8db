"""Finite tabular MDPs, softmax policies and trajectory probabilities (SPEC.md §1).

Conventions (SPEC.md §0): a trajectory of horizon T is s_0, a_0, r_0, s_1, ..., s_{T-1},
a_{T-1}, r_{T-1}, s_T with r_t = r(s_t, a_t).  The policy is stationary and parameterized by a
logit table θ of shape [S, A]: π_θ(a|s) = softmax(θ[s])_a.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validate import (
    FloatArray,
    IntArray,
    as_float_array,
    as_index_array,
    check_distribution,
    check_unit_interval,
)

__all__ = [
    "TabularMDP",
    "softmax_policy",
    "log_softmax_policy",
    "trajectory_log_prob",
    "trajectory_return",
    "state_values",
    "action_values",
    "expected_return",
    "state_occupancy",
]


#: Refuse MDPs whose time-indexed tables Q_t(s, a) would exceed this many entries (memory guard).
MAX_TABLE_ENTRIES = 50_000_000


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite-horizon tabular MDP.

    Attributes:
        initial: μ(s_0), shape [S].
        transitions: P(s'|s, a), shape [S, A, S].
        rewards: r(s, a), shape [S, A].
        horizon: T >= 1, the number of actions in a trajectory.
        gamma: discount γ in [0, 1] (the source's sections 1-5 use γ = 1).
    """

    initial: FloatArray
    transitions: FloatArray
    rewards: FloatArray
    horizon: int
    gamma: float = 1.0

    def __post_init__(self) -> None:
        init = check_distribution(as_float_array(self.initial, "initial", ndim=1), "initial")
        trans = as_float_array(self.transitions, "transitions", ndim=3)
        n_s = init.shape[0]
        if n_s == 0:
            raise ValueError("initial: the MDP needs at least one state")
        if trans.shape[0] != n_s or trans.shape[2] != n_s or trans.shape[1] == 0:
            raise ValueError(
                f"transitions: expected shape [S, A, S] with S={n_s}, got {trans.shape}"
            )
        check_distribution(trans, "transitions", axis=2)
        rew = as_float_array(self.rewards, "rewards", ndim=2)
        if rew.shape != trans.shape[:2]:
            raise ValueError(f"rewards: expected shape {trans.shape[:2]} ([S, A]), got {rew.shape}")
        if isinstance(self.horizon, bool) or not isinstance(self.horizon, (int, np.integer)):
            raise TypeError(f"horizon: expected an int, got {type(self.horizon).__name__}")
        if self.horizon < 1:
            raise ValueError(f"horizon: must be >= 1, got {self.horizon}")
        if self.horizon * n_s * trans.shape[1] > MAX_TABLE_ENTRIES:
            raise ValueError(
                f"horizon: the [T, S, A] value tables for T = {self.horizon} exceed {MAX_TABLE_ENTRIES} entries"
            )
        object.__setattr__(self, "initial", init)
        object.__setattr__(self, "transitions", trans)
        object.__setattr__(self, "rewards", rew)
        object.__setattr__(self, "horizon", int(self.horizon))
        object.__setattr__(self, "gamma", check_unit_interval(self.gamma, "gamma"))

    @property
    def n_states(self) -> int:
        return int(self.initial.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.transitions.shape[1])

    def __repr__(self) -> str:
        return (
            f"TabularMDP(initial=np.{self.initial!r}, transitions=np.{self.transitions!r}, "
            f"rewards=np.{self.rewards!r}, horizon={self.horizon}, gamma={self.gamma!r})"
        )


def _require_mdp(mdp: Any) -> TabularMDP:
    if not isinstance(mdp, TabularMDP):
        raise TypeError(f"mdp: expected a TabularMDP, got {type(mdp).__name__}")
    return mdp


def _check_logits(logits: Any, mdp: TabularMDP | None = None) -> FloatArray:
    th = as_float_array(logits, "logits", ndim=2)
    if mdp is not None and th.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(
            f"logits: expected shape [S, A] = {(mdp.n_states, mdp.n_actions)}, got {th.shape}"
        )
    if th.shape[1] == 0:
        raise ValueError("logits: need at least one action")
    return th


def log_softmax_policy(logits: Any) -> FloatArray:
    """log π_θ(a|s) = θ[s, a] − logsumexp_a' θ[s, a'], shape [S, A] (stable for any finite θ)."""
    th = _check_logits(logits)
    m = th.max(axis=1, keepdims=True)
    z = th - m
    out: FloatArray = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return out


def softmax_policy(logits: Any) -> FloatArray:
    """π_θ(a|s) = softmax(θ[s])_a, shape [S, A]; each row sums to one."""
    out: FloatArray = np.exp(log_softmax_policy(logits))
    return out


def trajectory_log_prob(mdp: TabularMDP, logits: Any, states: Any, actions: Any) -> float:
    """log P(τ; θ) = log μ(s_0) + Σ_{t<T} [log π_θ(a_t|s_t) + log P(s_{t+1}|s_t, a_t)].

    SPEC.md eq. (1.2).  The source (S1.3) writes only the dynamics factors; the initial-state
    and policy factors are required (errata E1).

    Args:
        states: s_0..s_T, shape [T+1].
        actions: a_0..a_{T-1}, shape [T].
    Returns:
        the log-probability (−inf for an impossible trajectory).
    """
    th = _check_logits(logits, _require_mdp(mdp))
    s = as_index_array(states, "states", mdp.n_states, ndim=1, upper_name="mdp.n_states")
    a = as_index_array(actions, "actions", mdp.n_actions, ndim=1, upper_name="mdp.n_actions")
    if s.shape[0] != a.shape[0] + 1:
        raise ValueError(f"states: expected length len(actions)+1 = {a.shape[0] + 1}, got {s.shape[0]}")
    logpi = log_softmax_policy(th)
    with np.errstate(divide="ignore"):
        lp = np.log(mdp.initial[s[0]])
        lp += np.sum(logpi[s[:-1], a])
        lp += np.sum(np.log(mdp.transitions[s[:-1], a, s[1:]]))
    return float(lp)


def trajectory_return(rewards: Any, gamma: float = 1.0) -> float:
    """R(τ) = Σ_{t<T} γ^t r_t (SPEC.md eq. 1.3; the source uses γ = 1).

    Args:
        rewards: r_0..r_{T-1}, shape [T].
    """
    r = as_float_array(rewards, "rewards", ndim=1)
    g = check_unit_interval(gamma, "gamma")
    return float(np.sum(r * g ** np.arange(r.shape[0], dtype=np.float64)))


def state_values(mdp: TabularMDP, logits: Any) -> FloatArray:
    """Finite-horizon V^π by backward induction, shape [T+1, S] (SPEC.md eq. 4.4).

    V_T(s) = 0 and V_t(s) = Σ_a π(a|s) [r(s, a) + γ Σ_s' P(s'|s, a) V_{t+1}(s')].
    Row t is the expected discounted reward-to-go from s_t = s, so the value is indexed by
    time as well as state: with a finite horizon the source's V^π(s_t) is V_t(s_t).
    """
    return _backward(mdp, logits)[0]


def action_values(mdp: TabularMDP, logits: Any) -> FloatArray:
    """Finite-horizon Q^π, shape [T, S, A]: Q_t(s, a) = r(s, a) + γ Σ_s' P(s'|s, a) V_{t+1}(s')."""
    return _backward(mdp, logits)[1]


def _backward(mdp: TabularMDP, logits: Any) -> tuple[FloatArray, FloatArray]:
    pi = softmax_policy(_check_logits(logits, _require_mdp(mdp)))
    n_t = mdp.horizon
    v = np.zeros((n_t + 1, mdp.n_states))
    q = np.zeros((n_t, mdp.n_states, mdp.n_actions))
    for t in range(n_t - 1, -1, -1):
        q[t] = mdp.rewards + mdp.gamma * mdp.transitions @ v[t + 1]
        v[t] = np.sum(pi * q[t], axis=1)
    return v, q


def expected_return(mdp: TabularMDP, logits: Any) -> float:
    """J(θ) = E_τ[Σ_t γ^t r_t] = Σ_s μ(s) V_0(s), by dynamic programming (SPEC.md eq. 1.4)."""
    return float(_require_mdp(mdp).initial @ state_values(mdp, logits)[0])


def state_occupancy(mdp: TabularMDP, logits: Any) -> FloatArray:
    """d_t(s) = P(s_t = s) under π_θ, shape [T, S], by forward recursion (SPEC.md eq. 2.6).

    d_0 = μ, d_{t+1}(s') = Σ_{s,a} d_t(s) π(a|s) P(s'|s, a).
    """
    pi = softmax_policy(_check_logits(logits, _require_mdp(mdp)))
    d = np.zeros((mdp.horizon, mdp.n_states))
    d[0] = mdp.initial
    for t in range(mdp.horizon - 1):
        d[t + 1] = np.einsum("s,sa,sap->p", d[t], pi, mdp.transitions)
    return d
