"""DPO as preference trainers write it: from summed sequence log-probs with β = 0.1 by default,
and from per-token log-probs of [B, T] batches with response masks."""

from typing import Any

import torch
import torch.nn.functional as F


def dpo_loss(policy_chosen_logps: Any, policy_rejected_logps: Any, reference_chosen_logps: Any, reference_rejected_logps: Any, beta: Any = 0.1) -> Any:
    pi_logratios = policy_chosen_logps - policy_rejected_logps
    ref_logratios = reference_chosen_logps - reference_rejected_logps
    logits = pi_logratios - ref_logratios
    return -F.logsigmoid(beta * logits)


def dpo_loss_from_tokens(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, chosen_mask: Any, rejected_mask: Any, beta: Any) -> Any:
    def seq(logps: Any, mask: Any) -> Any:
        return (logps * mask.to(logps.dtype)).sum(-1)

    return dpo_loss(seq(policy_chosen, chosen_mask), seq(policy_rejected, rejected_mask),
                    seq(ref_chosen, chosen_mask), seq(ref_rejected, rejected_mask), beta)
