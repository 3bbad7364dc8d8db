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
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

import numpy as np
from hypothesis import HealthCheck, Phase, Verbosity, example, given, seed as hyp_seed, settings
from hypothesis import target as hyp_target
from numpy.typing import NDArray

from ..registry import Impl, all_claims
from ..runner import run_claim
from ._calls import Case
from .callers import IMPORT_TIMEOUT, WORKER_ENV, CallOutcome, Caller, InProcessCaller, ProcessCaller
from .loader import ImplementationLoadError, is_file_spec, load_implementation, split_spec
from .targets import K, U32, Target, get_target

__all__ = ["ConformanceResult", "Verdict", "check", "assert_conforms", "evaluate", "snippet"]

FloatArray = NDArray[np.float64]
Isolation = Literal["process", "in-process", "thread", "auto"]


@dataclass
class Verdict:
    """The outcome of one call compared with the reference."""

    ok: bool
    kind: str  # ok | mismatch | non-finite | shape | raised | bad-output | timeout | crashed | poisoned
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


def _ratio(diff: FloatArray, allowed: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(allowed > 0, diff / np.where(allowed > 0, allowed, 1.0), np.where(diff > 0, np.inf, 0.0))
    out: FloatArray = np.asarray(r, dtype=np.float64)
    return out


def evaluate(target: Target, caller: Caller, case: Case) -> Verdict:
    """Call the implementation on ``case`` and compare with the reference under the tolerance policy."""
    expected = target.expected(case)
    out: CallOutcome = caller.call(case.args())
    if out.status != "ok" or out.value is None:
        what = {"raised": "raised", "bad-output": "returned something that is not a numeric array", "timeout": "hung",
                "crashed": "crashed", "poisoned": "was not called", "corrupted": "failed"}.get(out.status, out.status)
        reason = out.error if out.status == "corrupted" else f"the implementation {what}: {out.error}"
        return Verdict(False, out.status, reason, expected=expected, traceback=out.traceback, ratio=math.inf, error=math.inf)
    raw = out.value
    got = raw.astype(np.float64)
    v = Verdict(True, "ok", expected=expected, got=got, got_dtype=out.dtype or str(raw.dtype), mutated=out.mutated)
    if target.scalar:
        if got.size != 1:
            v.ok, v.kind, v.reason, v.ratio, v.error = False, "shape", f"wrong shape: expected a single number, got shape {got.shape}", math.inf, math.inf
            return v
        got = got.reshape(())
        v.got = got
    elif got.shape != expected.shape:
        v.ok, v.kind, v.reason, v.ratio, v.error = False, "shape", f"wrong shape: expected {expected.shape}, got {got.shape}", math.inf, math.inf
        return v
    bad = ~np.isfinite(got) & np.isfinite(expected)
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        v.ok, v.kind, v.index, v.ratio, v.error = False, "non-finite", idx, math.inf, math.inf
        v.reason = f"non-finite output {got[idx] if idx else got} at index {idx} where the reference is finite ({expected[idx] if idx else expected})"
        return v
    with np.errstate(invalid="ignore"):
        diff = np.where(np.isfinite(expected), np.abs(got - expected), np.where(got == expected, 0.0, np.inf))
    if target.alternatives is not None:
        for alt in target.alternatives(case.inputs):
            diff = np.minimum(diff, np.abs(got - alt))
    bound = target.bound(case.inputs, expected)
    allowed = np.broadcast_to(bound.allowed(), expected.shape)
    ratio = _ratio(diff, allowed)
    idx = tuple(int(i) for i in np.unravel_index(int(np.argmax(ratio)), ratio.shape)) if ratio.ndim else ()
    v.ratio = float(ratio[idx]) if ratio.ndim else float(ratio)
    v.error = float(diff[idx]) if ratio.ndim else float(diff)
    v.allowed = float(allowed[idx]) if ratio.ndim else float(allowed)
    v.index = idx
    if not v.ratio <= 1.0:
        v.ok, v.kind = False, "mismatch"
        where = f" at index {idx}" if idx else ""
        v.reason = f"value differs from the reference beyond the tolerance{where}"
    return v


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
    output: str = ""
    kind: str = ""
    claims_run: bool = True

    def __bool__(self) -> bool:
        return self.conforms

    def message(self) -> str:
        """The report: one line when the implementation conforms, the full reproducer when not."""
        t = get_target(self.target)
        head = f"{self.target}: {'CONFORMS' if self.conforms else 'DOES NOT CONFORM'}  (implementation {self.implementation}; SPEC.md {t.section} and §13)"
        lines = [head, f"  target:    {self.target}{t.signature}: {t.meaning}"]
        if self.conforms:
            worst = (f" (|got − expected| = {self.max_error:.3e}, tolerance {self.tolerance:.3e} at index {self.index})"
                     if self.index is not None and self.error_ratio > 0 else "")
            lines.append(f"  checked:   {self.examples} inputs (seed {self.seed}) in {self.seconds:.1f} s; largest error/tolerance {self.error_ratio:.2g}"
                         + worst + (f"; computes in {self.got_dtype}" if self.got_dtype else ""))
            if self.claims_run:
                lines.append(f"  claims:    {', '.join(self.claims_checked) or '(no registered claim uses ' + t.reference_name + ' yet)'} hold with it in place")
        else:
            lines.append(f"  reason:    {self.reason}")
            if self.expected is not None:
                lines.append(f"  expected:  {_show(self.expected)}")
            if self.got is not None:
                lines.append(f"  got:       {_show(self.got)}" + (f"  ({self.got_dtype})" if self.got_dtype else ""))
            if math.isfinite(self.max_error) and self.got is not None:
                lines.append(f"  max error: |got − expected| = {self.max_error:.3e} at index {self.index} > tolerance {self.tolerance:.3e} "
                             f"(error/tolerance {self.error_ratio:.3g})")
            lines.append(f"  tolerance: {K:g}·c·(u32·S + tiny32·(1 + M)), u32 = 2^-24, tiny32 = 2^-126; {t.tolerance_rule} (SPEC.md §13.2)")
            if self.traceback:
                lines.append("  traceback: " + self.traceback.strip().replace("\n", "\n             "))
            lines.append(f"  found by:  {self.found_by} ({self.examples} inputs tried, seed {self.seed}, {self.seconds:.1f} s)")
            if self.claims_run and self.kind in VALUE_FAILURES:  # a call that raised or hung broke no claim
                broken = ", ".join(self.claims_broken) if self.claims_broken else "none of " + (", ".join(self.claims_checked) or "(no registered claim uses " + t.reference_name + " yet)")
                lines.append(f"  claims broken: {broken}")
        if self.claims_not_run:
            lines.append(f"  claims not run (time budget): {', '.join(self.claims_not_run)}")
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
            "examples": self.examples, "seconds": self.seconds, "found_by": self.found_by, "notes": self.notes,
            "snippet": self.snippet, "seed": self.seed, "output": self.output, "kind": self.kind,
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


def snippet(target: Target | str, case: Case, fn: Callable[..., Any] | str) -> str:
    """A runnable Python snippet that calls the implementation and the reference on ``case``."""
    t = get_target(target) if isinstance(target, str) else target
    lines = ["import numpy as np", "from verification.conformance import " + ("MatrixOperator, reference" if t.name == "conjugate_gradient" else "reference")]
    lines += _impl_import_lines(fn)
    lines.append("")
    lines += [f"{name} = {lit}" for name, lit in case.literals()]
    call = ", ".join(t.params)
    extra = "".join(f", {k}={v!r}" for k, v in (t.reference_kwargs(case.inputs) if t.reference_kwargs else {}).items())
    lines += ["", f"expected = reference({t.name!r})({call}{extra})", f"got = impl({call})", 'print("expected:", expected)', 'print("got:     ", got)']
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
        extra = [p for p in sys.path if isinstance(p, str) and p and os.path.isdir(p)]
        return ProcessCaller(spec, timeout=timeout, first_call_timeout=first_call_timeout, start_timeout=import_timeout, extra_path=extra)
    callable_fn = load_implementation(fn) if isinstance(fn, str) else fn
    return InProcessCaller(callable_fn, timeout=timeout, first_call_timeout=first_call_timeout)


def check(
    target: str,
    fn: Callable[..., Any] | str,
    *,
    examples: int = 200,
    seed: int = 0,
    timeout: float = 5.0,
    first_call_timeout: float = 10.0,
    claims: bool = True,
    claim_examples: int = 15,
    claims_budget: float = 8.0,
    isolation: Isolation = "process",
    import_timeout: float = IMPORT_TIMEOUT,
    name: str | None = None,
    pinned: bool = True,
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
        claims: also run the registered claims that use the target with ``fn`` in place.
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
    Returns:
        A :class:`ConformanceResult`; ``bool(result)`` is ``result.conforms``.
    Raises:
        KeyError: unknown target.  ImplementationLoadError: an implementation that cannot be
        loaded (or whose import passed ``import_timeout``).  ValueError: a callable the worker
        cannot import by name under the default isolation.
    """
    if os.environ.get(WORKER_ENV):
        raise RuntimeError("check() was called while a conformance worker imported the implementation: "
                           "put the script's calls to check() under `if __name__ == \"__main__\":`")
    t = get_target(target)
    t0 = time.perf_counter()
    caller = _make_caller(fn, isolation, timeout, first_call_timeout, import_timeout)
    if isinstance(caller, ProcessCaller):
        err = caller.start()
        if err is not None:
            caller.close()
            raise ImplementationLoadError(err)
    res = ConformanceResult(t.name, name or _name(fn), True, seed=seed, claims_run=claims)
    try:
        _search(t, caller, res, examples, seed, pinned)
        if claims and res.kind not in ("", *VALUE_FAILURES):
            res.claims_run = False
            res.notes.append("claims not run: the implementation failed the call itself, not a value")
        elif claims:
            _run_claims(t, caller, res, seed, claim_examples, claims_budget)
        _probe_invalid(t, caller, res)
    finally:
        res.output = caller.output_tail()
        caller.close()
    if res.counterexample is not None:
        res.snippet = snippet(t, res.counterexample, fn)
    res.seconds = time.perf_counter() - t0
    return res


def _fail(res: ConformanceResult, case: Case, v: Verdict, found_by: str) -> None:
    res.conforms = False
    res.reason, res.counterexample, res.found_by = v.reason, case, found_by
    res.expected, res.got, res.got_dtype = v.expected, v.got, v.got_dtype
    res.max_error, res.tolerance, res.error_ratio, res.index = v.error, v.allowed, v.ratio, v.index
    res.traceback, res.kind = v.traceback, v.kind


def _search(t: Target, caller: Caller, res: ConformanceResult, n_examples: int, seed: int, use_pinned: bool = True) -> None:
    state: dict[str, Any] = {"n": 0, "worst": 0.0, "last": None, "hang": None, "mutated": set(), "dtype": ""}
    pinned = [Case(t.name, dict(ex)) for ex in t.examples] if use_pinned else []
    pinned_ids = {id(c) for c in pinned}

    def body(case: Case) -> None:
        v = evaluate(t, caller, case)
        state["n"] += 1
        state["mutated"].update(v.mutated)
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
        raise _Mismatch(v.reason)

    test = given(t.strategy())(body)
    for c in reversed(pinned):
        test = example(c)(test)
    test = settings(
        max_examples=max(n_examples, 1), deadline=None, database=None, derandomize=False, print_blob=False,
        report_multiple_bugs=False, verbosity=Verbosity.quiet, suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    )(test)
    test = hyp_seed(seed)(test)
    try:
        test()
    except _Mismatch:
        case, v = state["hang"] if state["hang"] is not None else state["last"]
        how = "a pinned edge case" if id(case) in pinned_ids else "Hypothesis search, shrunk"
        if state["hang"] is not None:
            how = "Hypothesis search (not shrunk: the first input that hung or crashed)" if id(case) not in pinned_ids else "a pinned edge case"
        _fail(res, case, v, how)
    res.examples = state["n"]
    res.got_dtype = res.got_dtype or state["dtype"]
    if res.conforms and state.get("worst_v") is not None:
        w = state["worst_v"]  # error, tolerance and their ratio, all at the same index
        res.error_ratio, res.max_error, res.tolerance, res.index = w.ratio, w.error, w.allowed, w.index
    if state["mutated"]:
        res.notes.append(f"the implementation modifies its input arrays in place ({', '.join(sorted(state['mutated']))}); the harness passes copies")


class _ImplementationFailed(Exception):
    """Raised inside a claim when the implementation raised, hung, or returned no usable array."""


def _run_claims(t: Target, caller: Caller, res: ConformanceResult, seed: int, claim_examples: int, budget: float) -> None:
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

    def hybrid(*args: Any, **kwargs: Any) -> Any:
        expected_full = ref(*args, **kwargs)  # invalid input: raise exactly as the reference does
        sp = t.split(args, kwargs) if t.split is not None else None
        if sp is None:
            return expected_full
        inputs, place = sp
        outs = []
        for inp in inputs:
            case = Case(t.name, inp)
            v = evaluate(t, caller, case)
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
    t0 = time.perf_counter()
    checked = []
    for c in claims:
        if time.perf_counter() - t0 > budget:
            res.claims_not_run.append(c.id)
            continue
        found_before = "case" in found
        found.pop("call_failed", None)
        r = run_claim(c, profile="quick", seed=seed, impl=impl, max_examples=claim_examples)
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


def _probe_invalid(t: Target, caller: Caller, res: ConformanceResult) -> None:
    if caller.poisoned is not None:
        return
    for description, inputs in t.invalid:
        out = caller.call(Case(t.name, dict(inputs)).args())
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
