"""Configuration and presets of the scaled-down RLHF loop (SPEC.md §12.L)."""

from __future__ import annotations

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


@dataclass(frozen=True)
class LoopConfig:
    """Every number of the loop.  The presets below differ only in training effort."""

    # --- the synthetic task
    prompt_lengths: tuple[int, ...] = (1, 2, 3, 3)
    n_prompt_tokens: int = 6
    vocab: int = 6
    length: int = 4
    base_logit_scale: float = 1.5
    reward_scale: float = 1.0
    reward_pair_scale: float = 0.5
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
                     "dpo_batch", "eval_points", "threads"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: must be a positive integer, got {v!r}")
        if self.vocab < 2:
            raise ValueError(f"vocab: need at least 2 response tokens, got {self.vocab}")
        if self.vocab**self.length > 20_000:
            raise ValueError(f"vocab, length: {self.vocab}^{self.length} responses per prompt is too many to enumerate (max 20000)")
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
        return int(self.vocab**self.length)

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["prompt_lengths"] = list(self.prompt_lengths)
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
    criteria=Criteria(rm_accuracy_margin=0.02, ppo_gap_closed_rm=0.93, ppo_kl_ratio_rm=0.07, ppo_gap_closed_true=0.75,
                      dpo_gap_closed_true=0.85, dpo_kl_ratio_true=0.15),
)

PRESETS: dict[str, LoopConfig] = {"quick": QUICK, "full": FULL}
