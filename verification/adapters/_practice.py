"""Direct comparison of a peer adapter with a SPEC §17 reference function (the practice targets).

Until the conformance harness declares the §17 targets, ``python -m verification peers`` checks
the adapters of those targets here: Hypothesis draws canonical inputs (restricted to the
argument values the library can express, ``PeerAdapter.space``), the adapter's output is
compared with ``reference.practice.<target>(*args, **fix)`` at float32 tolerance, and the first
disagreement is shrunk by Hypothesis to a smallest input.  Then the pinned edge inputs of the
target (−inf logits, a singleton group, holes in the mask, |k| > 10, ...) are run.

Tolerance: |got − expected| <= 1e-4 · (1 + |expected|) elementwise (float32 libraries, inputs of
magnitude <= 20); an output the reference declares free (outside the mask for ``masked_whiten``
and ``masked_gae``) is not compared.  A NaN where the reference is finite, an exception where
the reference returns, a wrong shape: all disagreements.  Inputs on which the reference raises
ValueError are outside the canonical domain and are skipped.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

__all__ = ["PINNED", "PRACTICE_TARGETS", "DirectResult", "Failure", "compare_direct", "inputs_strategy"]

RTOL = 1e-4

#: target -> canonical positional parameter names (SPEC §17, issue 11's table)
PRACTICE_TARGETS: dict[str, tuple[str, ...]] = {
    "aggregate_loss": ("loss", "mask", "mode", "norm_length"),
    "policy_loss": ("logp_new", "logp_old", "advantages", "mask", "clip_low", "clip_high", "dual_clip", "agg"),
    "value_loss": ("values", "old_values", "returns", "mask", "clip", "agg"),
    "kl_penalty": ("logp", "ref_logp", "kind"),
    "token_logprobs": ("logits", "tokens", "temperature"),
    "token_entropy": ("logits", "temperature"),
    "masked_whiten": ("x", "mask", "shift_mean", "ddof", "eps"),
    "group_advantages": ("rewards", "group_size", "scale", "eps"),
    "rloo_advantages": ("rewards", "group_size"),
    "masked_gae": ("rewards", "values", "mask", "gamma", "lam"),
    "preference_loss": ("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected", "beta", "kind", "label_smoothing"),
    "adaptive_kl_update": ("beta", "kl", "target", "horizon", "n_steps"),
}

#: outputs the reference leaves free outside the mask
_FREE_OUTSIDE_MASK = {"masked_whiten", "masked_gae"}

#: default choices of the discrete canonical arguments (an adapter narrows them with ``space``)
_DEFAULT_SPACE: dict[str, dict[str, tuple[Any, ...]]] = {
    "aggregate_loss": {"mode": ("token_mean", "seq_mean_token_mean", "seq_mean_token_sum", "seq_mean_token_sum_norm"), "norm_length": (None,)},
    "policy_loss": {"clip_low": (0.2, 0.1), "clip_high": (0.2, 0.28), "dual_clip": (None, 3.0), "agg": ("token_mean",)},
    "value_loss": {"clip": (None, 0.2, 1.0), "agg": ("token_mean",)},
    "kl_penalty": {"kind": ("k1", "k2", "k3", "abs")},
    "token_logprobs": {"temperature": (1.0, 0.7, 2.0)},
    "token_entropy": {"temperature": (1.0, 0.7, 2.0)},
    "masked_whiten": {"shift_mean": (True, False), "ddof": (1, 0), "eps": (1e-8,)},
    "group_advantages": {"group_size": (1, 2, 3, 4), "scale": ("group", "batch", "none"), "eps": (1e-6,)},
    "rloo_advantages": {"group_size": (2, 3, 4)},
    "masked_gae": {},
    "preference_loss": {"beta": (0.1, 0.5), "kind": ("sigmoid", "ipo", "hinge", "robust"), "label_smoothing": (0.0, 0.1)},
    "adaptive_kl_update": {},
}


def _f(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).map(lambda x: float(np.float32(x)))


def _pick(space: Mapping[str, tuple[Any, ...]], target: str, name: str) -> st.SearchStrategy[Any]:
    opts = space.get(name, _DEFAULT_SPACE[target].get(name))
    if not opts:
        raise KeyError(f"{target}: no choices for {name}")
    return st.sampled_from(list(opts))


def _mat(draw: Any, b: int, t: int, lo: float, hi: float) -> np.ndarray:
    return np.array(draw(st.lists(_f(lo, hi), min_size=b * t, max_size=b * t)), dtype=np.float64).reshape(b, t)


def _mask(draw: Any, b: int, t: int, min_true: int = 0) -> np.ndarray:
    m = np.array(draw(st.lists(st.booleans(), min_size=b * t, max_size=b * t)), dtype=bool).reshape(b, t)
    if int(m.sum()) < min_true:
        m.reshape(-1)[:min_true] = True
    return m


def _logits(draw: Any, b: int, t: int, v: int, neg_inf: bool) -> np.ndarray:
    z: np.ndarray = _mat(draw, b * t, v, -5.0, 5.0).reshape(b, t, v)
    if neg_inf:
        holes = np.array(draw(st.lists(st.booleans(), min_size=b * t * v, max_size=b * t * v)), dtype=bool).reshape(b, t, v)
        holes[..., 0] = False  # at least one finite logit per position
        z = np.where(holes, -np.inf, z)
    return z


def inputs_strategy(target: str, space: Mapping[str, tuple[Any, ...]] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Canonical keyword inputs of a §17 target, discrete arguments drawn from ``space``."""
    sp = dict(space or {})

    def pick(name: str) -> st.SearchStrategy[Any]:
        return _pick(sp, target, name)

    @st.composite
    def build(draw: Any) -> dict[str, Any]:
        b = draw(st.integers(1, 3))
        t = draw(st.integers(1, 4))
        if target == "aggregate_loss":
            return {"loss": _mat(draw, b, t, -3, 3), "mask": _mask(draw, b, t, 1), "mode": draw(pick("mode")), "norm_length": draw(pick("norm_length"))}
        if target == "policy_loss":
            return {"logp_new": _mat(draw, b, t, -3, 0), "logp_old": _mat(draw, b, t, -3, 0), "advantages": _mat(draw, b, t, -2, 2),
                    "mask": _mask(draw, b, t, 1), "clip_low": draw(pick("clip_low")), "clip_high": draw(pick("clip_high")),
                    "dual_clip": draw(pick("dual_clip")), "agg": draw(pick("agg"))}
        if target == "value_loss":
            return {"values": _mat(draw, b, t, -3, 3), "old_values": _mat(draw, b, t, -3, 3), "returns": _mat(draw, b, t, -3, 3),
                    "mask": _mask(draw, b, t, 1), "clip": draw(pick("clip")), "agg": draw(pick("agg"))}
        if target == "kl_penalty":
            return {"logp": _mat(draw, b, t, -15, 0), "ref_logp": _mat(draw, b, t, -15, 0), "kind": draw(pick("kind"))}
        if target in ("token_logprobs", "token_entropy"):
            v = draw(st.integers(2, 4))
            z = _logits(draw, b, t, v, neg_inf=target == "token_entropy" and bool(draw(st.booleans())))
            out: dict[str, Any] = {"logits": z}
            if target == "token_logprobs":
                out["tokens"] = np.array(draw(st.lists(st.integers(0, v - 1), min_size=b * t, max_size=b * t)), dtype=np.int64).reshape(b, t)
            out["temperature"] = draw(pick("temperature"))
            return out
        if target == "masked_whiten":
            return {"x": _mat(draw, b, t, -3, 3), "mask": _mask(draw, b, t, min_true=2) if b * t >= 2 else np.ones((b, t), bool),
                    "shift_mean": draw(pick("shift_mean")), "ddof": draw(pick("ddof")), "eps": draw(pick("eps"))}
        if target in ("group_advantages", "rloo_advantages"):
            g = draw(pick("group_size"))
            n = g * draw(st.integers(1, 3))
            rewards = np.array(draw(st.lists(st.sampled_from([0.0, 1.0, 0.5, -1.0]) | _f(-2, 2), min_size=n, max_size=n)))
            out = {"rewards": rewards, "group_size": g}
            if target == "group_advantages":
                out.update(scale=draw(pick("scale")), eps=draw(pick("eps")))
            return out
        if target == "masked_gae":
            return {"rewards": _mat(draw, b, t, -2, 2), "values": _mat(draw, b, t, -2, 2), "mask": _mask(draw, b, t, 1),
                    "gamma": draw(st.sampled_from([1.0, 0.9, 0.5])), "lam": draw(st.sampled_from([1.0, 0.95, 0.5, 0.0]))}
        if target == "preference_loss":
            n = draw(st.integers(1, 3))
            kind = draw(pick("kind"))
            eps = draw(pick("label_smoothing")) if kind in ("sigmoid", "robust") else 0.0
            return {"policy_chosen": _mat(draw, 1, n, -20, 0)[0], "policy_rejected": _mat(draw, 1, n, -20, 0)[0],
                    "ref_chosen": _mat(draw, 1, n, -20, 0)[0], "ref_rejected": _mat(draw, 1, n, -20, 0)[0],
                    "beta": draw(pick("beta")), "kind": kind, "label_smoothing": eps}
        if target == "adaptive_kl_update":
            return {"beta": draw(_f(0.01, 1.0)), "kl": draw(_f(-1.0, 20.0)), "target": draw(_f(0.5, 10.0)),
                    "horizon": draw(st.sampled_from([10000.0, 1000.0])), "n_steps": draw(st.sampled_from([0.0, 64.0, 256.0]))}
        raise KeyError(target)

    return build()


