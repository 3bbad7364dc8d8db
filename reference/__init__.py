"""The reference: the source's equations as small pure functions (float64, numpy).

Every public function is re-exported here; SPEC.md names each one next to its equation.
``reference`` never imports ``verification``.
"""

from __future__ import annotations

from .actor_critic import (
    a2c_actor_gradient,
    a2c_critic_loss,
    advantage_gradient,
    q_actor_step,
    td_critic_update,
    vpg_step,
)
from .advantage import (
    advantages,
    episode_lengths,
    gae,
    gae_fast,
    gae_literal,
    gae_sum,
    k_step_advantage,
    k_step_return,
    lambda_returns,
    td_residuals,
)
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
from .trpo import conjugate_gradient, natural_step
from .value import fit_linear_value, tabular_time_features, value_regression_loss

__all__ = [
    "TabularMDP",
    "a2c_actor_gradient",
    "a2c_critic_loss",
    "action_values",
    "advantage_gradient",
    "advantages",
    "baseline_gradient",
    "bt_loss",
    "conjugate_gradient",
    "constant_baseline",
    "discounted_returns",
    "discounted_returns_literal",
    "dpo_loss",
    "episode_lengths",
    "expected_return",
    "fit_linear_value",
    "gae",
    "gae_fast",
    "gae_literal",
    "gae_sum",
    "k_step_advantage",
    "k_step_return",
    "kl_beta_update",
    "kl_optimal_policy",
    "kl_optimal_value",
    "kl_regularized_objective",
    "kl_rewards",
    "lambda_returns",
    "log_softmax_policy",
    "min_variance_baseline",
    "natural_step",
    "ppo_clip",
    "q_actor_step",
    "reinforce_gradient",
    "reward_to_go_gradient",
    "rewards_to_go",
    "score_function",
    "softmax_policy",
    "state_values",
    "step_scores",
    "tabular_time_features",
    "td_critic_update",
    "td_residuals",
    "time_dependent_baseline",
    "trajectory_baseline_gradient",
    "trajectory_log_prob",
    "trajectory_return",
    "trajectory_score",
    "value_regression_loss",
    "vpg_step",
]
