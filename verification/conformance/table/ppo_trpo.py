"""PPO and TRPO targets (SPEC.md §9, §10): the clipped surrogate, the adaptive KL β, the natural step, CG."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from .. import strategies as cs
from .._calls import Case, MatrixOperator
import reference

from ._base import K, U32, Bound, CanonicalCall, Clause, Convention, Input, Target, add, autograd_vjp, normwise_grad_bound
from ._helpers import FloatArray, _b, _f, elementwise_split, scalar_split


# --------------------------------------------------------------------------------------- PPO


def _ppo_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    lp, lo, a = _f(inp["logp_new"]), _f(inp["logp_old"]), np.abs(_f(inp["advantages"]))
    eps = float(inp["epsilon"])
    with np.errstate(over="ignore"):
        rho = np.exp(lp - lo)
    s = a * np.maximum(rho, 1.0 + eps) * (np.abs(lp) + np.abs(lo) + 2.0)
    return Bound(s, np.full(s.shape, 8.0), a * np.maximum(rho, 1.0 + eps), "S_i = |A_i|·max(ρ_i, 1+ε)·(|logp_new_i| + |logp_old_i| + 2) (exp amplifies the rounding of the log-probs), c = 8")


def _kl_beta_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    b = np.asarray(2.0 * abs(float(inp["beta"])))  # the largest possible output, 2β
    return Bound(b, np.asarray(2.0), b, "S = 2β, c = 2; within float32 rounding of a band edge either neighbouring branch is accepted")


def _kl_beta_alternatives(inp: Mapping[str, Any]) -> list[FloatArray]:
    beta, kl, tgt = float(inp["beta"]), float(inp["kl"]), float(inp["kl_target"])
    near = 8.0 * U32 * max(kl, tgt)
    alts = []
    if abs(kl - tgt / 1.5) <= near:
        alts += [np.asarray(beta / 2.0), np.asarray(beta)]
    if abs(kl - tgt * 1.5) <= near:
        alts += [np.asarray(beta), np.asarray(beta * 2.0)]
    return alts


# -------------------------------------------------------------------------------------- TRPO


def _solve_bound(matrix: FloatArray, expected: FloatArray, per_n: float, rule: str) -> Bound:
    n = matrix.shape[0]
    kappa = float(np.linalg.cond(matrix))
    s = np.full(expected.shape, float(np.max(np.abs(expected))) if expected.size else 0.0)
    ops = np.full(expected.shape, kappa * math.sqrt(n) * (per_n * n + 8.0))
    return Bound(s, ops, np.zeros(expected.shape), rule)


def _natural_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    f = _f(inp["fisher"])
    return _solve_bound(f + float(inp.get("damping", 0.0)) * np.eye(f.shape[0]), expected, 2.0, "norm-wise: S = max_i |Δ_i|, c = κ₂(F)·√n·(2n + 8) (a float32 solve loses κ·u)")


def _cg_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    op = inp["matvec"]
    a = op.matrix if isinstance(op, MatrixOperator) else _f(op)
    a = a + float(inp.get("damping", 0.0)) * np.eye(a.shape[0])
    bound = _solve_bound(a, expected, 4.0, "norm-wise: S = max_i |x_i|, c = κ₂(A)·√n·(4n + 8), times a further κ₂(A) for an iterate k < n + 2")
    if int(inp["iters"]) < a.shape[0] + 2:
        # An iterate x_k before convergence (k < n + 2) is far more sensitive to round-off than the
        # solution (a float32 CG loses the orthogonality of its directions): correct float32 CGs
        # reached error/tolerance 1.13 (n = 9, k = 6), 3.58 (n = 6) and 12.6 (n = 15) under
        # κ·√n·(4n + 8), so the bound there is κ²·√n·(4n + 8).
        return Bound(bound.scale, bound.ops * float(np.linalg.cond(a)), bound.magnitude, bound.rule)
    return bound


def _cg_reference_kwargs(inp: Mapping[str, Any]) -> dict[str, Any]:
    """Stop the float64 reference once ‖r‖ <= 1e-14‖b‖: iterating on a round-off residual can
    underflow pᵀAp to 0, which the reference (rightly, for a real operator) reports as not SPD."""
    b = _f(inp["b"])
    return {"residual_tol": float((1e-14 * np.linalg.norm(b)) ** 2)}


def _natural_split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CanonicalCall | None:
    names = ("g", "fisher", "max_kl")
    if len(args) + len(kwargs) != 3 or set(kwargs) - set(names):
        return None
    bound = dict(zip(names, args)) | kwargs
    g, f = _f(bound["g"]), _f(bound["fisher"])
    if g.ndim != 1 or f.shape != (g.shape[0], g.shape[0]) or g.shape[0] == 0 or np.linalg.cond(f) > 1e4:
        return None
    return [{"g": g, "fisher": f, "max_kl": float(bound["max_kl"])}], lambda outs: outs[0]


def _cg_split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CanonicalCall | None:
    names = ("matvec", "b", "iters", "residual_tol")
    if len(args) + len(kwargs) > 4 or set(kwargs) - set(names):
        return None
    bound = dict(zip(names, args)) | kwargs
    if float(bound.get("residual_tol", 0.0)) != 0.0 or "iters" not in bound or "b" not in bound:
        return None
    b = _f(bound["b"])
    n = b.shape[0] if b.ndim == 1 else 0
    if n == 0 or int(bound["iters"]) < n + 2:
        return None
    mv = bound["matvec"]
    a = np.column_stack([_f(mv(np.eye(n)[:, j])) for j in range(n)])  # materialize the operator
    if not np.allclose(a, a.T, rtol=0, atol=1e-12 * max(1.0, float(np.abs(a).max()))) or np.linalg.cond(a) > 1e4:
        return None
    try:
        np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        return None
    return [{"matvec": MatrixOperator((a + a.T) / 2), "b": b, "iters": int(bound["iters"])}], lambda outs: outs[0]


# ------------------------------------------------------------------ declarations (conventions, clauses)


def _ppo_log_ratio(i: Mapping[str, Any]) -> FloatArray:
    out: FloatArray = _f(i["logp_new"]) - _f(i["logp_old"])
    return out


def _ppo_edge(i: Mapping[str, Any]) -> NDArray[np.bool_]:
    """ρ within float32 rounding of a band edge: the objective has a kink there, its gradient is either side's."""
    eps = float(i["epsilon"])
    d = _ppo_log_ratio(i)
    tol = 16.0 * U32 * (np.abs(_f(i["logp_new"])) + np.abs(_f(i["logp_old"])) + 1.0)
    out: NDArray[np.bool_] = (np.abs(d - math.log1p(eps)) <= tol) | (np.abs(d - math.log1p(-eps)) <= tol)
    return out