# Pinned inputs per target: the edges where the libraries are known to differ (SPEC §13.6).
_NAN = float("nan")
PINNED: dict[str, list[dict[str, Any]]] = {
    "token_entropy": [{"logits": np.array([[[0.0, -np.inf]]]), "temperature": 1.0}],
    "kl_penalty": [{"logp": np.array([[-12.0]]), "ref_logp": np.array([[0.0]]), "kind": k} for k in ("k1", "k3")],
    "group_advantages": [{"rewards": np.array([1.0, 2.0]), "group_size": 1, "scale": "group", "eps": 1e-6}],
    "masked_gae": [{"rewards": np.array([[1.0, 0.0, 1.0]]), "values": np.array([[0.5, 7.0, 0.25]]), "mask": np.array([[True, False, True]]),
                    "gamma": 1.0, "lam": 1.0}],
    "aggregate_loss": [{"loss": np.array([[1.0, 1.0], [2.0, 2.0]]), "mask": np.array([[True, True], [False, False]]), "mode": m, "norm_length": None}
                       for m in ("seq_mean_token_mean", "seq_mean_token_sum_norm")],
    "policy_loss": [{"logp_new": np.array([[0.0]]), "logp_old": np.array([[-2.0]]), "advantages": np.array([[-1.0]]), "mask": np.array([[True]]),
                     "clip_low": 0.2, "clip_high": 0.2, "dual_clip": None, "agg": "token_mean"}],
    "token_logprobs": [{"logits": np.array([[[1.0, 0.0]]]), "tokens": np.array([[0]]), "temperature": 2.0}],
}
# an all-padding batch (no token at all: the reference's loss is 0, its GAE all free)
_EMPTY = np.array([[False, False]])
PINNED["aggregate_loss"].append({"loss": np.array([[1.0, 2.0]]), "mask": _EMPTY, "mode": "token_mean", "norm_length": None})
PINNED["policy_loss"].append({"logp_new": np.array([[0.0, 0.0]]), "logp_old": np.array([[0.0, 0.0]]), "advantages": np.array([[1.0, 1.0]]),
                              "mask": _EMPTY, "clip_low": 0.2, "clip_high": 0.2, "dual_clip": None, "agg": "token_mean"})
