"""The canonical conformance targets (SPEC.md §13.1), grouped by family.

The declaration API is :mod:`._base` (``Target``, ``Input``, ``Convention``, ``Clause``; read its
docstring); each family module declares its targets with :func:`add` at import:

- :mod:`.rollouts`    returns, td_residuals, gae  ([T] and [T, N])
- :mod:`.ppo_trpo`    ppo_clip, kl_beta_update, natural_step, conjugate_gradient
- :mod:`.baselines`   min_variance_baseline
- :mod:`.preference`  bt_loss, dpo_loss
- :mod:`.token`       kl_rewards ([B, T] with a response mask)

A new family is a new module here and one import line below (the import order is the order of
``diff --list`` and of SPEC.md §13.1).

Tolerance policy (SPEC.md §13.2).  Every target states, for each output element i, a *term
scale* S_i (the size of the terms that element is computed from: Σ|terms| for a sum, the
condition of the operation otherwise) and an *operation count* c_i (the length of the longest
chain of roundings, times the condition number κ for a linear solve).  An output conforms when

    |got_i − expected_i| <= K · c_i · (u32 · S_i + tiny32 · (1 + M_i))          for every i,

with u32 = 2^-24 (float32 unit round-off), K = 2, tiny32 = 2^-126 the float32 underflow
threshold and M_i the largest input magnitude element i depends on.  c_i · u32 · S_i is the
textbook first-order bound on the round-off of a float32 computation of element i, so every
correct float32 implementation stays below it, and an error ten times larger than float32
round-off fails.
"""

from __future__ import annotations

from ._base import (
    DRAWN,
    K,
    TARGETS,
    TINY32,
    U32,
    Bound,
    CanonicalCall,
    Clause,
    Convention,
    Input,
    Target,
    add,
    autograd_vjp,
    get_target,
    in_place_clause,
    linear_vjp,
    normwise_grad_bound,
)
from . import rollouts, ppo_trpo, baselines, preference, token  # noqa: F401,E402  (registration order)
from . import practice  # noqa: F401,E402  (SPEC §17: the practice targets, after the source's)

__all__ = [
    "DRAWN", "K", "TARGETS", "TINY32", "U32", "Bound", "CanonicalCall", "Clause", "Convention", "Input", "Target",
    "add", "autograd_vjp", "get_target", "in_place_clause", "linear_vjp", "normwise_grad_bound",
]