def _ppo_clauses() -> tuple[Clause, ...]:
    return (
        Clause("PPO-ADV-ZERO", "A = 0: the objective is 0 whatever the ratio", lambda i: _f(i["advantages"]) == 0.0),
        Clause("PPO-CLIP-HIGH", "A > 0 and ρ > 1 + ε: the clipped branch (1 + ε)A, no gradient",
               lambda i: (_f(i["advantages"]) > 0) & (_ppo_log_ratio(i) > math.log1p(float(i["epsilon"])))),
        Clause("PPO-CLIP-LOW", "A < 0 and ρ < 1 − ε: the clipped branch (1 − ε)A, no gradient",
               lambda i: (_f(i["advantages"]) < 0) & (_ppo_log_ratio(i) < math.log1p(-float(i["epsilon"])))),
        Clause("PPO-BAND-EDGE", "ρ on a band edge (within float32 rounding): the gradient may be either side's", _ppo_edge, grad_free=True),
    )


def _ppo_twin(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    return reference.ppo_clip_torch(logp_new, logp_old, advantages, epsilon)


_REDUCTION = Convention(
    "reduction", "none", ("masked_mean",),
    "none: the per-sample objective [N] (default); masked_mean: the scalar loss −Σ m·L / Σ m over [B, T] inputs with a response "
    "mask, called as (logp_new[B,T], logp_old[B,T], advantages[B,T], mask[B,T], epsilon), the way PPO trainers write it",
)


def _masked(conv: Mapping[str, Any]) -> bool:
    return bool(conv.get("reduction", "none") == "masked_mean")


def _ppo_weights(inp: Mapping[str, Any]) -> FloatArray:
    m = _b(inp["mask"]).astype(np.float64)
    out: FloatArray = -m / m.sum()
    return out


def _ppo_expected(inp: Mapping[str, Any], conv: Mapping[str, Any]) -> FloatArray | None:
    if not _masked(conv):
        return None
    per = reference.ppo_clip(inp["logp_new"], inp["logp_old"], inp["advantages"], inp["epsilon"])
    return np.asarray(float(np.sum(_ppo_weights(inp) * per)))


def _ppo_bound_for(inp: Mapping[str, Any], expected: FloatArray, conv: Mapping[str, Any]) -> Bound | None:
    if not _masked(conv):
        return None
    w = np.abs(_ppo_weights(inp))
    per = reference.ppo_clip(inp["logp_new"], inp["logp_old"], inp["advantages"], inp["epsilon"])
    b = _ppo_bound(inp, per)
    count = float(w.size)
    # Σ_i w_i (error of L_i) plus the rounding of the weighted sum of `count` terms
    s = np.asarray(float(np.sum(w * K * b.ops * U32 * b.scale) / (K * (count + 8.0) * U32) + np.sum(w * np.abs(per))))
    return Bound(s, np.asarray(count + 8.0), np.asarray(float(np.max(b.magnitude, initial=0.0))),
                 "masked mean: S = Σ_i w_i(|L_i| + c_i S_i / (n + 8)) with w = m/Σm, c = n + 8 (n = B·T)")


def _ppo_call_form(inp: Mapping[str, Any], conv: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    if _masked(conv):
        return (("logp_new", inp["logp_new"]), ("logp_old", inp["logp_old"]), ("advantages", inp["advantages"]), ("mask", inp["mask"]),
                ("epsilon", inp["epsilon"]))
    return tuple((k, inp[k]) for k in ("logp_new", "logp_old", "advantages", "epsilon"))


_ppo_elementwise_vjp = autograd_vjp(_ppo_twin, ("logp_new",), ("logp_new", "logp_old", "advantages", "epsilon"))


def _ppo_vjp(inp: Mapping[str, Any], cot: FloatArray, conv: Mapping[str, Any]) -> dict[str, FloatArray]:
    if _masked(conv):
        return _ppo_elementwise_vjp(inp, float(np.asarray(cot).reshape(-1)[0]) * _ppo_weights(inp), conv)
    return _ppo_elementwise_vjp(inp, cot, conv)


def _ppo_grad_bound(inp: Mapping[str, Any], wrt: str, expected: FloatArray) -> Bound:
    """VJP tolerance: per element, the value's own bound (the derivative carries exp's amplified rounding), norm-wise otherwise."""
    if "mask" not in inp:
        return normwise_grad_bound(inp, wrt, expected)
    w = np.abs(_ppo_weights(inp))
    b = _ppo_bound(inp, expected)
    s = w * b.scale * 2.0 + float(np.max(np.abs(expected), initial=0.0))
    return Bound(s, np.maximum(np.broadcast_to(b.ops, s.shape), 32.0), s, "w_i·(value bound S_i) + max|VJP|, c = 32")


def _klb_clauses() -> tuple[Clause, ...]:
    def near(i: Mapping[str, Any], edge: float) -> bool:
        return abs(float(i["kl"]) - edge) <= 8.0 * U32 * max(float(i["kl"]), edge)

    return (
        Clause("KLB-EDGE-LOW", "KL on the lower band edge KL_target/1.5", lambda i: near(i, float(i["kl_target"]) / 1.5)),
        Clause("KLB-EDGE-HIGH", "KL on the upper band edge 1.5·KL_target", lambda i: near(i, float(i["kl_target"]) * 1.5)),
        Clause("KLB-KL-ZERO", "KL = 0: β is halved", lambda i: float(i["kl"]) == 0.0),
    )


_FISHER = Convention("fisher_form", "matrix", ("matvec",), "the Fisher matrix as an [n, n] array (default) or as a matrix-vector product x ↦ Fx")
_DAMPING = Convention("damping", 0.0, (0.1,), "λ added to the diagonal (F + λI); 0 (default, the argument is not passed) or a library's fixed value such as 0.1")
_ITERS = Convention("iters", "drawn", (10,), "the number of CG iterations drawn by the search (default) or fixed (cg_iters = 10)")


def _natural_call_form(inp: Mapping[str, Any], conv: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    f = inp["fisher"]
    if conv.get("fisher_form", "matrix") == "matvec":
        f = MatrixOperator(f)
    return (("g", inp["g"]), ("fisher", f), ("max_kl", inp["max_kl"]))


def _cg_clauses() -> tuple[Clause, ...]:
    return (
        Clause("CG-ITERS-BELOW-N", "iters < n: the k-th iterate, not the solution", lambda i: int(i["iters"]) < np.shape(i["b"])[0]),
        Clause("CG-CONVERGED", "iters >= n + 2: converged to (A + λI)⁻¹b", lambda i: int(i["iters"]) >= np.shape(i["b"])[0] + 2),
        Clause("CG-DAMPED", "damping λ > 0: solves (A + λI)x = b", lambda i: float(i.get("damping", 0.0)) > 0.0),
    )


_L12 = math.log1p(0.2)
add(Target(
    "ppo_clip", "(logp_new[N], logp_old[N], advantages[N], epsilon) -> [N]",
    "min(ρA, clip(ρ, 1−ε, 1+ε)A), ρ = exp(logp_new − logp_old), per sample, to maximize",
    "ppo_clip", ("logp_new", "logp_old", "advantages", "epsilon"), cs.ppo_clip_inputs, _ppo_bound,
    "S_i = |A_i|·max(ρ_i, 1+ε)·(|logp_new_i| + |logp_old_i| + 2), c = 8",
    examples=(
        # ratios below, inside, on and above the band, for A > 0, A = 0 and A < 0
        {"logp_new": np.array([-1.0, -1.0, -1.0 + _L12, -0.5, -2.0]), "logp_old": np.array([-1.0, -0.5, -1.0, -1.0, -1.0]), "advantages": np.array([1.0, 1.0, 1.0, 1.0, 1.0]), "epsilon": 0.2},
        {"logp_new": np.array([-1.0, -0.5, -2.0, -1.0 + _L12]), "logp_old": np.array([-1.0, -1.0, -1.0, -1.0]), "advantages": np.array([-1.0, -1.0, -1.0, -2.0]), "epsilon": 0.2},
        {"logp_new": np.array([-0.5, -2.0]), "logp_old": np.array([-1.0, -1.0]), "advantages": np.array([0.0, 0.0]), "epsilon": 0.2},
        {"logp_new": np.array([-9999.0, -10000.0]), "logp_old": np.array([-10000.0, -9999.5]), "advantages": np.array([2.0, -3.0]), "epsilon": 0.1},
    ),
    section="§9, eq. (9.2)",
    split=elementwise_split(("logp_new", "logp_old", "advantages"), ("epsilon",)),
    inputs=(Input("logp_new", "[N]", differentiable=True), Input("logp_old", "[N]"), Input("advantages", "[N]"), Input("epsilon")),
    output="[N]", clauses=_ppo_clauses(),
    conventions=(_REDUCTION, Convention("epsilon", "drawn", (0.2,), "ε drawn by the search (default) or hard-coded (0.2)")),
    gradient=_ppo_vjp, grad_bound=_ppo_grad_bound,
    strategy_for=lambda conv: cs.ppo_masked_inputs() if _masked(conv) else cs.ppo_clip_inputs(),
    call_form=_ppo_call_form, expected_for=_ppo_expected, bound_for=_ppo_bound_for,
    gradient_note="the derivative of the value; 0 on a clipped branch (PPO-CLIP-HIGH, PPO-CLIP-LOW) and where A = 0",
))

add(Target(
    "kl_beta_update", "(beta, kl, kl_target) -> float",
    "β/2 if KL < KL_target/1.5; 2β if KL > 1.5·KL_target; else β",
    "kl_beta_update", ("beta", "kl", "kl_target"), cs.kl_beta_update_inputs, _kl_beta_bound,
    "S = 2β, c = 2; either neighbouring branch within float32 rounding of a band edge",
    examples=(
        {"beta": 1.0, "kl": 0.001, "kl_target": 0.01},
        {"beta": 1.0, "kl": 0.1, "kl_target": 0.01},
        {"beta": 1.0, "kl": 0.01, "kl_target": 0.01},
        {"beta": 1.0, "kl": 0.0, "kl_target": 0.01},
        {"beta": 2.0, "kl": 0.012, "kl_target": 0.01},
        {"beta": 2.0, "kl": 0.008, "kl_target": 0.01},
    ),
    section="§9, eq. (9.5)", scalar=True, alternatives=_kl_beta_alternatives,
    split=scalar_split(("beta", "kl", "kl_target")),
    inputs=(Input("beta"), Input("kl"), Input("kl_target")), output="scalar", clauses=_klb_clauses(),
))

add(Target(
    "natural_step", "(g[n], fisher[n,n] or x ↦ Fx, max_kl, damping=0) -> [n]", "Δ = sqrt(2δ / gᵀF_λ⁻¹g) F_λ⁻¹g, F_λ = F + λI (0 when g = 0)",
    "natural_step", ("g", "fisher", "max_kl", "damping"), cs.natural_step_inputs, _natural_bound,
    "norm-wise, S = max|Δ|, c = κ₂(F)·√n·(2n + 8)",
    examples=(
        {"g": np.array([1.0, 0.0]), "fisher": np.eye(2), "max_kl": 0.5},
        {"g": np.array([1.0, 1.0]), "fisher": np.diag([1.0, 4.0]), "max_kl": 0.01},
        {"g": np.array([0.0, 0.0]), "fisher": np.eye(2), "max_kl": 0.01},
        {"g": np.array([1.0, -1.0]), "fisher": np.array([[1.0, 0.9999], [0.9999, 1.0]]), "max_kl": 0.05},
    ),
    section="§10, eq. (10.5)", split=_natural_split,
    inputs=(Input("g", "[n]"), Input("fisher", "[n,n]"), Input("max_kl"), Input("damping", keyword=True, default=0.0)), output="[n]",
    conventions=(_FISHER, _DAMPING),
    clauses=(Clause("NS-ZERO-GRAD", "g = 0: no ascent direction, Δ = 0 (required: NaN here poisons the update)", lambda i: not np.any(_f(i["g"]))),
             Clause("NS-DAMPED", "damping λ > 0: F + λI in the solve and in the step size", lambda i: float(i.get("damping", 0.0)) > 0.0)),
    call_form=_natural_call_form,
    domain_note="SPD Fisher with κ₂ <= 1e4",
))

add(Target(
    "conjugate_gradient", "(matvec, b[n], iters, damping=0) -> [n]", "x_k: the k-th CG iterate (k = iters) for (A + λI)x = b given x ↦ Ax, from x_0 = 0",
    "conjugate_gradient", ("matvec", "b", "iters", "damping"), cs.conjugate_gradient_inputs, _cg_bound,
    "norm-wise, S = max|x|, c = κ₂(A)·√n·(4n + 8)",
    examples=(
        {"matvec": MatrixOperator(np.eye(1) * 2.0), "b": np.array([1.0]), "iters": 3},
        {"matvec": MatrixOperator(np.array([[4.0, 1.0], [1.0, 3.0]])), "b": np.array([1.0, 2.0]), "iters": 4},
        {"matvec": MatrixOperator(np.diag([1.0, 10.0, 100.0])), "b": np.array([1.0, 1.0, 1.0]), "iters": 5},
        {"matvec": MatrixOperator(np.array([[1.0, 0.9999], [0.9999, 1.0]])), "b": np.array([1.0, 0.0]), "iters": 4},
    ),
    section="§10, eq. (10.7)", split=_cg_split, reference_kwargs=_cg_reference_kwargs,
    inputs=(Input("matvec", "matvec", "operator"), Input("b", "[n]"), Input("iters", "int", "int"), Input("damping", keyword=True, default=0.0)),
    output="[n]", conventions=(_ITERS, _DAMPING), clauses=_cg_clauses(),
    domain_note="SPD A, n <= 24, iters in [1, 2n + 4] (the k-th iterate is compared), κ₂ <= 1e4 for n <= 6 and <= 1e2 beyond (where a float32 iterate stays within the tolerance); matvec takes numpy arrays or torch tensors",
))
