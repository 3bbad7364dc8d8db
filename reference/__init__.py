"""The reference: the source's equations as small pure functions (float64, numpy; torch where
autograd is part of the definition).

Every public function is re-exported here; SPEC.md names each one next to its equation.
``reference`` never imports ``verification``.  ``import reference`` imports neither torch nor
scipy.signal: the torch functions are loaded on first access (``reference.ppo_clip_torch`` or
``from reference import ppo_clip_torch``), scipy.signal inside the function that uses it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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
from .baselines import (
    constant_baseline,
    min_variance_baseline,
    time_dependent_baseline,
)
from .importance import (
    importance_expectation,
    importance_ratio,
    importance_weighted_gradient,
)
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
from .ppo import (
    categorical_entropy,
    categorical_kl,
    kl_beta_update,
    kl_estimate,
    ppo_actor_critic_loss,
    ppo_clip,
    ppo_clip_cases,
    ppo_clip_grad,
    ppo_penalty,
)
from .returns import (
    discounted_returns,
    discounted_returns_literal,
    rewards_to_go,
)
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
if TYPE_CHECKING:  # imported on first use (PEP 562 ``__getattr__`` below): torch is slow to import
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

#: Names whose module imports torch, loaded when first accessed.
_LAZY = {name: ".rlhf_torch" for name in (
    'bt_loss_torch',
    'dpo_implicit_reward_torch',
    'dpo_loss_torch',
    'entropy_torch',
    'kl_rewards_torch',
    'last_token_torch',
    'masked_gae_torch',
    'masked_mean_torch',
    'ppo_clip_torch',
    'sequence_logprob_torch',
    'token_logprobs_torch',
    'value_loss_torch',
)}
from .template import (
    policy_gradient_template,
    psi_actor_critic,
    psi_actor_critic_as_written,
    psi_advantage,
    psi_baseline_reward_to_go,
    psi_baseline_reward_to_go_as_written,
    psi_gae,
    psi_q_value,
    psi_reward_to_go,
    psi_td_residual,
    psi_td_residual_as_written,
    psi_total_return,
)
from .trpo import (
    backtracking_line_search,
    conjugate_gradient,
    fisher_matrix,
    fisher_vector_product,
    kl_taylor,
    mean_kl,
    natural_step,
    surrogate_advantage,
    surrogate_gradient,
    surrogate_taylor,
    trpo_step,
)
from .value import (
    fit_linear_value,
    tabular_time_features,
    value_regression_loss,
)

__all__ = [
    "TabularMDP",
    "a2c_actor_gradient",
    "a2c_critic_loss",
    "action_values",
    "advantage_gradient",
    "advantages",
    "backtracking_line_search",
    "baseline_gradient",
    "bt_loss",
    "bt_loss_grad",
    "bt_loss_torch",
    "bt_preference_prob",
    "categorical_entropy",
    "categorical_kl",
    "conjugate_gradient",
    "constant_baseline",
    "discounted_returns",
    "discounted_returns_literal",
    "dpo_implicit_reward",
    "dpo_implicit_reward_torch",
    "dpo_loss",
    "dpo_loss_torch",
    "entropy_torch",
    "enumerate_responses",
    "episode_lengths",
    "expected_return",
    "fisher_matrix",
    "fisher_vector_product",
    "fit_bt_rewards",
    "fit_linear_value",
    "gae",
    "gae_fast",
    "gae_literal",
    "gae_sum",
    "importance_expectation",
    "importance_ratio",
    "importance_weighted_gradient",
    "k_step_advantage",
    "k_step_return",
    "kl_beta_update",
    "kl_estimate",
    "kl_optimal_policy",
    "kl_optimal_value",
    "kl_regularized_objective",
    "kl_rewards",
    "kl_rewards_torch",
    "kl_taylor",
    "lambda_returns",
    "last_token_index",
    "last_token_reward",
    "last_token_torch",
    "log_softmax_policy",
    "masked_gae",
    "masked_gae_torch",
    "masked_mean_torch",
    "masked_returns",
    "mean_kl",
    "min_variance_baseline",
    "natural_step",
    "policy_gradient_template",
    "policy_gradient_theorem",
    "ppo_actor_critic_loss",
    "ppo_clip",
    "ppo_clip_cases",
    "ppo_clip_grad",
    "ppo_clip_torch",
    "ppo_penalty",
    "prefix_index",
    "psi_actor_critic",
    "psi_actor_critic_as_written",
    "psi_advantage",
    "psi_baseline_reward_to_go",
    "psi_baseline_reward_to_go_as_written",
    "psi_gae",
    "psi_q_value",
    "psi_reward_to_go",
    "psi_td_residual",
    "psi_td_residual_as_written",
    "psi_total_return",
    "q_actor_step",
    "reinforce_gradient",
    "reward_to_go_gradient",
    "rewards_to_go",
    "score_function",
    "sequence_log_prob",
    "sequence_logprob_torch",
    "softmax_policy",
    "state_occupancy",
    "state_values",
    "step_scores",
    "surrogate_advantage",
    "surrogate_gradient",
    "surrogate_taylor",
    "tabular_time_features",
    "tabular_token_log_probs",
    "td_critic_update",
    "td_residuals",
    "time_dependent_baseline",
    "token_logprobs_torch",
    "trajectory_baseline_gradient",
    "trajectory_log_prob",
    "trajectory_return",
    "trajectory_score",
    "trpo_step",
    "value_head",
    "value_loss_torch",
    "value_regression_loss",
    "vpg_step",
]

# ---- practice targets (SPEC §17, X-PR-*): numpy only here; the torch twins, same names, are in
# ``reference.practice_torch`` (not imported by ``import reference``).  §17's ``masked_gae`` is
# exported as ``practice_masked_gae`` (the name ``reference.masked_gae`` stays eq. 12.8's).
from .practice import masked_gae as practice_masked_gae  # noqa: E402
from .practice import (  # noqa: E402
    adaptive_kl_update,
    aggregate_loss,
    group_advantages,
    kl_penalty,
    masked_whiten,
    policy_loss,
    preference_loss,
    rloo_advantages,
    token_entropy,
    token_logprobs,
    value_loss,
)

__all__ += [
    "adaptive_kl_update",
    "aggregate_loss",
    "group_advantages",
    "kl_penalty",
    "masked_whiten",
    "policy_loss",
    "practice_masked_gae",
    "preference_loss",
    "rloo_advantages",
    "token_entropy",
    "token_logprobs",
    "value_loss",
]

def __getattr__(name: str) -> Any:
    """Load a torch-backed name on first access (PEP 562); AttributeError for any other."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
