"""The reference: the source's equations as small pure functions (float64, numpy).

Every public function is re-exported here; SPEC.md names each one next to its equation.
``reference`` never imports ``verification``.
"""

from __future__ import annotations

from .advantage import gae, td_residuals
from .baselines import constant_baseline, min_variance_baseline, time_dependent_baseline
from .mdp import (
    TabularMDP,
    action_values,
    expected_return,
    log_softmax_policy,
    softmax_policy,
    state_values,
    trajectory_log_prob,
    trajectory_return,
)
from .policy_gradient import (
    baseline_gradient,
    reinforce_gradient,
    reward_to_go_gradient,
    score_function,
    step_scores,
    trajectory_baseline_gradient,
    trajectory_score,
)
from .ppo import kl_beta_update, ppo_clip
from .returns import discounted_returns, discounted_returns_literal, rewards_to_go
from .rlhf import bt_loss, dpo_loss, kl_optimal_policy, kl_optimal_value, kl_regularized_objective, kl_rewards
from .rlhf_torch import (
    bt_loss_torch,
    dpo_implicit_reward_torch,
    dpo_loss_torch,
    entropy_torch,
    kl_rewards_torch,
    last_token_torch,
    masked_gae_torch,
    masked_mean_torch,
    ppo_clip_torch,
    sequence_logprob_torch,
    token_logprobs_torch,
    value_loss_torch,
)
from .trpo import conjugate_gradient, natural_step
from .value import fit_linear_value, tabular_time_features, value_regression_loss

__all__ = [
    "TabularMDP",
    "action_values",
    "baseline_gradient",
    "bt_loss",
    "bt_loss_torch",
    "conjugate_gradient",
    "constant_baseline",
    "discounted_returns",
    "discounted_returns_literal",
    "dpo_implicit_reward_torch",
    "dpo_loss",
    "dpo_loss_torch",
    "entropy_torch",
    "expected_return",
    "fit_linear_value",
    "gae",
    "kl_beta_update",
    "kl_optimal_policy",
    "kl_optimal_value",
    "kl_regularized_objective",
    "kl_rewards",
    "kl_rewards_torch",
    "last_token_torch",
    "log_softmax_policy",
    "masked_gae_torch",
    "masked_mean_torch",
    "min_variance_baseline",
    "natural_step",
    "ppo_clip",
    "ppo_clip_torch",
    "reinforce_gradient",
    "reward_to_go_gradient",
    "rewards_to_go",
    "score_function",
    "sequence_logprob_torch",
    "softmax_policy",
    "state_values",
    "step_scores",
    "tabular_time_features",
    "td_residuals",
    "time_dependent_baseline",
    "token_logprobs_torch",
    "trajectory_baseline_gradient",
    "trajectory_log_prob",
    "trajectory_return",
    "trajectory_score",
    "value_loss_torch",
    "value_regression_loss",
]
