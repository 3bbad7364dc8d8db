"""The pairwise reward-model loss as reward trainers write it (per pair, before the batch mean)."""

from typing import Any

import torch.nn.functional as F


def pairwise_loss(rewards_chosen: Any, rewards_rejected: Any) -> Any:
    return -F.logsigmoid(rewards_chosen - rewards_rejected)
