"""The canonical conformance targets (SPEC.md §13.1): signature, meaning, reference, inputs, tolerance.

Tolerance policy (SPEC.md §13.2).  Every target states, for each output element i, a *term
scale* S_i (the size of the terms that element is computed from: Σ|terms| for a sum, the
condition of the operation otherwise) and an *operation count* c_i (the length of the longest
chain of roundings, times the condition number κ for a linear solve).  An output conforms when

    |got_i − expected_i| <= K · c_i · (u32 · S_i + tiny32 · (1 + M_i))          for every i,

with u32 = 2^-24 (float32 unit round-off), K = 2, tiny32 = 2^-126 the float32 underflow
threshold and M_i the largest input magnitude element i depends on (a float32 computation may
flush a product below tiny32 to zero, losing at most tiny32 times an input).
c_i · u32 · S_i is the textbook first-order bound on the round-off of a float32 computation of
element i, so every correct float32 implementation stays below it, and an error ten times
larger than float32 round-off fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from hypothesis.strategies import SearchStrategy
from numpy.typing import NDArray

import reference

from . import strategies as cs
from ._calls import Case, MatrixOperator

__all__ = ["K", "U32", "Bound", "Target", "TARGETS", "get_target", "CanonicalCall"]

U32 = 2.0**-24
K = 2.0
#: Smallest normal float32: a float32 computation may flush anything below it to zero.
TINY32 = 2.0**-126

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Bound:
    """The allowed error per output element: K·ops·(u32·scale + tiny32·(1 + magnitude)) (arrays shaped like the output)."""

    scale: FloatArray
    ops: FloatArray
    magnitude: FloatArray
    rule: str

    def allowed(self) -> FloatArray:
        out: FloatArray = K * self.ops * (U32 * self.scale + TINY32 * (1.0 + self.magnitude))
        return out


#: A claim's call of the reference function, split into canonical calls: (the canonical inputs of
#: each call, a function that assembles their outputs into what the reference would return).
CanonicalCall = tuple[list[dict[str, Any]], Callable[[list[FloatArray]], Any]]


@dataclass(frozen=True)
class Target:
    """One canonical target of the conformance harness.

    Attributes:
        name: the target name (``gae``).
        signature: the canonical signature, e.g. ``(rewards[T], gamma) -> [T]``.
        meaning: what it computes, in one line.
        reference_name: the :mod:`reference` function that implements it; claims that list this
            name in ``uses`` are the claims a non-conforming implementation can break.
        reference_kwargs: extra keyword arguments of the reference call that computes the
            expected output (CG: stop once the residual is at float64 round-off).
        params: canonical parameter names, in order.
        strategy: zero-argument function returning the Hypothesis strategy of :class:`Case`.
        bound: ``bound(inputs, expected) -> Bound`` (SPEC.md §13.2).
        examples: pinned inputs, always run first.
        section: the SPEC.md section of the equation.
        scalar: the output is a single float.
        alternatives: for discontinuous targets, ``alternatives(inputs) -> extra accepted outputs``
            (within float32 rounding of a branch point either branch is correct).
        split: maps a claim's call of the reference function (args, kwargs) to canonical calls,
            or returns None when the call is outside the canonical domain (the reference answers it).
        invalid: inputs the reference rejects with ValueError, probed and reported as notes.
    """

    name: str
    signature: str
    meaning: str
    reference_name: str
    params: tuple[str, ...]
    strategy: Callable[[], SearchStrategy[Case]]
    bound: Callable[[Mapping[str, Any], FloatArray], Bound]
    tolerance_rule: str
    examples: tuple[dict[str, Any], ...] = ()
    section: str = ""
    scalar: bool = False
    alternatives: Callable[[Mapping[str, Any]], list[FloatArray]] | None = None
    split: Callable[[tuple[Any, ...], dict[str, Any]], CanonicalCall | None] | None = None
    invalid: tuple[tuple[str, dict[str, Any]], ...] = ()
    domain_note: str = ""
    reference_kwargs: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None

    @property
    def reference(self) -> Callable[..., Any]:
        fn: Callable[..., Any] = getattr(reference, self.reference_name)
        return fn

    def case(self, **inputs: Any) -> Case:
        missing = [p for p in self.params if p not in inputs]
        if missing:
            raise ValueError(f"{self.name}: missing inputs {missing}")
        return Case(self.name, {p: inputs[p] for p in self.params})

    def expected(self, case: Case) -> FloatArray:
        kw = self.reference_kwargs(case.inputs) if self.reference_kwargs is not None else {}
        return np.asarray(self.reference(*case.args(), **kw), dtype=np.float64)


def _f(x: Any) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _b(x: Any) -> NDArray[np.bool_]:
    return np.asarray(x).astype(bool)


# ----------------------------------------------------------------------------------- rollouts


def _segments(done: NDArray[np.bool_]) -> NDArray[np.int64]:
    """For each t, the index one past the last step of t's episode inside the arrays."""
    n = done.shape[0]
    end = np.empty(n, dtype=np.int64)
    nxt = n
    for t in range(n - 1, -1, -1):
        if done[t]:
            nxt = t + 1
        end[t] = nxt
    return end


