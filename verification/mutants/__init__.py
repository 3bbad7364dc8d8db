"""Deliberately wrong implementations ("mutants"): each must be rejected by the claims it names.

A claim that no mutant can break verifies nothing.  The test suite runs every mutant against
every claim it lists and checks that every claim in the registry is killed by some mutant; the
conformance harness reuses the mutants of its targets as its own self-test.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from ..registry import Impl


@dataclass(frozen=True)
class Mutant:
    """A wrong implementation of one or more reference functions.

    Attributes:
        name: short ASCII id, e.g. ``reinforce-last-step-only``.
        description: the bug, in words (what a real implementation might get wrong).
        kills: claim ids that must fail with this mutant in place.
        overrides: reference function name -> wrong implementation.
        conformance_visible: False when the conformance harness cannot and need not reject it:
            the bug shows only through arguments outside the target's canonical signature (an
            ignored ``damping`` keyword), or only inside the float32 tolerance the harness grants
            every target (which branch is taken exactly on a PPO-Penalty band edge).
    """

    name: str
    description: str
    kills: tuple[str, ...]
    overrides: Mapping[str, Callable[..., Any]]
    conformance_visible: bool = True

    def impl(self) -> Impl:
        return Impl(self.overrides, name=f"mutant:{self.name}")


_MUTANTS: dict[str, Mutant] = {}
_LOADED = False


def register_mutant(m: Mutant) -> Mutant:
    if m.name in _MUTANTS:
        raise ValueError(f"duplicate mutant {m.name}")
    _MUTANTS[m.name] = m
    return m


def all_mutants() -> list[Mutant]:
    global _LOADED
    if not _LOADED:
        for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
            importlib.import_module(f"{__name__}.{info.name}")
        _LOADED = True
    return list(_MUTANTS.values())
