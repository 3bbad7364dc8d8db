"""Every erratum in SPEC.md §15 has a registered demonstration that succeeds, and vice versa."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from verification import all_claims
from verification.cli import main
from verification.errata import Erratum, all_errata
from verification.traceability import SOURCE_ITEMS

SPEC = Path(__file__).resolve().parent.parent / "SPEC.md"
ROW = re.compile(r"^\|\s*(E\d+\.\d+)\s*\|")


def _spec_errata() -> list[str]:
    return [m.group(1) for line in SPEC.read_text(encoding="utf-8").splitlines() if (m := ROW.match(line))]


def test_spec_and_registry_errata_agree() -> None:
    spec = _spec_errata()
    assert len(spec) == len(set(spec)), "an erratum id appears twice in SPEC.md"
    reg = [e.id for e in all_errata()]
    assert sorted(spec) == sorted(reg), f"SPEC.md only: {set(spec) - set(reg)}; registry only: {set(reg) - set(spec)}"


@pytest.mark.parametrize("erratum", all_errata(), ids=lambda e: e.id)
def test_erratum_is_demonstrated(erratum: Erratum) -> None:
    assert set(erratum.items) <= set(SOURCE_ITEMS), erratum.items
    ids = {c.id for c in all_claims()}
    assert set(erratum.claims) <= ids, set(erratum.claims) - ids
    demo = erratum.demo()
    assert demo.ok, demo


def test_errata_command_exits_zero() -> None:
    assert main(["errata"]) == 0
