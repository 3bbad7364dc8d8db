"""The exact-expectation engine: every trajectory of a small tabular MDP with its probability.

"In expectation" claims become finite sums: E[X] = Σ_τ P(τ; θ) X(τ), computed in float64
(and in exact rational arithmetic where a test needs it).  Zero-probability branches are pruned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

import reference
from reference import TabularMDP
from reference._validate import FloatArray, IntArray

#: Refuse to enumerate more trajectories than this (memory and time guard).
MAX_TRAJECTORIES = 2_000_000


@dataclass(frozen=True, eq=False)
class Trajectories:
    """All trajectories of horizon T with positive probability.

    Attributes:
        states: [N, T+1], s_0..s_T.
        actions: [N, T], a_0..a_{T-1}.
        rewards: [N, T], r_t = r(s_t, a_t).
        prob: [N], P(τ; θ); sums to one.
    """

    mdp: TabularMDP
    logits: FloatArray
    states: IntArray
    actions: IntArray
    rewards: FloatArray
    prob: FloatArray

    @property
    def n(self) -> int:
        return int(self.prob.shape[0])

    def expect(self, x: Any) -> FloatArray:
        """E[X] for X given per trajectory, shape [N, ...] -> [...]."""
        arr = np.asarray(x, dtype=np.float64)
        if arr.shape[:1] != (self.n,):
            raise ValueError(f"x: expected leading axis of length N={self.n}, got shape {arr.shape}")
        out: FloatArray = np.tensordot(self.prob, arr, axes=(0, 0))
        return out

    def variance(self, x: Any) -> FloatArray:
        """Elementwise Var[X] = E[(X − E X)²], shape [N, ...] -> [...]."""
        arr = np.asarray(x, dtype=np.float64)
        mu = self.expect(arr)
        return self.expect((arr - mu) ** 2)

    def step_scores(self) -> FloatArray:
        """∇_θ log π(a_t|s_t) per trajectory and step, [N, T, S·A]."""
        return reference.step_scores(self.logits, self.states[:, :-1], self.actions)

    def returns(self) -> FloatArray:
        """R(τ) = Σ_t γ^t r_t, [N]."""
        powers = self.mdp.gamma ** np.arange(self.mdp.horizon, dtype=np.float64)
        out: FloatArray = self.rewards @ powers
        return out


def enumerate_trajectories(mdp: TabularMDP, logits: Any, max_trajectories: int = MAX_TRAJECTORIES) -> Trajectories:
    """Every trajectory with P(τ; θ) > 0, vectorized breadth-first over time."""
    pi = reference.softmax_policy(np.asarray(logits, dtype=np.float64))
    if pi.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(f"logits: expected shape {(mdp.n_states, mdp.n_actions)}, got {pi.shape}")
    s0 = np.flatnonzero(mdp.initial > 0)
    states = s0[:, None]
    actions = np.zeros((s0.shape[0], 0), dtype=np.int64)
    prob = mdp.initial[s0]
    for _ in range(mdp.horizon):
        s = states[:, -1]
        # branch over (a, s'): p = prob · π(a|s) · P(s'|s, a)
        p = prob[:, None, None] * pi[s][:, :, None] * mdp.transitions[s]
        idx, a, s_next = np.nonzero(p > 0)
        if idx.shape[0] > max_trajectories:
            raise ValueError(f"too many trajectories to enumerate (> {max_trajectories})")
        prob = p[idx, a, s_next]
        states = np.concatenate([states[idx], s_next[:, None]], axis=1)
        actions = np.concatenate([actions[idx], a[:, None]], axis=1)
    rewards = mdp.rewards[states[:, :-1], actions]
    return Trajectories(
        mdp=mdp,
        logits=np.asarray(logits, dtype=np.float64),
        states=states.astype(np.int64),
        actions=actions.astype(np.int64),
        rewards=rewards,
        prob=prob,
    )


def log_prob_torch(traj: Trajectories, logits: torch.Tensor) -> torch.Tensor:
    """log P(τ; θ) for every enumerated trajectory, differentiable in θ (torch float64), [N].

    Includes the initial-state and dynamics factors, which carry no gradient.
    """
    logpi = torch.log_softmax(logits, dim=1)
    s = torch.as_tensor(traj.states[:, :-1])
    a = torch.as_tensor(traj.actions)
    fixed = np.log(traj.mdp.initial[traj.states[:, 0]]) + np.log(
        traj.mdp.transitions[traj.states[:, :-1], traj.actions, traj.states[:, 1:]]
    ).sum(axis=1)
    return torch.as_tensor(fixed) + logpi[s, a].sum(dim=1)


def objective_torch(traj: Trajectories, logits: torch.Tensor) -> torch.Tensor:
    """J(θ) = Σ_τ P(τ; θ) R(τ) over the enumerated support, differentiable in θ."""
    return (torch.exp(log_prob_torch(traj, logits)) * torch.as_tensor(traj.returns())).sum()


def exact_gradient(mdp: TabularMDP, logits: Any) -> FloatArray:
    """∇_θ J(θ), flattened [S·A], by autograd through the enumerated J (no estimator involved)."""
    traj = enumerate_trajectories(mdp, logits)
    th = torch.tensor(np.asarray(logits, dtype=np.float64), requires_grad=True)
    (grad,) = torch.autograd.grad(objective_torch(traj, th), th)
    out: FloatArray = grad.detach().numpy().reshape(-1).astype(np.float64)
    return out