PINNED["value_loss"] = [{"values": np.array([[1.0, 2.0]]), "old_values": np.array([[1.0, 2.0]]), "returns": np.array([[0.0, 0.0]]),
                         "mask": _EMPTY, "clip": None, "agg": "token_mean"}]
PINNED["masked_gae"].append({"rewards": np.array([[1.0, 2.0]]), "values": np.array([[0.5, 0.5]]), "mask": _EMPTY, "gamma": 1.0, "lam": 1.0})
# a batch with one response token
PINNED["masked_gae"].append({"rewards": np.array([[1.0, 0.0]]), "values": np.array([[0.5, 0.0]]), "mask": np.array([[True, False]]), "gamma": 1.0, "lam": 1.0})
# a row without a token beside one with tokens (the row count of the seq-mean modes)
_ROW = np.array([[True, True], [False, False]])
for _agg in ("seq_mean_token_mean", "seq_mean_token_sum_norm"):
    PINNED["policy_loss"].append({"logp_new": np.array([[0.0, 0.0], [0.0, 0.0]]), "logp_old": np.array([[0.0, 0.0], [0.0, 0.0]]),
                                  "advantages": np.array([[1.0, 1.0], [1.0, 1.0]]), "mask": _ROW, "clip_low": 0.2, "clip_high": 0.2,
                                  "dual_clip": None, "agg": _agg})
    PINNED["value_loss"].append({"values": np.array([[1.0, 1.0], [1.0, 1.0]]), "old_values": np.array([[1.0, 1.0], [1.0, 1.0]]),
                                 "returns": np.array([[0.0, 0.0], [0.0, 0.0]]), "mask": _ROW, "clip": None, "agg": _agg})
