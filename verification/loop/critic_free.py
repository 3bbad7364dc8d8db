"""Critic-free stages of the loop: GRPO, Dr. GRPO, RLOO and REINFORCE++ (SPEC.md §12.L, stage 4).

Each stage starts from π_ref, samples ``cf_group_size`` responses per prompt per iteration (one
group per prompt, consecutive rows), scores them with the true reward (a verifiable reward, so
that the gap to π* measures the algorithm alone, not a reward model), and takes one on-policy
gradient step of :func:`reference.practice_torch.policy_loss` on advantages from
:mod:`reference.practice_torch`: ``group_advantages``, ``rloo_advantages``, ``masked_whiten``,
``kl_penalty``, ``aggregate_loss``, ``token_logprobs`` (SPEC.md §17).  Nothing here re-implements
those formulas.  A twin is looked up by :func:`twin`, so a test can inject a broken one through
an :class:`verification.registry.Impl` override named ``"practice_torch.<name>"``.

KL placement (``Variant.kl``): ``"reward"`` subtracts β Σ_t k1_t (sampling-time log-probs, no
gradient) from each response's reward before the advantage; ``"loss-k1"`` / ``"loss-k3"`` add
β · agg(kl_penalty(logp_new, logp_ref, kind)) to the loss, with the stage's aggregation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from reference import practice_torch

from ..registry import Impl
from .config import LoopConfig
from .model import TinyCausalLM, generate, to_device
from .task import FloatArray, Task

ADVANTAGES = ("group", "none", "rloo", "whiten")
KL_PLACEMENTS = ("reward", "loss-k1", "loss-k3")


@dataclass(frozen=True)
class Variant:
    """One critic-free estimator.

    Attributes:
        name: the stage's id (``grpo``, ``dr_grpo``, ...).
        label: a short human name.
        advantage: ``"group"`` (A = (r − μ_group)/(σ_group + ε)), ``"none"`` (A = r − μ_group),
            ``"rloo"`` (leave-one-out baseline), ``"whiten"`` (REINFORCE++: per-token returns of
            the KL-shaped rewards, whitened over the batch's response tokens).
        agg: the aggregation mode of ``policy_loss`` (SPEC §17.1).
        kl: ``"reward"``, ``"loss-k1"`` or ``"loss-k3"`` (see the module doc).
    """

    name: str
    label: str
    advantage: str
    agg: str
    kl: str


_BASES = (
    Variant("grpo", "GRPO (group std, token_mean)", "group", "token_mean", "reward"),
    Variant("grpo_seq_mean", "GRPO (group std, seq_mean_token_mean)", "group", "seq_mean_token_mean", "reward"),
    Variant("dr_grpo", "Dr. GRPO (no std, seq_mean_token_sum_norm)", "none", "seq_mean_token_sum_norm", "reward"),
    Variant("rloo", "RLOO (leave-one-out, seq_mean_token_sum)", "rloo", "seq_mean_token_sum", "reward"),
    Variant("reinforce_pp", "REINFORCE++ (batch-whitened returns, token_mean)", "whiten", "token_mean", "reward"),
)


def _with_kl(v: Variant, kl: str) -> Variant:
    suffix, words = {"loss-k3": ("_k3", "k3 KL in the loss"), "loss-k1": ("_k1_loss", "k1 KL in the loss")}[kl]
    return Variant(v.name + suffix, f"{v.label[:-1]}, {words})", v.advantage, v.agg, kl)


#: Every estimator with every KL placement: ``<base>`` (k1 in the reward), ``<base>_k3`` and
#: ``<base>_k1_loss`` (in the loss).  The presets run the five bases and ``dr_grpo_k3``, ``dr_grpo_k1_loss``.
VARIANTS: dict[str, Variant] = {
    v.name: v for base in _BASES for v in (base, _with_kl(base, "loss-k3"), _with_kl(base, "loss-k1"))
}

ProgressFn = Callable[[str, int, int, str], None]


def twin(impl: Impl, name: str) -> Callable[..., Any]:
    """The practice twin ``name``: an override ``"practice_torch.<name>"`` in ``impl``, else the reference's."""
    key = f"practice_torch.{name}"
    if key in impl.overridden:
        fn: Callable[..., Any] = getattr(impl, key)
        return fn
    ref: Callable[..., Any] = getattr(practice_torch, name)
    return ref


def advantages(variant: Variant, impl: Impl, scores: Tensor, old_logp: Tensor, ref_logp: Tensor, mask: Tensor,
               beta: float, group_size: int) -> Tensor:
    """[B, T] advantages of one batch of B = P·G rows (groups consecutive), 0 outside the mask.

    Args:
        scores: [B] rewards of the responses.
        old_logp, ref_logp: [B, T] token log-probs under the sampling policy and π_ref.
        mask: [B, T] response tokens.
    """
    kl = twin(impl, "kl_penalty")(old_logp, ref_logp, "k1")
    beta_r = beta if variant.kl == "reward" else 0.0
    zero = torch.zeros_like(old_logp)
    if variant.advantage == "whiten":
        rewards = impl.kl_rewards_torch(scores, old_logp, ref_logp, mask, beta_r)
        returns = twin(impl, "masked_gae")(rewards, zero, mask, 1.0, 1.0)  # V = 0, λ = γ = 1: reward-to-go
        out: Tensor = twin(impl, "masked_whiten")(returns, mask, True, 1, 1e-8)
        return torch.where(mask, out, zero)
    r_seq = scores - beta_r * torch.where(mask, kl, zero).sum(dim=1)
    if variant.advantage == "rloo":
        a = twin(impl, "rloo_advantages")(r_seq, group_size)
    else:
        a = twin(impl, "group_advantages")(r_seq, group_size, variant.advantage, 1e-6)
    return torch.where(mask, a[:, None].expand_as(old_logp), zero)


def train_critic_free(
    task: Task, cfg: LoopConfig, ref: TinyCausalLM, device: torch.device, seed: int, impl: Impl, logp_ref: FloatArray,
    variant: Variant, evaluate: Callable[[TinyCausalLM, int, int, dict[str, Any]], dict[str, Any]],
    trainable: Callable[[TinyCausalLM], TinyCausalLM], progress: ProgressFn,
) -> tuple[TinyCausalLM, list[dict[str, Any]], dict[str, Any]]:
    """One critic-free stage; returns the policy, its exact history and extras (``logp``, diagnostics)."""
    from .stages import eval_steps

    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    policy = trainable(ref)
    params = [p for n, p in policy.named_parameters() if not n.startswith(("reward_head", "value_head"))]
    opt = torch.optim.Adam(params, lr=cfg.cf_lr)
    g = cfg.cf_group_size
    p_idx = np.repeat(np.arange(task.n_prompts), g)
    evals = set(eval_steps(cfg.cf_iterations, cfg.cf_eval_points))
    history: list[dict[str, Any]] = []
    diag: list[dict[str, float]] = []
    extra: dict[str, Any] = {"diagnostics": diag}
    kind = variant.kl.split("-")[1] if variant.kl.startswith("loss") else None
    for it in range(cfg.cf_iterations + 1):
        if it in evals:
            rec = evaluate(policy, it, cfg.cf_iterations, extra)
            history.append(rec)
            progress(variant.name, it, cfg.cf_iterations,
                     f"gap {rec['true']['gap_mean']:.4f}  E[n] {rec['true']['expected_length_mean']:.3f}")
        if it == cfg.cf_iterations:
            break
        r_idx = generate(policy, task, p_idx, rng, device)
        ids, actions, mask = to_device(task, p_idx, r_idx, device)
        scores = torch.from_numpy(task.reward[p_idx, r_idx]).to(device=device, dtype=torch.float32)
        with torch.no_grad():
            old_logp = twin(impl, "token_logprobs")(policy.policy_logits(ids), actions, 1.0)
            ref_logp = twin(impl, "token_logprobs")(ref.policy_logits(ids), actions, 1.0)
            adv = advantages(variant, impl, scores, old_logp, ref_logp, mask, cfg.beta, g)
        new_logp = twin(impl, "token_logprobs")(policy.policy_logits(ids), actions, 1.0)
        loss = twin(impl, "policy_loss")(new_logp, old_logp, adv, mask, 0.2, 0.2, None, variant.agg)
        if kind is not None:
            loss = loss + cfg.beta * twin(impl, "aggregate_loss")(twin(impl, "kl_penalty")(new_logp, ref_logp, kind), mask, variant.agg)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
        opt.step()
        diag.append({"iteration": it + 1, "score_mean": float(scores.mean()), "loss": float(loss.detach()),
                     "length_mean": float(mask.sum(dim=1).double().mean())})
    policy.eval()
    return policy, history, extra
