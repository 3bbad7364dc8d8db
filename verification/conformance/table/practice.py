"""Practice targets (SPEC.md §17): the twelve formulas RLHF libraries ship.

``aggregate_loss``, ``policy_loss``, ``value_loss``, ``kl_penalty``, ``token_logprobs``,
``token_entropy``, ``masked_whiten``, ``group_advantages``, ``rloo_advantages``, ``masked_gae``,
``preference_loss`` and ``adaptive_kl_update``, in the canonical signatures of SPEC §17 (issue 11).
Token batches are [B, T] with a response mask whose padding holds in-domain garbage; the losses
are scalars reduced by a named aggregation that is itself under test; differentiable inputs are
checked by their vector–Jacobian products against the torch twins of ``reference.practice_torch``;
library disagreements are named conventions (SPEC §17.2).  Float32 implementations that conform:
``verification.conformance.examples_practice``; wrong ones: ``verification.mutants.s17_practice``
(numpy, they join each target's family) and the gradient bugs at the end of this module.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np
from numpy.typing import NDArray

from ...strategies import practice_conformance as ps
from .. import wrong
from ._base import (
    DRAWN, K, U32, Bound, CanonicalCall, Clause, Convention, Input, Target, add, autograd_vjp, get_target, in_place_clause,
    normwise_grad_bound,
)
from ._helpers import FloatArray, _b, _f

AGG_MODES = ("token_mean", "seq_mean_token_mean", "seq_mean_token_sum", "seq_mean_token_sum_norm")
Conv = Mapping[str, Any]


def _pt() -> Any:
    from reference import practice_torch

    return practice_torch


# ------------------------------------------------------------------------------------- helpers


def agg_weights(mask: Any, mode: str, norm_length: Any = None, norm_batch: bool = True) -> FloatArray:
    """The weight w of each position in agg(ℓ) = Σ w·ℓ (eq. 17.1 is linear in ℓ), from the definition."""
    m = _b(mask)
    b, t = m.shape
    w = np.zeros(m.shape)
    counts = m.sum(axis=1)
    rows = counts > 0
    if mode == "token_mean":
        if m.any():
            w[m] = 1.0 / m.sum()
    elif mode == "seq_mean_token_sum_norm":
        w[m] = 1.0 / ((b if norm_batch else 1) * (t if norm_length is None else float(norm_length)))
    elif rows.any():
        per_row = 1.0 / rows.sum() / (counts if mode == "seq_mean_token_mean" else np.ones(b))[:, None].clip(min=1)
        w = np.where(m, np.broadcast_to(per_row, m.shape), 0.0)
    return w


def _norm_batch(conv: Conv | None) -> bool:
    return bool((conv or {}).get("norm_batch", True))


def _scalar_bound(w: FloatArray, per_abs: FloatArray, per_scale: FloatArray, per_ops: float, mag: float, rule: str) -> Bound:
    """A weighted sum Σ w_i ℓ_i: each term's own error (c_i S_i) plus the rounding of n terms."""
    n = float(max(int(np.count_nonzero(w)), 1))
    ops = n + 8.0
    s = float(np.sum(np.abs(w) * (np.abs(per_abs) + per_ops * per_scale / ops)))
    return Bound(np.asarray(s), np.asarray(ops), np.asarray(mag), rule)


def _scalar_split(params: tuple[str, ...], keyword: tuple[str, ...] = ()) -> Callable[[tuple[Any, ...], dict[str, Any]], CanonicalCall | None]:
    """A claim's call in the canonical signature passes straight through; anything else the reference answers."""

    def split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CanonicalCall | None:
        if len(args) > len(params) or set(kwargs) - set(params) - set(keyword):
            return None
        bound = dict(zip(params, args)) | kwargs
        if any(p not in bound for p in params if p not in keyword):
            return None
        return [bound], lambda outs: outs[0]

    return split


def _any(x: Any) -> bool:
    return bool(np.any(x))


def _prep(name: str, v: Any) -> Any:
    """Inputs of the float64 torch twin: float arrays as float64 tensors, masks as bool, token ids as long."""
    import torch

    if not isinstance(v, np.ndarray):
        return v
    if v.dtype == np.bool_:
        return torch.as_tensor(v)
    if v.dtype.kind in "iu":
        return torch.as_tensor(v, dtype=torch.long)
    return torch.as_tensor(np.asarray(v, dtype=np.float64))


def _vjp(fn: Callable[..., Any], wrt: tuple[str, ...], params: tuple[str, ...]) -> Any:
    return autograd_vjp(fn, wrt, params, prepare=_prep)


def _vjp_nb(make: Callable[[bool], Callable[..., Any]], wrt: tuple[str, ...], params: tuple[str, ...]) -> Any:
    """The VJP of a twin that takes the norm_batch convention."""
    fns = {nb: _vjp(make(nb), wrt, params) for nb in (True, False)}

    def vjp(inp: Mapping[str, Any], cot: FloatArray, conv: Conv) -> dict[str, FloatArray]:
        out: dict[str, FloatArray] = fns[_norm_batch(conv)](inp, cot, conv)
        return out

    return vjp


# ---------------------------------------------------------------------------- aggregate_loss


_NORM_BATCH = Convention("norm_batch", True, (False,),
                         "seq_mean_token_sum_norm divides by B·norm_length (Dr. GRPO, TRL; default) or by norm_length only (False: verl)")


def _agg_bound(inp: Mapping[str, Any], expected: FloatArray, conv: Conv | None = None) -> Bound:
    w = agg_weights(inp["mask"], inp["mode"], inp.get("norm_length"), _norm_batch(conv))
    loss = _f(inp["loss"])
    return _scalar_bound(w, loss, np.abs(loss), 1.0, float(np.max(np.abs(loss), initial=0.0)), "S = Σ w_i|ℓ_i| (w: the mode's weights), c = n + 8")


add(Target(
    "aggregate_loss", "(loss[B,T], mask[B,T], mode, norm_length=None) -> scalar",
    "token_mean Σmℓ/Σm; seq_mean_token_mean; seq_mean_token_sum; seq_mean_token_sum_norm Σmℓ/(B·norm_length)",
    "aggregate_loss", ("loss", "mask", "mode", "norm_length"), ps.aggregate_loss_inputs, lambda i, e: _agg_bound(i, e),
    "S = Σ w_i|ℓ_i| with the mode's weights, c = n + 8",
    examples=(
        {"loss": np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 9.0]]), "mask": np.array([[True, True, True], [True, False, False]]), "mode": "token_mean", "norm_length": None},
        {"loss": np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 9.0]]), "mask": np.array([[True, True, True], [True, False, False]]), "mode": "seq_mean_token_sum", "norm_length": None},
        {"loss": np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 9.0]]), "mask": np.array([[True, True, True], [True, False, False]]), "mode": "seq_mean_token_sum_norm", "norm_length": None},
        {"loss": np.array([[5.0, 7.0], [1.0, 2.0]]), "mask": np.array([[False, False], [True, True]]), "mode": "seq_mean_token_mean", "norm_length": None},
        {"loss": np.array([[5.0, 7.0]]), "mask": np.array([[False, False]]), "mode": "token_mean", "norm_length": None},
    ),
    section="§17, eq. (17.1)", scalar=True, split=_scalar_split(("loss", "mask", "mode", "norm_length"), ("norm_length",)),
    inputs=(Input("loss", "[B,T]", differentiable=True, masked_by="mask"), Input("mask", "[B,T]", "mask"), Input("mode", "str", "str"),
            Input("norm_length", keyword=True, default=None)),
    output="scalar", reduction="agg", conventions=(_NORM_BATCH,),
    convention_kwargs=lambda conv: {} if _norm_batch(conv) else {"norm_batch": False},
    bound_for=lambda i, e, conv: _agg_bound(i, e, conv),
    clauses=(Clause("AGG-EMPTY-ROW", "a row without a response token: not averaged in by the seq_mean modes", lambda i: _any(~_b(i["mask"]).any(axis=1))),
             Clause("AGG-EMPTY-MASK", "no response token at all: the loss is 0", lambda i: not _b(i["mask"]).any()),
             Clause("AGG-NORM-LENGTH", "seq_mean_token_sum_norm with a norm_length other than T", lambda i: i["mode"] == "seq_mean_token_sum_norm" and i.get("norm_length") is not None)),
    gradient=_vjp_nb(lambda nb: lambda l, m, mode, nl: _pt().aggregate_loss(l, m, mode, nl, norm_batch=nb), ("loss",), ("loss", "mask", "mode", "norm_length")),
    gradient_note="with respect to the per-token loss: the mode's weights on response tokens, 0 on padding",
    domain_note="any mask (rows without a token and an empty mask included)",
))


