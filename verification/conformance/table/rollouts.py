"""Rollout targets (SPEC.md §3, §6): discounted returns, TD residuals, GAE; layouts [T] and [T, N]."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

import reference

from .. import strategies as cs
from .._calls import Case, MatrixOperator
from ._base import U32, Bound, CanonicalCall, Clause, Convention, Input, Target, add, autograd_vjp, linear_vjp
from ._helpers import FloatArray, _b, _f, elementwise_split, scalar_split


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


def _per_column(bound: Callable[[Mapping[str, Any], FloatArray], Bound]) -> Callable[[Mapping[str, Any], FloatArray], Bound]:
    """A [T] bound applied to each column of a [T, N] rollout."""

    def wrapped(inp: Mapping[str, Any], expected: FloatArray) -> Bound:
        if expected.ndim != 2:
            return bound(inp, expected)
        cols = [bound({k: (v[:, j] if isinstance(v, np.ndarray) and v.ndim == 2 else v) for k, v in inp.items()}, expected[:, j])
                for j in range(expected.shape[1])]
        return Bound(np.stack([c.scale for c in cols], 1), np.stack([np.broadcast_to(c.ops, c.scale.shape) for c in cols], 1),
                     np.stack([np.broadcast_to(c.magnitude, c.scale.shape) for c in cols], 1), cols[0].rule)

    return wrapped


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


_RO = ("rewards", "values", "next_values", "terminated")


# ------------------------------------------------------------------ declarations (conventions, clauses)

_LAYOUT = Convention("layout", "[T]", ("[T,N]",), "one trajectory [T] (default) or a time-major batch [T, N] of N environments")
_GAE_LAYOUT = Convention(
    "layout", "[T]", ("[T,N]", "[B,T]"),
    "[T]: one trajectory (default); [T,N]: a time-major batch of N environments; [B,T]: token rows with a response mask, called as "
    "(rewards[B,T], values[B,T], mask[B,T], gamma, lam): each row's response tokens, in order, are one episode that terminates after "
    "the last; positions outside the mask are skipped (the running advantage carries across holes) and their outputs are free",
)
_GAMMA = Convention("gamma", "drawn", (1.0, 0.99), "γ drawn by the search (default) or hard-coded by the implementation")
_LAM = Convention("lam", "drawn", (0.95, 1.0), "λ drawn by the search (default) or hard-coded by the implementation")
_DONE = Convention(
    "done", "canonical", ("cleanrl", "sb3"),
    "canonical: (rewards, values, next_values, terminated, truncated, gamma, lam); "
    "cleanrl: (rewards, values, dones, next_value, next_done, gamma, lam) with dones[t] = 'step t starts an episode' and no truncations "
    "(CleanRL treats a truncation as a termination); sb3: the same arguments as cleanrl (episode_starts, last_values, dones), "
    "with a truncation folded into the reward r_t + γV(final obs) as SB3's collect_rollouts does",
)


def _flag(inp: Mapping[str, Any], name: str) -> NDArray[np.bool_]:
    """A rollout's end flag; absent (the token layout) means no flag anywhere."""
    return _b(inp[name]) if name in inp else np.zeros(np.shape(inp["rewards"]), dtype=bool)


def _episodes_ending(inp: Mapping[str, Any], how: str) -> NDArray[np.bool_]:
    """The steps of every episode that ends with a termination (``how="terminated"``) or a truncation
    (``"truncated"``; a step with both flags counts as terminated): the positions whose advantage
    depends on how that end is handled.  The episode still running at the end of the arrays is the
    formula's own case (it bootstraps from next_values[T − 1])."""
    if "mask" in inp:
        return np.zeros(np.shape(inp["rewards"]), dtype=bool)
    term, trunc = _flag(inp, "terminated"), _flag(inp, "truncated")
    flag = term if how == "terminated" else (trunc & ~term)
    done = term | trunc
    out = np.zeros(done.shape, dtype=bool)
    cols = [slice(None)] if done.ndim == 1 else [np.s_[:, j] for j in range(done.shape[1])]
    for c in cols:
        d, f = done[c], flag[c]
        end = _segments(d)
        o = np.zeros(d.shape, dtype=bool)
        for t in range(d.shape[0]):
            last = end[t] - 1
            o[t] = bool(d[last] and f[last])
        out[c] = o
    return out


