"""Mutants for SPEC.md §10: TRPO's pieces written wrongly."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from scipy.special import log_softmax

import reference

from . import Mutant, register_mutant


def _pi(th: Any) -> np.ndarray:
    out: np.ndarray = np.exp(log_softmax(np.asarray(th, float), axis=1))
    return out


def _surrogate_no_ratio(logits: Any, logits_old: Any, advantages: Any, state_dist: Any) -> float:
    return float(np.asarray(state_dist) @ (_pi(logits_old) * np.asarray(advantages)).sum(axis=1))  # forgets ρ


def _mean_kl_reversed(logits: Any, logits_old: Any, state_dist: Any) -> float:
    return reference.mean_kl(logits_old, logits, state_dist)  # KL(π_k ‖ π_θ): the other direction


def _surrogate_gradient_uncentred(logits_old: Any, advantages: Any, state_dist: Any) -> np.ndarray:
    out: np.ndarray = (np.asarray(state_dist)[:, None] * _pi(logits_old) * np.asarray(advantages)).reshape(-1)
    return out


def _fisher_uncentred(logits: Any, state_dist: Any) -> np.ndarray:
    out: np.ndarray = np.diag((np.asarray(state_dist)[:, None] * _pi(logits)).reshape(-1))  # E[e_a e_aᵀ], no −ππᵀ
    return out


def _surrogate_taylor_half(g: Any, step: Any) -> float:
    return 0.5 * reference.surrogate_taylor(g, step)


def _kl_taylor_no_half(fisher: Any, step: Any) -> float:
    return 2.0 * reference.kl_taylor(fisher, step)


def _fvp_identity(logits_old: Any, state_dist: Any, x: Any, *, damping: float = 0.0) -> np.ndarray:
    out: np.ndarray = (1.0 + damping) * np.asarray(x, float)
    return out


def _fvp_no_damping(logits_old: Any, state_dist: Any, x: Any, *, damping: float = 0.0) -> np.ndarray:
    return reference.fisher_vector_product(logits_old, state_dist, x)


def _cg(beta_rule: str) -> Callable[..., np.ndarray]:
    def cg(matvec: Callable[[np.ndarray], Any], b: Any, iters: int, residual_tol: float = 0.0, *, damping: float = 0.0) -> np.ndarray:
        bv = np.asarray(b, float)
        x = np.zeros_like(bv)
        r = bv.copy()
        p = r.copy()
        rs = float(r @ r)
        for _ in range(iters):
            if rs <= residual_tol or rs == 0.0:
                break
            ap = np.asarray(matvec(p), float) + (damping * p if beta_rule != "no-damping" else 0.0)
            pap = float(p @ ap)
            if pap <= 0:
                break
            alpha = rs / pap
            x = x + alpha * p
            r = r - alpha * ap
            rs_new = float(r @ r)
            beta = {"rs_new/pAp": rs_new / pap, "zero": 0.0}.get(beta_rule, rs_new / rs)
            p = r + beta * p
            rs = rs_new
        return x

    return cg


def _natural_no_factor_2(g: Any, fisher: Any, max_kl: float, *, damping: float = 0.0) -> np.ndarray:
    out: np.ndarray = reference.natural_step(g, fisher, max_kl, damping=damping) / np.sqrt(2.0)  # sqrt(δ / gᵀH⁻¹g)
    return out


def _natural_unpreconditioned(g: Any, fisher: Any, max_kl: float, *, damping: float = 0.0) -> np.ndarray:
    gv, h = np.asarray(g, float), np.asarray(fisher, float) + damping * np.eye(len(g))
    out: np.ndarray = np.sqrt(2.0 * max_kl / float(gv @ h @ gv)) * gv  # along g, scaled to the boundary
    return out


def _natural_no_damping(g: Any, fisher: Any, max_kl: float, *, damping: float = 0.0) -> np.ndarray:
    return reference.natural_step(g, fisher, max_kl)


def _ls(kind: str) -> Callable[..., tuple[np.ndarray, int | None]]:
    def ls(objective: Callable[[np.ndarray], float], constraint: Callable[[np.ndarray], float], theta: Any, full_step: Any,
           max_constraint: float, *, backtrack_coef: float = 0.8, max_backtracks: int = 10) -> tuple[np.ndarray, int | None]:
        th, step = np.asarray(theta, float), np.asarray(full_step, float)
        if kind == "first":
            return th + step, 0
        base = objective(th)
        for j in range(max_backtracks):
            cand = th + backtrack_coef**j * step
            kl_ok = constraint(cand) <= max_constraint if kind != "no-kl" else True
            if kind == "strict-kl":
                kl_ok = constraint(cand) < max_constraint
            improved = objective(cand) > base
            if kind == "no-improvement":
                improved = True
            elif kind == "non-strict":
                improved = objective(cand) >= base
            if kl_ok and improved:
                return cand, j
        return th.copy(), None

    return ls


def _trpo_step_variant(kind: str) -> Callable[..., tuple[np.ndarray, int | None]]:
    def step(logits_old: Any, advantages: Any, state_dist: Any, max_kl: float, *, cg_iters: int = 10, damping: float = 0.0,
             backtrack_coef: float = 0.8, max_backtracks: int = 10) -> tuple[np.ndarray, int | None]:
        th = np.asarray(logits_old, float)
        g = reference.surrogate_gradient(th, advantages, state_dist)
        f = reference.fisher_matrix(th, state_dist) + damping * np.eye(g.shape[0])
        x = np.linalg.pinv(f, rcond=1e-13, hermitian=True) @ g
        quad = float(g @ x)
        if not quad > 0:
            return th.copy(), None
        if kind == "no-factor-2":
            full = (np.sqrt(max_kl / float(x @ f @ x)) * x).reshape(th.shape)
        else:  # the source's S10.8: a scalar α^j sqrt(2/δ) gᵀH⁻¹g added to every coordinate
            full = np.full(th.shape, np.sqrt(2.0 / max_kl) * quad)
        return reference.backtracking_line_search(
            lambda t: reference.surrogate_advantage(t, th, advantages, state_dist),
            lambda t: reference.mean_kl(t, th, state_dist),
            th, full, max_kl, backtrack_coef=backtrack_coef, max_backtracks=max_backtracks,
        )

    return step


for _m in [
    Mutant("surrogate-no-ratio", "L(θ_k, θ) = E_{π_k}[A], the ratio forgotten", ("TRPO-TAYLOR",), {"surrogate_advantage": _surrogate_no_ratio}),
    Mutant("mean-kl-reversed", "D̄_KL(θ_k ‖ θ) where D̄_KL(θ ‖ θ_k) is specified", ("TRPO-TAYLOR",), {"mean_kl": _mean_kl_reversed}),
    Mutant("surrogate-gradient-uncentred", "g = d π A without subtracting E_π[A] (the softmax score's −π term)", ("TRPO-TAYLOR",), {"surrogate_gradient": _surrogate_gradient_uncentred}),
    Mutant("fisher-uncentred", "Fisher matrix E[e_a e_aᵀ] = diag(dπ), without −ππᵀ", ("TRPO-TAYLOR", "TRPO-FVP-IS-FISHER"), {"fisher_matrix": _fisher_uncentred}),
    Mutant("surrogate-taylor-half", "½gᵀΔ for the first-order model", ("TRPO-TAYLOR",), {"surrogate_taylor": _surrogate_taylor_half}),
    Mutant("kl-taylor-no-half", "ΔᵀHΔ for the second-order model (no ½)", ("TRPO-TAYLOR",), {"kl_taylor": _kl_taylor_no_half}),
    Mutant("fvp-identity", "Hx = x: the Fisher matrix replaced by I (vanilla gradient)", ("TRPO-FVP-IS-FISHER",), {"fisher_vector_product": _fvp_identity}),
    Mutant("fvp-ignores-damping", "damping argument silently ignored", ("TRPO-FVP-IS-FISHER",), {"fisher_vector_product": _fvp_no_damping}),
    Mutant("cg-wrong-beta", "β = r_newᵀr_new / pᵀAp instead of r_newᵀr_new / rᵀr", ("TRPO-CG-SOLVES",), {"conjugate_gradient": _cg("rs_new/pAp")}),
    Mutant("cg-steepest-descent", "β = 0: steepest descent instead of conjugate directions", ("TRPO-CG-SOLVES",), {"conjugate_gradient": _cg("zero")}),
    Mutant("cg-ignores-damping", "damping argument silently ignored", ("TRPO-CG-SOLVES",), {"conjugate_gradient": _cg("no-damping")}, conformance_visible=False),
    Mutant("natural-step-no-factor-2", "Δ = sqrt(δ / gᵀH⁻¹g) H⁻¹g (½ΔᵀHΔ = δ/2)", ("TRPO-STEP-SIZE",), {"natural_step": _natural_no_factor_2}),
    Mutant("natural-step-unpreconditioned", "Δ ∝ g scaled to the trust region: the vanilla gradient direction", ("TRPO-STEP-SIZE",), {"natural_step": _natural_unpreconditioned}),
    Mutant("natural-step-ignores-damping", "damping argument silently ignored", ("TRPO-STEP-SIZE",), {"natural_step": _natural_no_damping}, conformance_visible=False),
    Mutant("line-search-accepts-first", "the full step taken without any check", ("TRPO-LINESEARCH",), {"backtracking_line_search": _ls("first")}),
    Mutant("line-search-ignores-kl", "only the surrogate's improvement is checked", ("TRPO-LINESEARCH",), {"backtracking_line_search": _ls("no-kl")}),
    Mutant("line-search-ignores-improvement", "only the KL bound is checked", ("TRPO-LINESEARCH",), {"backtracking_line_search": _ls("no-improvement")}),
    Mutant("line-search-non-strict", "accepts a step that leaves the surrogate unchanged (>=)", ("TRPO-LINESEARCH",), {"backtracking_line_search": _ls("non-strict")}),
    Mutant("line-search-strict-kl", "rejects a step whose KL equals δ exactly (<)", ("TRPO-LINESEARCH",), {"backtracking_line_search": _ls("strict-kl")}),
    Mutant("trpo-step-no-factor-2", "TRPO step sqrt(δ / xᵀHx) x", ("TRPO-STEP",), {"trpo_step": _trpo_step_variant("no-factor-2")}),
    Mutant("trpo-step-source-line-search", "the source's S10.8 step θ_k + α^j sqrt(2/δ) gᵀH⁻¹g (a scalar)", ("TRPO-STEP",), {"trpo_step": _trpo_step_variant("source")}),
]:
    register_mutant(_m)