# ------------------------------------------------------------------------------- policy_loss


def _ratio(i: Mapping[str, Any]) -> FloatArray:
    with np.errstate(over="ignore"):
        out: FloatArray = np.exp(_f(i["logp_new"]) - _f(i["logp_old"]))
    return out


def _pl_objective_parts(i: Mapping[str, Any]) -> tuple[FloatArray, FloatArray, FloatArray]:
    rho, a = _ratio(i), _f(i["advantages"])
    cl, ch = float(i["clip_low"]), float(i["clip_high"])
    o = np.minimum(rho * a, np.clip(rho, 1 - cl, 1 + ch) * a)
    c = i.get("dual_clip")
    if c is not None:
        o = np.where(a < 0, np.maximum(o, float(c) * a), o)
    top = np.maximum(rho, 1.0 + ch) if c is None else np.maximum(np.maximum(rho, 1.0 + ch), float(c))
    scale = np.abs(a) * top * (np.abs(_f(i["logp_new"])) + np.abs(_f(i["logp_old"])) + 2.0)
    return o, scale, np.abs(a) * top


def _pl_bound(inp: Mapping[str, Any], expected: FloatArray, conv: Conv | None = None) -> Bound:
    o, scale, mag = _pl_objective_parts(inp)
    w = agg_weights(inp["mask"], inp["agg"], None, _norm_batch(conv))
    return _scalar_bound(w, o, scale, 8.0, float(np.max(mag, initial=0.0)), "S = Σ w_i(|o_i| + 8 S_i/(n+8)), S_i = |A_i|·max(ρ_i, 1+ε_high, c)(|logp_new_i| + |logp_old_i| + 2), c = n + 8")


def _pl_near_edge(i: Mapping[str, Any]) -> NDArray[np.bool_]:
    """ρ within float32 rounding of a kink (1 − ε_low, 1 + ε_high, the dual clip c): either side's gradient is accepted there."""
    d = _f(i["logp_new"]) - _f(i["logp_old"])
    tol = 16.0 * U32 * (np.abs(_f(i["logp_new"])) + np.abs(_f(i["logp_old"])) + 1.0)
    edges = [math.log1p(float(i["clip_high"])), math.log1p(-float(i["clip_low"]))] + ([math.log(float(i["dual_clip"]))] if i.get("dual_clip") is not None else [])
    out = np.zeros(d.shape, dtype=bool)
    for e in edges:
        out |= np.abs(d - e) <= tol
    return out & _b(i["mask"])


def _pl_grad_bound(inp: Mapping[str, Any], wrt: str, expected: FloatArray) -> Bound:
    base = normwise_grad_bound(inp, wrt, expected)
    w = np.abs(agg_weights(inp["mask"], inp["agg"]))
    # a kink: 0 and w·ρA are both one-sided derivatives; the cotangent (|c| <= 2) scales the jump
    jump = 2.0 * w * _ratio(inp) * np.abs(_f(inp["advantages"])) * _pl_near_edge(inp)
    scale = base.scale + jump / (K * base.ops * U32)
    return Bound(scale, base.ops, base.magnitude, base.rule + "; + w·|ρA| at a kink (either one-sided derivative)")


def _pl_clause(i: Mapping[str, Any], which: str) -> bool:
    m, a = _b(i["mask"]), _f(i["advantages"])
    d = _f(i["logp_new"]) - _f(i["logp_old"])
    if which == "high":
        return _any(m & (a > 0) & (d > math.log1p(float(i["clip_high"]))))
    if which == "low":
        return _any(m & (a < 0) & (d < math.log1p(-float(i["clip_low"]))))
    c = i.get("dual_clip")
    return c is not None and _any(m & (a < 0) & (d > math.log(float(c))))


def _pl_twin(nb: bool) -> Callable[..., Any]:
    return lambda lp, lo, a, m, cl, ch, dual, agg: _pt().policy_loss(lp, lo, a, m, cl, ch, dual, agg, norm_batch=nb)


PL_PARAMS = ("logp_new", "logp_old", "advantages", "mask", "clip_low", "clip_high", "dual_clip", "agg")