def _rollout_end(inp: Mapping[str, Any]) -> NDArray[np.bool_]:
    """The last row, where a step that does not end an episode bootstraps from next_values[T − 1]."""
    r = np.asarray(inp["rewards"])
    out = np.zeros(r.shape, dtype=bool)
    if "mask" not in inp:
        out[-1] = ~(_flag(inp, "terminated")[-1] | _flag(inp, "truncated")[-1])
    return out


def _returns_clauses() -> tuple[Clause, ...]:
    return (
        Clause("RET-GAMMA0", "γ = 0: G_t = r_t", lambda i: float(i["gamma"]) == 0.0),
        Clause("RET-GAMMA1", "γ = 1: undiscounted rewards-to-go", lambda i: float(i["gamma"]) == 1.0),
        Clause("RET-T1", "T = 1: a single step", lambda i: np.shape(i["rewards"])[0] == 1),
    )


def _td_clauses() -> tuple[Clause, ...]:
    return (
        Clause("TD-TERMINATED", "a terminated step: no bootstrap (δ_t = r_t − V(s_t))", lambda i: _flag(i, "terminated")),
        Clause("TD-GAMMA0", "γ = 0: δ_t = r_t − V(s_t)", lambda i: float(i["gamma"]) == 0.0),
    )


def _padding(i: Mapping[str, Any]) -> Any:
    return ~_b(i["mask"]) if "mask" in i else False


def _gae_clauses() -> tuple[Clause, ...]:
    return (
        Clause("GAE-PADDING", "[B,T] layout: a position outside the response mask; its output is free (any finite value)", _padding, free=True),
        Clause("GAE-EMPTY-ROW", "[B,T] layout: a row without a response token (every output of the row is free)",
               lambda i: bool(np.any(~_b(i["mask"]).any(axis=1))) if "mask" in i else False),
        Clause("GAE-TERMINATED", "an episode that ends with a termination: no bootstrap at its last step, the recursion is cut there "
               "(the clause governs every step of that episode)", lambda i: _episodes_ending(i, "terminated")),
        Clause("GAE-TRUNCATED", "an episode that ends with a truncation: bootstrap from next_values[t] (V of the final observation) at its "
               "last step, the recursion is cut there (every step of that episode)", lambda i: _episodes_ending(i, "truncated")),
        Clause("GAE-LAMBDA0", "λ = 0: Â_t = δ_t", lambda i: float(i["lam"]) == 0.0),
        Clause("GAE-GAMMA0", "γ = 0: Â_t = r_t − V(s_t)", lambda i: float(i["gamma"]) == 0.0),
    )


def _start_flags(inp: Mapping[str, Any], fold: bool) -> tuple[tuple[str, Any], ...]:
    """The CleanRL / SB3 call form: dones[t] (or episode_starts[t]) = 'step t starts a new episode'."""
    r, v, nv = _f(inp["rewards"]), _f(inp["values"]), _f(inp["next_values"])
    term, trunc = _flag(inp, "terminated"), _flag(inp, "truncated")
    g = float(inp["gamma"])
    done = term | trunc
    if fold:  # SB3's collect_rollouts: r_t + γV(final obs) at a truncation, then an ordinary end
        r = r + g * np.where(trunc & ~term, nv, 0.0)
    starts = np.zeros(done.shape, dtype=bool)
    starts[1:] = done[:-1]
    return (("rewards", r), ("values", v), ("dones", starts), ("next_value", nv[-1].copy()), ("next_done", done[-1].copy()),
            ("gamma", g), ("lam", float(inp["lam"])))


def _tokens(conv: Mapping[str, Any]) -> bool:
    return bool(conv.get("layout", "[T]") == "[B,T]")


