"""Mutants of the torch twins the RLHF loop trains with (SPEC.md §12.L).

Each is a bug seen in real RLHF code.  Three of them (``kl-reward-sign-flipped``,
``kl-score-on-last-column``, ``dpo-no-reference``) are also injected into the loop itself by
tests/test_rlhf_loop.py, where they must fail the loop's pass criteria.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

import reference

from . import Mutant, register_mutant


def _kl_rewards_sign_flipped(scores: Tensor, logp: Tensor, ref_logp: Tensor, mask: Tensor, beta: float) -> Tensor:
    return reference.kl_rewards_torch(scores, ref_logp, logp, mask, beta)  # +β(log π − log π_ref): rewards drifting away


def _kl_rewards_score_last_column(scores: Tensor, logp: Tensor, ref_logp: Tensor, mask: Tensor, beta: float) -> Tensor:
    out = reference.kl_rewards_torch(torch.zeros_like(scores), logp, ref_logp, mask, beta)
    last_col = torch.zeros_like(out)
    last_col[:, -1] = scores  # rewards[:, -1] += score: right on unpadded rows, lands on padding otherwise
    return out + last_col


def _kl_rewards_score_first_token(scores: Tensor, logp: Tensor, ref_logp: Tensor, mask: Tensor, beta: float) -> Tensor:
    out = reference.kl_rewards_torch(torch.zeros_like(scores), logp, ref_logp, mask, beta)
    m = mask.to(torch.bool)
    first = m & (torch.cumsum(m.to(torch.int64), dim=1) == 1)
    return out + torch.where(first, scores.unsqueeze(1).to(out.dtype), torch.zeros_like(out))


def _gae_padding_leaks(rewards: Tensor, values: Tensor, mask: Tensor, *, lam: float, gamma: float = 1.0) -> Tensor:
    m = mask.to(torch.bool)
    everywhere = torch.ones_like(m)
    adv = reference.masked_gae_torch(torch.where(m, rewards, torch.zeros_like(rewards)), values, everywhere, lam=lam, gamma=gamma)
    return torch.where(m, adv, torch.zeros_like(adv))  # the recursion ran through padding: V(pad) bootstraps the last token


def _seq_logprob_with_padding(token_logp: Tensor, mask: Tensor) -> Tensor:
    return token_logp.sum(dim=-1)


def _token_logprobs_unnormalized(logits: Tensor, tokens: Tensor) -> Tensor:
    return logits.gather(-1, tokens.long().unsqueeze(-1)).squeeze(-1)  # a logit is not a log-probability


def _entropy_of_logits(logits: Tensor) -> Tensor:
    p = torch.softmax(logits, dim=-1)
    return -(p * logits).sum(dim=-1)  # log p replaced by the raw logits


def _last_token_last_column(x: Tensor, mask: Tensor) -> Tensor:
    return x[:, -1]  # reads the reward head on padding for padded rows


def _bt_loss_flipped(r_chosen: Tensor, r_rejected: Tensor) -> Tensor:
    return F.softplus(r_chosen - r_rejected)


def _dpo_no_reference(policy_chosen: Tensor, policy_rejected: Tensor, ref_chosen: Tensor, ref_rejected: Tensor, beta: float) -> Tensor:
    zero = torch.zeros_like(ref_chosen)
    return reference.dpo_loss_torch(policy_chosen, policy_rejected, zero, zero, beta)


def _implicit_reward_no_beta(policy_logp: Tensor, ref_logp: Tensor, beta: float) -> Tensor:
    return policy_logp - ref_logp


def _ppo_clip_no_min(logp_new: Tensor, logp_old: Tensor, advantages: Tensor, epsilon: float) -> Tensor:
    ratio = torch.exp(logp_new - logp_old)
    return torch.clamp(ratio, 1.0 - epsilon, 1.0 + epsilon) * advantages  # the pessimistic min dropped


def _value_loss_abs(values: Tensor, returns: Tensor) -> Tensor:
    return (values - returns).abs()


def _masked_mean_includes_padding(x: Tensor, mask: Tensor) -> Tensor:
    return torch.where(mask.to(torch.bool), x, torch.zeros_like(x)).mean()  # divides by N·L, not Σ mask


for _m in [
    Mutant("kl-reward-sign-flipped", "per-token KL penalty added with the wrong sign, +β log(π/π_ref)", ("RLHF-TORCH-KL-REWARD-TWIN",), {"kl_rewards_torch": _kl_rewards_sign_flipped}),
    Mutant("kl-score-on-last-column", "score added at column −1 of the padded batch, on padding for right-padded rows", ("RLHF-TORCH-KL-REWARD-TWIN",), {"kl_rewards_torch": _kl_rewards_score_last_column}),
    Mutant("kl-score-on-first-token", "score added on the first response token instead of the last", ("RLHF-TORCH-KL-REWARD-TWIN",), {"kl_rewards_torch": _kl_rewards_score_first_token}),
    Mutant("gae-padding-leaks", "GAE recursion run across padding, so V at a padding position bootstraps the last token", ("RLHF-TORCH-GAE-TWIN",), {"masked_gae_torch": _gae_padding_leaks}),
    Mutant("seq-logprob-with-padding", "sequence log-prob summed over every position, padding included", ("RLHF-TORCH-LOGPROB-TWIN",), {"sequence_logprob_torch": _seq_logprob_with_padding}),
    Mutant("token-logprobs-unnormalized", "the chosen token's logit used as its log-probability (no log-softmax)", ("RLHF-TORCH-LOGPROB-TWIN",), {"token_logprobs_torch": _token_logprobs_unnormalized}),
    Mutant("entropy-of-logits", "entropy −Σ p·z with raw logits z in place of log p", ("RLHF-TORCH-LOGPROB-TWIN",), {"entropy_torch": _entropy_of_logits}),
    Mutant("last-token-last-column", "reward read at the last column of the padded batch, not the last response token", ("RLHF-TORCH-KL-REWARD-TWIN",), {"last_token_torch": _last_token_last_column}),
    Mutant("bt-loss-flipped", "Bradley–Terry loss with chosen and rejected swapped", ("RLHF-TORCH-PREF-TWIN",), {"bt_loss_torch": _bt_loss_flipped}),
    Mutant("dpo-torch-no-reference", "DPO without the reference model's log-probs (π_ref taken as uniform)", ("RLHF-TORCH-PREF-TWIN",), {"dpo_loss_torch": _dpo_no_reference}),
    Mutant("implicit-reward-no-beta", "DPO implicit reward log π/π_ref without the factor β", ("RLHF-TORCH-PREF-TWIN",), {"dpo_implicit_reward_torch": _implicit_reward_no_beta}),
    Mutant("ppo-clip-no-min", "PPO objective clip(ρ)·A without the min with ρ·A", ("RLHF-TORCH-PPO-TWIN",), {"ppo_clip_torch": _ppo_clip_no_min}),
    Mutant("value-loss-abs", "value loss |V − G| instead of (V − G)²", ("RLHF-TORCH-PPO-TWIN",), {"value_loss_torch": _value_loss_abs}),
    Mutant("masked-mean-includes-padding", "per-token mean divided by all positions, padding included", ("RLHF-TORCH-PPO-TWIN",), {"masked_mean_torch": _masked_mean_includes_padding}),
]:
    register_mutant(_m)