add(Target(
    "policy_loss", "(logp_new[B,T], logp_old[B,T], advantages[B,T], mask[B,T], clip_low, clip_high, dual_clip, agg) -> scalar",
    "−agg(o), o = min(ρA, clip(ρ, 1 − ε_low, 1 + ε_high)A), o = max(o, cA) for A < 0 under dual_clip = c",
    "policy_loss", PL_PARAMS, ps.policy_loss_inputs, lambda i, e: _pl_bound(i, e),
    "S = Σ w_i(|o_i| + 8 S_i/(n + 8)), S_i = |A_i| max(ρ_i, 1 + ε_high, c)(|logp_new_i| + |logp_old_i| + 2), c = n + 8",
    examples=(
        {"logp_new": np.array([[2.0, -1.0 + math.log(1.2)], [-2.0, 0.0]]), "logp_old": np.array([[0.0, -1.0], [-2.0, -1.0]]),
         "advantages": np.array([[-1.0, 2.0], [0.0, 1.0]]), "mask": np.array([[True, True], [True, False]]), "clip_low": 0.2, "clip_high": 0.28,
         "dual_clip": 3.0, "agg": "token_mean"},
        {"logp_new": np.array([[2.0]]), "logp_old": np.array([[0.0]]), "advantages": np.array([[1.0]]), "mask": np.array([[True]]),
         "clip_low": 0.2, "clip_high": 0.2, "dual_clip": 3.0, "agg": "token_mean"},
        {"logp_new": np.array([[-1.0, -2.0, -0.5], [-3.0, -1.0, -1.0]]), "logp_old": np.array([[-1.2, -1.5, -0.5], [-2.0, -1.0, -1.0]]),
         "advantages": np.array([[1.0, -1.0, 0.5], [2.0, 5.0, 5.0]]), "mask": np.array([[True, True, True], [True, False, False]]),
         "clip_low": 0.2, "clip_high": 0.2, "dual_clip": None, "agg": "seq_mean_token_sum_norm"},
    ),
    section="§17, eq. (17.2)", scalar=True, split=_scalar_split(PL_PARAMS),
    inputs=(Input("logp_new", "[B,T]", differentiable=True, masked_by="mask"), Input("logp_old", "[B,T]", masked_by="mask"),
            Input("advantages", "[B,T]", masked_by="mask"), Input("mask", "[B,T]", "mask"), Input("clip_low"), Input("clip_high"),
            Input("dual_clip"), Input("agg", "str", "str")),
    output="scalar", reduction="agg",
    clauses=(Clause("PL-CLIP-HIGH", "a token with A > 0 and ρ > 1 + ε_high: clipped, no gradient", lambda i: _pl_clause(i, "high")),
             Clause("PL-CLIP-LOW", "a token with A < 0 and ρ < 1 − ε_low: clipped, no gradient", lambda i: _pl_clause(i, "low")),
             Clause("PL-DUAL-CLIP", "a token with A < 0 and ρ > c: the dual clip bounds o below by cA", lambda i: _pl_clause(i, "dual")),
             Clause("PL-ADV-ZERO", "a token with A = 0", lambda i: _any(_b(i["mask"]) & (_f(i["advantages"]) == 0.0))),
             Clause("PL-ASYMMETRIC", "ε_low ≠ ε_high (clip-higher)", lambda i: float(i["clip_low"]) != float(i["clip_high"])),
             Clause("PL-EMPTY-ROW", "a row without a response token", lambda i: _any(~_b(i["mask"]).any(axis=1)))),
    gradient=_vjp_nb(_pl_twin, ("logp_new",), PL_PARAMS), grad_bound=_pl_grad_bound,
    conventions=(_NORM_BATCH,), convention_kwargs=lambda conv: {} if _norm_batch(conv) else {"norm_batch": False},
    bound_for=lambda i, e, conv: _pl_bound(i, e, conv),
    gradient_note="with respect to logp_new only (logp_old and the advantages are data): w·ρA where the unclipped branch is active, 0 where a clip binds",
    invalid=(("dual_clip <= 1 (the reference raises ValueError: a dual clip must exceed 1)",
              {"logp_new": np.zeros((1, 1)), "logp_old": np.zeros((1, 1)), "advantages": np.ones((1, 1)), "mask": np.ones((1, 1), bool),
               "clip_low": 0.2, "clip_high": 0.2, "dual_clip": 1.0, "agg": "token_mean"}),),
))


# -------------------------------------------------------------------------------- value_loss


VL_PARAMS = ("values", "old_values", "returns", "mask", "clip", "agg")


def _vl_parts(i: Mapping[str, Any]) -> tuple[FloatArray, FloatArray, FloatArray]:
    v, vo, r = _f(i["values"]), _f(i["old_values"]), _f(i["returns"])
    un = 0.5 * (v - r) ** 2
    c = i.get("clip")
    if c is None:
        per, vc = un, v
    else:
        vc = vo + np.clip(v - vo, -float(c), float(c))
        per = np.maximum(un, 0.5 * (vc - r) ** 2)
    size = np.abs(v) + np.abs(vo) + np.abs(r) + (0.0 if c is None else float(c))
    return per, size * (np.abs(v - r) + np.abs(vc - r)), size


def _vl_bound(inp: Mapping[str, Any], expected: FloatArray, conv: Conv | None = None) -> Bound:
    per, scale, size = _vl_parts(inp)
    w = agg_weights(inp["mask"], inp["agg"], None, _norm_batch(conv))
    return _scalar_bound(w, per, scale, 8.0, float(np.max(size, initial=0.0)), "S = Σ w_i(|ℓ_i| + 8 S_i/(n+8)), S_i = (|v| + |v_old| + |R| + c)(|v − R| + |v_clip − R|), c = n + 8")


def _vl_kinks(i: Mapping[str, Any]) -> NDArray[np.bool_]:
    """Where the gradient jumps within float32 rounding: v − v_old on ±c, or the two squared errors tied."""
    c = i.get("clip")
    if c is None:
        return np.zeros(np.shape(i["values"]), dtype=bool)
    v, vo, r = _f(i["values"]), _f(i["old_values"]), _f(i["returns"])
    size = np.abs(v) + np.abs(vo) + np.abs(r) + float(c) + 1.0
    tol = 16.0 * U32 * size
    vc = vo + np.clip(v - vo, -float(c), float(c))
    out: NDArray[np.bool_] = ((np.abs(np.abs(v - vo) - float(c)) <= tol) | (np.abs(np.abs(v - r) - np.abs(vc - r)) <= tol)) & _b(i["mask"])
    return out


def _vl_grad_bound(inp: Mapping[str, Any], wrt: str, expected: FloatArray) -> Bound:
    base = normwise_grad_bound(inp, wrt, expected)
    w = np.abs(agg_weights(inp["mask"], inp["agg"]))
    v, r = _f(inp["values"]), _f(inp["returns"])
    jump = 2.0 * w * (2.0 * np.abs(v - r) + 2.0 * float(inp.get("clip") or 0.0)) * _vl_kinks(inp)  # |cotangent| <= 2
    return Bound(base.scale + jump / (K * base.ops * U32), base.ops, base.magnitude, base.rule + "; + w·(2|v − R| + 2c) at a kink of the max or the clip")


def _vl_clause(i: Mapping[str, Any], which: str) -> bool:
    c = i.get("clip")
    if c is None:
        return which == "none"
    if which == "none":
        return False
    v, vo, r, m = _f(i["values"]), _f(i["old_values"]), _f(i["returns"]), _b(i["mask"])
    vc = vo + np.clip(v - vo, -float(c), float(c))
    clipped_wins = (vc - r) ** 2 > (v - r) ** 2
    binds = np.abs(v - vo) > float(c)
    return _any(m & clipped_wins & (binds if which == "binds" else ~binds))


def _vl_twin(nb: bool) -> Callable[..., Any]:
    return lambda v, vo, r, m, c, agg: _pt().value_loss(v, vo, r, m, c, agg, norm_batch=nb)


add(Target(
    "value_loss", "(values[B,T], old_values[B,T], returns[B,T], mask[B,T], clip, agg) -> scalar",
    "agg(½ max((v − R)², (v_old + clip(v − v_old, −c, c) − R)²)); clip=None: agg(½(v − R)²)",
    "value_loss", VL_PARAMS, ps.value_loss_inputs, lambda i, e: _vl_bound(i, e),
    "S = Σ w_i(|ℓ_i| + 8 S_i/(n + 8)), S_i = (|v| + |v_old| + |R| + c)(|v − R| + |v_clip − R|), c = n + 8",
    examples=(
        {"values": np.array([[1.0, 2.0, 0.1]]), "old_values": np.array([[0.9, 0.0, 0.0]]), "returns": np.array([[0.0, 3.0, 0.1]]),
         "mask": np.array([[True, True, True]]), "clip": 0.5, "agg": "token_mean"},
        {"values": np.array([[1.0, 2.0], [3.0, -1.0]]), "old_values": np.array([[0.0, 0.0], [0.0, 0.0]]), "returns": np.array([[0.0, 0.0], [1.0, 1.0]]),
         "mask": np.array([[True, False], [True, True]]), "clip": None, "agg": "seq_mean_token_mean"},
    ),
    section="§17, eq. (17.3)", scalar=True, split=_scalar_split(VL_PARAMS),
    inputs=(Input("values", "[B,T]", differentiable=True, masked_by="mask"), Input("old_values", "[B,T]", masked_by="mask"),
            Input("returns", "[B,T]", masked_by="mask"), Input("mask", "[B,T]", "mask"), Input("clip"), Input("agg", "str", "str")),
    output="scalar", reduction="agg",
    clauses=(Clause("VL-NO-CLIP", "clip=None: ½(v − R)²", lambda i: _vl_clause(i, "none")),
             Clause("VL-CLIP-BINDS", "a token where the clipped error is the larger and the clip binds (|v − v_old| > c): no gradient there",
                    lambda i: _vl_clause(i, "binds")),
             Clause("VL-CLIPPED-BRANCH", "a token where the clipped error is the larger inside the band: its gradient is (v_clip − R)",
                    lambda i: _vl_clause(i, "inside"))),
    gradient=_vjp_nb(_vl_twin, ("values",), VL_PARAMS), grad_bound=_vl_grad_bound,
    conventions=(_NORM_BATCH,), convention_kwargs=lambda conv: {} if _norm_batch(conv) else {"norm_batch": False},
    bound_for=lambda i, e, conv: _vl_bound(i, e, conv),
    gradient_note="with respect to values: the larger branch's derivative, on the clipped branch (v_clip − R) inside the band and 0 where the clip binds",
))