def _token_rows(inp: Mapping[str, Any]) -> list[tuple[int, NDArray[np.int64], dict[str, Any]]]:
    """Each row's response tokens as a canonical rollout that terminates after the last token."""
    m = _b(inp["mask"])
    out = []
    for b in range(m.shape[0]):
        idx = np.flatnonzero(m[b])
        if idx.size == 0:
            continue
        r, v = _f(inp["rewards"])[b, idx], _f(inp["values"])[b, idx]
        nv = np.append(v[1:], 0.0)
        term = np.zeros(idx.size, dtype=bool)
        term[-1] = True
        out.append((b, idx, {"rewards": r, "values": v, "next_values": nv, "terminated": term, "truncated": np.zeros(idx.size, dtype=bool),
                             "gamma": float(inp["gamma"]), "lam": float(inp["lam"])}))
    return out


def _gae_expected(inp: Mapping[str, Any], conv: Mapping[str, Any]) -> FloatArray | None:
    if not _tokens(conv):
        return None
    out = np.zeros(np.shape(inp["rewards"]))
    for b, idx, ro in _token_rows(inp):
        out[b, idx] = reference.gae(ro["rewards"], ro["values"], ro["next_values"], ro["terminated"], ro["truncated"], ro["gamma"], ro["lam"])
    return out


def _gae_bound_for(inp: Mapping[str, Any], expected: FloatArray, conv: Mapping[str, Any]) -> Bound | None:
    if not _tokens(conv):
        return None
    shape = np.shape(inp["rewards"])
    s, c, mag = np.zeros(shape), np.ones(shape), np.zeros(shape)
    for b, idx, ro in _token_rows(inp):
        bd = _gae_bound(ro, expected[b, idx])
        s[b, idx], c[b, idx], mag[b, idx] = bd.scale, np.broadcast_to(bd.ops, idx.shape), np.broadcast_to(bd.magnitude, idx.shape)
    return Bound(s, c, mag, "per row, the rule of [T] on the row's response tokens; positions outside the mask are free")