def _discounted_abs_sums(terms: FloatArray, factor: float, end: NDArray[np.int64]) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Σ_{k=t}^{end_t−1} factor^{k−t} terms_k, max_k terms_k and the count end_t − t, per t."""
    n = terms.shape[0]
    s, m = np.zeros(n), np.zeros(n)
    for t in range(n - 1, -1, -1):
        if t + 1 < end[t]:
            s[t] = terms[t] + factor * s[t + 1]
            m[t] = max(terms[t], m[t + 1])
        else:
            s[t], m[t] = terms[t], terms[t]
    return s, m, (end - np.arange(n)).astype(np.float64)


def _returns_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    r = np.abs(_f(inp["rewards"]))
    g = float(inp["gamma"])
    end = np.full(r.shape[0], r.shape[0], dtype=np.int64)
    s, m, count = _discounted_abs_sums(r, g, end)
    return Bound(s, 3.0 * count + 4.0, m, "S_t = Σ_{k>=t} γ^{k−t}|r_k|, c_t = 3(T−t) + 4")


def _td_terms(inp: Mapping[str, Any]) -> FloatArray:
    g = float(inp["gamma"])
    live = ~_b(inp["terminated"])
    out: FloatArray = np.abs(_f(inp["rewards"])) + g * np.abs(_f(inp["next_values"])) * live + np.abs(_f(inp["values"]))
    return out


def _td_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    s = _td_terms(inp)
    return Bound(s, np.full(s.shape, 8.0), s, "S_t = |r_t| + γ|V(s_{t+1})|(1 − term_t) + |V(s_t)|, c = 8")


def _gae_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    terms = _td_terms(inp)
    done = _b(inp["terminated"]) | _b(inp["truncated"])
    s, m, count = _discounted_abs_sums(terms, float(inp["gamma"]) * float(inp["lam"]), _segments(done))
    return Bound(s, 3.0 * count + 8.0, m, "S_t = Σ_l (γλ)^l (|r| + γ|V'|(1 − term) + |V|)_{t+l} over the rest of t's episode, c_t = 3·(steps left in the episode) + 8")


def _consistent(inp: Mapping[str, Any]) -> bool:
    v, nv = _f(inp["values"]), _f(inp["next_values"])
    done = _b(inp["terminated"]) | (_b(inp["truncated"]) if "truncated" in inp else False)
    inside = ~done[:-1]
    return bool(np.all(nv[:-1][inside] == v[1:][inside]))


def _columns(arrays: Sequence[FloatArray]) -> list[list[FloatArray]]:
    return [[a[:, j] for a in arrays] for j in range(arrays[0].shape[1])]


def _rollout_split(names: tuple[str, ...], scalars: tuple[str, ...], needs_consistency: bool) -> Callable[[tuple[Any, ...], dict[str, Any]], CanonicalCall | None]:
    """Claims may call with [T] or [T, N] arrays; canonical calls are per column, T >= 1, consistent."""

    def split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CanonicalCall | None:
        allnames = names + scalars
        if len(args) + len(kwargs) != len(allnames) or set(kwargs) - set(allnames):
            return None
        bound = dict(zip(allnames, args)) | kwargs
        arrays = [np.asarray(bound[k]) for k in names]
        if arrays[0].ndim not in (1, 2) or arrays[0].shape[0] == 0 or any(a.shape != arrays[0].shape for a in arrays):
            return None
        two_d = arrays[0].ndim == 2
        per = _columns(arrays) if two_d else [list(arrays)]

        def place(outs: list[FloatArray]) -> Any:
            return np.stack(outs, axis=1) if two_d else outs[0]

        calls: list[dict[str, Any]] = []
        for col in per:
            inp: dict[str, Any] = {k: (_b(a) if k in ("terminated", "truncated") else _f(a)) for k, a in zip(names, col)}
            inp |= {k: float(bound[k]) for k in scalars}
            if needs_consistency and not _consistent(inp):
                return None
            calls.append(inp)
        return calls, place

    return split


# --------------------------------------------------------------------------------------- PPO


def _ppo_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    lp, lo, a = _f(inp["logp_new"]), _f(inp["logp_old"]), np.abs(_f(inp["advantages"]))
    eps = float(inp["epsilon"])
    with np.errstate(over="ignore"):
        rho = np.exp(lp - lo)
    s = a * np.maximum(rho, 1.0 + eps) * (np.abs(lp) + np.abs(lo) + 2.0)
    return Bound(s, np.full(s.shape, 8.0), a * np.maximum(rho, 1.0 + eps), "S_i = |A_i|·max(ρ_i, 1+ε)·(|logp_new_i| + |logp_old_i| + 2) (exp amplifies the rounding of the log-probs), c = 8")


def _elementwise_split(names: tuple[str, ...], scalars: tuple[str, ...]) -> Callable[[tuple[Any, ...], dict[str, Any]], CanonicalCall | None]:
    """Elementwise targets: any common shape is flattened to [N] and the output reshaped back."""

    def split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CanonicalCall | None:
        allnames = names + scalars
        if len(args) + len(kwargs) != len(allnames) or set(kwargs) - set(allnames):
            return None
        bound = dict(zip(allnames, args)) | kwargs
        arrays = [_f(bound[k]) for k in names]
        shape = arrays[0].shape
        if any(a.shape != shape for a in arrays) or arrays[0].size == 0:
            return None
        inp: dict[str, Any] = {k: a.reshape(-1) for k, a in zip(names, arrays)} | {k: float(bound[k]) for k in scalars}
        return [inp], lambda outs: outs[0].reshape(shape)

    return split


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


def _scalar_split(names: tuple[str, ...]) -> Callable[[tuple[Any, ...], dict[str, Any]], CanonicalCall | None]:
    def split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CanonicalCall | None:
        if len(args) + len(kwargs) != len(names) or set(kwargs) - set(names):
            return None
        bound = dict(zip(names, args)) | kwargs
        return [{k: float(bound[k]) for k in names}], lambda outs: float(outs[0])

    return split


# -------------------------------------------------------------------------------------- TRPO


def _solve_bound(matrix: FloatArray, expected: FloatArray, per_n: float, rule: str) -> Bound:
    n = matrix.shape[0]
    kappa = float(np.linalg.cond(matrix))
    s = np.full(expected.shape, float(np.max(np.abs(expected))) if expected.size else 0.0)
    ops = np.full(expected.shape, kappa * math.sqrt(n) * (per_n * n + 8.0))
    return Bound(s, ops, np.zeros(expected.shape), rule)


def _natural_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    return _solve_bound(_f(inp["fisher"]), expected, 2.0, "norm-wise: S = max_i |Δ_i|, c = κ₂(F)·√n·(2n + 8) (a float32 solve loses κ·u)")


def _cg_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    op = inp["matvec"]
    a = op.matrix if isinstance(op, MatrixOperator) else _f(op)
    return _solve_bound(a, expected, 4.0, "norm-wise: S = max_i |x_i|, c = κ₂(A)·√n·(4n + 8)")


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


# ---------------------------------------------------------------------------- baselines


def _minvar_bound(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
    g2 = _f(inp["grad_logp"]) ** 2
    r = np.abs(_f(inp["returns"]))
    den = g2.sum(axis=0)
    s = np.where(den > 0, (g2.T @ r) / np.where(den > 0, den, 1.0), 0.0)
    m = g2.shape[0]
    return Bound(s, np.full(s.shape, 2.0 * m + 8.0), np.full(s.shape, float(r.max(initial=0.0))),
                 "S_k = Σ_i g_ik²|R_i| / Σ_i g_ik², c = 2m + 8")


def _minvar_split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CanonicalCall | None:
    names = ("grad_logp", "returns", "weights")
    if len(args) + len(kwargs) > 3 or set(kwargs) - set(names):
        return None
    bound = dict(zip(names, args)) | kwargs
    g, r = _f(bound["grad_logp"]), _f(bound["returns"])
    if g.ndim != 2 or r.shape != (g.shape[0],) or g.shape[0] == 0 or g.shape[1] == 0:
        return None
    w = bound.get("weights")
    if w is not None:
        wv = _f(w)
        if wv.shape != r.shape or np.any(wv < 0) or wv.sum() <= 0:
            return None
        g = g * np.sqrt(wv / wv.sum())[:, None]  # Σ w g² R / Σ w g² = the unweighted form on √w·g
    return [{"grad_logp": g, "returns": r}], lambda outs: outs[0]


# ---------------------------------------------------------------------------------- RLHF


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = np.exp(-np.logaddexp(0.0, -x))
    return out


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


# ---------------------------------------------------------------------------------- table

_RO = ("rewards", "values", "next_values", "terminated")

TARGETS: dict[str, Target] = {}


def _add(t: Target) -> None:
    TARGETS[t.name] = t


_add(Target(
    "returns", "(rewards[T], gamma) -> [T]", "G_t = Σ_{k>=t} γ^{k−t} r_k (one trajectory, cut at T)",
    "discounted_returns", ("rewards", "gamma"), cs.returns_inputs, _returns_bound,
    "S_t = Σ_{k>=t} γ^{k−t}|r_k|, c_t = 3(T−t) + 4",
    examples=(
        {"rewards": np.array([1.0]), "gamma": 0.5},
        {"rewards": np.array([1.0, 2.0, 3.0]), "gamma": 0.0},
        {"rewards": np.array([1.0, -2.0, 3.0]), "gamma": 1.0},
        {"rewards": np.array([1.0, 1.0, 1.0, 1.0]), "gamma": 0.5},
    ),
    section="§3, eq. (3.2)",
    split=_rollout_split(("rewards",), ("gamma",), False),
))

_add(Target(
    "td_residuals", "(rewards[T], values[T], next_values[T], terminated[T], gamma) -> [T]",
    "δ_t = r_t + γ(1 − terminated_t)V(s_{t+1}) − V(s_t)",
    "td_residuals", _RO + ("gamma",), cs.td_residuals_inputs, _td_bound,
    "S_t = |r_t| + γ|V(s_{t+1})|(1 − term_t) + |V(s_t)|, c = 8",
    examples=(
        {"rewards": np.array([1.0]), "values": np.array([2.0]), "next_values": np.array([3.0]), "terminated": np.array([True]), "gamma": 0.5},
        {"rewards": np.array([1.0, 1.0]), "values": np.array([0.0, 1.0]), "next_values": np.array([1.0, 2.0]), "terminated": np.array([False, False]), "gamma": 1.0},
        {"rewards": np.array([0.0, 1.0, 0.0]), "values": np.array([1.0, 2.0, 3.0]), "next_values": np.array([5.0, 3.0, 4.0]), "terminated": np.array([True, False, True]), "gamma": 0.9},
    ),
    section="§6, eq. (6.4)",
    split=_rollout_split(_RO, ("gamma",), True),
    domain_note="consistent rollouts: next_values[t] == values[t+1] inside an episode",
))

_GAE_EX = [
    # episode ends at the first step (terminated), then runs to the end of the arrays
    ([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [5.0, 1.0, 2.0], [True, False, False], [False, False, False], 0.5, 1.0),
    # truncation at the first step: bootstrap from V(final obs) = 5, not from values[1]
    ([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], [5.0, 1.0, 2.0], [False, False, False], [True, False, False], 0.5, 1.0),
    # episode ends at the last step, terminated vs truncated
    ([1.0, 1.0], [0.0, 2.0], [2.0, 4.0], [False, True], [False, False], 1.0, 1.0),
    ([1.0, 1.0], [0.0, 2.0], [2.0, 4.0], [False, False], [False, True], 1.0, 1.0),
    # back-to-back ends, truncation next to termination
    ([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0], [2.0, 7.0, 8.0, 9.0], [False, True, False, False], [False, False, True, False], 0.9, 0.5),
    # T = 1, lambda and gamma at 0 and 1
    ([2.0], [1.0], [3.0], [False], [False], 1.0, 0.0),
    ([2.0], [1.0], [3.0], [False], [False], 0.0, 1.0),
    ([1.0, 0.0, 2.0], [0.0, 1.0, 0.0], [1.0, 0.0, 3.0], [False, False, False], [False, False, False], 0.5, 0.0),
]

_add(Target(
    "gae", "(rewards[T], values[T], next_values[T], terminated[T], truncated[T], gamma, lam) -> [T]",
    "Â_t = δ_t + γλ(1 − done_t)Â_{t+1}, done = terminated or truncated, cut at T (SPEC.md §0)",
    "gae", _RO + ("truncated", "gamma", "lam"), cs.gae_inputs, _gae_bound,
    "S_t = Σ_l (γλ)^l (|r| + γ|V'|(1−term) + |V|)_{t+l} over the rest of t's episode, c_t = 3·(steps left) + 8",
    examples=tuple(
        {"rewards": np.array(r), "values": np.array(v), "next_values": np.array(nv), "terminated": np.array(te), "truncated": np.array(tr), "gamma": g, "lam": lm}
        for r, v, nv, te, tr, g, lm in _GAE_EX
    ),
    section="§6, eq. (6.8)",
    split=_rollout_split(_RO + ("truncated",), ("gamma", "lam"), True),
    domain_note="consistent rollouts: next_values[t] == values[t+1] inside an episode",
))

_L12 = math.log1p(0.2)
_add(Target(
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
    split=_elementwise_split(("logp_new", "logp_old", "advantages"), ("epsilon",)),
))

_add(Target(
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
    split=_scalar_split(("beta", "kl", "kl_target")),
))

_add(Target(
    "natural_step", "(g[n], fisher[n,n], max_kl) -> [n]", "Δ = sqrt(2δ / gᵀF⁻¹g) F⁻¹g (0 when g = 0)",
    "natural_step", ("g", "fisher", "max_kl"), cs.natural_step_inputs, _natural_bound,
    "norm-wise, S = max|Δ|, c = κ₂(F)·√n·(2n + 8)",
    examples=(
        {"g": np.array([1.0, 0.0]), "fisher": np.eye(2), "max_kl": 0.5},
        {"g": np.array([1.0, 1.0]), "fisher": np.diag([1.0, 4.0]), "max_kl": 0.01},
        {"g": np.array([0.0, 0.0]), "fisher": np.eye(2), "max_kl": 0.01},
        {"g": np.array([1.0, -1.0]), "fisher": np.array([[1.0, 0.9999], [0.9999, 1.0]]), "max_kl": 0.05},
    ),
    section="§10, eq. (10.5)", split=_natural_split,
    domain_note="SPD Fisher with κ₂ <= 1e4",
))

_add(Target(
    "conjugate_gradient", "(matvec, b[n], iters) -> [n]", "x = A⁻¹b for SPD A given x ↦ Ax, from x_0 = 0, iters >= n + 2",
    "conjugate_gradient", ("matvec", "b", "iters"), cs.conjugate_gradient_inputs, _cg_bound,
    "norm-wise, S = max|x|, c = κ₂(A)·√n·(4n + 8)",
    examples=(
        {"matvec": MatrixOperator(np.eye(1) * 2.0), "b": np.array([1.0]), "iters": 3},
        {"matvec": MatrixOperator(np.array([[4.0, 1.0], [1.0, 3.0]])), "b": np.array([1.0, 2.0]), "iters": 4},
        {"matvec": MatrixOperator(np.diag([1.0, 10.0, 100.0])), "b": np.array([1.0, 1.0, 1.0]), "iters": 5},
        {"matvec": MatrixOperator(np.array([[1.0, 0.9999], [0.9999, 1.0]])), "b": np.array([1.0, 0.0]), "iters": 4},
    ),
    section="§10, eq. (10.7)", split=_cg_split, reference_kwargs=_cg_reference_kwargs,
    domain_note="SPD A with κ₂ <= 1e4, iters >= n + 2 (floating-point CG needs a couple of iterations past n), residual_tol = 0; matvec takes numpy arrays or torch tensors",
))

_add(Target(
    "min_variance_baseline", "(grad_logp[m,n], returns[m]) -> [n]", "b_k = Σ_i g_ik² R_i / Σ_i g_ik² (0 where Σ_i g_ik² = 0)",
    "min_variance_baseline", ("grad_logp", "returns"), cs.min_variance_baseline_inputs, _minvar_bound,
    "S_k = Σ_i g_ik²|R_i| / Σ_i g_ik², c = 2m + 8",
    examples=(
        {"grad_logp": np.array([[1.0, 0.0], [2.0, 0.0]]), "returns": np.array([3.0, 5.0])},
        {"grad_logp": np.array([[1.0, 1.0], [1.0, -2.0], [0.0, 1.0]]), "returns": np.array([1.0, -1.0, 4.0])},
        {"grad_logp": np.array([[3.0]]), "returns": np.array([2.0])},
    ),
    section="§4, eq. (4.2)", split=_minvar_split,
))

_add(Target(
    "bt_loss", "(r_chosen[N], r_rejected[N]) -> [N]", "−log σ(r_w − r_l) per pair",
    "bt_loss", ("r_chosen", "r_rejected"), cs.bt_loss_inputs, _bt_bound,
    "S_i = |loss_i| + σ(−(r_w − r_l))·(|r_w| + |r_l|), c = 8",
    examples=(
        {"r_chosen": np.array([0.0, 1.0, 2.0]), "r_rejected": np.array([0.0, 2.0, 1.0])},
        {"r_chosen": np.array([10000.0, -10000.0, 800.0]), "r_rejected": np.array([-10000.0, 10000.0, 0.0])},
    ),
    section="§12, eq. (12.3)", split=_elementwise_split(("r_chosen", "r_rejected"), ()),
))

_add(Target(
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
    split=_elementwise_split(("policy_chosen", "policy_rejected", "ref_chosen", "ref_rejected"), ("beta",)),
))

_add(Target(
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
    invalid=(
        ("a row of the mask with no response token (the reference raises ValueError: the score has no token to go on)",
         {"scores": np.array([1.0, 2.0]), "logp": np.array([[-1.0, -1.0], [-1.0, -1.0]]), "ref_logp": np.array([[-2.0, -2.0], [-2.0, -2.0]]),
          "mask": np.array([[True, True], [False, False]]), "beta": 0.1}),
    ),
    domain_note="every row of the mask has at least one response token",
))


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise KeyError(f"unknown conformance target {name!r}; targets: {', '.join(TARGETS)}") from None
