"""The claim registry: one claim, three uses (pytest, the command line, the conformance harness).

A claim is a property of the specification, checked by a function ``check(case, impl)`` that
returns the observed error (or a :class:`Measurement`) or raises :class:`ClaimViolation`.  The
``impl`` argument resolves the reference functions the check exercises (``claim.uses``); the
conformance harness passes an :class:`Impl` with third-party functions in their place.
"""

from __future__ import annotations

import fnmatch
import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

import numpy as np
from hypothesis.strategies import SearchStrategy

import reference

ClaimKind = Literal["exact", "property", "statistical", "negative-control", "conditional"]

ID_RE = re.compile(r"^[A-Z0-9]+(-[A-Z0-9]+)+$")


class ClaimViolation(AssertionError):
    """Raised by a check when the claim does not hold on the case at hand."""


@dataclass(frozen=True)
class Measurement:
    """What a check observed: the error compared with the tolerance, and what it compared."""

    error: float
    expected: Any = None
    got: Any = None
    detail: str = ""


class Impl:
    """Resolves function names to implementations: overrides first, then :mod:`reference`."""

    def __init__(self, overrides: Mapping[str, Callable[..., Any]] | None = None, name: str = "reference"):
        self._overrides = dict(overrides or {})
        self.name = name

    def __getattr__(self, item: str) -> Any:
        if item.startswith("_"):
            raise AttributeError(item)
        overrides = self.__dict__.get("_overrides", {})
        if item in overrides:
            return overrides[item]
        return getattr(reference, item)

    @property
    def overridden(self) -> frozenset[str]:
        return frozenset(self._overrides)

    def __repr__(self) -> str:
        return f"Impl({self.name!r}, overrides={sorted(self._overrides)})"


REFERENCE = Impl()

CheckFn = Callable[[Any, Impl], "float | Measurement"]


@dataclass(frozen=True)
class Claim:
    """A named, checkable statement of the specification.

    Attributes:
        id: ASCII id, e.g. ``PG-REINFORCE-UNBIASED``.
        title: a few words.
        statement: the claim in one or two sentences, with its equation.
        section: the SPEC.md section that states it, e.g. ``§2``.
        source: the source items it checks (``S2.6``) or the extension it belongs to (``X-...``).
        method: how it is checked (exact enumeration, Hypothesis over ..., Monte Carlo ...).
        tolerance: the largest accepted error (as returned by ``check``).
        tolerance_reason: why that tolerance.
        strategy: a zero-argument function returning the Hypothesis strategy of cases.
        check: ``check(case, impl) -> error | Measurement``; may raise ClaimViolation.
        uses: names of the reference functions the check exercises through ``impl``.
        examples: pinned boundary cases, always run first.
        kind: exact | property | statistical | negative-control | conditional.
        false_alarm: for statistical claims, the probability that a correct implementation fails.
        max_examples: per-claim cap on Hypothesis examples in the quick profile (expensive cases),
            multiplied by ``runner.CAP_SCALE`` in the thorough profile; or None.
    """

    id: str
    title: str
    statement: str
    section: str
    source: tuple[str, ...]
    method: str
    tolerance: float
    tolerance_reason: str
    strategy: Callable[[], SearchStrategy[Any]]
    check: CheckFn
    uses: tuple[str, ...]
    examples: tuple[Any, ...] = ()
    kind: ClaimKind = "exact"
    false_alarm: float | None = None
    max_examples: int | None = None
    notes: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


_REGISTRY: dict[str, Claim] = {}


def register(claim: Claim) -> Claim:
    """Add a claim to the registry (ids are unique and ASCII)."""
    if not ID_RE.match(claim.id):
        raise ValueError(f"claim id {claim.id!r} must be upper-case ASCII words joined by '-'")
    if claim.id in _REGISTRY:
        raise ValueError(f"duplicate claim id {claim.id}")
    for name in claim.uses:
        if not hasattr(reference, name):
            raise ValueError(f"claim {claim.id}: uses unknown reference function {name!r}")
    if claim.kind == "statistical" and claim.false_alarm is None:
        raise ValueError(f"claim {claim.id}: a statistical claim must state its false-alarm probability")
    _REGISTRY[claim.id] = claim
    return claim


_LOADED = False


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    from . import claims as claims_pkg

    for mod in sorted(pkgutil.iter_modules(claims_pkg.__path__), key=lambda m: m.name):
        importlib.import_module(f"{claims_pkg.__name__}.{mod.name}")
    _LOADED = True


def all_claims() -> list[Claim]:
    """Every registered claim, in registration order (module name, then definition)."""
    _load()
    return list(_REGISTRY.values())


def get_claim(claim_id: str) -> Claim:
    _load()
    try:
        return _REGISTRY[claim_id]
    except KeyError:
        raise KeyError(f"unknown claim id {claim_id!r}") from None


def select(patterns: list[str] | tuple[str, ...] | None) -> list[Claim]:
    """Claims whose ids match any of the glob patterns (all when there are none)."""
    claims = all_claims()
    if not patterns:
        return claims
    return [c for c in claims if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]


def rel_error(expected: Any, got: Any) -> float:
    """max |got − expected| / max(1, max |expected|): the normalized error used by exact claims."""
    e = np.asarray(expected, dtype=np.float64)
    g = np.asarray(got, dtype=np.float64)
    if e.shape != g.shape:
        raise ClaimViolation(f"shape mismatch: expected shape {e.shape}, got {g.shape}")
    if e.size == 0:
        return 0.0
    if not np.all(np.isfinite(g)) and np.all(np.isfinite(e)):
        return float("inf")
    scale = max(1.0, float(np.max(np.abs(e))))
    return float(np.max(np.abs(g - e))) / scale


def compare(expected: Any, got: Any, detail: str = "") -> Measurement:
    """A :class:`Measurement` whose error is :func:`rel_error`."""
    return Measurement(rel_error(expected, got), expected=expected, got=got, detail=detail)
