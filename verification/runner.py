"""Runs claims under Hypothesis and turns the outcome into a :class:`ClaimResult`."""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
from hypothesis import HealthCheck, Phase, example, given, seed as hyp_seed, settings

from .registry import Claim, ClaimViolation, Impl, Measurement, REFERENCE

Profile = Literal["quick", "thorough"]

#: Hypothesis examples per claim in each profile (a claim's own max_examples caps it further).
PROFILE_EXAMPLES: dict[str, int] = {"quick": 40, "thorough": 500}

#: How much a claim's own ``max_examples`` cap is multiplied in each profile.
CAP_SCALE: dict[str, int] = {"quick": 1, "thorough": 12}

Status = Literal["pass", "fail", "error"]


@dataclass
class ClaimResult:
    """The outcome of one claim: status, the largest error seen, and how to reproduce a failure."""

    claim_id: str
    status: Status
    max_error: float
    tolerance: float
    examples: int
    seconds: float
    message: str = ""
    counterexample: str | None = None
    implementation: str = "reference"

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        if not math.isfinite(self.max_error):
            d["max_error"] = str(self.max_error)
        return d


def _fmt(x: Any, limit: int = 400) -> str:
    if isinstance(x, np.ndarray):
        with np.printoptions(precision=17, threshold=50):
            s = "np." + repr(x)
    else:
        s = repr(x)
    return s if len(s) <= limit else s[:limit] + " ..."


def failure_message(claim: Claim, impl: Impl, seed: int, case: Any, m: Measurement | None, exc: BaseException | None) -> str:
    """The fixed shape of every failure: claim, expected, got, error vs tolerance, reproducer."""
    lines = [
        f"{claim.id} FAILED  (SPEC.md {claim.section}; source {', '.join(claim.source)})",
        f"  claim:     {claim.statement}",
        f"  impl:      {impl.name}" + (f" (overrides {', '.join(sorted(impl.overridden))})" if impl.overridden else ""),
    ]
    if m is not None:
        if m.expected is not None:
            lines.append(f"  expected:  {_fmt(m.expected)}")
        if m.got is not None:
            lines.append(f"  got:       {_fmt(m.got)}")
        lines.append(f"  error:     {m.error:.3e} > tolerance {claim.tolerance:.1e} ({claim.tolerance_reason})")
        if m.detail:
            lines.append(f"  detail:    {m.detail}")
    if exc is not None:
        lines.append(f"  raised:    {type(exc).__name__}: {exc}")
    lines.append(f"  case:      {_fmt(case, 2000)}")
    lines.append(f"  reproduce: python -m verification check {claim.id} --seed {seed}")
    return "\n".join(lines)


def run_claim(
    claim: Claim,
    profile: Profile | str = "quick",
    seed: int = 0,
    impl: Impl | None = None,
    max_examples: int | None = None,
) -> ClaimResult:
    """Run one claim: pinned examples first, then Hypothesis search (seeded, no database)."""
    impl = impl or REFERENCE
    n_ex = max_examples if max_examples is not None else PROFILE_EXAMPLES[profile]
    if claim.max_examples is not None:
        # a claim's cap keeps the quick profile quick; the thorough profile scales it up
        scale = CAP_SCALE.get(str(profile), 1)
        n_ex = min(n_ex, claim.max_examples * scale)
    n_ex = max(n_ex, 1)
    # "fail" holds (case, measurement or None, exception) of the last failing call: Hypothesis
    # replays the shrunk example last, and explicit examples that fail are all run, so the last
    # failure recorded is the one it reports.
    state: dict[str, Any] = {"max": 0.0, "n": 0, "fail": None}

    def body(case: Any) -> None:
        try:
            out = claim.check(case, impl)
        except ClaimViolation as exc:
            state["fail"] = (case, None, exc)
            raise
        except Exception as exc:
            state["fail"] = (case, None, exc)
            raise
        m = out if isinstance(out, Measurement) else Measurement(float(out))
        state["n"] += 1
        err = float(m.error)
        if math.isnan(err) or not err <= claim.tolerance:
            violation = ClaimViolation(f"error {err:.3e} > tolerance {claim.tolerance:.1e}")
            state["fail"] = (case, m, violation)
            raise violation
        if err > state["max"]:
            state["max"] = err

    test = given(claim.strategy())(body)
    for ex in reversed(claim.examples):
        test = example(ex)(test)
    test = settings(
        max_examples=n_ex,
        deadline=None,
        database=None,
        derandomize=False,
        print_blob=False,
        suppress_health_check=list(HealthCheck),
        # No Phase.target: the errors of exact claims are round-off, and hill-climbing on
        # round-off noise spent minutes per claim in the thorough profile without finding anything
        # the generate phase does not.  (The conformance harness targets its own error ratios.)
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
    )(test)
    test = hyp_seed(seed)(test)

    t0 = time.perf_counter()
    try:
        test()
    except BaseException as raised:  # noqa: BLE001 - an implementation may raise anything
        if isinstance(raised, (KeyboardInterrupt, SystemExit)):
            raise
        if state["fail"] is None:
            state["fail"] = (None, None, raised)
        case, m, exc = state["fail"]
        violated = isinstance(exc, ClaimViolation)
        status: Status = "fail" if violated else "error"
        message = failure_message(claim, impl, seed, case, m, None if m is not None else exc)
        if not violated:
            message += "\n  traceback: " + "".join(traceback.format_exception_only(type(exc), exc)).strip()
        return ClaimResult(
            claim.id, status, float(m.error) if m is not None else float("inf"), claim.tolerance,
            state["n"], time.perf_counter() - t0, message, _fmt(case, 2000), impl.name,
        )
    return ClaimResult(
        claim.id, "pass", state["max"], claim.tolerance, state["n"], time.perf_counter() - t0,
        implementation=impl.name,
    )
