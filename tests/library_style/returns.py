"""Discounted returns and TD errors over time-major [T, N] batches, as vectorised RL code writes them."""

from typing import Any

import torch


def discounted_returns(rewards: Any, gamma: Any) -> Any:
    out = torch.zeros_like(rewards)
    running = torch.zeros_like(rewards[0])
    for t in reversed(range(rewards.shape[0])):
        running = rewards[t] + gamma * running
        out[t] = running
    return out


def td_errors(rewards: Any, values: Any, next_values: Any, terminated: Any, gamma: Any) -> Any:
    return rewards + gamma * next_values * (~terminated).to(rewards.dtype) - values