# -------------------------------------------------------------------------------- kl_penalty


_CLAMP = Convention("clamp", None, (10.0,), "no clamp (default) or every estimator clipped to ±10 (OpenRLHF; verl's low_var_kl for k3)")


def _kl_r(i: Mapping[str, Any]) -> FloatArray:
    out: FloatArray = _f(i["logp"]) - _f(i["ref_logp"])
    return out


def _kl_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    r = _kl_r(inp)
    slope = {"k1": np.ones_like(r), "k2": np.abs(r), "k3": np.abs(-np.expm1(-np.minimum(r, 700.0))), "abs": np.ones_like(r)}[str(inp["kind"])]
    mag = np.abs(_f(inp["logp"])) + np.abs(_f(inp["ref_logp"]))
    s = np.abs(expected) + (1.0 + slope) * mag
    return Bound(s, np.full(s.shape, 8.0), mag, "S_i = |k_i| + (1 + |k'(r_i)|)(|logp_i| + |ref_logp_i|) (the rounding of r, times the slope), c = 8")


add(Target(
    "kl_penalty", "(logp[B,T], ref_logp[B,T], kind) -> [B,T]",
    "r = logp − ref_logp; k1 r, k2 ½r², k3 e^{−r} − 1 + r, abs |r|",
    "kl_penalty", ("logp", "ref_logp", "kind"), ps.kl_penalty_inputs, _kl_bound,
    "S_i = |k_i| + (1 + |k'(r_i)|)(|logp_i| + |ref_logp_i|), c = 8",
    examples=(
        {"logp": np.array([[-0.5, -13.0, -1.0]]), "ref_logp": np.array([[-1.0, -1.0, -12.5]]), "kind": "k1"},
        {"logp": np.array([[-0.5, -13.0, -1.0]]), "ref_logp": np.array([[-1.0, -1.0, -12.5]]), "kind": "k3"},
        {"logp": np.array([[-1.0001, -2.0]]), "ref_logp": np.array([[-1.0, -2.0]]), "kind": "k3"},
        {"logp": np.array([[-3.0, -1.0]]), "ref_logp": np.array([[-1.0, -3.0]]), "kind": "k2"},
    ),
    section="§17, eq. (17.4)",
    inputs=(Input("logp", "[B,T]", differentiable=True), Input("ref_logp", "[B,T]"), Input("kind", "str", "str")), output="[B,T]",
    conventions=(_CLAMP,), convention_kwargs=lambda conv: {"clamp": conv["clamp"]} if conv.get("clamp") is not None else {},
    clauses=(Clause("KL-R-ZERO", "r = 0: every estimator is 0", lambda i: _kl_r(i) == 0.0),
             Clause("KL-SMALL-R", "0 < |r| < 1e-2: k3 = e^{−r} − 1 + r cancels unless computed with care", lambda i: (np.abs(_kl_r(i)) < 1e-2) & (_kl_r(i) != 0.0)),
             Clause("KL-LARGE-R", "|r| > 10: a clamp at ±10 changes k1 and abs", lambda i: np.abs(_kl_r(i)) > 10.0),
             Clause("KL-ABS-KINK", "r = 0 for abs: the gradient may be anything in [−1, 1]", lambda i: (_kl_r(i) == 0.0) & (i["kind"] == "abs"), grad_free=True)),
    gradient=_vjp(lambda lp, rl, kind: _pt().kl_penalty(lp, rl, kind), ("logp",), ("logp", "ref_logp", "kind")),
    gradient_note="with respect to logp: k'(r) = 1, r, 1 − e^{−r}, sign(r)",
    split=_scalar_split(("logp", "ref_logp", "kind")),
))


# ------------------------------------------------------------------- token log-probs, entropy


def _z_scale(i: Mapping[str, Any]) -> FloatArray:
    z = _f(i["logits"])
    fin = np.where(np.isfinite(z), np.abs(z), 0.0)
    out: FloatArray = fin.max(axis=-1) / float(i["temperature"])
    return out


def _lp_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    zs = _z_scale(inp)
    s = np.where(np.isfinite(expected), np.abs(expected), 0.0) + 2.0 * zs + 1.0
    v = float(np.shape(inp["logits"])[-1])
    return Bound(s, np.full(s.shape, v + 8.0), zs, "S = |log p| + 2 max|z|/τ + 1 (log-sum-exp of V terms), c = V + 8")


def _logits_grad_bound(inp: Mapping[str, Any], wrt: str, expected: FloatArray) -> Bound:
    """VJP w.r.t. logits: its size is set by the logits, not by the VJP (which can vanish, e.g. for uniform logits):
    S = 2 (2 max|z|/τ + log V + 1)/τ (|cotangent| <= 2), c = 2V + 16."""
    zs = float(np.max(_z_scale(inp), initial=0.0))
    v = float(np.shape(inp["logits"])[-1])
    tau = float(inp["temperature"])
    s = 2.0 * (2.0 * zs + math.log(v) + 1.0) / tau + float(np.max(np.abs(expected), initial=0.0))
    m = np.full(expected.shape, s)
    return Bound(m, np.full(expected.shape, 2.0 * v + 16.0), m, f"S = 2(2 max|z|/τ + log V + 1)/τ + max|VJP| = {s:.3g}, c = 2V + 16")


def _minus_inf_rows(i: Mapping[str, Any]) -> NDArray[np.bool_]:
    out: NDArray[np.bool_] = np.asarray(np.isneginf(_f(i["logits"])).any(axis=-1), dtype=bool)
    return out


def _lp_split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CanonicalCall | None:
    return _scalar_split(("logits", "tokens", "temperature"))(args, kwargs)