# equal entries that float32 cannot represent exactly: the exact statistics are μ = that value, σ = 0
_C = float(np.float32(0.9))
PINNED["masked_whiten"] = [{"x": np.array([[_C, _C, _C]]), "mask": np.array([[True, True, True]]), "shift_mean": True, "ddof": d, "eps": 1e-8}
                           for d in (1, 0)]
PINNED["group_advantages"].append({"rewards": np.array([_C, _C, _C]), "group_size": 3, "scale": "group", "eps": 1e-6})


@dataclass
class Failure:
    found_by: str
    inputs: dict[str, Any]
    reason: str
    expected: Any
    got: Any

    def literals(self) -> list[tuple[str, str]]:
        return [(k, _lit(v)) for k, v in self.inputs.items()]

    def to_json(self) -> dict[str, Any]:
        return {"found_by": self.found_by, "inputs": dict(self.literals()), "reason": self.reason,
                "expected": _lit(self.expected), "got": _lit(self.got)}


@dataclass
class DirectResult:
    target: str
    examples: int
    seconds: float
    failures: list[Failure]

    @property
    def conforms(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {"conforms": self.conforms, "examples": self.examples, "seconds": round(self.seconds, 3),
                "failures": [f.to_json() for f in self.failures]}

    def message(self) -> str:
        if self.conforms:
            return f"{self.target}: conforms ({self.examples} inputs)"
        out = [f"{self.target}: DOES NOT CONFORM ({len(self.failures)} disagreement(s))"]
        for f in self.failures:
            args = ", ".join(f"{k}={v}" for k, v in f.literals())
            out.append(f"  [{f.found_by}] {f.reason}\n    input:    {args}\n    expected: {_lit(f.expected)}\n    got:      {_lit(f.got)}")
        return "\n".join(out)


def _lit(v: Any) -> str:
    if isinstance(v, np.ndarray):
        if v.dtype == bool:
            return repr(v.tolist())
        return repr(np.asarray(v).tolist()).replace("inf", "float('inf')").replace("nan", "float('nan')")
    if isinstance(v, float) and not math.isfinite(v):
        return f"float({str(v)!r})"
    return repr(v)


def _as_array(x: Any) -> np.ndarray:
    try:
        import torch

        if isinstance(x, torch.Tensor):
            x = x.detach().double().numpy()
    except ImportError:  # pragma: no cover
        pass
    return np.asarray(x, dtype=np.float64)


def _judge(target: str, kwargs: dict[str, Any], fn: Callable[..., Any], fix: Mapping[str, Any]) -> tuple[str, Any, Any, float] | None:
    """None when they agree (or the input is outside the reference's domain), else (reason, expected, got, ratio)."""
    import reference.practice as rp

    ref_fn = getattr(rp, target)
    try:
        exp = _as_array(ref_fn(**kwargs, **fix))
    except (ValueError, TypeError):
        return None
    copies = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    try:
        got_raw = fn(*(copies[n] for n in PRACTICE_TARGETS[target]))
    except Exception as exc:  # noqa: BLE001 - a peer's failure is a finding
        return (f"raised {type(exc).__name__}: {exc}"[:200], exp, None, math.inf)
    for k, v in kwargs.items():
        if isinstance(v, np.ndarray) and not np.array_equal(copies[k], v, equal_nan=v.dtype.kind == "f"):
            return (f"modifies its input {k!r} in place", exp, _as_array(got_raw), math.inf)
    got = _as_array(got_raw)
    if got.shape != exp.shape:
        return (f"shape {got.shape}, expected {exp.shape}", exp, got, math.inf)
    sel = np.ones(exp.shape, dtype=bool)
    if target in _FREE_OUTSIDE_MASK:
        sel = np.asarray(kwargs["mask"], dtype=bool)
    e, g = exp[sel], got[sel]
    same_inf = (e == g) & ~np.isfinite(e)
    if np.any(np.isnan(g) & ~np.isnan(e)):
        return ("NaN where the reference is finite", exp, got, math.inf)
    ok_fin = np.isfinite(e) & np.isfinite(g)
    bad = ~(same_inf | ok_fin)
    if bad.any():
        return ("non-finite mismatch", exp, got, math.inf)
    tol = RTOL * (1.0 + np.abs(e[ok_fin]))
    err = np.abs(g[ok_fin] - e[ok_fin])
    ratio = float(np.max(err / tol)) if err.size else 0.0
    if ratio > 1.0:
        return (f"|got - expected| = {float(err.max()):.3g} > tolerance (ratio {ratio:.3g})", exp, got, ratio)
    return None


def compare_direct(target: str, fn: Callable[..., Any], *, space: Mapping[str, tuple[Any, ...]] | None = None,
                   fix: Mapping[str, Any] | None = None, examples: int = 200, seed: int = 0,
                   pinned: list[dict[str, Any]] | None = None) -> DirectResult:
    """Search for a disagreement of ``fn`` with ``reference.practice.<target>`` (module docstring)."""
    fx = dict(fix or {})
    t0 = time.perf_counter()
    strategy = inputs_strategy(target, space)
    count = [0]

    def disagrees(kw: dict[str, Any]) -> bool:
        count[0] += 1
        return _judge(target, kw, fn, fx) is not None

    cfg = settings(max_examples=examples, database=None, deadline=None, derandomize=False,
                   suppress_health_check=list(HealthCheck), phases=[Phase.generate, Phase.shrink])
    try:
        found = find(strategy, disagrees, settings=cfg, random=random.Random(seed))
    except NoSuchExample:
        found = None
    failures: list[Failure] = []
    if found is not None:
        j = _judge(target, found, fn, fx)
        assert j is not None
        failures.append(Failure("found by the search and shrunk", found, j[0], j[1], j[2]))
    allowed = dict(_DEFAULT_SPACE[target])
    allowed.update(space or {})
    for kw in (pinned if pinned is not None else PINNED.get(target, [])):
        if any(k in allowed and v not in allowed[k] for k, v in kw.items() if not isinstance(v, np.ndarray)):
            continue
        count[0] += 1
        j = _judge(target, kw, fn, fx)
        if j is not None:
            failures.append(Failure("a pinned edge input", kw, j[0], j[1], j[2]))
    return DirectResult(target, count[0], time.perf_counter() - t0, failures)
