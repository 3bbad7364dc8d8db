"""GAE as CleanRL's ppo.py computes it (rollout buffers [num_steps, num_envs], `dones[t]` = the
observation at step t starts a new episode, `next_value`/`next_done` for the step after the rollout)."""

from typing import Any

import torch


def compute_gae(rewards: Any, values: Any, dones: Any, next_value: Any, next_done: Any, gamma: Any = 0.99, gae_lambda: Any = 0.95) -> Any:
    num_steps = rewards.shape[0]
    advantages = torch.zeros_like(rewards)
    lastgaelam = 0
    for t in reversed(range(num_steps)):
        if t == num_steps - 1:
            nextnonterminal = 1.0 - next_done.float()
            nextvalues = next_value
        else:
            nextnonterminal = 1.0 - dones[t + 1].float()
            nextvalues = values[t + 1]
        delta = rewards[t] + gamma * nextvalues * nextnonterminal - values[t]
        advantages[t] = lastgaelam = delta + gamma * gae_lambda * nextnonterminal * lastgaelam
    return advantages
