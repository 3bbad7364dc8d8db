"""Configuration and presets of the scaled-down RLHF loop (SPEC.md §12.L)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class Criteria:
    """Pass criteria: numbers a correct implementation reaches and a broken one does not.

    "Gap closed" is (J(π) − J(π_ref)) / (J(π*) − J(π_ref)), computed exactly by enumeration:
    0 at π_ref, 1 at the optimum π* = π_ref exp(r/β)/Z, negative when training made J worse.

    Attributes:
        rm_accuracy_margin: the reward model's exact expected pair accuracy (mean over prompts)
            must be at least the Bayes-optimal accuracy minus this.
        ppo_gap_closed_rm: PPO must close at least this fraction of the gap measured against the
            learned reward (what PPO optimizes), on every prompt (the worst prompt counts).
        ppo_kl_ratio_rm: KL(π_PPO‖π*_rm) must be at most this fraction of KL(π_ref‖π*_rm).
        ppo_gap_closed_true: PPO end to end, against the true reward (mean over prompts); lower
            than the above because the learned reward is itself an estimate.
        dpo_gap_closed_true: DPO, against the true reward (mean over prompts).
        dpo_kl_ratio_true: KL(π_DPO‖π*) must be at most this fraction of KL(π_ref‖π*).
    """

    rm_accuracy_margin: float = 0.03
    ppo_gap_closed_rm: float = 0.85
    ppo_kl_ratio_rm: float = 0.15
    ppo_gap_closed_true: float = 0.5
    dpo_gap_closed_true: float = 0.6
    dpo_kl_ratio_true: float = 0.3
    cf_gap_closed_true: float = 0.7
    cf_length_error_max: float = 0.15
    cf_k3_vs_reward_min: float = 1.5
    cf_k1_loss_kl_overshoot_min: float = 1.5


@dataclass(frozen=True)
class LoopConfig:
    """Every number of the loop.  The presets below differ only in training effort."""

    # --- the synthetic task
    prompt_lengths: tuple[int, ...] = (1, 2, 3, 3)
    n_prompt_tokens: int = 6
    vocab: int = 6
    length: int = 4
    eos: bool = True
    base_logit_scale: float = 1.5
    base_eos_logit: float = 0.0
    reward_scale: float = 1.0
    reward_pair_scale: float = 0.5
    reward_length_scale: float = 0.5
    beta: float = 0.5
    # --- the tiny causal transformer
    d_model: int = 32
    n_layers: int = 2
    n_heads: int = 2
    # --- stage 0, supervised fine-tuning of π_ref on samples of the base distribution
    sft_samples: int = 2000
    sft_steps: int = 300
    sft_batch: int = 256
    sft_lr: float = 3e-3
    # --- stage 1, reward model
    pref_pairs: int = 3000
    pref_heldout: int = 500
    rm_epochs: int = 6
    rm_batch: int = 128
    rm_lr: float = 2e-3
    # --- stage 2, PPO
    ppo_iterations: int = 150
    ppo_rollouts: int = 96
    ppo_epochs: int = 2
    ppo_minibatches: int = 2
    ppo_lr: float = 1e-3
    ppo_clip: float = 0.2
    gae_lambda: float = 0.95
    gamma: float = 1.0
    vf_coef: float = 0.5
    max_grad_norm: float = 1.0
    whiten_advantages: bool = True
    # --- stage 3, DPO
    dpo_epochs: int = 8
    dpo_batch: int = 128
    dpo_lr: float = 1e-3
    # --- stage 4, critic-free (GRPO, Dr. GRPO, RLOO, REINFORCE++), each from π_ref on the true reward
    critic_free: tuple[str, ...] = ("grpo", "grpo_seq_mean", "dr_grpo", "rloo", "reinforce_pp", "dr_grpo_k3", "dr_grpo_k1_loss")
    cf_iterations: int = 120
    cf_group_size: int = 16
    cf_lr: float = 1e-3
    cf_eval_points: int = 7
    # --- bookkeeping
    eval_points: int = 12
    threads: int = 1
    criteria: Criteria = field(default_factory=Criteria)

    def __post_init__(self) -> None:
        if not (isinstance(self.beta, (int, float)) and not isinstance(self.beta, bool)):
            raise TypeError(f"beta: expected a real number, got {type(self.beta).__name__}")
        if not self.beta > 0 or self.beta != self.beta or self.beta == float("inf"):
            raise ValueError(f"beta: the KL coefficient must be finite and > 0, got {self.beta}")
        if not self.prompt_lengths or any(int(n) < 1 for n in self.prompt_lengths):
            raise ValueError(f"prompt_lengths: need at least one prompt, each of length >= 1, got {self.prompt_lengths}")
        for name in ("vocab", "length", "n_prompt_tokens", "d_model", "n_layers", "n_heads", "sft_samples",
                     "sft_steps", "sft_batch", "pref_pairs", "pref_heldout", "rm_epochs", "rm_batch",
                     "ppo_iterations", "ppo_rollouts", "ppo_epochs", "ppo_minibatches", "dpo_epochs",
                     "dpo_batch", "eval_points", "threads", "cf_iterations", "cf_group_size", "cf_eval_points"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: must be a positive integer, got {v!r}")
        if self.vocab < 2:
            raise ValueError(f"vocab: need at least 2 response tokens, got {self.vocab}")
        if not isinstance(self.eos, bool):
            raise TypeError(f"eos: expected a bool, got {type(self.eos).__name__}")
        if self.length > 12 or self.vocab > 64:
            raise ValueError(f"vocab, length: at most 64 tokens and length 12 (got {self.vocab}, {self.length}): too many responses to enumerate")
        if self.n_responses > 20_000:
            raise ValueError(f"vocab, length: {self.n_responses} responses per prompt is too many to enumerate (max 20000)")
        for name in ("base_logit_scale", "base_eos_logit", "reward_scale", "reward_pair_scale", "reward_length_scale",
                     "sft_lr", "rm_lr", "ppo_lr", "dpo_lr", "cf_lr", "vf_coef", "max_grad_norm"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"{name}: must be a finite real number, got {v!r}")
        for name in ("sft_lr", "rm_lr", "ppo_lr", "dpo_lr", "cf_lr", "max_grad_norm", "reward_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: must be > 0, got {getattr(self, name)!r}")
        if self.cf_group_size < 2:
            raise ValueError(f"cf_group_size: group advantages and leave-one-out need at least 2 samples per group, got {self.cf_group_size}")
        from .critic_free import VARIANTS

        unknown = [s for s in self.critic_free if s not in VARIANTS]
        if unknown or len(set(self.critic_free)) != len(self.critic_free):
            raise ValueError(f"critic_free: unknown or repeated stage(s) {unknown or list(self.critic_free)}; choose from {sorted(VARIANTS)}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model: must be divisible by n_heads ({self.d_model} % {self.n_heads} != 0)")
        if self.n_prompt_tokens**max(self.prompt_lengths) < len(self.prompt_lengths):
            raise ValueError("n_prompt_tokens: too few prompt tokens for distinct prompts")
        if not 0.0 <= self.gamma <= 1.0 or not 0.0 <= self.gae_lambda <= 1.0:
            raise ValueError(f"gamma, gae_lambda: must lie in [0, 1], got {self.gamma}, {self.gae_lambda}")
        if not self.ppo_clip > 0:
            raise ValueError(f"ppo_clip: must be > 0, got {self.ppo_clip}")
        if self.ppo_rollouts * len(self.prompt_lengths) < self.ppo_minibatches:
            raise ValueError("ppo_minibatches: more minibatches than rollouts")

    @property
    def n_prompts(self) -> int:
        return len(self.prompt_lengths)

    @property
    def n_responses(self) -> int:
        from .task import count_responses

        return count_responses(self.vocab, self.length, self.eos)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["prompt_lengths"] = list(self.prompt_lengths)
        d["critic_free"] = list(self.critic_free)
        return d

    def with_(self, **changes: Any) -> "LoopConfig":
        return replace(self, **changes)


QUICK = LoopConfig()

FULL = LoopConfig(
    d_model=48,
    sft_samples=4000,
    sft_steps=600,
    pref_pairs=10000,
    pref_heldout=2000,
    ppo_iterations=400,
    ppo_rollouts=128,
    eval_points=20,
    cf_iterations=300,
    cf_eval_points=11,
    criteria=Criteria(rm_accuracy_margin=0.02, ppo_gap_closed_rm=0.93, ppo_kl_ratio_rm=0.07, ppo_gap_closed_true=0.75,
                      dpo_gap_closed_true=0.85, dpo_kl_ratio_true=0.15, cf_gap_closed_true=0.8),
)

PRESETS: dict[str, LoopConfig] = {"quick": QUICK, "full": FULL}
