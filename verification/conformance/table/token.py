"""Token-level RLHF targets (SPEC.md §12): per-token KL-shaped rewards on [B, T] batches with a response mask."""

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


def _last_token(i: Mapping[str, Any]) -> NDArray[np.bool_]:
    m = _b(i["mask"])
    out = np.zeros(m.shape, dtype=bool)
    has = m.any(axis=1)
    last = m.shape[1] - 1 - np.argmax(m[:, ::-1], axis=1)
    out[np.arange(m.shape[0])[has], last[has]] = True
    return out


def _holes(i: Mapping[str, Any]) -> NDArray[np.bool_]:
    m = _b(i["mask"])
    before = np.cumsum(m, axis=1) > 0
    after = np.cumsum(m[:, ::-1], axis=1)[:, ::-1] > 0
    out: NDArray[np.bool_] = ~m & before & after
    return out


def _kl_rewards_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    beta = float(inp["beta"])
    m = _b(inp["mask"])
    s = np.where(m, beta * (np.abs(_f(inp["logp"])) + np.abs(_f(inp["ref_logp"]))), 0.0)
    last = m.shape[1] - 1 - np.argmax(m[:, ::-1], axis=1)
    s[np.arange(m.shape[0]), last] += np.abs(_f(inp["scores"]))
    return Bound(s, np.full(s.shape, 6.0), s, "S = β(|logp| + |ref_logp|) on response tokens, + |score| on the last one, c = 6")


def _kl_rewards_split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CanonicalCall | None:
    names = ("scores", "logp", "ref_logp", "mask", "beta")
    if len(args) + len(kwargs) != 5 or set(kwargs) - set(names):
        return None
    bound = dict(zip(names, args)) | kwargs
    logp, mask = _f(bound["logp"]), _b(bound["mask"])
    if logp.ndim != 2 or logp.size == 0 or mask.shape != logp.shape or not np.all(mask.any(axis=1)):
        return None
    inp: dict[str, Any] = {"scores": _f(bound["scores"]), "logp": logp, "ref_logp": _f(bound["ref_logp"]), "mask": mask, "beta": float(bound["beta"])}
    return [inp], lambda outs: outs[0]


add(Target(
    "kl_rewards", "(scores[N], logp[N,L], ref_logp[N,L], mask[N,L], beta) -> [N,L]",
    "−β(logp − ref_logp) on response tokens, + score on each row's last response token, 0 on padding",
    "kl_rewards", ("scores", "logp", "ref_logp", "mask", "beta"), cs.kl_rewards_inputs, _kl_rewards_bound,
    "S = β(|logp| + |ref_logp|) on response tokens (+|score| on the last), c = 6",
    examples=(
        {"scores": np.array([1.0, 2.0]), "logp": np.array([[-1.0, -2.0, -3.0], [-1.0, -1.0, -1.0]]), "ref_logp": np.array([[-1.5, -2.0, -1.0], [-2.0, -2.0, -2.0]]),
         "mask": np.array([[True, True, False], [False, True, True]]), "beta": 0.1},
        {"scores": np.array([3.0]), "logp": np.array([[-1.0, -2.0, -3.0, -4.0]]), "ref_logp": np.array([[-1.0, -1.0, -1.0, -1.0]]),
         "mask": np.array([[False, True, False, True]]), "beta": 0.5},
        {"scores": np.array([1.0, -1.0]), "logp": np.array([[-1.0], [-2.0]]), "ref_logp": np.array([[-2.0], [-1.0]]), "mask": np.array([[True], [True]]), "beta": 0.0},
    ),
    section="§12, eq. (12.6)", split=_kl_rewards_split,
    inputs=(Input("scores", "[B]"), Input("logp", "[B,T]", differentiable=True, masked_by="mask"), Input("ref_logp", "[B,T]", masked_by="mask"),
            Input("mask", "[B,T]", "mask"), Input("beta")), output="[B,T]",
    clauses=(Clause("KLR-PADDING", "positions outside the mask: 0 (the rewards of padding are summed by returns code)", lambda i: ~_b(i["mask"])),
             Clause("KLR-LAST-TOKEN", "each row's last response token carries the score", _last_token),
             Clause("KLR-HOLE", "a masked-out position between response tokens", _holes),
             Clause("KLR-BETA0", "β = 0: the score alone", lambda i: float(i["beta"]) == 0.0)),
    gradient=autograd_vjp(lambda s, lp, rl, m, b: reference.kl_rewards_torch(s, lp, rl, m, b), ("logp",), ("scores", "logp", "ref_logp", "mask", "beta")),
    gradient_note="with respect to the policy's log-probs; 0 on padding",
    invalid=(
        ("a row of the mask with no response token (the reference raises ValueError: the score has no token to go on)",
         {"scores": np.array([1.0, 2.0]), "logp": np.array([[-1.0, -1.0], [-1.0, -1.0]]), "ref_logp": np.array([[-2.0, -2.0], [-2.0, -2.0]]),
          "mask": np.array([[True, True], [False, False]]), "beta": 0.1}),
    ),
    domain_note="every row of the mask has at least one response token",
))

