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
    state_occupancy,
    state_values,
    trajectory_log_prob,
    trajectory_return,
)
from .policy_gradient import (
    baseline_gradient,
    policy_gradient_theorem,
    reinforce_gradient,
    reward_to_go_gradient,
    score_function,
    step_scores,
    trajectory_baseline_gradient,
    trajectory_score,
)
from .ppo import kl_beta_update, ppo_clip
from .returns import discounted_returns, discounted_returns_literal, rewards_to_go
from .rlhf import (
    bt_loss,
    bt_loss_grad,
    bt_preference_prob,
    dpo_implicit_reward,
    dpo_loss,
    enumerate_responses,
    fit_bt_rewards,
    kl_optimal_policy,
    kl_optimal_value,
    kl_regularized_objective,
    kl_rewards,
    last_token_index,
    last_token_reward,
    masked_gae,
    masked_returns,
    prefix_index,
    sequence_log_prob,
    tabular_token_log_probs,
    value_head,
)
from .trpo import conjugate_gradient, natural_step
from .value import fit_linear_value, tabular_time_features, value_regression_loss

__all__ = [
    "TabularMDP",
    "action_values",
    "baseline_gradient",
    "bt_loss",
    "bt_loss_grad",
    "bt_preference_prob",
    "conjugate_gradient",
    "constant_baseline",
    "discounted_returns",
    "discounted_returns_literal",
    "dpo_implicit_reward",
    "dpo_loss",
    "enumerate_responses",
    "expected_return",
    "fit_bt_rewards",
    "fit_linear_value",
    "gae",
    "kl_beta_update",
    "kl_optimal_policy",
    "kl_optimal_value",
    "kl_regularized_objective",
    "kl_rewards",
    "last_token_index",
    "last_token_reward",
    "log_softmax_policy",
    "masked_gae",
    "masked_returns",
    "min_variance_baseline",
    "natural_step",
    "policy_gradient_theorem",
    "ppo_clip",
    "prefix_index",
    "reinforce_gradient",
    "reward_to_go_gradient",
    "rewards_to_go",
    "score_function",
    "sequence_log_prob",
    "softmax_policy",
    "state_occupancy",
    "state_values",
    "step_scores",
    "tabular_time_features",
    "tabular_token_log_probs",
    "td_residuals",
    "time_dependent_baseline",
    "trajectory_baseline_gradient",
    "trajectory_log_prob",
    "trajectory_return",
    "trajectory_score",
    "value_head",
    "value_regression_loss",
]
