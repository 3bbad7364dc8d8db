"""Diff an implementation against the reference on one canonical target (SPEC.md §13).

``check(target, fn)`` runs the pinned edge cases, then a seeded Hypothesis search that steers
towards the largest error/tolerance ratio (``hypothesis.target``) and shrinks any failure to a
small counterexample; then it runs every registered claim that uses the target's reference
function (``claim.uses``) with the implementation in its place, and reports the claims broken.
"""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, example, given, seed as hyp_seed, settings
from hypothesis import target as hyp_target
from numpy.typing import NDArray

from ..registry import Impl, all_claims
from ..runner import run_claim
from ._calls import Case
from .callers import CLAIMS_BUDGET, EXAMPLES, IMPORT_TIMEOUT, WORKER_ENV, CallOutcome, Caller, InProcessCaller, ProcessCaller, worker_caller
from .loader import ImplementationLoadError, is_file_spec, load_implementation, split_spec
from .table import DRAWN, K, U32, Target, get_target
from .table._base import grad_bound_for

__all__ = ["ConformanceResult", "Verdict", "check", "assert_conforms", "evaluate", "snippet"]

FloatArray = NDArray[np.float64]
Isolation = Literal["process", "in-process", "thread", "auto"]


@dataclass
class Verdict:
    """The outcome of one call compared with the reference."""

    ok: bool
    kind: str  # ok | mismatch | non-finite | shape | raised | bad-output | timeout | crashed | poisoned | gradient | in-place
    reason: str = ""
    expected: Any = None
    got: Any = None
    got_dtype: str = ""
    error: float = 0.0
    allowed: float = 0.0
    ratio: float = 0.0
    index: tuple[int, ...] | None = None
    mutated: list[str] = field(default_factory=list)
    traceback: str = ""
    clauses: list[str] = field(default_factory=list)  # the clauses that govern the failing positions
    formula: bool = False  # a failing position that no clause governs: the formula itself is wrong
    deviations: list[str] = field(default_factory=list)  # allowed clauses whose positions deviated
    wrt: str = ""  # the input of a failing VJP
    cotangent: Any = None
    shape: tuple[int, ...] = ()  # the shape of the expected output (``expected`` holds a VJP after a gradient failure)


@dataclass(frozen=True)
class Options:
    """How one run delivers inputs and what it compares (SPEC.md §13.1, §13.4).

    ``conventions`` holds every convention of the target (defaults filled in, ``fix`` applied).
    """

    inputs: str = "numpy"
    dtype: str = "float64"
    grad: bool = False
    mask: str = "bool"
    conventions: Mapping[str, Any] = field(default_factory=dict)
    allow: frozenset[str] = frozenset()

    def describe(self, target: Target | None = None) -> str:
        """The run's options in one line; empty when every one is the default (numpy float64 inputs, values only, the defaults of ``target``'s conventions)."""
        if target is not None and (self.inputs, self.dtype, self.grad, self.mask) == ("numpy", "float64", False, "bool") \
                and all(self.conventions.get(c.name, c.default) == c.default for c in target.conventions):
            return ""
        parts = [f"inputs={self.inputs}", f"dtype={self.dtype}"] + (["grad"] if self.grad else []) + ([f"mask={self.mask}"] if self.mask != "bool" else [])
        conv = ", ".join(f"{k}={v}" for k, v in self.conventions.items() if v != DRAWN)
        return " ".join(parts) + (f"; conventions {conv}" if conv else "")


