"""Conformance harness: diff any implementation against the reference (SPEC.md §13).

>>> from verification.conformance import check, assert_conforms, reference, targets
>>> res = check("gae", my_gae)             # doctest: +SKIP
>>> res.conforms, res.counterexample, res.max_error, res.claims_broken   # doctest: +SKIP
>>> assert_conforms("ppo_clip", my_ppo_clip)   # raises AssertionError with the report  # doctest: +SKIP

Every target has a canonical signature (``targets()`` lists them, ``python -m verification diff
--list`` prints them with their conventions and clauses).  ``check`` delivers numpy float64 inputs
by default, torch tensors with ``inputs="torch"``, float32 with ``dtype="float32"``; ``grad=True``
also checks vector–Jacobian products; ``fix={...}`` pins conventions (``done``, ``layout``,
``reduction``, ``gamma``, ...); ``allow=(...)`` accepts deviations on named clauses.  The
Hypothesis strategies that generate each target's inputs are exported (``strategy("gae")``,
``gae_inputs()``, ...) for your own tests.
"""

from __future__ import annotations

from typing import Any, Callable

from hypothesis.strategies import SearchStrategy

from ._calls import Case, MatrixOperator
from .harness import ConformanceResult, Verdict, assert_conforms, check, evaluate, snippet
from .loader import ImplementationLoadError, load_implementation
from .strategies import (
    bt_loss_inputs,
    conjugate_gradient_inputs,
    dpo_loss_inputs,
    gae_inputs,
    kl_beta_update_inputs,
    kl_rewards_inputs,
    min_variance_baseline_inputs,
    natural_step_inputs,
    ppo_clip_inputs,
    returns_inputs,
    rollouts,
    spd_matrices,
    td_residuals_inputs,
)
from .targets import DRAWN, TARGETS, Clause, Convention, Input, Target, get_target

__all__ = [
    "Case",
    "Clause",
    "Convention",
    "DRAWN",
    "Input",
    "ConformanceResult",
    "ImplementationLoadError",
    "MatrixOperator",
    "TARGETS",
    "Target",
    "Verdict",
    "assert_conforms",
    "bt_loss_inputs",
    "check",
    "conjugate_gradient_inputs",
    "dpo_loss_inputs",
    "evaluate",
    "gae_inputs",
    "get_target",
    "kl_beta_update_inputs",
    "kl_rewards_inputs",
    "load_implementation",
    "min_variance_baseline_inputs",
    "natural_step_inputs",
    "ppo_clip_inputs",
    "reference",
    "returns_inputs",
    "rollouts",
    "snippet",
    "spd_matrices",
    "strategy",
    "targets",
    "td_residuals_inputs",
]


def reference(target: str) -> Callable[..., Any]:
    """The reference implementation of ``target`` (a function of :mod:`reference`)."""
    return get_target(target).reference


def targets() -> list[Target]:
    """Every canonical target, in SPEC.md §13.1's order."""
    return list(TARGETS.values())


def strategy(target: str) -> SearchStrategy[Case]:
    """The Hypothesis strategy of ``target``'s inputs (a strategy of :class:`Case`)."""
    return get_target(target).strategy()
