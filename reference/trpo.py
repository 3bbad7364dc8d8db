"""TRPO: surrogate advantage, mean KL, their Taylor models, the natural step, conjugate gradient,
the Fisher-vector product and the backtracking line search (SPEC.md §10).

The policy in the closed-form functions is a tabular softmax, π_θ(a|s) = softmax(θ[s])_a with
θ ∈ ℝ^{S×A}, and the expectation over states is taken under a given state distribution d(s)
(for TRPO the visitation distribution of the old policy π_θk).  Parameters are flattened
row-major (coordinate s·A + a is θ[s, a]) wherever a vector in parameter space is returned.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ._validate import (
    FloatArray,
    as_float_array,
    as_scalar,
    check_distribution,
    check_int,
    check_nonnegative,
    check_positive,
    check_psd,
    check_spd,
)
from ._torch import single_thread
from .mdp import log_softmax_policy

__all__ = [
    "backtracking_line_search",
    "conjugate_gradient",
    "fisher_matrix",
    "fisher_vector_product",
    "kl_taylor",
    "mean_kl",
    "natural_step",
    "surrogate_advantage",
    "surrogate_gradient",
    "surrogate_taylor",
    "trpo_step",
]

#: trpo_step stops conjugate gradient once ‖r‖ <= CG_RELATIVE_TOL ‖g‖.  The tabular Fisher matrix
#: is singular; iterating past convergence would amplify round-off in its null space.
CG_RELATIVE_TOL = 1e-12


def _tabular(logits: Any, state_dist: Any, name: str = "logits") -> tuple[FloatArray, FloatArray]:
    th = as_float_array(logits, name, ndim=2)
    if th.shape[1] == 0:
        raise ValueError(f"{name}: need at least one action")
    d = check_distribution(as_float_array(state_dist, "state_dist", ndim=1), "state_dist")
    if d.shape[0] != th.shape[0]:
        raise ValueError(f"shape mismatch: {name}{th.shape} is [S, A] so state_dist must be [S] = [{th.shape[0]}], got {d.shape}")
    return th, d


def _same_table(a: FloatArray, b: Any, name: str) -> FloatArray:
    arr = as_float_array(b, name, ndim=2)
    if arr.shape != a.shape:
        raise ValueError(f"shape mismatch: {name}{arr.shape} must have the shape of logits_old{a.shape}")
    return arr


def surrogate_advantage(logits: Any, logits_old: Any, advantages: Any, state_dist: Any) -> float:
    """L(θ_k, θ) = E_{s~d, a~π_θk}[(π_θ(a|s)/π_θk(a|s)) A(s, a)]; SPEC.md eq. (10.2).

    Computed as the importance-weighted sum Σ_s d(s) Σ_a π_θk(a|s) ρ(s, a) A(s, a) with
    ρ = exp(log π_θ − log π_θk), which equals Σ_s d(s) Σ_a π_θ(a|s) A(s, a).  At θ = θ_k it is
    E[A], which is 0 when A is the exact advantage of π_θk.

    Args:
        logits: θ, [S, A].
        logits_old: θ_k, [S, A].
        advantages: A(s, a), [S, A] (A^{π_θk} in TRPO).
        state_dist: d(s), [S].
    """
    th_k, d = _tabular(logits_old, state_dist, "logits_old")
    th = _same_table(th_k, logits, "logits")
    adv = _same_table(th_k, advantages, "advantages")
    lp, lk = log_softmax_policy(th), log_softmax_policy(th_k)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        weighted = np.exp(lk) * np.exp(lp - lk)
    # where π_θk underflows and ρ overflows (0 · inf) the product is π_θ itself
    weighted = np.where(np.isfinite(weighted), weighted, np.exp(lp))
    return float(d @ (weighted * adv).sum(axis=1))


def mean_kl(logits: Any, logits_old: Any, state_dist: Any) -> float:
    """D̄_KL(θ ‖ θ_k) = E_{s~d}[KL(π_θ(·|s) ‖ π_θk(·|s))]; SPEC.md eq. (10.3).

    The direction is the source's (S10.3): the expectation inside each KL is under the *new*
    policy π_θ (as in sb3-contrib).  The reverse direction KL(π_θk ‖ π_θ) of Schulman et al.
    (2015) has the same value 0, gradient 0 and Hessian (the Fisher matrix) at θ = θ_k and
    differs from third order on (SPEC.md §14.3).

    Args:
        logits: θ, [S, A].
        logits_old: θ_k, [S, A].
        state_dist: d(s), [S].
    """
    th_k, d = _tabular(logits_old, state_dist, "logits_old")
    th = _same_table(th_k, logits, "logits")
    lp, lk = log_softmax_policy(th), log_softmax_policy(th_k)
    per_state = np.maximum((np.exp(lp) * (lp - lk)).sum(axis=1), 0.0)
    return float(d @ per_state)


def surrogate_gradient(logits_old: Any, advantages: Any, state_dist: Any) -> FloatArray:
    """g = ∇_θ L(θ_k, θ) at θ = θ_k, flattened [S·A]; SPEC.md eq. (10.4).

    g[s, a] = d(s) π_θk(a|s) (A(s, a) − Σ_b π_θk(b|s) A(s, b)): the policy gradient
    E_{s~d, a~π_θk}[∇ log π_θk(a|s) A(s, a)].
    """
    th_k, d = _tabular(logits_old, state_dist, "logits_old")
    adv = _same_table(th_k, advantages, "advantages")
    pi = np.exp(log_softmax_policy(th_k))
    centred = adv - (pi * adv).sum(axis=1, keepdims=True)
    out: FloatArray = (d[:, None] * pi * centred).reshape(-1)
    return out


def fisher_matrix(logits: Any, state_dist: Any) -> FloatArray:
    """F = E_{s~d, a~π_θ}[∇_θ log π_θ(a|s) ∇_θ log π_θ(a|s)ᵀ], [S·A, S·A]; SPEC.md eq. (10.4).

    Built from its definition, one outer product per (s, a) weighted by d(s) π_θ(a|s); it is
    block diagonal with blocks d(s)(diag π_s − π_s π_sᵀ), symmetric positive semi-definite, and
    singular (adding a constant to one state's logits does not change the policy).  At θ = θ_k
    it is the Hessian of D̄_KL (claim TRPO-FVP-IS-FISHER).
    """
    th, d = _tabular(logits, state_dist)
    n_s, n_a = th.shape
    pi = np.exp(log_softmax_policy(th))
    scores = np.zeros((n_s, n_a, n_s, n_a))
    for s in range(n_s):
        for a in range(n_a):
            scores[s, a, s] = -pi[s]
            scores[s, a, s, a] += 1.0
    flat = scores.reshape(n_s * n_a, n_s * n_a)
    w = (d[:, None] * pi).reshape(-1)
    out: FloatArray = np.einsum("k,ki,kj->ij", w, flat, flat)
    return out


def surrogate_taylor(g: Any, step: Any) -> float:
    """First-order model of the surrogate, L(θ_k, θ_k + Δ) − L(θ_k, θ_k) ≈ gᵀΔ; SPEC.md eq. (10.4)."""
    gv = as_float_array(g, "g", ndim=1)
    dv = as_float_array(step, "step", ndim=1)
    if dv.shape != gv.shape:
        raise ValueError(f"shape mismatch: g{gv.shape} and step{dv.shape} must match")
    return float(gv @ dv)


def kl_taylor(fisher: Any, step: Any) -> float:
    """Second-order model of the mean KL, D̄_KL(θ_k + Δ ‖ θ_k) ≈ ½ ΔᵀHΔ; SPEC.md eq. (10.4).

    The constant and linear terms vanish: D̄_KL and its gradient are 0 at θ = θ_k.

    Args:
        fisher: H, [n, n], symmetric positive semi-definite (the tabular Fisher matrix is singular);
            an asymmetric or indefinite matrix is a ValueError.
        step: Δ, [n].
    """
    h = as_float_array(fisher, "fisher", ndim=2)
    dv = as_float_array(step, "step", ndim=1)
    if h.shape != (dv.shape[0], dv.shape[0]):
        raise ValueError(f"shape mismatch: fisher{h.shape} must be [n, n] for step{dv.shape}")
    check_psd(h, "fisher")
    return float(0.5 * dv @ h @ dv)


def fisher_vector_product(logits_old: Any, state_dist: Any, x: Any, *, damping: float = 0.0) -> FloatArray:
    """Hx = ∇_θ((∇_θ D̄_KL(θ ‖ θ_k))ᵀ x) at θ = θ_k, by double backpropagation; SPEC.md eq. (10.8).

    The inner gradient is taken with θ_k held fixed (it is the reference point of the KL, not a
    variable), then differentiated again along x; the matrix H is never formed.  With damping
    λ > 0 the product is (H + λI)x.

    Args:
        logits_old: θ_k, [S, A].
        state_dist: d(s), [S].
        x: [S·A].
        damping: λ >= 0.
    Returns:
        [S·A].
    """
    import torch

    th_k, d = _tabular(logits_old, state_dist, "logits_old")
    xv = as_float_array(x, "x", ndim=1)
    if xv.shape[0] != th_k.size:
        raise ValueError(f"shape mismatch: x{xv.shape} must be [S·A] = [{th_k.size}]")
    lam = check_nonnegative(damping, "damping")
    with single_thread():
        ref = torch.log_softmax(torch.as_tensor(th_k, dtype=torch.float64), dim=1).detach()
        theta = torch.tensor(th_k, dtype=torch.float64, requires_grad=True)
        logp = torch.log_softmax(theta, dim=1)
        kl = (torch.as_tensor(d) * (logp.exp() * (logp - ref)).sum(dim=1)).sum()
        (grad,) = torch.autograd.grad(kl, theta, create_graph=True)
        vec = torch.as_tensor(xv.reshape(th_k.shape))
        (hvp,) = torch.autograd.grad((grad * vec).sum(), theta)
    out: FloatArray = hvp.detach().numpy().reshape(-1).astype(np.float64) + lam * xv
    return out


def natural_step(g: Any, fisher: Any, max_kl: float, *, damping: float = 0.0) -> FloatArray:
    """Δ = sqrt(2δ / gᵀF⁻¹g) F⁻¹g, the maximizer of gᵀΔ s.t. ½ΔᵀFΔ ≤ δ; SPEC.md eq. (10.5).

    With damping λ > 0, F is replaced by F + λI throughout (the constraint included).

    Args:
        g: [n], n >= 1, gradient of the surrogate at θ_k.
        fisher: [n, n], symmetric positive definite (the Hessian of the mean KL at θ_k), or the
            Fisher-vector product x ↦ F x as a callable (what TRPO code has); the callable is
            applied to the n unit vectors (exact for a linear operator) and the matrix solved.
        max_kl: δ > 0.
        damping: λ >= 0.
    Returns:
        [n]; the zero vector when g = 0 (no ascent direction exists).

    Δ does not depend on the scale of g, so g is rescaled before anything is squared: with
    u = g / 2^e, 2^(e−1) <= ‖g‖∞ < 2^e (an exact power-of-two division), Δ = sqrt(2δ / uᵀ(F + λI)⁻¹u)
    (F + λI)⁻¹u.  c·g for any c > 0 with c·g representable (1e-160 and 1e160 included) gives the
    same finite Δ as g (gᵀF⁻¹g itself would underflow to 0 or overflow to inf there).
    """
    gv = as_float_array(g, "g", ndim=1)
    if gv.shape[0] == 0:
        raise ValueError("g: empty gradient (n = 0): there is no step to take")
    if callable(fisher):
        n = gv.shape[0]
        cols = [as_float_array(fisher(np.eye(n)[:, j]), "fisher(e_j)", ndim=1) for j in range(n)]
        if any(c.shape != gv.shape for c in cols):
            raise ValueError(f"fisher: the matrix-vector product returned a shape other than g's {gv.shape}")
        f = np.column_stack(cols) if cols else np.zeros((0, 0))
    else:
        f = as_float_array(fisher, "fisher", ndim=2)
    if f.shape != (gv.shape[0], gv.shape[0]):
        raise ValueError(f"shape mismatch: g{gv.shape} and fisher{f.shape} must be [n] and [n, n]")
    lam = check_nonnegative(damping, "damping")
    f = check_spd(f + lam * np.eye(gv.shape[0]), "fisher")
    delta = check_positive(max_kl, "max_kl")
    gmax = float(np.max(np.abs(gv)))
    if gmax == 0.0:
        return np.zeros_like(gv)
    u = np.ldexp(gv, -int(np.frexp(gmax)[1]))  # exact: g / 2^e with ‖u‖∞ in [1/2, 1)
    x = np.linalg.solve(f, u)
    quad = float(u @ x)
    if quad <= 0.0:
        return np.zeros_like(gv)
    out: FloatArray = np.sqrt(2.0 * delta / quad) * x
    return out


def conjugate_gradient(
    matvec: Callable[[FloatArray], Any],
    b: Any,
    iters: int,
    residual_tol: float = 0.0,
    *,
    damping: float = 0.0,
) -> FloatArray:
    """Solve (A + λI) x = b for symmetric positive definite A given only x ↦ A x; SPEC.md eq. (10.7).

    Standard CG from x_0 = 0 (Hestenes and Stiefel 1952): α_k = r_kᵀr_k / p_kᵀAp_k,
    x_{k+1} = x_k + α_k p_k, r_{k+1} = r_k − α_k A p_k, β_k = r_{k+1}ᵀr_{k+1} / r_kᵀr_k,
    p_{k+1} = r_{k+1} + β_k p_k.  In exact arithmetic it terminates in at most n iterations
    (at most the number of distinct eigenvalues); in floating point see claim TRPO-CG-SOLVES.
    Stops early when the squared residual norm is <= residual_tol (default 0: only on an exact
    zero residual).  A positive semi-definite A also works when b lies in its range (the TRPO
    Fisher matrix): the iterates stay in the range, and once the residual is small
    (‖r‖ <= 1e-10 ‖b‖) a curvature pᵀAp <= 0 left by round-off in the null space ends the
    iteration instead of raising.

    Args:
        matvec: x ↦ A x for x of shape [n].
        b: [n], n >= 1 (an empty system is a ValueError).
        iters: maximum number of iterations, an int >= 0 (another type is a TypeError).
        residual_tol: stop when rᵀr <= residual_tol.
        damping: λ >= 0, added to the diagonal (TRPO's damping, e.g. 0.1).
    Returns:
        x, shape [n].
    """
    bv = as_float_array(b, "b", ndim=1)
    if bv.shape[0] == 0:
        raise ValueError("b: empty right-hand side (n = 0): there is no system to solve")
    if isinstance(iters, (bool, np.bool_)) or not isinstance(iters, (int, np.integer)):
        raise TypeError(f"iters: expected an int >= 0, got {type(iters).__name__}")
    if iters < 0:
        raise ValueError(f"iters: expected an int >= 0, got {iters!r}")
    if not callable(matvec):
        raise TypeError("matvec: expected a callable x -> A x")
    tol = check_nonnegative(residual_tol, "residual_tol")
    lam = check_nonnegative(damping, "damping")
    x = np.zeros_like(bv)
    r = bv.copy()
    p = r.copy()
    rs = float(r @ r)
    converged = 1e-20 * rs  # ‖r‖ <= 1e-10 ‖b‖
    for _ in range(int(iters)):
        if rs <= tol or rs == 0.0:
            break
        try:
            ap_raw = matvec(p)
        except (ValueError, TypeError, IndexError) as exc:
            raise ValueError(
                f"b: matvec failed on a vector of b's shape {bv.shape} (does b's length match the operator?): {exc}"
            ) from exc
        ap = as_float_array(ap_raw, "matvec(p)", ndim=1)
        if ap.shape != bv.shape:
            raise ValueError(f"matvec: returned shape {ap.shape}, but b has shape {bv.shape}: b's length must match the operator")
        if lam:
            ap = ap + lam * p
        pap = float(p @ ap)
        if pap <= 0.0:
            if rs <= converged:
                break
            raise ValueError("matvec: the operator is not positive definite (pᵀAp <= 0)")
        alpha = rs / pap
        x = x + alpha * p
        r = r - alpha * ap
        rs_new = float(r @ r)
        p = r + (rs_new / rs) * p
        rs = rs_new
    return x


def backtracking_line_search(
    objective: Callable[[FloatArray], float],
    constraint: Callable[[FloatArray], float],
    theta: Any,
    full_step: Any,
    max_constraint: float,
    *,
    backtrack_coef: float = 0.8,
    max_backtracks: int = 10,
) -> tuple[FloatArray, int | None]:
    """TRPO's backtracking line search; SPEC.md eq. (10.6).

    Tries θ_j = θ_k + α^j Δ for j = 0, 1, ..., max_backtracks − 1 and returns the first θ_j that
    satisfies the constraint, constraint(θ_j) <= δ (non-strict), and strictly improves the
    objective, objective(θ_j) > objective(θ_k).  For TRPO the objective is the surrogate
    L(θ_k, ·) and the constraint the mean KL D̄_KL(· ‖ θ_k).

    Args:
        objective: θ ↦ the surrogate value (to maximize).
        constraint: θ ↦ the mean KL.
        theta: θ_k (any shape; the callables receive arrays of this shape).
        full_step: Δ, the shape of theta (the natural step of eq. 10.5).
        max_constraint: δ > 0.
        backtrack_coef: α in (0, 1).
        max_backtracks: number of step sizes tried, >= 1.
    Returns:
        (θ_j, j) for the smallest admissible j, or (a copy of θ_k, None) when none is.
    """
    th = as_float_array(theta, "theta")
    step = as_float_array(full_step, "full_step")
    if step.shape != th.shape:
        raise ValueError(f"shape mismatch: theta{th.shape} and full_step{step.shape} must match")
    delta = check_positive(max_constraint, "max_constraint")
    alpha = as_scalar(backtrack_coef, "backtrack_coef")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"backtrack_coef: must lie in (0, 1), got {alpha}")
    n_back = check_int(max_backtracks, "max_backtracks", 1)
    if not callable(objective):
        raise TypeError("objective: expected a callable theta -> float")
    if not callable(constraint):
        raise TypeError("constraint: expected a callable theta -> float")
    base = as_scalar(objective(th.copy()), "objective(theta)")
    for j in range(n_back):
        if j and not np.any(alpha**j * step):
            break  # α^j Δ has underflowed to 0: θ_j = θ_k cannot strictly improve (a huge max_backtracks ends here)
        cand = th + alpha**j * step
        kl = as_scalar(constraint(cand.copy()), "constraint(theta_j)")
        if kl <= delta and as_scalar(objective(cand.copy()), "objective(theta_j)") > base:
            return cand, j
    return th.copy(), None


def trpo_step(
    logits_old: Any,
    advantages: Any,
    state_dist: Any,
    max_kl: float,
    *,
    cg_iters: int = 10,
    damping: float = 0.0,
    backtrack_coef: float = 0.8,
    max_backtracks: int = 10,
) -> tuple[FloatArray, int | None]:
    """One TRPO update of a tabular softmax policy; SPEC.md eq. (10.9).

    g = ∇L(θ_k, θ)|θ_k (eq. 10.4); x ≈ (H + λI)⁻¹g by conjugate gradient on Fisher-vector
    products (eqs. 10.7, 10.8), stopped at ‖r‖ <= 1e-12 ‖g‖ (for the singular tabular Fisher
    matrix it converges to the minimum-norm solution H⁺g); Δ = sqrt(2δ / xᵀ(H + λI)x) x (eq. 10.5 with the CG solution);
    then the backtracking line search on the exact surrogate and mean KL (eq. 10.6).

    Args:
        logits_old: θ_k, [S, A].
        advantages: A^{π_θk}(s, a), [S, A].
        state_dist: d(s), [S].
        max_kl: δ > 0.
        cg_iters: CG iterations (10, as in Spinning Up and sb3-contrib).
        damping: λ >= 0 added to the Fisher matrix (sb3-contrib and Spinning Up use 0.1).
        backtrack_coef, max_backtracks: the line search's α and number of tries.
    Returns:
        (θ_{k+1} as [S, A], j): j is None and θ_{k+1} = θ_k when no step is accepted
        (including g = 0 up to round-off: ‖g‖∞ <= 64 ulp · max|A|).
    """
    th_k, d = _tabular(logits_old, state_dist, "logits_old")
    adv = _same_table(th_k, advantages, "advantages")
    delta = check_positive(max_kl, "max_kl")
    lam = check_nonnegative(damping, "damping")
    n_cg = check_int(cg_iters, "cg_iters", 0)
    # the line search's own arguments, checked before any early return
    alpha = as_scalar(backtrack_coef, "backtrack_coef")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"backtrack_coef: must lie in (0, 1), got {alpha}")
    n_back = check_int(max_backtracks, "max_backtracks", 1)
    g = surrogate_gradient(th_k, adv, d)
    # g is a sum of terms of size <= max|A|; below 64 ulps of that it is round-off of an exact 0
    # (e.g. advantages constant in each state), there is no ascent direction, and CG on noise in
    # the Fisher matrix's null space would fail.
    if float(np.max(np.abs(g), initial=0.0)) <= 64.0 * np.finfo(np.float64).eps * float(np.max(np.abs(adv), initial=0.0)):
        return th_k.copy(), None

    def hvp(v: FloatArray) -> FloatArray:
        return fisher_vector_product(th_k, d, v, damping=lam)

    x = conjugate_gradient(hvp, g, n_cg, residual_tol=CG_RELATIVE_TOL**2 * float(g @ g))
    shs = float(x @ hvp(x)) if np.any(x) else 0.0
    if shs <= 0.0:
        return th_k.copy(), None
    step = (np.sqrt(2.0 * delta / shs) * x).reshape(th_k.shape)
    new, j = backtracking_line_search(
        lambda t: surrogate_advantage(t, th_k, adv, d),
        lambda t: mean_kl(t, th_k, d),
        th_k,
        step,
        delta,
        backtrack_coef=alpha,
        max_backtracks=n_back,
    )
    return new, j
