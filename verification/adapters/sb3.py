"""stable-baselines3: ``RolloutBuffer.compute_returns_and_advantage`` (GAE)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import PeerAdapter, register_adapter
from ._rollout import fold_truncation


def gae(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    """Canonical GAE through SB3's rollout buffer (one environment, float32 storage).

    Translation: a truncation's bootstrap γV(final obs) is folded into its reward (what SB3's
    ``collect_rollouts`` does with ``TimeLimit.truncated``); ``episode_start[t+1] = done[t]``;
    the last row uses ``last_values = next_values[T−1]`` and ``dones = done[T−1]``.  Inside an
    episode SB3 reads V(s_{t+1}) from ``values[t+1]``: equal to ``next_values[t]`` on the
    consistent rollouts the harness draws.
    """
    import torch
    from gymnasium import spaces
    from stable_baselines3.common.buffers import RolloutBuffer

    r, done = fold_truncation(rewards, next_values, terminated, truncated, gamma)
    v = np.asarray(values, dtype=np.float64)
    n = r.shape[0]
    buf = RolloutBuffer(n, spaces.Box(-1.0, 1.0, (1,)), spaces.Box(-1.0, 1.0, (1,)), device="cpu", gamma=gamma, gae_lambda=lam, n_envs=1)
    starts = np.concatenate([[True], done[:-1]])
    for t in range(n):
        buf.add(np.zeros((1, 1), np.float32), np.zeros((1, 1), np.float32), np.array([r[t]]), np.array([starts[t]]),
                torch.tensor([[v[t]]]), torch.zeros(1))
    buf.compute_returns_and_advantage(torch.tensor([[float(np.asarray(next_values)[-1])]]), np.array([done[-1]]))
    return buf.advantages[:, 0].copy()


register_adapter(PeerAdapter(
    "stable-baselines3", "RolloutBuffer.compute_returns_and_advantage", "gae", gae,
    "truncation folded into the reward (r_t + γV(final obs)); episode_start[t+1] = done[t]; last_values = next_values[T−1], dones = done[T−1]",
))
