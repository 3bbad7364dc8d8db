"""Baseline targets (SPEC.md §4): the per-coordinate minimum-variance baseline."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from .. import strategies as cs
from .._calls import Case, MatrixOperator
from ._base import U32, Bound, CanonicalCall, Clause, Convention, Input, Target, add
from ._helpers import FloatArray, _b, _f, elementwise_split, scalar_split


# ---------------------------------------------------------------------------- baselines


def _minvar_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    g2 = _f(inp["grad_logp"]) ** 2
    r = np.abs(_f(inp["returns"]))
    den = g2.sum(axis=0)
    s = np.where(den > 0, (g2.T @ r) / np.where(den > 0, den, 1.0), 0.0)
    m = g2.shape[0]
    return Bound(s, np.full(s.shape, 2.0 * m + 8.0), np.full(s.shape, float(r.max(initial=0.0))),
                 "S_k = Σ_i g_ik²|R_i| / Σ_i g_ik², c = 2m + 8")


def _minvar_split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CanonicalCall | None:
    names = ("grad_logp", "returns", "weights")
    if len(args) + len(kwargs) > 3 or set(kwargs) - set(names):
        return None
    bound = dict(zip(names, args)) | kwargs
    g, r = _f(bound["grad_logp"]), _f(bound["returns"])
    if g.ndim != 2 or r.shape != (g.shape[0],) or g.shape[0] == 0 or g.shape[1] == 0:
        return None
    w = bound.get("weights")
    if w is not None:
        wv = _f(w)
        if wv.shape != r.shape or np.any(wv < 0) or wv.sum() <= 0:
            return None
        g = g * np.sqrt(wv / wv.sum())[:, None]  # Σ w g² R / Σ w g² = the unweighted form on √w·g
    return [{"grad_logp": g, "returns": r}], lambda outs: outs[0]


add(Target(
    "min_variance_baseline", "(grad_logp[m,n], returns[m]) -> [n]", "b_k = Σ_i g_ik² R_i / Σ_i g_ik² (0 where Σ_i g_ik² = 0)",
    "min_variance_baseline", ("grad_logp", "returns"), cs.min_variance_baseline_inputs, _minvar_bound,
    "S_k = Σ_i g_ik²|R_i| / Σ_i g_ik², c = 2m + 8",
    examples=(
        {"grad_logp": np.array([[1.0, 0.0], [2.0, 0.0]]), "returns": np.array([3.0, 5.0])},
        {"grad_logp": np.array([[1.0, 1.0], [1.0, -2.0], [0.0, 1.0]]), "returns": np.array([1.0, -1.0, 4.0])},
        {"grad_logp": np.array([[3.0]]), "returns": np.array([2.0])},
    ),
    section="§4, eq. (4.2)", split=_minvar_split,
    inputs=(Input("grad_logp", "[m,n]"), Input("returns", "[m]")), output="[n]",
    clauses=(Clause("MVB-ZERO-COLUMN", "a coordinate whose scores are all zero (Σ_i g_ik² = 0): b_k is free (it multiplies a zero score); any finite value conforms",
                    lambda i: (_f(i["grad_logp"]) ** 2).sum(axis=0) == 0.0, free=True),),
))