def _ratio(diff: FloatArray, allowed: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(allowed > 0, diff / np.where(allowed > 0, allowed, 1.0), np.where(diff > 0, np.inf, 0.0))
    out: FloatArray = np.asarray(r, dtype=np.float64)
    return out


# ------------------------------------------------------------------------ preparing a case


def resolve_conventions(t: Target, fix: Mapping[str, Any] | None) -> dict[str, Any]:
    """The target's conventions with ``fix`` applied; a fixed name may also be any scalar parameter."""
    conv = t.default_conventions()
    for name, value in (fix or {}).items():
        if name in conv:
            c = t.convention(name)
            if name not in t.params and value not in c.values():
                raise ValueError(f"--fix {name}={value}: {t.name} documents {name} = {', '.join(map(str, c.values()))}")
            conv[name] = value
        elif name in t.params and t.input(name).layout in ("scalar", "int", "str"):
            conv[name] = value
        else:
            names = [c.name for c in t.conventions] + [p for p in t.params if t.input(p).layout in ("scalar", "int", "str") and p not in conv]
            raise ValueError(f"--fix {name}: {t.name} has no convention or scalar parameter {name!r}; choose from {', '.join(names) or '(none)'}")
    return conv


def _pins(t: Target, conv: Mapping[str, Any]) -> dict[str, Any]:
    """Parameter conventions with a value: the inputs they pin."""
    return {k: v for k, v in conv.items() if k in t.params and v != DRAWN}


def prepare(t: Target, case: Case, opts: Options, garbage_seed: int = 0) -> Case:
    """Apply the pinned parameters and write in-domain garbage into every padded position."""
    inputs = dict(case.inputs)
    for k, v in _pins(t, opts.conventions).items():
        inputs[k] = type(inputs[k])(v) if isinstance(inputs.get(k), (int, float)) and not isinstance(inputs.get(k), bool) and isinstance(v, (int, float)) else v
    rng = np.random.default_rng(garbage_seed)
    for i in t.all_inputs():
        if i.masked_by is None or i.name not in inputs:
            continue
        x = np.array(inputs[i.name], dtype=np.float64)
        m = np.asarray(inputs[i.masked_by]).astype(bool)
        if m.shape != x.shape[: m.ndim] or not m.any() or m.all():
            continue
        pad = np.broadcast_to(m.reshape(m.shape + (1,) * (x.ndim - m.ndim)), x.shape)
        real = x[pad]
        real = real[np.isfinite(real)]  # a −inf logit is a real entry, not a range to draw from
        if real.size == 0:
            continue
        lo, hi = float(real.min()), float(real.max())
        x[~pad] = rng.uniform(lo, hi, size=int((~pad).sum())) if hi > lo else lo
        inputs[i.name] = x
    return Case(case.target, inputs)


def _kinds(t: Target, names: list[str], values: list[Any]) -> list[str]:
    out = []
    for n, v in zip(names, values):
        if n in t.params:
            out.append(t.input(n).kind)
        elif isinstance(v, np.ndarray) and v.dtype == np.bool_:
            out.append("bool")
        else:
            out.append("float")
    return out


def call_options(t: Target, case: Case, opts: Options, cotangent: FloatArray | None = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The arguments and the ``invoke`` options of one call of the implementation on ``case``."""
    pos, kw = t.call_args(case.inputs, opts.conventions)
    names = [n for n, _ in pos]
    values = [v for _, v in pos]
    kinds = _kinds(t, names, values)
    if opts.mask == "float":
        values = [v.astype(np.float64) if k == "mask" and isinstance(v, np.ndarray) else v for v, k in zip(values, kinds)]
        kinds = ["float" if k == "mask" else k for k in kinds]
    options: dict[str, Any] = {"inputs": opts.inputs, "dtype": opts.dtype, "names": names, "kinds": kinds}
    if kw:
        options["kwargs"] = kw
        options["kwarg_kinds"] = {k: t.input(k).kind for k in kw}
    if cotangent is not None:
        wrt = [n for n in t.differentiable if n in names]
        if wrt:
            options["grad"] = {"wrt": wrt, "cotangent": cotangent}
    return tuple(values), options


def _cotangent(shape: tuple[int, ...], free: NDArray[np.bool_], seed: int) -> FloatArray:
    """A seeded cotangent with entries k/8 in [−2, 2] (exact in float32), 0 at free positions."""
    rng = np.random.default_rng(seed + 7919)
    c: FloatArray = np.asarray(rng.integers(-16, 17, size=shape), dtype=np.float64).reshape(shape) / 8.0
    c = np.where(c == 0, 1.0, c)
    out: FloatArray = np.where(free, 0.0, c)
    return out


def _clause_masks(t: Target, inputs: Mapping[str, Any], shape: tuple[int, ...]) -> dict[str, NDArray[np.bool_]]:
    return {c.id: c.mask(inputs, shape) for c in t.clauses if c.kind == "input"}


def _attribute(v: Verdict, t: Target, fail: NDArray[np.bool_], masks: Mapping[str, NDArray[np.bool_]]) -> None:
    covered = np.zeros(fail.shape, dtype=bool)
    for cid, m in masks.items():
        if np.any(m & fail):
            v.clauses.append(cid)
            covered |= m
    v.formula = bool(np.any(fail & ~covered))


def evaluate(target: Target, caller: Caller, case: Case, options: Options | None = None, garbage_seed: int = 0) -> Verdict:
    """Call the implementation on ``case`` (already prepared) and compare with the reference: the value, then the VJPs."""
    opts = options or Options(conventions=target.default_conventions())
    t = target
    expected = t.expected(case, opts.conventions)
    shape = expected.shape
    masks = _clause_masks(t, case.inputs, shape)
    free = t.free_mask(case.inputs, shape)
    allowed_pos = np.zeros(shape, dtype=bool)
    for cid in opts.allow:
        if cid in masks:
            allowed_pos |= masks[cid]
    cot = _cotangent(shape, free, garbage_seed) if opts.grad and t.gradient is not None and t.differentiable else None
    args, call_opts = call_options(t, case, opts, cot)
    out = _call(caller, args, call_opts)
    if out.status != "ok" or out.value is None:
        what = {"raised": "raised", "bad-output": "returned something that is not a numeric array", "timeout": "hung",
                "crashed": "crashed", "poisoned": "was not called", "corrupted": "failed"}.get(out.status, out.status)
        reason = out.error if out.status == "corrupted" else f"the implementation {what}: {out.error}"
        return Verdict(False, out.status, reason, expected=expected, traceback=out.traceback, ratio=math.inf, error=math.inf, shape=shape)
    raw = out.value
    got = raw.astype(np.float64)
    v = Verdict(True, "ok", expected=expected, got=got, got_dtype=out.dtype or str(raw.dtype), mutated=out.mutated, shape=shape)
    if t.scalar or expected.ndim == 0:
        if got.size != 1:
            v.ok, v.kind, v.reason, v.ratio, v.error = False, "shape", f"wrong shape: expected a single number, got shape {got.shape}", math.inf, math.inf
            v.formula = True
            return v
        got = got.reshape(())
        v.got = got
    elif got.shape != shape:
        v.ok, v.kind, v.reason, v.ratio, v.error = False, "shape", f"wrong shape: expected {shape}, got {got.shape}", math.inf, math.inf
        v.formula = True
        return v
    bad = ~np.isfinite(got) & np.isfinite(expected) & ~allowed_pos
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        v.ok, v.kind, v.index, v.ratio, v.error = False, "non-finite", idx, math.inf, math.inf
        where = " (a free position: any finite value conforms there, NaN does not)" if free[idx] else ""
        v.reason = f"non-finite output {got[idx] if idx else got} at index {idx} where the reference is finite ({expected[idx] if idx else expected}){where}"
        _attribute(v, t, bad, masks)
        return v
    with np.errstate(invalid="ignore"):
        diff = np.where(np.isfinite(expected), np.abs(got - expected), np.where(got == expected, 0.0, np.inf))
    if t.alternatives is not None:
        for alt in t.alternatives(case.inputs):
            diff = np.minimum(diff, np.abs(got - alt))
    bound = t.bound_under(case.inputs, expected, opts.conventions)
    allowed = np.broadcast_to(bound.allowed(), shape)
    ratio = _ratio(diff, allowed)
    ratio = np.where(free, 0.0, ratio)
    dev = ratio > 1.0
    if np.any(dev & allowed_pos):
        v.deviations = sorted(cid for cid in opts.allow if cid in masks and np.any(masks[cid] & dev))
    ratio = np.where(allowed_pos, 0.0, ratio)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(ratio)), ratio.shape)) if ratio.ndim else ()
    v.ratio = float(ratio[idx]) if ratio.ndim else float(ratio)
    v.error = float(diff[idx]) if ratio.ndim else float(diff)
    v.allowed = float(allowed[idx]) if ratio.ndim else float(allowed)
    v.index = idx
    if not v.ratio <= 1.0:
        v.ok, v.kind = False, "mismatch"
        where = f" at index {idx}" if idx else ""
        v.reason = f"value differs from the reference beyond the tolerance{where}"
        _attribute(v, t, ratio > 1.0, masks)
        return v
    inplace = [c for c in t.clauses if c.kind == "in-place"]
    if out.mutated and inplace and inplace[0].id not in opts.allow:
        v.ok, v.kind, v.clauses = False, "in-place", [inplace[0].id]
        v.reason = f"the implementation modified its input(s) {', '.join(out.mutated)} in place (clause {inplace[0].id})"
        return v
    if cot is not None and t.gradient is not None:
        _compare_gradients(t, case, opts, v, out, cot, masks, allowed_pos, np.asarray(allowed, dtype=np.float64))
    return v


def _compare_gradients(t: Target, case: Case, opts: Options, v: Verdict, out: "_Out", cot: FloatArray,
                       masks: Mapping[str, NDArray[np.bool_]], allowed_pos: NDArray[np.bool_], value_allowed: FloatArray) -> None:
    assert t.gradient is not None
    want = t.gradient(case.inputs, cot, opts.conventions)
    for w, exp in want.items():
        if f"grad:{w}" not in out.arrays:
            continue
        exp = np.asarray(exp, dtype=np.float64)
        aligned = exp.shape == cot.shape
        # kinks: positions of this input where the gradient is either side's (a clause of the input's shape)
        grad_free = np.zeros(exp.shape, dtype=bool)
        for c in t.clauses:
            if c.grad_free and c.kind == "input":
                where = c.where(case.inputs)
                if isinstance(where, (bool, np.bool_)):
                    grad_free |= bool(where)
                elif np.shape(where) == exp.shape:
                    grad_free |= np.asarray(where, dtype=bool)
        if f"nograd:{w}" in out.arrays and np.any(exp != 0):
            v.ok, v.kind, v.wrt, v.ratio, v.error, v.cotangent = False, "gradient", w, math.inf, math.inf, cot
            v.reason = f"no gradient flows to {w} (the output is detached from it, or not a torch tensor) where the intended VJP is not 0"
            v.expected, v.got = exp, np.zeros_like(exp)
            v.formula = True
            return
        got = np.asarray(out.arrays[f"grad:{w}"], dtype=np.float64).reshape(exp.shape) if np.size(out.arrays[f"grad:{w}"]) == exp.size else None
        if got is None:
            v.ok, v.kind, v.wrt, v.reason, v.ratio, v.error = False, "gradient", w, f"the VJP with respect to {w} has the wrong shape", math.inf, math.inf
            v.formula = True
            return
        skip = (grad_free | allowed_pos) if aligned else grad_free
        bad = ~np.isfinite(got) & np.isfinite(exp) & ~skip
        with np.errstate(invalid="ignore"):
            diff = np.where(np.isfinite(exp), np.abs(got - exp), np.where(got == exp, 0.0, np.inf))
        b = grad_bound_for(t, case.inputs, w, exp)
        allowed = np.broadcast_to(b.allowed(), exp.shape)
        if aligned:  # an elementwise input: its partial derivative carries the value's own rounding, times the cotangent
            allowed = allowed + np.abs(cot) * value_allowed
        ratio = np.where(skip, 0.0, np.where(bad, np.inf, _ratio(diff, allowed)))
        idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(ratio)), ratio.shape)) if ratio.ndim else ()
        r = float(ratio[idx]) if ratio.ndim else float(ratio)
        if not r <= 1.0:
            v.ok, v.kind, v.wrt, v.index, v.ratio, v.cotangent = False, "gradient", w, idx, r, cot
            v.error, v.allowed = float(diff[idx]), float(allowed[idx])
            v.expected, v.got = exp, got
            v.reason = (f"the vector–Jacobian product with respect to {w} differs from the intended gradient beyond the tolerance at index {idx} "
                        f"(the value conforms: a detached or stop-gradient bug)")
            if aligned:
                _attribute(v, t, ratio > 1.0, masks)
            else:
                v.formula = True
            return


@dataclass
class _Out:
    status: str
    value: NDArray[Any] | None = None
    arrays: dict[str, NDArray[Any]] = field(default_factory=dict)
    error: str = ""
    traceback: str = ""
    mutated: list[str] = field(default_factory=list)
    dtype: str = ""


def _call(caller: Caller, args: tuple[Any, ...], options: Mapping[str, Any]) -> _Out:
    """One call through ``caller`` with ``invoke`` options; in-place changes seen by the caller
    (numpy arguments) and by ``invoke`` (the tensors it built) are merged."""
    o: CallOutcome = caller.call(args, dict(options))
    arrays = dict(o.arrays) if o.status == "ok" else {}
    names = list(options.get("names") or [])
    seen = [names[int(m.split()[-1])] if m.startswith("argument ") and m.split()[-1].isdigit() and int(m.split()[-1]) < len(names) else m
            for m in o.mutated]
    mutated = sorted(set(seen) | {k.split(":", 1)[1] for k in arrays if k.startswith("mutated:")})
    return _Out(o.status, o.value, arrays, o.error, o.traceback, mutated, o.dtype)


#: Verdict kinds about the value returned (the others: the call itself failed).
VALUE_FAILURES = ("mismatch", "non-finite", "shape")


class _Mismatch(AssertionError):
    pass


@dataclass
class ConformanceResult:
    """The outcome of ``check``: does the implementation conform, and if not, the smallest input found."""

    target: str
    implementation: str
    conforms: bool
    reason: str = ""
    counterexample: Case | None = None
    expected: Any = None
    got: Any = None
    got_dtype: str = ""
    max_error: float = 0.0
    tolerance: float = 0.0
    error_ratio: float = 0.0
    index: tuple[int, ...] | None = None
    claims_broken: list[str] = field(default_factory=list)
    claims_checked: list[str] = field(default_factory=list)
    claims_not_run: list[str] = field(default_factory=list)
    examples: int = 0
    seconds: float = 0.0
    found_by: str = ""
    notes: list[str] = field(default_factory=list)
    snippet: str = ""
    seed: int = 0
    traceback: str = ""
    options: str = ""
    conventions: dict[str, Any] = field(default_factory=dict)
    conforms_under: dict[str, Any] | None = None
    formula_ok: bool = True
    clause_status: dict[str, str] = field(default_factory=dict)
    failing_clauses: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    wrt: str = ""
    cotangent: Any = None
    output: str = ""
    kind: str = ""
    claims_run: bool = True
    claims_skipped: bool = False  # claims="auto" and it conforms: not re-run

    def __bool__(self) -> bool:
        return self.conforms

    def message(self) -> str:
        """The report: one line when the implementation conforms, the full reproducer when not."""
        t = get_target(self.target)
        head = f"{self.target}: {'CONFORMS' if self.conforms else 'DOES NOT CONFORM'}  (implementation {self.implementation}; SPEC.md {t.section} and §13)"
        lines = [head, f"  target:    {self.target}{t.signature}: {t.meaning}"]
        if self.options:
            lines.append(f"  under:     {self.options}")
        if self.conforms:
            worst = (f" (|got − expected| = {self.max_error:.3e}, tolerance {self.tolerance:.3e} at index {self.index})"
                     if self.index is not None and self.error_ratio > 0 else "")
            lines.append(f"  checked:   {self.examples} inputs (seed {self.seed}) in {self.seconds:.1f} s; largest error/tolerance {self.error_ratio:.2g}"
                         + worst + (f"; computes in {self.got_dtype}" if self.got_dtype else ""))
            if self.claims_run:
                lines.append(f"  claims:    {', '.join(self.claims_checked) or '(no registered claim uses ' + t.reference_name + ' yet)'} hold with it in place")
            elif self.claims_skipped:
                lines.append("  claims:    not re-run with it in place (they are when a value is wrong; --claims always re-runs them)")
        else:
            lines.append(f"  reason:    {self.reason}")
            what = f" VJP w.r.t. {self.wrt}" if self.wrt else ""
            if self.expected is not None:
                lines.append(f"  expected{what}:  {_show(self.expected)}")
            if self.got is not None:
                lines.append(f"  got{what}:       {_show(self.got)}" + (f"  ({self.got_dtype})" if self.got_dtype else ""))
            if math.isfinite(self.max_error) and self.got is not None:
                lines.append(f"  max error: |got − expected| = {self.max_error:.3e} at index {self.index} > tolerance {self.tolerance:.3e} "
                             f"(error/tolerance {self.error_ratio:.3g})")
            if self.wrt:
                lines.append(f"  tolerance: of a VJP: {K:g}·c·u32·S norm-wise, plus |cotangent| times the value's bound where the input is elementwise (SPEC.md §13.2, Gradients)")
            else:
                lines.append(f"  tolerance: {K:g}·c·(u32·S + tiny32·(1 + M)), u32 = 2^-24, tiny32 = 2^-126; {t.tolerance_rule} (SPEC.md §13.2)")
            if self.traceback:
                lines.append("  traceback: " + self.traceback.strip().replace("\n", "\n             "))
            lines.append(f"  found by:  {self.found_by} ({self.examples} inputs tried, seed {self.seed}, {self.seconds:.1f} s)")
            if self.claims_run and self.kind in VALUE_FAILURES:  # a call that raised or hung broke no claim
                broken = ", ".join(self.claims_broken) if self.claims_broken else "none of " + (", ".join(self.claims_checked) or "(no registered claim uses " + t.reference_name + " yet)")
                lines.append(f"  claims broken: {broken}")
        if self.clause_status:
            lines.append(f"  formula:   {'holds' if self.formula_ok else 'FAILS'}")
            lines.append("  clauses:   " + "; ".join(f"{k} {v}" for k, v in self.clause_status.items()))
        if self.allowed:
            lines.append(f"  allowed:   {', '.join(self.allowed)} (--allow: known deviations accepted)")
        if self.conforms_under is not None:
            fix = " ".join(f"--fix {k}={v}" for k, v in self.conforms_under.items())
            lines.append(f"  convention: conforms under convention {', '.join(f'{k}={v}' for k, v in self.conforms_under.items())} "
                         f"(the default is {', '.join(f'{k}={t.convention(k).default}' for k in self.conforms_under)}); pass {fix} to pin it")
        if self.claims_not_run:
            lines.append(f"  claims not run (time budget; --claims-budget SEC gives more): {', '.join(self.claims_not_run)}")
        for note in self.notes:
            lines.append(f"  note:      {note}")
        if self.output:
            lines.append("  output:    (the implementation's stdout and stderr, captured in the worker) " + self.output.replace("\n", "\n             "))
        if not self.conforms and self.snippet:
            lines.append("  reproduce (paste into python):")
            lines.extend("    " + s for s in self.snippet.splitlines())
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        def num(x: float) -> Any:
            return x if math.isfinite(x) else str(x)

        def arr(x: Any) -> Any:
            return None if x is None else np.asarray(x, dtype=np.float64).tolist()

        return {
            "target": self.target, "implementation": self.implementation, "conforms": self.conforms, "reason": self.reason,
            "counterexample": None if self.counterexample is None else {k: v for k, v in self.counterexample.literals()},
            "expected": arr(self.expected), "got": arr(self.got), "got_dtype": self.got_dtype,
            "max_error": num(self.max_error), "tolerance": num(self.tolerance), "error_ratio": num(self.error_ratio),
            "index": None if self.index is None else list(self.index),
            "claims_broken": self.claims_broken, "claims_checked": self.claims_checked, "claims_not_run": self.claims_not_run,
            "claims_skipped": self.claims_skipped,
            "examples": self.examples, "seconds": self.seconds, "found_by": self.found_by, "notes": self.notes,
            "snippet": self.snippet, "seed": self.seed, "options": self.options, "conventions": {k: str(v) for k, v in self.conventions.items()},
            "conforms_under": None if self.conforms_under is None else {k: str(v) for k, v in self.conforms_under.items()},
            "formula_ok": self.formula_ok, "clauses": self.clause_status, "failing_clauses": self.failing_clauses, "allowed": self.allowed,
            "wrt": self.wrt, "output": self.output, "kind": self.kind,
        }


def _show(x: Any, limit: int = 600) -> str:
    a = np.asarray(x)
    s = repr(a.tolist()) if a.ndim else repr(float(a))
    return s if len(s) <= limit else s[:limit] + " ..."


def _impl_import_lines(fn: Callable[..., Any] | str) -> list[str]:
    if isinstance(fn, str):
        module_part, attr = split_spec(fn)
        if is_file_spec(module_part):
            from pathlib import Path

            path = str(Path(module_part).resolve())
            return ["from verification.conformance import load_implementation", f"impl = load_implementation({path + ':' + attr!r})"]
        head, _, rest = attr.partition(".")
        if rest:
            return [f"from {module_part} import {head}", f"impl = {attr}"]
        return [f"from {module_part} import {attr} as impl"]
    mod = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", None)
    if mod and qual and "<" not in qual and mod != "__main__":
        head, _, rest = qual.partition(".")
        return [f"from {mod} import {head}", f"impl = {qual}"] if rest else [f"from {mod} import {qual} as impl"]
    return [f"impl = ...  # your implementation ({mod}.{qual}): define or import it here"]


def snippet(target: Target | str, case: Case, fn: Callable[..., Any] | str, options: Options | None = None,
            cotangent: Any = None) -> str:
    """A runnable Python snippet that calls the implementation and the reference on ``case`` (under ``options``)."""
    t = get_target(target) if isinstance(target, str) else target
    opts = options or Options(conventions=t.default_conventions())
    has_op = any(i.kind == "operator" for i in t.all_inputs()) or opts.conventions.get("fisher_form") == "matvec"
    lines = ["import numpy as np"] + (["import torch"] if opts.inputs == "torch" else [])
    lines.append("from verification.conformance import " + ("MatrixOperator, reference" if has_op else "reference"))
    lines += _impl_import_lines(fn)
    lines.append("")
    lines += [f"{name} = {lit}" for name, lit in case.literals()]
    kw = dict(t.reference_kwargs(case.inputs)) if t.reference_kwargs else {}
    if t.convention_kwargs is not None:
        kw |= t.convention_kwargs(opts.conventions)
    ref_pos = [i.name for i in t.all_inputs() if not i.keyword]
    ref_kw = [i.name for i in t.all_inputs() if i.keyword and i.name in case.inputs and case.inputs[i.name] != i.default]
    extra = "".join(f", {k}={k}" for k in ref_kw) + "".join(f", {k}={v!r}" for k, v in kw.items())
    special = t.expected_for(case.inputs, opts.conventions) if t.expected_for is not None else None
    if special is not None:
        conv = ", ".join(f"{k}={v}" for k, v in opts.conventions.items() if k not in t.params)
        lines += ["", f"expected = np.array({np.asarray(special).tolist()!r})  # the reference under {conv} (SPEC.md §13.1)"]
    else:
        lines += ["", f"expected = reference({t.name!r})({', '.join(ref_pos)}{extra})"]
    pos, call_kw = t.call_args(case.inputs, opts.conventions)
    names = []
    from ._calls import _literal

    for n, v in pos:
        if n in case.inputs and v is case.inputs[n]:
            names.append(n)
        else:
            lines.append(f"{n}_ = {_literal(v)}")
            names.append(f"{n}_")
    if opts.inputs == "torch" or opts.dtype == "float32" or opts.mask == "float":
        fdt = "torch.float32" if opts.dtype == "float32" else "torch.float64"
        ndt = "np.float32" if opts.dtype == "float32" else "np.float64"
        conv_mask = opts.mask == "float"
        if opts.inputs == "torch":
            lines.append(f"def T(x, mask={conv_mask}):  # how the harness delivered each input")
            lines.append("    if not isinstance(x, np.ndarray): return x")
            lines.append(f"    if x.dtype == bool and not mask: return torch.as_tensor(x)")
            lines.append(f"    if x.dtype.kind in 'iu': return torch.as_tensor(x, dtype=torch.long)")
            lines.append(f"    return torch.as_tensor(x.astype(np.float64), dtype={fdt})")
        else:
            lines.append(f"def T(x, mask={conv_mask}):  # how the harness delivered each input")
            lines.append(f"    return x.astype({ndt}) if isinstance(x, np.ndarray) and (x.dtype.kind == 'f' or (mask and x.dtype == bool)) else x")
        wrt = [n for n in t.differentiable if n in [p for p, _ in pos]] if opts.grad else []
        args = []
        for (n, _), ref in zip(pos, names):
            args.append(f"{n}_t")
            lines.append(f"{n}_t = T({ref})" + (".requires_grad_(True)" if n in wrt else ""))
        kwtxt = "".join(f", {k}={v!r}" for k, v in call_kw.items())
        lines += ["", f"got = impl({', '.join(args)}{kwtxt})", 'print("expected:", expected)', 'print("got:     ", got)']
        if wrt and cotangent is not None:
            lines.append(f"cotangent = torch.as_tensor(np.array({np.asarray(cotangent).tolist()!r}), dtype=got.dtype)")
            lines.append(f"print('VJP:', torch.autograd.grad(got, [{', '.join(n + '_t' for n in wrt)}], cotangent, allow_unused=True))")
        return "\n".join(lines)
    kwtxt = "".join(f", {k}={v!r}" for k, v in call_kw.items())
    lines += ["", f"got = impl({', '.join(names)}{kwtxt})", 'print("expected:", expected)', 'print("got:     ", got)']
    return "\n".join(lines)


def _name(fn: Callable[..., Any] | str) -> str:
    if isinstance(fn, str):
        return fn
    mod, qual = getattr(fn, "__module__", "?"), getattr(fn, "__qualname__", repr(fn))
    return f"{mod}:{qual}"


def _worker_spec(fn: Callable[..., Any]) -> str:
    """``module:qualname`` (or ``file.py:qualname``) under which a worker can import ``fn``."""
    mod, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    how = ("check() runs the implementation in a worker process by default, which imports it by name; "
           "pass a 'module:function' spec, define the function at the top level of an importable module, or pass "
           "isolation='in-process' to run it in this process (which trusts the code)")
    if not mod or not qual or "<" in qual:
        raise ValueError(f"fn: {mod}.{qual or fn!r} cannot be imported by name ({how})")
    module = sys.modules.get(mod)
    spec = getattr(module, "__spec__", None)
    file = getattr(module, "__file__", None)
    if mod != "__main__" and spec is not None and getattr(spec, "name", None) == mod and not mod.startswith("_conformance_impl_"):
        return f"{mod}:{qual}"
    # A script's own function (or a module loaded from a file): the worker loads the file under
    # another name, so the script's ``if __name__ == "__main__":`` block does not run there.
    if isinstance(file, str) and file.endswith(".py"):
        return f"{file}:{qual}"
    raise ValueError(f"fn: module {mod!r} of {qual} cannot be imported by name ({how})")


def _make_caller(fn: Callable[..., Any] | str, isolation: Isolation, timeout: float, first_call_timeout: float,
                 import_timeout: float = IMPORT_TIMEOUT) -> Caller:
    if isolation not in ("process", "in-process", "thread", "auto"):
        raise ValueError(f"isolation: expected 'process' (the default) or 'in-process', got {isolation!r}")
    if isolation in ("process", "auto"):
        spec = fn if isinstance(fn, str) else _worker_spec(fn)
        return worker_caller(spec, timeout, first_call_timeout, import_timeout)
    callable_fn = load_implementation(fn) if isinstance(fn, str) else fn
    return InProcessCaller(callable_fn, timeout=timeout, first_call_timeout=first_call_timeout)


def check(
    target: str,
    fn: Callable[..., Any] | str,
    *,
    examples: int = EXAMPLES,
    seed: int = 0,
    timeout: float = 5.0,
    first_call_timeout: float = 10.0,
    claims: bool | Literal["auto"] = "auto",
    claim_examples: int = 15,
    claims_budget: float = CLAIMS_BUDGET,
    isolation: Isolation = "process",
    import_timeout: float = IMPORT_TIMEOUT,
    name: str | None = None,
    pinned: bool = True,
    inputs: str = "numpy",
    dtype: str = "float64",
    grad: bool = False,
    fix: Mapping[str, Any] | None = None,
    allow: tuple[str, ...] | list[str] | frozenset[str] = (),
    mask: str = "bool",
    discover: bool = True,
    worker: ProcessCaller | None = None,
) -> ConformanceResult:
    """Diff ``fn`` against the reference on ``target``.

    Args:
        target: a name from ``targets()`` (``gae``, ``ppo_clip``, ...).
        fn: the implementation in the canonical signature: a callable, or a spec string
            ``package.module:function`` / ``path/to/file.py:function``.
        examples: Hypothesis examples after the pinned edge cases.
        seed: Hypothesis seed (the run is deterministic for a given seed).
        timeout: per-call time limit in seconds; a call past it is reported as a hang.
        first_call_timeout: time limit of the first call (lazy initialization, JIT compilation).
        claims: also run the registered claims that use the target with ``fn`` in place:
            ``"auto"`` (the default) when the search found a wrong value, to name the claims it
            breaks; ``True`` always (for a conforming implementation, an extra search on the
            claims' own inputs: it needs torch and scipy.stats in this process, a few seconds);
            ``False`` never.
        claim_examples: Hypothesis examples per claim.
        claims_budget: seconds after which the remaining claims are skipped (and listed).
        isolation: ``process`` (the default): the implementation runs in a worker process that
            is killed on a hang, whose output is captured (bounded; the last lines go into the
            report), and which can neither patch the reference nor exit this process; a
            callable must be importable by name (top level of a module).  ``in-process`` (old
            name ``thread``): a thread of this process -- faster, but it *trusts the code*; use
            it for your own functions only.
        import_timeout: limit on importing the implementation in the worker, seconds (default
            30); past it, ImplementationLoadError.
        name: how to call the implementation in the report.
        pinned: run the target's pinned edge cases before the search (off only to measure
            what the search finds by itself).
        inputs: ``"numpy"`` (float64 arrays, bool masks) or ``"torch"`` (tensors; bool masks as
            ``torch.bool``, integer tokens as ``torch.long``).
        dtype: ``"float64"`` or ``"float32"``: the float dtype of the array inputs.
        grad: also check the vector–Jacobian product with respect to every differentiable input
            (implies ``inputs="torch"``).
        fix: convention or scalar parameter -> value, e.g. ``{"gamma": 1.0, "lam": 0.95}``,
            ``{"done": "cleanrl", "layout": "[T,N]"}``: pinned, the search draws the rest.
        allow: clause ids whose deviation is accepted (reported as allowed).
        mask: ``"bool"`` or ``"float"`` ({0, 1}): how mask inputs are delivered.
        discover: on failure, retry the documented alternative conventions.
        worker: a worker already spawned for ``fn`` (:func:`.callers.worker_caller`, then
            ``spawn()``), so that importing the implementation overlaps the caller's own work;
            ``check`` uses it in place of one of its own and closes it.
    Returns:
        A :class:`ConformanceResult`; ``bool(result)`` is ``result.conforms``.
    Raises:
        KeyError: unknown target.  ImplementationLoadError: an implementation that cannot be
        loaded (or whose import passed ``import_timeout``).  ValueError: a callable the worker
        cannot import by name under the default isolation; an unknown convention, clause or option.
    """
    if os.environ.get(WORKER_ENV):
        raise RuntimeError("check() was called while a conformance worker imported the implementation: "
                           "put the script's calls to check() under `if __name__ == \"__main__\":`")
    t = get_target(target)
    if grad:
        inputs = "torch"
    if inputs not in ("numpy", "torch"):
        raise ValueError(f"inputs: expected 'numpy' or 'torch', got {inputs!r}")
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype: expected 'float64' or 'float32', got {dtype!r}")
    if claims not in (True, False, "auto"):
        raise ValueError(f"claims: expected True, False or 'auto', got {claims!r}")
    if not claims_budget >= 0:
        raise ValueError(f"claims_budget: expected seconds >= 0, got {claims_budget!r}")
    if mask not in ("bool", "float"):
        raise ValueError(f"mask: expected 'bool' or 'float', got {mask!r}")
    if grad and t.gradient is None:
        raise ValueError(f"grad: {t.name} has no differentiable input (its outputs are not differentiated in training)")
    known = {c.id for c in t.clauses}
    unknown = [a for a in allow if a not in known]
    if unknown:
        raise ValueError(f"--allow {', '.join(unknown)}: {t.name} has no such clause; clauses: {', '.join(sorted(known)) or '(none)'}")
    conv = resolve_conventions(t, fix)
    opts = Options(inputs, dtype, grad, mask, conv, frozenset(allow))
    t0 = time.perf_counter()
    caller = worker if worker is not None else _make_caller(fn, isolation, timeout, first_call_timeout, import_timeout)
    if isinstance(caller, ProcessCaller):
        err = caller.start()
        if err is not None:
            caller.close()
            raise ImplementationLoadError(err)
    res = ConformanceResult(t.name, name or _name(fn), True, seed=seed, options=opts.describe(t), conventions=dict(conv), allowed=sorted(opts.allow),
                            claims_run=claims is True)
    try:
        _rounds(t, caller, res, examples, seed, pinned, opts)
        if not res.conforms and discover and caller.poisoned is None:
            _discover(t, caller, res, seed, opts, set(fix or {}))
        user_default = all(conv[c.name] == c.default for c in t.conventions if c.name not in t.params)
        if claims == "auto":
            res.claims_run = not res.conforms
            res.claims_skipped = res.conforms
            claims = not res.conforms
        if claims and res.kind not in ("", *VALUE_FAILURES, "gradient", "in-place"):
            res.claims_run = False
            res.notes.append("claims not run: the implementation failed the call itself, not a value")
        elif claims and user_default:
            _run_claims(t, caller, res, seed, claim_examples, claims_budget, opts)
        elif claims:
            res.claims_run = False
            res.notes.append("claims not run: they call the reference in the canonical convention, and this run pins "
                             + ", ".join(f"{k}={v}" for k, v in conv.items() if k not in t.params and v != t.convention(k).default))
        _probe_invalid(t, caller, res, opts)
    finally:
        res.output = caller.output_tail()
        caller.close()
    if res.counterexample is not None:
        res.snippet = snippet(t, res.counterexample, fn, opts, res.cotangent)
    res.seconds = time.perf_counter() - t0
    return res


def _fail(res: ConformanceResult, case: Case, v: Verdict, found_by: str) -> None:
    res.conforms = False
    res.reason, res.counterexample, res.found_by = v.reason, case, found_by
    res.expected, res.got, res.got_dtype = v.expected, v.got, v.got_dtype
    res.max_error, res.tolerance, res.error_ratio, res.index = v.error, v.allowed, v.ratio, v.index
    res.traceback, res.kind = v.traceback, v.kind
    res.wrt, res.cotangent = v.wrt, v.cotangent


@dataclass
class _Found:
    case: Case
    verdict: Verdict
    found_by: str


#: Marks, among the deviations a search saw, that the outputs were reduced (a scalar loss).
_REDUCED = "\0reduced"


def _rounds(t: Target, caller: Caller, res: ConformanceResult, n_examples: int, seed: int, use_pinned: bool, opts: Options) -> None:
    """The search; after a failure confined to clauses, search again with those clauses set aside,
    so the report says separately whether the formula and each clause hold."""
    hits: dict[str, int] = {c.id: 0 for c in t.clauses if c.kind == "input"}
    deviations: set[str] = set()
    failing: list[str] = []
    first: _Found | None = None
    formula_fails = False
    aside: set[str] = set()
    total = 0
    for rnd in range(3):
        o = Options(opts.inputs, opts.dtype, opts.grad, opts.mask, opts.conventions, opts.allow | frozenset(aside))
        found, n, dtype = _search(t, caller, o, n_examples if rnd == 0 else max(n_examples // 2, 20), seed + rnd, use_pinned, hits, deviations, res)
        total += n
        res.got_dtype = res.got_dtype or dtype
        if found is None:
            break
        if first is None:
            first = found
        v = found.verdict
        new = [c for c in v.clauses if c not in aside and c not in opts.allow]
        failing += [c for c in new if c not in failing]
        if v.formula or not new or v.kind not in ("mismatch", "non-finite", "gradient", "in-place") or caller.poisoned is not None:
            formula_fails = formula_fails or v.formula or not v.clauses
            break
        aside |= set(new)
    res.examples = total
    if first is not None:
        _fail(res, first.case, first.verdict, first.found_by)
    res.formula_ok = not formula_fails
    res.failing_clauses = failing
    status: dict[str, str] = {}
    for c in t.clauses:
        if c.id in opts.allow:
            status[c.id] = "allowed, deviates" if c.id in deviations else "allowed"
        elif c.id in failing:
            status[c.id] = "FAILS"
        elif c.kind == "in-place":
            status[c.id] = "ok"
        else:
            status[c.id] = f"ok ({hits[c.id]})" if hits[c.id] else ("n/a (reduced output)" if _REDUCED in deviations else "not reached")
    res.clause_status = status


#: Seconds of shrinking after the first failing input of a search (a large CG input can otherwise
#: take minutes of Hypothesis's own shrink passes); the smallest failing input by then is reported.
SHRINK_BUDGET = 3.0


class _ShrinkCut(BaseException):
    """Ends a search whose shrinking has used :data:`SHRINK_BUDGET` (a BaseException, so that
    Hypothesis lets it through instead of recording it as another failure)."""


def _search(t: Target, caller: Caller, opts: Options, n_examples: int, seed: int, use_pinned: bool,
            hits: dict[str, int], deviations: set[str], res: ConformanceResult, shrink: bool = True) -> tuple[_Found | None, int, str]:
    state: dict[str, Any] = {"n": 0, "worst": 0.0, "last": None, "hang": None, "mutated": set(), "dtype": ""}
    # The pinned cases are canonical inputs: they run under the target-level conventions' defaults
    # (another layout or done signal has its own strategy and domain).
    canonical = all(opts.conventions.get(c.name, c.default) == c.default for c in t.conventions if c.name not in t.params)
    pinned = [(Case(t.name, dict(ex)), 1) for ex in t.examples] if use_pinned and canonical else []
    pinned_ids = set()

    def body(drawn: tuple[Case, int]) -> None:
        raw, gseed = drawn
        if state.get("failed_at") is not None and time.perf_counter() - state["failed_at"] > SHRINK_BUDGET:
            raise _ShrinkCut  # the smallest failing input so far is state["last"]
        case = prepare(t, raw, opts, gseed)
        if any(raw is p for p, _ in pinned):
            pinned_ids.add(id(case))
        v = evaluate(t, caller, case, opts, gseed)
        state["n"] += 1
        state["mutated"].update(v.mutated)
        for cid, m in _clause_masks(t, case.inputs, v.shape).items():
            if np.any(m):
                hits[cid] += 1
        deviations.update(v.deviations)
        if len(v.shape) == 0 and not t.scalar:
            deviations.add(_REDUCED)
        if v.got_dtype and not state["dtype"]:
            state["dtype"] = v.got_dtype
        if v.kind in ("timeout", "crashed") and state["hang"] is None:
            state["hang"] = (case, v)
        if v.ok:
            if v.ratio > state["worst"]:
                state["worst"], state["worst_v"] = v.ratio, v
            hyp_target(float(min(v.ratio, 1e12)), label="error/tolerance")
            return
        state["last"] = (case, v)
        if state.get("failed_at") is None:
            state["failed_at"] = time.perf_counter()
        raise _Mismatch(v.reason)

    import hypothesis.strategies as st

    test = given(st.tuples(t.search_strategy(opts.conventions), st.integers(0, 2**31 - 1)))(body)
    for c in reversed(pinned):
        test = example(c)(test)
    test = settings(
        max_examples=max(n_examples, 1), deadline=None, database=None, derandomize=False, print_blob=False,
        report_multiple_bugs=False, verbosity=Verbosity.quiet, suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.target] + ([Phase.shrink] if shrink else []),
    )(test)
    test = hyp_seed(seed)(test)
    found: _Found | None = None
    try:
        test()
    except (_Mismatch, _ShrinkCut) as exc:
        case, v = state["hang"] if state["hang"] is not None else state["last"]
        how = "a pinned edge case" if id(case) in pinned_ids else "Hypothesis search, shrunk"
        if isinstance(exc, _ShrinkCut):
            how += f" for {SHRINK_BUDGET:g} s (the smallest failing input by then)"
        if state["hang"] is not None:
            how = "Hypothesis search (not shrunk: the first input that hung or crashed)" if id(case) not in pinned_ids else "a pinned edge case"
        found = _Found(case, v, how)
    if found is None and state.get("worst_v") is not None and state["worst"] >= res.error_ratio:
        w = state["worst_v"]  # error, tolerance and their ratio, all at the same index
        res.error_ratio, res.max_error, res.tolerance, res.index = w.ratio, w.error, w.allowed, w.index
    if state["mutated"] and not any(c.kind == "in-place" for c in t.clauses):
        note = f"the implementation modifies its input arrays in place ({', '.join(sorted(state['mutated']))}); the harness passes copies"
        if note not in res.notes:
            res.notes.append(note)
    return found, int(state["n"]), str(state["dtype"])


def _discover(t: Target, caller: Caller, res: ConformanceResult, seed: int, opts: Options, user_fixed: set[str]) -> None:
    """Retry the documented alternatives of every convention the user did not pin (singly, then in pairs)."""
    free = [c for c in t.conventions if c.name not in user_fixed and c.alternatives]
    tries: list[dict[str, Any]] = [{c.name: a} for c in free for a in c.alternatives]
    tries += [{a.name: x, b.name: y} for i, a in enumerate(free) for b in free[i + 1:] for x in a.alternatives for y in b.alternatives]
    t0 = time.perf_counter()
    for alt in tries[:24]:
        if time.perf_counter() - t0 > 10.0 or caller.poisoned is not None:
            break
        conv = dict(opts.conventions) | alt
        o = Options(opts.inputs, opts.dtype, opts.grad, opts.mask, conv, opts.allow)
        if res.counterexample is not None and set(alt) <= set(t.params):
            # a pinned parameter must also fix the counterexample itself (pinned the same way)
            again = evaluate(t, caller, prepare(t, res.counterexample, o), o)
            if not again.ok:
                continue
        probe = ConformanceResult(t.name, res.implementation, True)
        # pass or fail is all that is asked here: no shrinking
        found, _, _ = _search(t, caller, o, 60, seed, True, {c.id: 0 for c in t.clauses}, set(), probe, shrink=False)
        if found is None:
            res.conforms_under = alt
            return


class _OverBudget(Exception):
    """Raised inside a claim when the claims' time budget has run out."""


class _ImplementationFailed(Exception):
    """Raised inside a claim when the implementation raised, hung, or returned no usable array."""


def _run_claims(t: Target, caller: Caller, res: ConformanceResult, seed: int, claim_examples: int, budget: float, opts: Options) -> None:
    claims = [c for c in all_claims() if t.reference_name in c.uses]
    res.claims_checked = [c.id for c in claims]
    if not claims:
        return
    if caller.poisoned is not None:
        res.claims_not_run = [c.id for c in claims]
        res.claims_checked = []
        res.notes.append("claims not run: the implementation hung or crashed")
        return
    found: dict[str, Any] = {}
    ref = t.reference
    import torch  # noqa: F401 - most claims differentiate with it; its import (~1.5 s) is not the claims' time

    t0 = time.perf_counter()

    def spend() -> None:  # a claim that calls the target thousands of times stops here
        if time.perf_counter() - t0 > budget:
            found["over_budget"] = True
            raise _OverBudget(f"the claims' time budget ({budget:g} s) ran out")

    def hybrid(*args: Any, **kwargs: Any) -> Any:
        spend()
        expected_full = ref(*args, **kwargs)  # invalid input: raise exactly as the reference does
        sp = t.split(args, kwargs) if t.split is not None else None
        if sp is None:
            return expected_full
        inputs, place = sp
        outs = []
        pins = _pins(t, opts.conventions)
        for inp in inputs:
            spend()
            case = Case(t.name, inp)
            if any(k in inp and inp[k] != val for k, val in pins.items()):
                outs.append(t.expected(case))  # outside the pinned parameters: the reference answers
                continue
            v = evaluate(t, caller, case, opts)
            if v.ok:
                outs.append(v.expected)  # within float32 round-off: the claim sees the reference value
                continue
            found.setdefault("case", (case, v))
            if v.kind not in ("mismatch", "non-finite"):
                found["call_failed"] = True
                raise _ImplementationFailed(v.reason)
            outs.append(v.got)
        return place(outs)

    impl = Impl({t.reference_name: hybrid}, name=f"conformance:{res.implementation}")
    checked = []
    for c in claims:
        if time.perf_counter() - t0 > budget:
            res.claims_not_run.append(c.id)
            continue
        found_before = "case" in found
        found.pop("call_failed", None)
        found.pop("over_budget", None)
        r = run_claim(c, profile="quick", seed=seed, impl=impl, max_examples=claim_examples)
        if found.get("over_budget"):  # cut short: neither held nor broken
            res.claims_not_run.append(c.id)
            continue
        checked.append(c.id)
        if not r.passed:
            if not found.get("call_failed"):  # the implementation raised or hung: it broke the call, not the claim
                res.claims_broken.append(c.id)
            if res.conforms and "case" in found and not found_before:
                case, v = found["case"]
                _fail(res, case, v, f"checking claim {c.id} (not shrunk)")
    res.claims_checked = checked
    if res.conforms and "case" in found:
        case, v = found["case"]
        _fail(res, case, v, "checking the claims (not shrunk)")


def _probe_invalid(t: Target, caller: Caller, res: ConformanceResult, opts: Options) -> None:
    if caller.poisoned is not None:
        return
    for description, inputs in t.invalid:
        args, options = call_options(t, Case(t.name, dict(inputs)), opts)
        out = _call(caller, args, options)
        if out.status == "ok":
            res.notes.append(f"outside the domain (not part of conformance): on {description}, it returned {_show(out.value, 200)} without raising")
        elif out.status == "raised":
            res.notes.append(f"outside the domain: on {description}, it raises ({out.error.splitlines()[0][:120]}), as the reference does")


def assert_conforms(target: str, fn: Callable[..., Any] | str, **kwargs: Any) -> ConformanceResult:
    """Like :func:`check`, but raise AssertionError with the report when ``fn`` does not conform."""
    res = check(target, fn, **kwargs)
    if not res.conforms:
        raise AssertionError(res.message())
    return res