add(Target(
    "token_logprobs", "(logits[B,T,V], tokens[B,T], temperature) -> [B,T]",
    "log_softmax(logits / τ)[token]; the caller's logits are not modified",
    "token_logprobs", ("logits", "tokens", "temperature"), ps.token_logprobs_inputs, _lp_bound,
    "S = |log p| + 2 max|z|/τ + 1, c = V + 8",
    examples=(
        {"logits": np.array([[[2.0, 0.0, -1.0], [0.0, -np.inf, 5.0]]]), "tokens": np.array([[0, 2]]), "temperature": 0.7},
        {"logits": np.array([[[1.0, 1.0, 1.0, 1.0]]]), "tokens": np.array([[3]]), "temperature": 1.0},
        {"logits": np.array([[[20.0, -20.0]]]), "tokens": np.array([[1]]), "temperature": 0.5},
    ),
    section="§17, eq. (17.5)", split=_lp_split,
    inputs=(Input("logits", "[B,T,V]", differentiable=True), Input("tokens", "[B,T]", "tokens"), Input("temperature")), output="[B,T]",
    clauses=(Clause("LP-MINUS-INF", "a distribution with a −inf logit (a token of probability 0)", _minus_inf_rows),
             Clause("LP-TEMPERATURE", "τ ≠ 1: the logits are divided by the sampling temperature", lambda i: float(i["temperature"]) != 1.0),
             in_place_clause("LP-IN-PLACE", "the caller's logits modified in place (e.g. logits.div_(τ))")),
    gradient=_vjp(lambda z, y, tau: _pt().token_logprobs(z, y, tau), ("logits",), ("logits", "tokens", "temperature")), grad_bound=_logits_grad_bound,
    gradient_note="with respect to the logits: (e_token − p)/τ; 0 at −inf logits",
))


def _ent_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    zs = _z_scale(inp)
    s = np.abs(expected) + 2.0 * zs + 1.0
    v = float(np.shape(inp["logits"])[-1])
    return Bound(s, np.full(s.shape, 2.0 * v + 8.0), zs, "S = H + 2 max|z|/τ + 1, c = 2V + 8")


add(Target(
    "token_entropy", "(logits[B,T,V], temperature) -> [B,T]",
    "−Σ p log p, p = softmax(logits / τ), 0·log 0 = 0 (finite for −inf logits)",
    "token_entropy", ("logits", "temperature"), ps.token_entropy_inputs, _ent_bound, "S = H + 2 max|z|/τ + 1, c = 2V + 8",
    examples=(
        {"logits": np.array([[[0.0, -np.inf, 0.0, -np.inf]]]), "temperature": 1.0},
        {"logits": np.array([[[5.0, -np.inf]], [[1.0, 2.0]]]), "temperature": 2.0},
        {"logits": np.array([[[3.0, 1.0, -2.0]]]), "temperature": 0.5},
    ),
    section="§17, eq. (17.6)", split=_scalar_split(("logits", "temperature")),
    inputs=(Input("logits", "[B,T,V]", differentiable=True), Input("temperature")), output="[B,T]",
    clauses=(Clause("ENT-MINUS-INF", "a −inf logit: 0·log 0 = 0 (NaN if computed as p·log p)", _minus_inf_rows),
             Clause("ENT-ONE-HOT", "one finite logit: H = 0", lambda i: np.isfinite(_f(i["logits"])).sum(axis=-1) == 1),
             Clause("ENT-TEMPERATURE", "τ ≠ 1", lambda i: float(i["temperature"]) != 1.0)),
    gradient=_vjp(lambda z, tau: _pt().token_entropy(z, tau), ("logits",), ("logits", "temperature")), grad_bound=_logits_grad_bound,
    gradient_note="with respect to the logits: −p(log p + H)/τ; 0 at −inf logits",
))


# ----------------------------------------------------------------------------- masked_whiten


_WH_PLACEMENT = Convention("eps_placement", "var", ("std",), "(x − μ)/sqrt(σ² + eps) (TRL, verl; default) or (x − μ)/(σ + eps)")
_WH_DDOF = Convention("ddof", DRAWN, (1, 0), "σ² with n − 1 (TRL, verl) or n: drawn by the search (default) or pinned")


def _wh_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    x, m = _f(inp["x"]), _b(inp["mask"])
    vals = x[m]
    n = float(vals.size)
    mu = float(vals.mean())
    var = float(((vals - mu) ** 2).sum() / max(n - int(inp["ddof"]), 1.0))
    den = math.sqrt(var + float(inp["eps"]))
    big = float(np.max(np.abs(vals)))
    s = (np.abs(x - mu) * (1.0 + big / den) + big) / den + (0.0 if inp["shift_mean"] else abs(mu))
    return Bound(np.where(m, s, 0.0), np.full(x.shape, n + 8.0), np.full(x.shape, big), "S_i = (|x_i − μ|(1 + max|x|/σ) + max|x|)/σ (+|μ|), σ = sqrt(σ² + eps), c = n + 8")


def _wh_grad_bound(inp: Mapping[str, Any], wrt: str, expected: FloatArray) -> Bound:
    x, m = _f(inp["x"]), _b(inp["mask"])
    vals = x[m]
    mu = float(vals.mean())
    var = float(((vals - mu) ** 2).sum() / max(vals.size - int(inp["ddof"]), 1))
    den = math.sqrt(var + float(inp["eps"]))
    big = float(np.max(np.abs(vals - mu)))
    s = 2.0 * (1.0 + big / den) ** 2 / den + float(np.max(np.abs(expected), initial=0.0))
    full = np.full(expected.shape, s)
    return Bound(full, np.full(expected.shape, 2.0 * vals.size + 16.0), full, f"S = 2(1 + max|x − μ|/σ)²/σ + max|VJP| = {s:.3g}, c = 2n + 16")


add(Target(
    "masked_whiten", "(x[B,T], mask[B,T], shift_mean, ddof, eps) -> [B,T]",
    "(x − μ)/sqrt(σ² + eps) over the masked entries, σ² with n − ddof; μ added back when shift_mean is false; free outside the mask",
    "masked_whiten", ("x", "mask", "shift_mean", "ddof", "eps"), ps.masked_whiten_inputs, _wh_bound,
    "S_i = (|x_i − μ|(1 + max|x|/σ) + max|x|)/σ (+|μ| without shift), c = n + 8",
    examples=(
        {"x": np.array([[1.0, 2.0, 9.0], [3.0, 4.0, 9.0]]), "mask": np.array([[True, True, False], [True, True, False]]), "shift_mean": True, "ddof": 1, "eps": 1e-8},
        {"x": np.array([[1.0, 2.0, 9.0], [3.0, 4.0, 9.0]]), "mask": np.array([[True, True, False], [True, True, False]]), "shift_mean": False, "ddof": 0, "eps": 1e-8},
        {"x": np.array([[5.0, 5.0, 5.0]]), "mask": np.array([[True, True, True]]), "shift_mean": True, "ddof": 1, "eps": 1e-8},
    ),
    section="§17, eq. (17.7)", split=_scalar_split(("x", "mask", "shift_mean", "ddof", "eps")),
    inputs=(Input("x", "[B,T]", differentiable=True, masked_by="mask"), Input("mask", "[B,T]", "mask"), Input("shift_mean", "scalar", "bool"),
            Input("ddof", "int", "int"), Input("eps")), output="[B,T]",
    conventions=(_WH_DDOF, _WH_PLACEMENT),
    convention_kwargs=lambda conv: {"eps_placement": conv["eps_placement"]} if conv.get("eps_placement", "var") != "var" else {},
    clauses=(Clause("WH-PADDING", "a position outside the mask: its output is free (any finite value)", lambda i: ~_b(i["mask"]), free=True),
             Clause("WH-CONSTANT", "every masked entry equal: the whitened entries are 0", lambda i: bool(np.ptp(_f(i["x"])[_b(i["mask"])]) == 0.0)),
             Clause("WH-KEEP-MEAN", "shift_mean false: μ added back", lambda i: not bool(i["shift_mean"]))),
    gradient=_vjp(lambda x, m, sm, dd, e: _pt().masked_whiten(x, m, bool(sm), int(dd), e), ("x",), ("x", "mask", "shift_mean", "ddof", "eps")),
    grad_bound=_wh_grad_bound,
    gradient_note="with respect to x, through μ and σ²",
    invalid=(("one masked entry with ddof = 1 (the reference raises ValueError: the sample variance needs two)",
              {"x": np.array([[1.0, 2.0]]), "mask": np.array([[True, False]]), "shift_mean": True, "ddof": 1, "eps": 1e-8}),),
    domain_note="more than ddof masked entries",
))


