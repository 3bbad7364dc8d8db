"""Token-level GAE as PPO-for-RLHF trainers compute it: [B, T] rewards and values, a response
mask (left/right padding, holes), γ = 1 and λ = 0.95 fixed; padding is skipped, and each row's
last response token is terminal."""

from typing import Any

import torch


def get_advantages(rewards: Any, values: Any, mask: Any, gamma: Any = 1.0, lam: Any = 0.95) -> Any:
    B, T = rewards.shape
    mask = mask.bool()
    advantages = torch.zeros_like(rewards)
    for b in range(B):
        lastgaelam = torch.zeros((), dtype=rewards.dtype)
        nextvalue = torch.zeros((), dtype=rewards.dtype)
        for t in reversed(range(T)):
            if not mask[b, t]:
                continue  # skip padding and holes: nothing is read there
            delta = rewards[b, t] + gamma * nextvalue - values[b, t]
            lastgaelam = delta + gamma * lam * lastgaelam
            advantages[b, t] = lastgaelam
            nextvalue = values[b, t]
    return advantages * mask
