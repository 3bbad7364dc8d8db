"""The PPO clipped objective as trainers write it: per token, then a masked mean over the response
tokens of a [B, T] batch (the loss to minimize), with ε = 0.2 as the default."""

from typing import Any

import torch


def masked_mean(values: Any, mask: Any) -> Any:
    mask = mask.to(values.dtype)
    return (values * mask).sum() / mask.sum()


def policy_loss(logprobs: Any, old_logprobs: Any, advantages: Any, mask: Any, clip_eps: Any = 0.2) -> Any:
    ratio = torch.exp(logprobs - old_logprobs)
    pg_losses = -advantages * ratio
    pg_losses2 = -advantages * torch.clamp(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    return masked_mean(torch.max(pg_losses, pg_losses2), mask)


def clipped_objective(logprobs: Any, old_logprobs: Any, advantages: Any, clip_eps: Any) -> Any:
    ratio = (logprobs - old_logprobs).exp()
    return torch.min(ratio * advantages, ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps) * advantages)