# ------------------------------------------------------------------- group and RLOO advantages


_GA_DDOF = Convention("ddof", 1, (0,), "the std with n − 1 (torch.std; TRL, verl; default) or n")
_GA_PLACEMENT = Convention("eps_placement", "std", ("var",), "(r − μ)/(σ + eps) (default) or (r − μ)/sqrt(σ² + eps)")
_GA_SINGLETON = Convention("singleton", "zero", ("raw",), "a group of one: A = 0 (default) or verl's raw score (μ = 0, σ = 1)")


def _ga_kwargs(conv: Conv) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if conv.get("ddof", 1) != 1:
        out["ddof"] = conv["ddof"]
    if conv.get("eps_placement", "std") != "std":
        out["eps_placement"] = conv["eps_placement"]
    if conv.get("singleton", "zero") != "zero":
        out["singleton"] = conv["singleton"]
    return out


def _ga_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    r = _f(inp["rewards"])
    g = int(inp["group_size"])
    grp = r.reshape(-1, g)
    big = np.repeat(np.abs(grp).max(axis=1), g)
    scale = str(inp["scale"])
    if scale == "none" or g == 1:
        s = big + np.abs(r)
        return Bound(s, np.full(r.shape, g + 4.0), big, "S_i = max|r_group| + |r_i|, c = G + 4")
    sd = np.repeat(grp.std(axis=1, ddof=1), g) if scale == "group" else np.full(r.shape, r.std(ddof=1) if r.size > 1 else 0.0)
    if scale == "batch":
        big = np.full(r.shape, float(np.abs(r).max()))
    den = sd + float(inp["eps"])
    s = (big + np.abs(r)) * (1.0 + np.abs(expected)) / den
    n = float(g if scale == "group" else r.size)
    return Bound(s, np.full(r.shape, n + 8.0), big, "S_i = (max|r| + |r_i|)(1 + |A_i|)/(σ + eps) over the group (or batch), c = G (or N) + 8")


def _constant_groups(i: Mapping[str, Any]) -> NDArray[np.bool_]:
    g = int(i["group_size"])
    grp = _f(i["rewards"]).reshape(-1, g)
    out: NDArray[np.bool_] = np.repeat(np.ptp(grp, axis=1) == 0.0, g) & (g > 1)
    return out


add(Target(
    "group_advantages", "(rewards[N], group_size, scale, eps) -> [N]",
    "groups of consecutive rows; (r − μ_group)/(σ + eps), σ the group's (\"group\") or batch's (\"batch\") std (ddof 1), or r − μ_group (\"none\")",
    "group_advantages", ("rewards", "group_size", "scale", "eps"), ps.group_advantages_inputs, _ga_bound,
    "S_i = (max|r| + |r_i|)(1 + |A_i|)/(σ + eps), c = G + 8",
    examples=(
        {"rewards": np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0]), "group_size": 3, "scale": "group", "eps": 1e-6},
        {"rewards": np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0]), "group_size": 3, "scale": "batch", "eps": 1e-6},
        {"rewards": np.array([0.5, 1.5, 3.0, -1.0]), "group_size": 2, "scale": "none", "eps": 1e-6},
        {"rewards": np.array([1.0, 1.001, 1.0, 1.002, 7.0, -3.0, 0.0, 4.0]), "group_size": 4, "scale": "group", "eps": 1e-6},
        {"rewards": np.array([3.0, -1.0]), "group_size": 1, "scale": "group", "eps": 1e-6},
    ),
    section="§17, eq. (17.8)", split=_scalar_split(("rewards", "group_size", "scale", "eps")),
    inputs=(Input("rewards", "[N]"), Input("group_size", "int", "int"), Input("scale", "str", "str"), Input("eps")), output="[N]",
    conventions=(_GA_DDOF, _GA_PLACEMENT, _GA_SINGLETON), convention_kwargs=_ga_kwargs,
    clauses=(Clause("GA-SINGLETON", "group_size = 1: the centred reward is 0", lambda i: int(i["group_size"]) == 1),
             Clause("GA-CONSTANT-GROUP", "a group whose rewards are all equal: A = 0 (σ = 0)", _constant_groups),
             Clause("GA-BATCH-SCALE", "scale \"batch\": the group's mean, the whole batch's std", lambda i: i["scale"] == "batch")),
    invalid=(("N not a multiple of group_size (the reference raises ValueError)", {"rewards": np.zeros(5), "group_size": 2, "scale": "group", "eps": 1e-6}),),
))


def _rloo_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    r = _f(inp["rewards"])
    g = int(inp["group_size"])
    big = np.repeat(np.abs(r.reshape(-1, g)).max(axis=1), g)
    return Bound(2.0 * big, np.full(r.shape, g + 4.0), big, "S_i = 2 max|r_group|, c = G + 4")


add(Target(
    "rloo_advantages", "(rewards[N], group_size) -> [N]", "A_i = r_i − mean of the other rewards of i's group",
    "rloo_advantages", ("rewards", "group_size"), ps.rloo_advantages_inputs, _rloo_bound, "S_i = 2 max|r_group|, c = G + 4",
    examples=({"rewards": np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0]), "group_size": 3}, {"rewards": np.array([2.0, -1.0]), "group_size": 2}),
    section="§17, eq. (17.9)", split=_scalar_split(("rewards", "group_size")),
    inputs=(Input("rewards", "[N]"), Input("group_size", "int", "int")), output="[N]",
    clauses=(Clause("RLOO-PAIR", "group_size = 2: A_i = r_i − r_j", lambda i: int(i["group_size"]) == 2),
             Clause("RLOO-CONSTANT-GROUP", "a group whose rewards are all equal: A = 0", _constant_groups)),
    invalid=(("group_size = 1 (the reference raises ValueError: no other reward to leave out)", {"rewards": np.array([1.0, 2.0]), "group_size": 1}),),
))


# -------------------------------------------------------------------------------- masked_gae


_HOLES = Convention("holes", "skip", ("step",),
                    "positions outside the mask are absent, the recursion carries across them (default), or (OpenRLHF) set to 0 and stepped through")


def _mgae_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    gae = get_target("gae")
    return gae.bound_under(inp, expected, gae.default_conventions() | {"layout": "[B,T]"})


def _mgae_holes(i: Mapping[str, Any]) -> NDArray[np.bool_]:
    m = _b(i["mask"])
    after = np.cumsum(m[:, ::-1], axis=1)[:, ::-1] > 0
    hole_after = np.zeros(m.shape, dtype=bool)
    for b in range(m.shape[0]):
        idx = np.flatnonzero(m[b])
        if idx.size and (idx[-1] - idx[0] + 1) > idx.size:
            last_hole = max(j for j in range(idx[0], idx[-1]) if not m[b, j])
            hole_after[b, : last_hole] = True
    out: NDArray[np.bool_] = m & after & hole_after
    return out


