"""Errata of the source, each with a numerical demonstration.

An :class:`Erratum` records what the source writes, what is right and why, and a ``demo`` that
computes both forms on a concrete case and says what separates them.  ``python -m verification
errata`` runs every demonstration; SPEC.md §15 lists the same ids (tests keep them in step).
Modules in this package are discovered automatically, one per SPEC.md area.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from typing import Callable

ERRATUM_ID = re.compile(r"^E\d+\.\d+$")


@dataclass(frozen=True)
class Demo:
    """The outcome of a demonstration.

    Attributes:
        case: the concrete input, in words or as a short expression.
        source_form: what the source's formula gives on it.
        correct_form: what the correct formula gives (and, where there is one, the ground truth).
        separation: what separates them (a difference, a sign, a violated identity).
        ok: True when the demonstration shows what the erratum says (the correct form matches the
            ground truth, and the source's form differs where the erratum says it does).
    """

    case: str
    source_form: str
    correct_form: str
    separation: str
    ok: bool


@dataclass(frozen=True)
class Erratum:
    """One entry of SPEC.md §15."""

    id: str
    items: tuple[str, ...]
    verdict: str  # typo | wrong | ambiguous | incomplete
    source_writes: str
    correct: str
    why: str
    claims: tuple[str, ...]
    demo: Callable[[], Demo]


_ERRATA: dict[str, Erratum] = {}
_LOADED = False
VERDICTS = ("typo", "wrong", "ambiguous", "incomplete")


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
    """Every registered erratum, ordered by id (E1.1, E1.2, ..., E12.3)."""
    global _LOADED
    if not _LOADED:
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
            importlib.import_module(f"{__name__}.{info.name}")
        _LOADED = True
    return sorted(_ERRATA.values(), key=lambda e: _key(e.id))
