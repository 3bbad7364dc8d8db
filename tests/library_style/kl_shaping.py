"""Per-token KL-shaped rewards as PPO-for-RLHF trainers compute them: −β·(logp − ref_logp) on
response tokens, the score added on each row's last response token, [B, T] with a mask."""

from typing import Any

import torch


def compute_rewards(scores: Any, logprobs: Any, ref_logprobs: Any, mask: Any, kl_coef: Any) -> Any:
    mask = mask.bool()
    kl = logprobs - ref_logprobs
    rewards = torch.where(mask, -kl_coef * kl, torch.zeros_like(kl))
    positions = torch.arange(mask.shape[1]).expand_as(mask)
    last = torch.where(mask, positions, torch.full_like(positions, -1)).max(dim=1).values
    bonus = torch.zeros_like(rewards)
    bonus[torch.arange(mask.shape[0]), last] = scores.to(rewards.dtype)
    return rewards + bonus