def _empty_rows(i: Mapping[str, Any]) -> NDArray[np.bool_]:
    m = _b(i["mask"])
    out: NDArray[np.bool_] = np.repeat(~np.asarray(m.any(axis=1), dtype=bool)[:, None], m.shape[1], axis=1)
    return out


def _mgae_vjp(inp: Mapping[str, Any], cot: FloatArray, conv: Conv) -> dict[str, FloatArray]:
    holes = conv.get("holes", "skip")
    fn = _vjp(lambda r, v, m, g, lm: _pt().masked_gae(r, v, m, g, lm, holes=holes), ("rewards", "values"), ("rewards", "values", "mask", "gamma", "lam"))
    out: dict[str, FloatArray] = fn(inp, cot, conv)
    return out


add(Target(
    "masked_gae", "(rewards[B,T], values[B,T], mask[B,T], gamma, lam) -> [B,T]",
    "GAE over each row's response tokens as one episode that terminates after the last; outside the mask skipped, outputs free",
    "practice_masked_gae", ("rewards", "values", "mask", "gamma", "lam"), ps.masked_gae_inputs, _mgae_bound,
    "per row, the [T] GAE rule on the row's response tokens (as gae under layout [B,T]); outside the mask free",
    examples=(
        {"rewards": np.array([[0.0, 1.0, 2.0, 0.0], [1.0, 0.0, -1.0, 3.0]]), "values": np.array([[5.0, 0.5, 0.25, 5.0], [1.0, 2.0, 3.0, 4.0]]),
         "mask": np.array([[False, True, True, False], [True, False, True, True]]), "gamma": 1.0, "lam": 0.95},
        {"rewards": np.array([[1.0, 2.0]]), "values": np.array([[0.5, 0.5]]), "mask": np.array([[False, False]]), "gamma": 0.9, "lam": 0.0},
    ),
    section="§17, eq. (17.10)", split=_scalar_split(("rewards", "values", "mask", "gamma", "lam")),
    inputs=(Input("rewards", "[B,T]", differentiable=True, masked_by="mask"), Input("values", "[B,T]", differentiable=True, masked_by="mask"),
            Input("mask", "[B,T]", "mask"), Input("gamma"), Input("lam")), output="[B,T]",
    conventions=(_HOLES, Convention("gamma", DRAWN, (1.0,), "γ drawn (default) or hard-coded 1 (RLHF)"),
                 Convention("lam", DRAWN, (0.95,), "λ drawn (default) or hard-coded 0.95")),
    convention_kwargs=lambda conv: {"holes": conv["holes"]} if conv.get("holes", "skip") != "skip" else {},
    clauses=(Clause("MGAE-PADDING", "a position outside the mask: its output is free (any finite value)", lambda i: ~_b(i["mask"]), free=True),
             Clause("MGAE-EMPTY-ROW", "a row without a response token (all its outputs are free)", _empty_rows),
             Clause("MGAE-HOLE", "a response token before a hole: the recursion must carry across it", _mgae_holes),
             Clause("MGAE-LAMBDA0", "λ = 0: the TD residual", lambda i: float(i["lam"]) == 0.0),
             Clause("MGAE-GAMMA1", "γ = 1 (RLHF)", lambda i: float(i["gamma"]) == 1.0)),
    gradient=_mgae_vjp, gradient_note="with respect to rewards and values (GAE is linear in both); 0 outside the mask",
))


# --------------------------------------------------------------------------- preference_loss


PREF_PARAMS = ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected", "beta", "kind", "label_smoothing")


def _sig(x: FloatArray) -> FloatArray:
    out: FloatArray = np.exp(-np.logaddexp(0.0, -x))
    return out


def _pref_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    cols = [_f(inp[k]) for k in PREF_PARAMS[:4]]
    beta = float(inp["beta"])
    h = (cols[0] - cols[2]) - (cols[1] - cols[3])
    mag = np.abs(cols[0]) + np.abs(cols[1]) + np.abs(cols[2]) + np.abs(cols[3])
    kind, eps = str(inp["kind"]), float(inp["label_smoothing"])
    if kind == "ipo":
        s = np.abs(expected) + 2.0 * np.abs(h - 1.0 / (2.0 * beta)) * (mag + 1.0 / beta)
    elif kind == "hinge":
        s = np.abs(expected) + beta * mag + 1.0
    else:
        s = (np.abs(expected) + (_sig(-beta * h) + eps) * beta * mag) / (1.0 - 2.0 * eps if kind == "robust" else 1.0)
    return Bound(s, np.full(s.shape, 12.0), beta * mag, "S_i = |ℓ_i| + |ℓ'(h_i)|·(|π_w| + |π_l| + |ref_w| + |ref_l|), c = 12")


def _pref_h(i: Mapping[str, Any]) -> FloatArray:
    out: FloatArray = (_f(i["policy_chosen"]) - _f(i["ref_chosen"])) - (_f(i["policy_rejected"]) - _f(i["ref_rejected"]))
    return out


add(Target(
    "preference_loss", "(policy_chosen[N], policy_rejected[N], ref_chosen[N], ref_rejected[N], beta, kind, label_smoothing) -> [N]",
    "h = (π_w − ref_w) − (π_l − ref_l); sigmoid (label-smoothed), robust, ipo (h − 1/(2β))², hinge max(0, 1 − βh)",
    "preference_loss", PREF_PARAMS, ps.preference_loss_inputs, _pref_bound, "S_i = |ℓ_i| + |ℓ'(h_i)|·Σ|log-probs|, c = 12",
    examples=(
        {"policy_chosen": np.array([0.0, -10000.0]), "policy_rejected": np.array([-10000.0, 0.0]), "ref_chosen": np.array([0.0, 0.0]),
         "ref_rejected": np.array([0.0, 0.0]), "beta": 1.0, "kind": "sigmoid", "label_smoothing": 0.1},
        {"policy_chosen": np.array([-1.0, -30.0]), "policy_rejected": np.array([-2.0, -1.0]), "ref_chosen": np.array([-1.5, -20.0]),
         "ref_rejected": np.array([-1.0, -2.0]), "beta": 0.1, "kind": "robust", "label_smoothing": 0.25},
        {"policy_chosen": np.array([-5.0]), "policy_rejected": np.array([-10.0]), "ref_chosen": np.array([0.0]), "ref_rejected": np.array([0.0]),
         "beta": 0.1, "kind": "ipo", "label_smoothing": 0.0},
        {"policy_chosen": np.array([-1.0, -2.0]), "policy_rejected": np.array([-3.0, -2.0]), "ref_chosen": np.array([-1.0, -1.0]),
         "ref_rejected": np.array([-1.0, -1.0]), "beta": 0.5, "kind": "hinge", "label_smoothing": 0.0},
    ),
    section="§17, eq. (17.11)", split=_scalar_split(PREF_PARAMS),
    inputs=(Input("policy_chosen", "[N]", differentiable=True), Input("policy_rejected", "[N]", differentiable=True), Input("ref_chosen", "[N]"),
            Input("ref_rejected", "[N]"), Input("beta"), Input("kind", "str", "str"), Input("label_smoothing")), output="[N]",
    clauses=(Clause("PREF-LARGE-MARGIN", "|βh| > 80: exp overflows in float32 unless log σ is computed stably", lambda i: np.abs(float(i["beta"]) * _pref_h(i)) > 80.0),
             Clause("PREF-SMOOTHING", "label_smoothing ε > 0", lambda i: float(i["label_smoothing"]) > 0.0),
             Clause("PREF-IPO-MIN", "ipo at h = 1/(2β): the loss is 0", lambda i: (i["kind"] == "ipo") & (_pref_h(i) == 1.0 / (2.0 * float(i["beta"])))),
             Clause("PREF-HINGE-KINK", "hinge at βh = 1: the gradient may be either side's", lambda i: (i["kind"] == "hinge") & (np.abs(float(i["beta"]) * _pref_h(i) - 1.0) <= 1e-5), grad_free=True)),
    gradient=_vjp(lambda pc, pr, rc, rr, b, k, e: _pt().preference_loss(pc, pr, rc, rr, b, k, e), ("policy_chosen", "policy_rejected"), PREF_PARAMS),
    gradient_note="with respect to the policy's sequence log-probs; the reference model's are constants",
    invalid=(("robust with label_smoothing = 0.5 (the reference raises ValueError: 1 − 2ε = 0)",
              {"policy_chosen": np.zeros(1), "policy_rejected": np.zeros(1), "ref_chosen": np.zeros(1), "ref_rejected": np.zeros(1),
               "beta": 0.1, "kind": "robust", "label_smoothing": 0.5}),),
))