def _gae_call_form(inp: Mapping[str, Any], conv: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    if _tokens(conv):
        return (("rewards", inp["rewards"]), ("values", inp["values"]), ("mask", inp["mask"]), ("gamma", float(inp["gamma"])),
                ("lam", float(inp["lam"])))
    done = conv.get("done", "canonical")
    if done == "canonical":
        return tuple((k, inp[k]) for k in _RO + ("truncated", "gamma", "lam"))
    return _start_flags(inp, fold=done == "sb3")


def _gae_strategy(conv: Mapping[str, Any]) -> Any:
    if _tokens(conv):
        return cs.gae_token_inputs()
    return cs.gae_inputs(n_envs=conv.get("layout", "[T]") == "[T,N]", truncations=conv.get("done", "canonical") != "cleanrl")


def _linear_grad_bound(inp: Mapping[str, Any], wrt: str, expected: FloatArray) -> Bound:
    """VJP tolerance of a rollout target (linear in its float inputs), norm-wise: S = 2(1 + γ)·T·max|c|, c = 3T + 8.

    Each VJP entry is Σ_i c_i J_ij with |J_ij| <= (1 + γ)(γλ)^{|i−j|} (V(s_t) enters as −1 at step t
    and as γ at step t − 1), a sum of at most T terms of size <= (1 + γ)·max|c| (max|c| = 2 for the
    harness's cotangents); a float32 backward pass rounds each term and each accumulation.
    """
    n = float(np.shape(inp["rewards"])[0])
    g = float(inp.get("gamma", 1.0))
    s = np.full(expected.shape, 2.0 * (1.0 + g) * n * 2.0)
    return Bound(s, np.full(expected.shape, 3.0 * n + 8.0), s, "norm-wise: S = 2(1 + γ)·T·max|cotangent|, c = 3T + 8")


_RO_INPUTS = (Input("rewards", "[T]|[T,N]", differentiable=True), Input("values", "[T]|[T,N]", differentiable=True),
              Input("next_values", "[T]|[T,N]", differentiable=True), Input("terminated", "[T]|[T,N]", "bool"))

add(Target(
    "returns", "(rewards[T], gamma) -> [T]", "G_t = Σ_{k>=t} γ^{k−t} r_k (one trajectory, cut at T)",
    "discounted_returns", ("rewards", "gamma"), cs.returns_inputs, _per_column(_returns_bound),
    "S_t = Σ_{k>=t} γ^{k−t}|r_k|, c_t = 3(T−t) + 4",
    examples=(
        {"rewards": np.array([1.0]), "gamma": 0.5},
        {"rewards": np.array([1.0, 2.0, 3.0]), "gamma": 0.0},
        {"rewards": np.array([1.0, -2.0, 3.0]), "gamma": 1.0},
        {"rewards": np.array([1.0, 1.0, 1.0, 1.0]), "gamma": 0.5},
    ),
    section="§3, eq. (3.2)",
    split=_rollout_split(("rewards",), ("gamma",), False),
    inputs=(Input("rewards", "[T]|[T,N]", differentiable=True), Input("gamma")), output="[T]|[T,N]",
    conventions=(_LAYOUT, _GAMMA), clauses=_returns_clauses(),
    gradient=linear_vjp("returns", ("rewards",)), grad_bound=_linear_grad_bound,
    strategy_for=lambda conv: cs.returns_inputs(n_envs=conv.get("layout", "[T]") == "[T,N]"),
))

add(Target(
    "td_residuals", "(rewards[T], values[T], next_values[T], terminated[T], gamma) -> [T]",
    "δ_t = r_t + γ(1 − terminated_t)V(s_{t+1}) − V(s_t)",
    "td_residuals", _RO + ("gamma",), cs.td_residuals_inputs, _per_column(_td_bound),
    "S_t = |r_t| + γ|V(s_{t+1})|(1 − term_t) + |V(s_t)|, c = 8",
    examples=(
        {"rewards": np.array([1.0]), "values": np.array([2.0]), "next_values": np.array([3.0]), "terminated": np.array([True]), "gamma": 0.5},
        {"rewards": np.array([1.0, 1.0]), "values": np.array([0.0, 1.0]), "next_values": np.array([1.0, 2.0]), "terminated": np.array([False, False]), "gamma": 1.0},
        {"rewards": np.array([0.0, 1.0, 0.0]), "values": np.array([1.0, 2.0, 3.0]), "next_values": np.array([5.0, 3.0, 4.0]), "terminated": np.array([True, False, True]), "gamma": 0.9},
    ),
    section="§6, eq. (6.4)",
    split=_rollout_split(_RO, ("gamma",), True),
    inputs=_RO_INPUTS + (Input("gamma"),), output="[T]|[T,N]",
    conventions=(_LAYOUT, _GAMMA), clauses=_td_clauses(),
    gradient=linear_vjp("td_residuals", ("rewards", "values", "next_values")), grad_bound=_linear_grad_bound,
    strategy_for=lambda conv: cs.td_residuals_inputs(n_envs=conv.get("layout", "[T]") == "[T,N]"),
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

add(Target(
    "gae", "(rewards[T], values[T], next_values[T], terminated[T], truncated[T], gamma, lam) -> [T]",
    "Â_t = δ_t + γλ(1 − done_t)Â_{t+1}, done = terminated or truncated, cut at T (SPEC.md §0)",
    "gae", _RO + ("truncated", "gamma", "lam"), cs.gae_inputs, _per_column(_gae_bound),
    "S_t = Σ_l (γλ)^l (|r| + γ|V'|(1−term) + |V|)_{t+l} over the rest of t's episode, c_t = 3·(steps left) + 8",
    examples=tuple(
        {"rewards": np.array(r), "values": np.array(v), "next_values": np.array(nv), "terminated": np.array(te), "truncated": np.array(tr), "gamma": g, "lam": lm}
        for r, v, nv, te, tr, g, lm in _GAE_EX
    ),
    section="§6, eq. (6.8)",
    split=_rollout_split(_RO + ("truncated",), ("gamma", "lam"), True),
    inputs=_RO_INPUTS + (Input("truncated", "[T]|[T,N]", "bool"), Input("gamma"), Input("lam")), output="[T]|[T,N]",
    conventions=(_GAE_LAYOUT, _DONE, _GAMMA, _LAM), clauses=_gae_clauses(), expected_for=_gae_expected, bound_for=_gae_bound_for,
    gradient=linear_vjp("gae", ("rewards", "values", "next_values")), grad_bound=_linear_grad_bound,
    strategy_for=_gae_strategy, call_form=_gae_call_form,
    domain_note="consistent rollouts: next_values[t] == values[t+1] inside an episode",
))
