"""Mutants for SPEC.md §8: importance weights written wrongly."""

from __future__ import annotations

from typing import Any

import numpy as np

import reference

from . import Mutant, register_mutant


def _expectation_inverted(f: Any, p: Any, q: Any) -> np.ndarray:
    p, q, f = np.asarray(p, float), np.asarray(q, float), np.asarray(f, float)
    w = np.where(p > 0, q / np.where(p > 0, p, 1.0), 0.0)  # q/p instead of p/q
    out: np.ndarray = np.tensordot(q * w, f, axes=(0, 0))
    return out


def _expectation_unweighted(f: Any, p: Any, q: Any) -> np.ndarray:
    p, q, f = np.asarray(p, float), np.asarray(q, float), np.asarray(f, float)
    w = np.where(q > 0, p / np.where(q > 0, q, 1.0), 0.0)
    out: np.ndarray = np.tensordot(w, f, axes=(0, 0)) / p.shape[0]  # a plain mean over points, not E_q
    return out


def _iw_log_ratio(grad_logp: Any, logp: Any, logp_old: Any, psi: Any, weights: Any = None) -> np.ndarray:
    g, lp, lo, ps = (np.asarray(x, float) for x in (grad_logp, logp, logp_old, psi))
    w = np.full(g.shape[0], 1.0 / g.shape[0]) if weights is None else np.asarray(weights, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = lp / lo  # the source's S8.2: a ratio of log-probabilities
    out: np.ndarray = np.einsum("i,itn,it->n", w, g, rho * ps)
    return out


def _iw_inverted(grad_logp: Any, logp: Any, logp_old: Any, psi: Any, weights: Any = None) -> np.ndarray:
    return reference.importance_weighted_gradient(grad_logp, logp_old, logp, psi, weights)  # π_old/π_new


def _iw_no_ratio(grad_logp: Any, logp: Any, logp_old: Any, psi: Any, weights: Any = None) -> np.ndarray:
    return reference.importance_weighted_gradient(grad_logp, logp_old, logp_old, psi, weights)  # on-policy formula on off-policy data


for _m in [
    Mutant("is-expectation-inverted-ratio", "importance weight q/p instead of p/q", ("IS-UNBIASED",), {"importance_expectation": _expectation_inverted}),
    Mutant("is-expectation-unweighted-mean", "Σ_x (p/q) f / K: a plain mean over the support instead of an expectation under q", ("IS-UNBIASED",), {"importance_expectation": _expectation_unweighted}),
    Mutant("iw-gradient-log-prob-ratio", "the source's weight log π_θ / log π_old (S8.2, S8.3)", ("IS-OFF-POLICY-GRADIENT", "IS-LOG-RATIO-BIASED"), {"importance_weighted_gradient": _iw_log_ratio}),
    Mutant("iw-gradient-inverted-ratio", "ratio π_old/π_θ = exp(logp_old − logp)", ("IS-OFF-POLICY-GRADIENT", "IS-LOG-RATIO-BIASED"), {"importance_weighted_gradient": _iw_inverted}),
    Mutant("iw-gradient-no-ratio", "off-policy samples used without any importance weight", ("IS-OFF-POLICY-GRADIENT", "IS-LOG-RATIO-BIASED"), {"importance_weighted_gradient": _iw_no_ratio}),
]:
    register_mutant(_m)
