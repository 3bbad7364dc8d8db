"""Natural-gradient step and conjugate gradient for TRPO (SPEC.md §10)."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._validate import FloatArray, as_float_array, check_positive, check_spd

__all__ = ["natural_step", "conjugate_gradient"]


def natural_step(g: Any, fisher: Any, max_kl: float) -> FloatArray:
    """Δ = sqrt(2δ / gᵀF⁻¹g) F⁻¹g, the maximizer of gᵀΔ s.t. ½ΔᵀFΔ ≤ δ; SPEC.md eq. (10.5).

    Args:
        g: [n], gradient of the surrogate at θ_k.
        fisher: [n, n], symmetric positive definite (the Hessian of the mean KL at θ_k).
        max_kl: δ > 0.
    Returns:
        [n]; the zero vector when g = 0 (no ascent direction exists).
    """
    gv = as_float_array(g, "g", ndim=1)
    f = check_spd(as_float_array(fisher, "fisher", ndim=2), "fisher")
    if f.shape[0] != gv.shape[0]:
        raise ValueError(f"shape mismatch: g{gv.shape} and fisher{f.shape} must be [n] and [n, n]")
    delta = check_positive(max_kl, "max_kl")
    x = np.linalg.solve(f, gv)
    quad = float(gv @ x)
    if quad <= 0.0:
        return np.zeros_like(gv)
    out: FloatArray = np.sqrt(2.0 * delta / quad) * x
    return out


def conjugate_gradient(
    matvec: Callable[[FloatArray], Any], b: Any, iters: int, residual_tol: float = 0.0
) -> FloatArray:
    """Solve A x = b for symmetric positive definite A given only x ↦ A x; SPEC.md eq. (10.7).

    Standard CG from x_0 = 0 (Hestenes and Stiefel 1952); in exact arithmetic it terminates
    in at most n iterations.  Stops early when the squared residual norm is <= residual_tol
    (default 0: stop only on an exact zero residual, which also avoids 0/0).

    Args:
        matvec: x ↦ A x for x of shape [n].
        b: [n].
        iters: maximum number of iterations, >= 0.
    Returns:
        x, shape [n].
    """
    bv = as_float_array(b, "b", ndim=1)
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 0:
        raise ValueError(f"iters: expected an int >= 0, got {iters!r}")
    if not callable(matvec):
        raise TypeError("matvec: expected a callable x -> A x")
    x = np.zeros_like(bv)
    r = bv.copy()
    p = r.copy()
    rs = float(r @ r)
    for _ in range(int(iters)):
        if rs <= residual_tol or rs == 0.0:
            break
        ap = as_float_array(matvec(p), "matvec(p)", ndim=1)
        if ap.shape != bv.shape:
            raise ValueError(f"matvec: returned shape {ap.shape}, expected {bv.shape}")
        pap = float(p @ ap)
        if pap <= 0.0:
            raise ValueError("matvec: the operator is not positive definite (pᵀAp <= 0)")
        alpha = rs / pap
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = float(r @ r)
        p = r + (rs_new / rs) * p
        rs = rs_new
    return x
