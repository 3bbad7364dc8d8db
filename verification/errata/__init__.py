"""Errata of the source: each entry classified, and each error demonstrated by the rule of SPEC §15.

An :class:`Erratum` records what the source writes, what is right and why.  Its ``kind`` is an
*error* (typo, ambiguous, incomplete, wrong), a *classification* that is not an error (prose,
notation, extraction), or ``withdrawn`` (a former erratum that did not hold up; the id stays so
citations do not break, and ``revision`` says why).

The rule (SPEC.md §15): an entry is an error only if the source's own form, read with the source's
own definitions and conventions (its fixed start state, its γ = 1 template, its exact advantages),
evaluated on a concrete case, differs from the correct form by more than a stated margin, and the
demonstration computes both.  :func:`check_entry` applies it; ``python -m verification errata``,
the audit report and tests/test_errata.py all call it.  Modules in this package are discovered
automatically, one per SPEC.md area.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
import re
from collections import Counter
from dataclasses import dataclass
from typing import Callable

ERRATUM_ID = re.compile(r"^E\d+\.\d+$")

#: Kinds that are errors of the source (counted; each needs a demonstration of difference).
ERROR_KINDS = ("typo", "ambiguous", "incomplete", "wrong")
#: Kinds that classify an entry without counting it as an error (no demonstration needed).
CLASS_KINDS = ("prose", "notation", "extraction")
WITHDRAWN = "withdrawn"
VERDICTS = ERROR_KINDS + CLASS_KINDS + (WITHDRAWN,)


@dataclass(frozen=True)
class Demo:
    """The outcome of a demonstration.

    Attributes:
        case: the concrete input, in words or as a short expression.
        source_form: what the source's formula gives on it.
        correct_form: what the correct formula gives (and, where there is one, the ground truth).
        separation: what separates them (a difference, a sign, a violated identity).
        ok: True when the correct form matches the ground truth and the computation behaves as
            the entry says (checks beyond the margin; the margin itself is :func:`check_entry`'s).
        quantity: the one number both forms are evaluated to (e.g. "‖E[ĝ] − ∇J‖∞").
        source_value: the quantity under the source's form, read with the source's conventions.
        correct_value: the quantity under the correct form.
        margin: the stated margin: the source's form is an error only if
            |source_value − correct_value| > margin.
        gamma: the discount the demonstration uses (the source's §1–§5 and §11 are γ = 1).
        fixed_start: whether the case starts in one fixed state, as the source's MDP does
            (None where there is no MDP).
    """

    case: str
    source_form: str
    correct_form: str
    separation: str
    ok: bool
    quantity: str = ""
    source_value: float | None = None
    correct_value: float | None = None
    margin: float | None = None
    gamma: float | None = None
    fixed_start: bool | None = None


@dataclass(frozen=True)
class Erratum:
    """One entry of SPEC.md §15.

    ``readings`` (wrong reading, right reading) is required for kind ``ambiguous``; ``revision``
    is the reason an entry was reclassified, rewritten or withdrawn (required for withdrawn and
    for the classifications).  ``demo`` is required for the error kinds; for a withdrawn entry it
    is optional and, when given, shows the source's form agreeing with the correct one.
    """

    id: str
    items: tuple[str, ...]
    verdict: str  # one of VERDICTS
    source_writes: str
    correct: str
    why: str
    claims: tuple[str, ...]
    demo: Callable[[], Demo] | None
    readings: tuple[str, str] | None = None
    revision: str = ""

    @property
    def is_error(self) -> bool:
        return self.verdict in ERROR_KINDS


_ERRATA: dict[str, Erratum] = {}
_LOADED = False


def register_erratum(e: Erratum) -> Erratum:
    if not ERRATUM_ID.match(e.id):
        raise ValueError(f"erratum id {e.id!r} must look like E3.2")
    if e.id in _ERRATA:
        raise ValueError(f"duplicate erratum {e.id}")
    if e.verdict not in VERDICTS:
        raise ValueError(f"erratum {e.id}: verdict must be one of {VERDICTS}")
    _ERRATA[e.id] = e
    return e


def _key(eid: str) -> tuple[int, int]:
    a, b = eid[1:].split(".")
    return int(a), int(b)


def all_errata() -> list[Erratum]:
    """Every registered entry, ordered by id (E1.1, E1.2, ..., E12.3), withdrawn ones included."""
    global _LOADED
    if not _LOADED:
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
            importlib.import_module(f"{__name__}.{info.name}")
        _LOADED = True
    return sorted(_ERRATA.values(), key=lambda e: _key(e.id))


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def gap(d: Demo) -> float:
    """|source_value − correct_value| (nan when either is missing)."""
    if d.source_value is None or d.correct_value is None:
        return math.nan
    return abs(d.source_value - d.correct_value)


#: Sections whose source text is undiscounted (γ = 1): §1–§5 and the template of §11.
UNDISCOUNTED_SECTIONS = {1, 2, 3, 4, 5, 11}
#: Sections whose source MDP starts in one fixed state s_0.
FIXED_START_SECTIONS = {1, 2, 3, 4, 5}


def _sections(e: Erratum) -> set[int]:
    return {int(i[1:].split(".")[0]) for i in e.items}


def check_entry(e: Erratum, d: Demo | None) -> list[str]:
    """Why ``e`` (with its demonstration's outcome ``d``) breaks the rule of SPEC §15; [] if it holds."""
    problems: list[str] = []
    if e.verdict in CLASS_KINDS + (WITHDRAWN,) and not e.revision.strip():
        problems.append(f"{e.id} is {e.verdict} but gives no reason (revision)")
    if e.verdict == "ambiguous" and (e.readings is None or not all(r.strip() for r in e.readings)):
        problems.append(f"{e.id} is ambiguous but does not say which reading is wrong and which is right")
    if e.is_error and e.demo is None:
        problems.append(f"{e.id} is an error ({e.verdict}) without a demonstration")
    if d is None:
        return problems
    values = (d.source_value, d.correct_value, d.margin)
    if e.is_error or e.verdict == WITHDRAWN:
        if not all(_finite(v) for v in values) or not d.quantity.strip():
            problems.append(f"{e.id}: the demonstration must state the quantity and compute the source's value, the correct value and the margin (got {values})")
            return problems
        assert d.margin is not None
        if d.margin <= 0:
            problems.append(f"{e.id}: the margin must be positive, got {d.margin}")
        if e.is_error and not gap(d) > d.margin:
            problems.append(f"{e.id}: the source's form differs from the correct one by {gap(d):.3g}, not more than the margin {d.margin:.3g}")
        if e.verdict == WITHDRAWN and gap(d) > d.margin:
            problems.append(f"{e.id} is withdrawn but its demonstration separates the forms by {gap(d):.3g} > {d.margin:.3g}")
    secs = _sections(e)
    if secs & UNDISCOUNTED_SECTIONS and secs <= UNDISCOUNTED_SECTIONS and d.gamma is not None and d.gamma != 1.0:
        problems.append(f"{e.id}: the source's §{sorted(secs)} is undiscounted, but the demonstration uses γ = {d.gamma}")
    if secs <= FIXED_START_SECTIONS and d.fixed_start is False:
        problems.append(f"{e.id}: the source's MDP starts in one fixed state, but the demonstration draws s_0 at random")
    if not d.ok:
        problems.append(f"{e.id}: the demonstration's own checks failed: {d.separation}")
    return problems


def run_entry(e: Erratum) -> tuple[Demo | None, list[str]]:
    """Run ``e``'s demonstration (if any) and apply the rule; an exception is a problem, not a crash."""
    if e.demo is None:
        return None, check_entry(e, None)
    try:
        d = e.demo()
    except Exception as exc:  # reported, never a crash of the caller
        return None, [f"{e.id}: the demonstration raised {type(exc).__name__}: {exc}"]
    return d, check_entry(e, d)


def class_counts(errata: list[Erratum] | None = None) -> Counter[str]:
    """How many entries of each kind (all of VERDICTS, zeros included)."""
    c: Counter[str] = Counter({k: 0 for k in VERDICTS})
    c.update(e.verdict for e in (all_errata() if errata is None else errata))
    return c


def summary_line(errata: list[Erratum] | None = None) -> str:
    """The one-line summary by class that README.md and SPEC.md §16 quote verbatim."""
    es = all_errata() if errata is None else errata
    c = class_counts(es)
    n_err = sum(c[k] for k in ERROR_KINDS)
    n_cls = sum(c[k] for k in CLASS_KINDS)
    errors = ", ".join(f"{c[k]} {k}" for k in ERROR_KINDS)
    classes = ", ".join(f"{c[k]} {k}" for k in CLASS_KINDS)
    return f"{len(es)} entries: {n_err} errors ({errors}); {n_cls} not errors ({classes}); {c[WITHDRAWN]} withdrawn"
