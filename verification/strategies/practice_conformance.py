"""Hypothesis strategies of conformance cases for the twelve practice targets (SPEC.md §17).

Each ``<target>_inputs()`` returns a strategy of :class:`~verification.conformance._calls.Case`.
The draws aim where RLHF implementations break: masks with left, right and mid padding, holes
and rows without a token; ratios exactly on the clip edges and on the dual-clip edge; zero
advantages; value changes exactly ±clip; log-ratios of 0, tiny and beyond ±10 (a clamp); −inf
logits and temperatures ≠ 1; constant groups, binary (verifier) rewards and singleton groups;
preference margins up to |βh| = 1e4.  Small integers come first in every mixture, so shrinking
ends on values a person can check by hand.  Entries outside the mask are drawn like the real
ones (in-domain garbage; the harness rewrites them again from the range of the real entries).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import strategies as st

from ..conformance._calls import Case
from ..conformance.strategies import response_masks

__all__ = [
    "adaptive_kl_update_inputs", "aggregate_loss_inputs", "group_advantages_inputs", "kl_penalty_inputs", "masked_gae_inputs",
    "masked_whiten_inputs", "policy_loss_inputs", "preference_loss_inputs", "rloo_advantages_inputs", "token_entropy_inputs",
    "token_logprobs_inputs", "value_loss_inputs",
]

AGG = ("token_mean", "seq_mean_token_mean", "seq_mean_token_sum", "seq_mean_token_sum_norm")


def _arr(xs: list[float], shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(xs, dtype=np.float64).reshape(shape)


def _nums(lo: float, hi: float) -> st.SearchStrategy[float]:
    """Small integers in [lo, hi] first, then floats in [lo, hi]."""
    ilo, ihi = math.ceil(max(lo, -3.0)), math.floor(min(hi, 3.0))
    parts: list[st.SearchStrategy[float]] = []
    if ilo <= ihi:
        parts.append(st.integers(ilo, ihi).map(float))
    parts.append(st.floats(lo, hi, allow_nan=False, allow_subnormal=False))
    return st.one_of(*parts)


def _shape(draw: st.DrawFn, max_b: int = 4, max_t: int = 6) -> tuple[int, int]:
    return draw(st.integers(1, max_b), label="B"), draw(st.integers(1, max_t), label="T")


def _batch(draw: st.DrawFn, shape: tuple[int, int], elem: st.SearchStrategy[float], label: str) -> np.ndarray:
    n = shape[0] * shape[1]
    return _arr(draw(st.lists(elem, min_size=n, max_size=n), label=label), shape)


@st.composite
def aggregate_loss_inputs(draw: st.DrawFn) -> Case:
    shape = _shape(draw)
    loss = _batch(draw, shape, _nums(-10.0, 10.0), "loss")
    mask = draw(response_masks(*shape, allow_empty=True), label="mask")
    mode = draw(st.sampled_from(AGG), label="mode")
    nl = draw(st.one_of(st.none(), st.sampled_from([float(shape[1]), float(shape[1] + 3), 7.5])), label="norm_length")
    return Case("aggregate_loss", {"loss": loss, "mask": mask, "mode": mode, "norm_length": nl})


@st.composite
def policy_loss_inputs(draw: st.DrawFn) -> Case:
    shape = _shape(draw)
    cl = draw(st.one_of(st.sampled_from([0.2, 0.1, 0.3]), st.floats(0.01, 0.5)), label="clip_low")
    ch = draw(st.one_of(st.sampled_from([0.2, 0.28]), st.floats(0.01, 0.5)), label="clip_high")
    dual = draw(st.one_of(st.none(), st.sampled_from([3.0]), st.floats(1.5, 10.0)), label="dual_clip")
    edges = [0.0, math.log1p(ch), math.log1p(-cl)] + ([math.log(dual)] if dual is not None else [])
    log_ratio = st.one_of(st.sampled_from(edges), st.floats(-2.5, 2.5, allow_subnormal=False))
    old = _batch(draw, shape, st.one_of(st.integers(-3, 0).map(float), st.floats(-20.0, 0.0, allow_subnormal=False)), "logp_old")
    lr = _batch(draw, shape, log_ratio, "log_ratio")
    adv = _batch(draw, shape, st.one_of(st.sampled_from([0.0, 1.0, -1.0]), _nums(-10.0, 10.0)), "advantages")
    mask = draw(response_masks(*shape, allow_empty=True), label="mask")
    agg = draw(st.sampled_from(AGG), label="agg")
    return Case("policy_loss", {"logp_new": old + lr, "logp_old": old, "advantages": adv, "mask": mask, "clip_low": cl,
                                "clip_high": ch, "dual_clip": dual, "agg": agg})


@st.composite
def value_loss_inputs(draw: st.DrawFn) -> Case:
    shape = _shape(draw)
    clip = draw(st.one_of(st.none(), st.sampled_from([0.2]), st.floats(0.01, 1.0)), label="clip")
    c = 0.2 if clip is None else clip
    v = _batch(draw, shape, _nums(-10.0, 10.0), "values")
    dv = _batch(draw, shape, st.one_of(st.sampled_from([0.0, c, -c]), st.floats(-2.0, 2.0, allow_subnormal=False)), "values - old_values")
    ret = _batch(draw, shape, _nums(-10.0, 10.0), "returns")
    mask = draw(response_masks(*shape, allow_empty=True), label="mask")
    agg = draw(st.sampled_from(AGG), label="agg")
    return Case("value_loss", {"values": v, "old_values": v - dv, "returns": ret, "mask": mask, "clip": clip, "agg": agg})


@st.composite
def kl_penalty_inputs(draw: st.DrawFn) -> Case:
    shape = _shape(draw)
    ref = _batch(draw, shape, st.one_of(st.integers(-3, 0).map(float), st.floats(-20.0, 0.0, allow_subnormal=False)), "ref_logp")
    r = _batch(draw, shape, st.one_of(st.sampled_from([0.0, 1e-4, -1e-4, 12.0, -12.0]), st.floats(-15.0, 15.0, allow_subnormal=False),
                                      st.floats(-1e-2, 1e-2, allow_subnormal=False)), "log_ratio")
    kind = draw(st.sampled_from(["k1", "k2", "k3", "abs"]), label="kind")
    return Case("kl_penalty", {"logp": ref + r, "ref_logp": ref, "kind": kind})


@st.composite
def _logits(draw: st.DrawFn, with_tokens: bool) -> dict[str, Any]:
    b, t = _shape(draw, 3, 4)
    v = draw(st.integers(1, 6), label="V")
    z = _arr(draw(st.lists(_nums(-20.0, 20.0), min_size=b * t * v, max_size=b * t * v), label="logits"), (b, t, v))
    if v > 1 and draw(st.booleans(), label="minus_inf"):
        holes = np.asarray(draw(st.lists(st.booleans(), min_size=b * t * v, max_size=b * t * v), label="where -inf")).reshape(b, t, v)
        holes[..., 0] = False  # every distribution keeps a finite logit
        z = np.where(holes, -np.inf, z)
    out: dict[str, Any] = {"logits": z}
    if with_tokens:
        tok = np.zeros((b, t), dtype=np.int64)
        for idx in np.ndindex(b, t):
            fin = np.flatnonzero(np.isfinite(z[idx]))
            tok[idx] = int(fin[draw(st.integers(0, len(fin) - 1), label=f"token{idx}")])
        out["tokens"] = tok
    out["temperature"] = draw(st.one_of(st.sampled_from([1.0, 0.7, 0.5, 2.0]), st.floats(0.25, 4.0)), label="temperature")
    return out


def token_logprobs_inputs() -> st.SearchStrategy[Case]:
    return _logits(True).map(lambda d: Case("token_logprobs", d))


def token_entropy_inputs() -> st.SearchStrategy[Case]:
    return _logits(False).map(lambda d: Case("token_entropy", d))


@st.composite
def masked_whiten_inputs(draw: st.DrawFn) -> Case:
    shape = _shape(draw)
    x = _batch(draw, shape, _nums(-10.0, 10.0), "x")
    mask = draw(response_masks(*shape, allow_empty=True), label="mask")
    ddof = draw(st.sampled_from([1, 0]), label="ddof")
    if int(mask.sum()) <= ddof:  # the reference needs more than ddof entries: add the first padded positions
        free = np.argwhere(~mask)
        for k in range(min(len(free), ddof + 1 - int(mask.sum()))):
            mask[tuple(free[k])] = True
    if int(mask.sum()) <= ddof:
        ddof = 0
    shift = draw(st.booleans(), label="shift_mean")
    eps = draw(st.sampled_from([1e-8, 1e-5, 0.1]), label="eps")
    return Case("masked_whiten", {"x": x, "mask": mask, "shift_mean": shift, "ddof": ddof, "eps": eps})


@st.composite
def _groups(draw: st.DrawFn, min_group: int) -> tuple[np.ndarray, int]:
    g = draw(st.integers(min_group, 6), label="group_size")
    k = draw(st.integers(1, 4), label="groups")
    kind = draw(st.sampled_from(["binary", "real", "constant"]), label="rewards kind")
    if kind == "binary":
        r = np.asarray(draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=g * k, max_size=g * k), label="rewards"), dtype=np.float64)
    else:
        r = np.asarray(draw(st.lists(_nums(-5.0, 5.0), min_size=g * k, max_size=g * k), label="rewards"), dtype=np.float64)
        if kind == "constant":
            r[:g] = r[0]
    return r, g


@st.composite
def group_advantages_inputs(draw: st.DrawFn) -> Case:
    r, g = draw(_groups(1))
    scale = draw(st.sampled_from(["group", "batch", "none"]), label="scale")
    eps = draw(st.sampled_from([1e-6, 1e-4, 1e-2]), label="eps")
    return Case("group_advantages", {"rewards": r, "group_size": g, "scale": scale, "eps": eps})


@st.composite
def rloo_advantages_inputs(draw: st.DrawFn) -> Case:
    r, g = draw(_groups(2))
    return Case("rloo_advantages", {"rewards": r, "group_size": g})


@st.composite
def masked_gae_inputs(draw: st.DrawFn) -> Case:
    shape = _shape(draw, 4, 8)
    r = _batch(draw, shape, _nums(-10.0, 10.0), "rewards")
    v = _batch(draw, shape, _nums(-10.0, 10.0), "values")
    mask = draw(response_masks(*shape, allow_empty=True), label="mask")
    unit = st.one_of(st.sampled_from([1.0, 0.0, 0.95, 0.9, 0.5]), st.floats(0.0, 1.0, allow_subnormal=False))
    return Case("masked_gae", {"rewards": r, "values": v, "mask": mask, "gamma": draw(unit, label="gamma"), "lam": draw(unit, label="lam")})


@st.composite
def preference_loss_inputs(draw: st.DrawFn) -> Case:
    n = draw(st.integers(1, 5), label="N")
    lp = st.one_of(st.integers(-3, 0).map(float), st.floats(-50.0, 0.0, allow_subnormal=False), st.floats(-1e4, 0.0, allow_subnormal=False))
    cols = [np.asarray(draw(st.lists(lp, min_size=n, max_size=n), label=k), dtype=np.float64)
            for k in ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected")]
    beta = draw(st.one_of(st.sampled_from([0.1, 0.5, 1.0]), st.floats(0.01, 2.0)), label="beta")
    kind = draw(st.sampled_from(["sigmoid", "robust", "ipo", "hinge"]), label="kind")
    eps = 0.0 if kind in ("ipo", "hinge") else draw(st.one_of(st.sampled_from([0.0, 0.1]), st.floats(0.0, 0.45)), label="label_smoothing")
    return Case("preference_loss", {"policy_chosen": cols[0], "policy_rejected": cols[1], "ref_chosen": cols[2], "ref_rejected": cols[3],
                                    "beta": beta, "kind": kind, "label_smoothing": eps})


@st.composite
def adaptive_kl_update_inputs(draw: st.DrawFn) -> Case:
    target = draw(st.sampled_from([6.0, 0.1, 1.0]), label="target")
    ratio = draw(st.one_of(st.sampled_from([1.0, 0.8, 1.2, 0.0, 3.0]), st.floats(-0.5, 3.0)), label="kl / target")
    horizon = draw(st.sampled_from([10000.0, 1000.0]), label="horizon")
    n = draw(st.one_of(st.sampled_from([256.0, 64.0, 0.0]), st.integers(0, 1000).map(float)), label="n_steps")
    beta = draw(st.one_of(st.sampled_from([0.1, 0.2]), st.floats(0.001, 1.0)), label="beta")
    return Case("adaptive_kl_update", {"beta": beta, "kl": ratio * target, "target": target, "horizon": horizon, "n_steps": n})
