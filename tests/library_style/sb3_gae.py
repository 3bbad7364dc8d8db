"""GAE as stable-baselines3's RolloutBuffer.compute_returns_and_advantage computes it (numpy,
[buffer_size, n_envs], `episode_starts`, `last_values`, `dones` of the last step)."""

from typing import Any

import numpy as np


def compute_returns_and_advantage(rewards: Any, values: Any, episode_starts: Any, last_values: Any, dones: Any, gamma: Any, gae_lambda: Any) -> Any:
    buffer_size = rewards.shape[0]
    advantages = np.zeros_like(rewards, dtype=np.float32)
    last_gae_lam = 0
    for step in reversed(range(buffer_size)):
        if step == buffer_size - 1:
            next_non_terminal = 1.0 - dones.astype(np.float32)
            next_values = last_values
        else:
            next_non_terminal = 1.0 - episode_starts[step + 1].astype(np.float32)
            next_values = values[step + 1]
        delta = rewards[step] + gamma * next_values * next_non_terminal - values[step]
        last_gae_lam = delta + gamma * gae_lambda * next_non_terminal * last_gae_lam
        advantages[step] = last_gae_lam
    return advantages
