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

import importlib
from typing import TYPE_CHECKING, Any, Callable

# Names load on first access (PEP 562): the CLI spawns the worker before the harness loads.
# The target table is the subpackage ``table``, not ``targets``: importing a submodule binds its
# name in this package, which would replace the function ``targets()`` below.
if TYPE_CHECKING:
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
    from .table import DRAWN, TARGETS, Clause, Convention, Input, Target, get_target

_LAZY = (
    {"Case": "._calls", "MatrixOperator": "._calls", "ImplementationLoadError": ".loader", "load_implementation": ".loader"}
    | {n: ".harness" for n in ("ConformanceResult", "Verdict", "assert_conforms", "check", "evaluate", "snippet")}
    | {n: ".strategies" for n in (
        "bt_loss_inputs", "conjugate_gradient_inputs", "dpo_loss_inputs", "gae_inputs", "kl_beta_update_inputs",
        "kl_rewards_inputs", "min_variance_baseline_inputs", "natural_step_inputs", "ppo_clip_inputs", "returns_inputs",
        "rollouts", "spd_matrices", "td_residuals_inputs")}
    | {n: ".table" for n in ("DRAWN", "TARGETS", "Clause", "Convention", "Input", "Target", "get_target")}
)

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


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def reference(target: str) -> Callable[..., Any]:
    """The reference implementation of ``target`` (a function of :mod:`reference`)."""
    from .table import get_target

    return get_target(target).reference


def targets() -> list[Target]:
    """Every canonical target, in SPEC.md §13.1's order."""
    from .table import TARGETS

    return list(TARGETS.values())


def strategy(target: str) -> SearchStrategy[Case]:
    """The Hypothesis strategy of ``target``'s inputs (a strategy of :class:`Case`)."""
    from .table import get_target

    return get_target(target).strategy()