# ------------------------------------------------------------------------ adaptive_kl_update


def _akl_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    beta, n, h = float(inp["beta"]), float(inp["n_steps"]), float(inp["horizon"])
    s = np.asarray(beta * (1.0 + 0.2 * n / h) + beta * n / h * abs(float(inp["kl"]) / float(inp["target"])))
    return Bound(s, np.asarray(8.0), np.asarray(beta), "S = β(1 + 0.2 n/H) + β (n/H)|kl/target|, c = 8")


def _akl_err(i: Mapping[str, Any]) -> float:
    return float(i["kl"]) / float(i["target"]) - 1.0


add(Target(
    "adaptive_kl_update", "(beta, kl, target, horizon, n_steps) -> float", "β(1 + clip(kl/target − 1, −0.2, 0.2)·n_steps/horizon)",
    "adaptive_kl_update", ("beta", "kl", "target", "horizon", "n_steps"), ps.adaptive_kl_update_inputs, _akl_bound,
    "S = β(1 + 0.2 n/H) + β(n/H)|kl/target|, c = 8",
    examples=({"beta": 0.1, "kl": 0.5, "target": 0.06, "horizon": 100.0, "n_steps": 64.0},
              {"beta": 0.1, "kl": 0.0, "target": 0.06, "horizon": 10000.0, "n_steps": 256.0},
              {"beta": 0.2, "kl": 6.6, "target": 6.0, "horizon": 10000.0, "n_steps": 256.0}),
    section="§17, eq. (17.12)", scalar=True, split=_scalar_split(("beta", "kl", "target", "horizon", "n_steps")),
    inputs=(Input("beta"), Input("kl"), Input("target"), Input("horizon"), Input("n_steps")), output="scalar",
    clauses=(Clause("AKL-CLIP-HIGH", "kl/target − 1 > 0.2: the error is clipped at 0.2", lambda i: _akl_err(i) > 0.2),
             Clause("AKL-CLIP-LOW", "kl/target − 1 < −0.2: clipped at −0.2", lambda i: _akl_err(i) < -0.2),
             Clause("AKL-NO-STEPS", "n_steps = 0: β unchanged", lambda i: float(i["n_steps"]) == 0.0)),
    invalid=(("n_steps/horizon >= 5 with kl below target (the reference raises ValueError: β would be <= 0)",
              {"beta": 0.1, "kl": 0.0, "target": 1.0, "horizon": 1.0, "n_steps": 6.0}),),
))


# ---------------------------------------------- wrong implementations only --grad sees (torch)
# Every value right, the gradient wrong: a ratio from a detached logp_new, the unclipped value
# error without gradient (the clipped branch is the larger only where the clip binds, where its
# gradient is 0 anyway, so detaching it changes nothing but ties), an entropy whose gradient is NaN at a −inf logit, a KL estimator computed
# without autograd, a DPO-style loss with the rejected log-probs detached.  The numpy mutants of
# verification.mutants.s17_practice join these families automatically.


def _grad_wrong(target: str, name: str, bug: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        wrong.FAMILIES.setdefault(target, []).append(wrong.Wrong(target, name, bug, fn, {"grad": True}))
        return fn

    return deco


@_grad_wrong("policy_loss", "ratio-from-detached-logp", "ρ = exp(logp_new.detach() − logp_old): every value right, no gradient reaches the policy")
def _pl_detached(logp_new: Any, logp_old: Any, advantages: Any, mask: Any, clip_low: float, clip_high: float, dual_clip: Any, agg: str) -> Any:
    from verification.conformance import examples_practice as ex

    return ex.policy_loss(logp_new.detach(), logp_old, advantages, mask, clip_low, clip_high, dual_clip, agg)


@_grad_wrong("value_loss", "unclipped-branch-detached", "the unclipped error (v − R)² computed from a detached v: right values, no gradient where it is the larger")
def _vl_detached(values: Any, old_values: Any, returns: Any, mask: Any, clip: Any, agg: str) -> Any:
    import torch

    from verification.conformance import examples_practice as ex

    v, vo, r = values, old_values, returns
    un = (v.detach() - r) ** 2
    per = un if clip is None else torch.maximum(un, (vo + torch.clamp(v - vo, -clip, clip) - r) ** 2)
    return ex.aggregate_loss(0.5 * per, mask, agg)


@_grad_wrong("token_entropy", "nan-grad-at-minus-inf", "−(p·log p).nan_to_num().sum(): the value is right, the gradient NaN at a −inf logit")
def _ent_nan_grad(logits: Any, temperature: float) -> Any:
    import torch

    logp = torch.log_softmax(logits / temperature, dim=-1)
    return -torch.nan_to_num(logp.exp() * logp, nan=0.0).sum(dim=-1)


@_grad_wrong("kl_penalty", "computed-without-autograd", "the estimator computed under torch.no_grad(): right values, no gradient to logp")
def _kl_no_grad(logp: Any, ref_logp: Any, kind: str) -> Any:
    import torch

    from verification.conformance import examples_practice as ex

    with torch.no_grad():
        return ex.kl_penalty(logp, ref_logp, kind)


@_grad_wrong("preference_loss", "rejected-detached", "the rejected response's log-probs detached: no gradient pushes y_l down")
def _pref_detached(pc: Any, pr: Any, rc: Any, rr: Any, beta: float, kind: str, label_smoothing: float) -> Any:
    from verification.conformance import examples_practice as ex

    return ex.preference_loss(pc, pr.detach(), rc, rr, beta, kind, label_smoothing)


@_grad_wrong("masked_gae", "values-detached", "advantages computed from detached values: right values, no gradient to the critic's V")
def _mgae_values_detached(rewards: Any, values: Any, mask: Any, gamma: float, lam: float) -> Any:
    from verification.conformance import examples_practice as ex

    return ex.masked_gae(rewards, values.detach(), mask, gamma, lam)


@_grad_wrong("token_logprobs", "logits-detached", "log-probs of detached logits: right values, no gradient to the model")
def _lp_detached(logits: Any, tokens: Any, temperature: float) -> Any:
    from verification.conformance import examples_practice as ex

    return ex.token_logprobs(logits.detach(), tokens, temperature)
