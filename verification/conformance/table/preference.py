"""Preference-loss targets (SPEC.md §12): Bradley–Terry and DPO on summed sequence log-probs."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from .. import strategies as cs
from .._calls import Case, MatrixOperator
import reference

from ._base import U32, Bound, CanonicalCall, Clause, Convention, Input, Target, add, autograd_vjp
from ._helpers import FloatArray, _b, _f, elementwise_split, scalar_split


# ---------------------------------------------------------------------------------- RLHF


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = np.exp(-np.logaddexp(0.0, -x))
    return out


def _dpo_margin(i: Mapping[str, Any]) -> FloatArray:
    out: FloatArray = float(i["beta"]) * ((_f(i["policy_chosen"]) - _f(i["ref_chosen"])) - (_f(i["policy_rejected"]) - _f(i["ref_rejected"])))
    return out


_DPO_LAYOUT = Convention(
    "layout", "[N]", ("[B,T]",),
    "[N]: summed sequence log-probs (default); [B,T]: per-token log-probs with response masks, called as (policy_chosen[B,T], "
    "policy_rejected[B,T], ref_chosen[B,T], ref_rejected[B,T], chosen_mask[B,T], rejected_mask[B,T], beta): the implementation "
    "sums each response's tokens itself, so a sum over padding is caught (padding holds in-domain garbage)",
)


def _dpo_tokens(conv: Mapping[str, Any]) -> bool:
    return bool(conv.get("layout", "[N]") == "[B,T]")


def _dpo_call_form(inp: Mapping[str, Any], conv: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    if _dpo_tokens(conv):
        return tuple((k, inp[f"{k}_tokens"]) for k in ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected")) + (
            ("chosen_mask", inp["chosen_mask"]), ("rejected_mask", inp["rejected_mask"]), ("beta", inp["beta"]))
    return tuple((k, inp[k]) for k in ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected", "beta"))


def _dpo_twin(pc: Any, pr: Any, rc: Any, rr: Any, b: float) -> Any:
    return reference.dpo_loss_torch(pc, pr, rc, rr, b)


_dpo_seq_vjp = autograd_vjp(_dpo_twin, ("policy_chosen", "policy_rejected"), ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected", "beta"))


def _dpo_vjp(inp: Mapping[str, Any], cot: FloatArray, conv: Mapping[str, Any]) -> dict[str, FloatArray]:
    g = _dpo_seq_vjp(inp, cot, conv)
    if not _dpo_tokens(conv):
        return g
    return {"policy_chosen": g["policy_chosen"][:, None] * _b(inp["chosen_mask"]),
            "policy_rejected": g["policy_rejected"][:, None] * _b(inp["rejected_mask"])}


def _dpo_bound_for(inp: Mapping[str, Any], expected: FloatArray, conv: Mapping[str, Any]) -> Bound | None:
    if not _dpo_tokens(conv):
        return None
    b = _dpo_bound(inp, expected)
    t = float(np.shape(inp["chosen_mask"])[1])
    return Bound(b.scale, b.ops + t, b.magnitude, b.rule + ", + T for the token sums")


def _bt_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    rc, rr = _f(inp["r_chosen"]), _f(inp["r_rejected"])
    mag = np.abs(rc) + np.abs(rr)
    s = np.abs(expected) + _sigmoid(-(rc - rr)) * mag
    return Bound(s, np.full(s.shape, 8.0), mag, "S_i = |loss_i| + σ(−(r_w − r_l))·(|r_w| + |r_l|) (the rounding of the margin, times the slope of softplus), c = 8")


def _dpo_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    cols = [_f(inp[k]) for k in ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected")]
    beta = float(inp["beta"])
    margin = beta * ((cols[0] - cols[2]) - (cols[1] - cols[3]))
    mag: FloatArray = beta * (np.abs(cols[0]) + np.abs(cols[1]) + np.abs(cols[2]) + np.abs(cols[3]))
    s = np.abs(expected) + _sigmoid(-margin) * mag
    return Bound(s, np.full(s.shape, 10.0), mag, "S_i = |loss_i| + σ(−m_i)·β·(|π_w| + |π_l| + |ref_w| + |ref_l|), c = 10")


add(Target(
    "bt_loss", "(r_chosen[N], r_rejected[N]) -> [N]", "−log σ(r_w − r_l) per pair",
    "bt_loss", ("r_chosen", "r_rejected"), cs.bt_loss_inputs, _bt_bound,
    "S_i = |loss_i| + σ(−(r_w − r_l))·(|r_w| + |r_l|), c = 8",
    examples=(
        {"r_chosen": np.array([0.0, 1.0, 2.0]), "r_rejected": np.array([0.0, 2.0, 1.0])},
        {"r_chosen": np.array([10000.0, -10000.0, 800.0]), "r_rejected": np.array([-10000.0, 10000.0, 0.0])},
    ),
    section="§12, eq. (12.3)", split=elementwise_split(("r_chosen", "r_rejected"), ()),
    inputs=(Input("r_chosen", "[N]", differentiable=True), Input("r_rejected", "[N]", differentiable=True)), output="[N]",
    clauses=(Clause("BT-EQUAL", "equal rewards: log 2", lambda i: _f(i["r_chosen"]) == _f(i["r_rejected"])),
             Clause("BT-LARGE-MARGIN", "|r_w − r_l| > 700: exp overflows in float64 unless the stable form is used",
                    lambda i: np.abs(_f(i["r_chosen"]) - _f(i["r_rejected"])) > 700.0)),
    gradient=autograd_vjp(lambda rc, rr: reference.bt_loss_torch(rc, rr), ("r_chosen", "r_rejected"), ("r_chosen", "r_rejected")),
))

add(Target(
    "dpo_loss", "(policy_chosen[N], policy_rejected[N], ref_chosen[N], ref_rejected[N], beta) -> [N]",
    "−log σ(β[(π_w − ref_w) − (π_l − ref_l)]) from summed sequence log-probs",
    "dpo_loss", ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected", "beta"), cs.dpo_loss_inputs, _dpo_bound,
    "S_i = |loss_i| + σ(−m_i)·β·Σ|log-probs|, c = 10",
    examples=(
        {"policy_chosen": np.array([-1.0, -2.0]), "policy_rejected": np.array([-2.0, -1.0]), "ref_chosen": np.array([-1.5, -1.5]), "ref_rejected": np.array([-1.5, -1.5]), "beta": 0.1},
        {"policy_chosen": np.array([0.0, -10000.0]), "policy_rejected": np.array([-10000.0, 0.0]), "ref_chosen": np.array([-5000.0, -5000.0]), "ref_rejected": np.array([-5000.0, -5000.0]), "beta": 1.0},
        {"policy_chosen": np.array([-3.0]), "policy_rejected": np.array([-3.0]), "ref_chosen": np.array([-1.0]), "ref_rejected": np.array([-1.0]), "beta": 0.5},
        {"policy_chosen": np.array([-10.0]), "policy_rejected": np.array([-10.0]), "ref_chosen": np.array([-20.0]), "ref_rejected": np.array([0.0]), "beta": 0.1},
    ),
    section="§12, eq. (12.9)",
    split=elementwise_split(("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected"), ("beta",)),
    inputs=(Input("policy_chosen", "[N]", differentiable=True), Input("policy_rejected", "[N]", differentiable=True),
            Input("ref_chosen", "[N]"), Input("ref_rejected", "[N]"), Input("beta")), output="[N]",
    conventions=(_DPO_LAYOUT, Convention("beta", "drawn", (0.1,), "β drawn by the search (default) or hard-coded (0.1)")),
    strategy_for=lambda conv: cs.dpo_token_inputs() if _dpo_tokens(conv) else cs.dpo_loss_inputs(),
    call_form=_dpo_call_form, bound_for=_dpo_bound_for,
    clauses=(Clause("DPO-LARGE-MARGIN", "|βm| > 700: exp overflows unless the stable form is used", lambda i: np.abs(_dpo_margin(i)) > 700.0),
             Clause("DPO-BETA-SMALL", "β <= 0.01", lambda i: float(i["beta"]) <= 0.01)),
    gradient=_dpo_vjp,
    gradient_note="with respect to the policy's log-probs only; the reference model's are constants",
))
