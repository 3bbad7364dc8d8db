"""Implementations written the way RL and RLHF libraries write them (torch, [B, T] batches with
response masks, masked-mean scalar losses, CleanRL's and SB3's done conventions, γ and λ fixed,
CG with cg_iters = 10 and damping 0.1), diffed as written, without adapters, by
tests/test_conformance_v2.py.  ``CASES`` says, for each, the target and the options of the diff
(the conventions it follows, pinned with ``--fix``)."""

from __future__ import annotations

from typing import Any

#: module:function -> (target, keyword arguments of ``check`` / the ``diff`` options they stand for)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "tests.library_style.cleanrl_gae:compute_gae": ("gae", {"inputs": "torch", "dtype": "float32", "fix": {"done": "cleanrl", "layout": "[T,N]", "gamma": 0.99, "lam": 0.95}}),
    "tests.library_style.sb3_gae:compute_returns_and_advantage": ("gae", {"fix": {"done": "sb3", "layout": "[T,N]"}}),
    "tests.library_style.rlhf_gae:get_advantages": ("gae", {"inputs": "torch", "dtype": "float32", "grad": True, "fix": {"layout": "[B,T]", "gamma": 1.0, "lam": 0.95}}),
    "tests.library_style.ppo_loss:policy_loss": ("ppo_clip", {"inputs": "torch", "dtype": "float32", "grad": True, "fix": {"reduction": "masked_mean", "epsilon": 0.2}}),
    "tests.library_style.ppo_loss:clipped_objective": ("ppo_clip", {"inputs": "torch", "dtype": "float32", "grad": True}),
    "tests.library_style.dpo:dpo_loss_from_tokens": ("dpo_loss", {"inputs": "torch", "dtype": "float32", "grad": True, "fix": {"layout": "[B,T]"}}),
    "tests.library_style.dpo:dpo_loss": ("dpo_loss", {"inputs": "torch", "dtype": "float32", "grad": True, "fix": {"beta": 0.1}}),
    "tests.library_style.reward_model:pairwise_loss": ("bt_loss", {"inputs": "torch", "dtype": "float32", "grad": True}),
    "tests.library_style.kl_shaping:compute_rewards": ("kl_rewards", {"inputs": "torch", "dtype": "float32", "grad": True}),
    "tests.library_style.trpo:conjugate_gradient": ("conjugate_gradient", {"inputs": "torch", "dtype": "float32", "fix": {"iters": 10, "damping": 0.1}}),
    "tests.library_style.trpo:natural_step": ("natural_step", {"inputs": "torch", "dtype": "float32", "fix": {"fisher_form": "matvec", "damping": 0.1}}),
    "tests.library_style.returns:discounted_returns": ("returns", {"inputs": "torch", "dtype": "float32", "grad": True, "fix": {"layout": "[T,N]"}}),
    "tests.library_style.returns:td_errors": ("td_residuals", {"inputs": "torch", "dtype": "float32", "grad": True, "fix": {"layout": "[T,N]"}}),
}
