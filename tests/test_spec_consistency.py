"""SPEC.md, the claim registry, the mutants and the tests agree.

- every claim in the registry has a row in a SPEC.md claims table (`| `ID` | ...`), and vice versa;
- each row's section matches the section heading it sits under, and the claim's ``section``;
- every reference function named in SPEC.md (`reference.name`) exists;
- every claim states a method, a tolerance and why, and cites a source item or an extension.
"""

from __future__ import annotations

import re
from pathlib import Path

import reference
from verification import all_claims
from verification.traceability import EXTENSIONS, SOURCE_ITEMS

SPEC = Path(__file__).resolve().parent.parent / "SPEC.md"
ROW = re.compile(r"^\|\s*`([A-Z0-9]+(?:-[A-Z0-9]+)+)`\s*\|")
HEADING = re.compile(r"^##\s+(§\d+)")
SOURCE_ITEM = re.compile(r"^(S\d+\.\d+|X-[A-Z0-9-]+)$")


def _spec_rows() -> dict[str, str]:
    rows: dict[str, str] = {}
    section = ""
    for line in SPEC.read_text(encoding="utf-8").splitlines():
        h = HEADING.match(line)
        if h:
            section = h.group(1)
        m = ROW.match(line)
        if m:
            assert m.group(1) not in rows, f"claim {m.group(1)} has two rows in SPEC.md"
            rows[m.group(1)] = section
    return rows


def test_every_registry_claim_is_in_spec() -> None:
    rows = _spec_rows()
    missing = [c.id for c in all_claims() if c.id not in rows]
    assert not missing, f"claims missing from SPEC.md claims tables: {missing}"


def test_every_spec_claim_is_in_registry() -> None:
    ids = {c.id for c in all_claims()}
    extra = [i for i in _spec_rows() if i not in ids]
    assert not extra, f"SPEC.md lists claims the registry does not have: {extra}"


def test_claim_sections_agree() -> None:
    rows = _spec_rows()
    wrong = [(c.id, c.section, rows[c.id]) for c in all_claims() if c.id in rows and rows[c.id] != c.section]
    assert not wrong, f"claim section in registry != section of its SPEC.md row: {wrong}"


def test_spec_names_only_existing_reference_functions() -> None:
    names = set(re.findall(r"`reference\.([A-Za-z_][A-Za-z0-9_]*)`", SPEC.read_text(encoding="utf-8")))
    missing = sorted(n for n in names if not hasattr(reference, n))
    assert not missing, f"SPEC.md names reference functions that do not exist: {missing}"


def test_every_public_reference_function_is_in_spec() -> None:
    text = SPEC.read_text(encoding="utf-8")
    missing = [n for n in reference.__all__ if f"`reference.{n}`" not in text]
    assert not missing, f"public reference functions SPEC.md does not document: {missing}"


def test_claims_are_complete() -> None:
    for c in all_claims():
        assert c.statement and c.method and c.tolerance_reason, c.id
        assert c.tolerance >= 0, c.id
        assert c.source and all(SOURCE_ITEM.match(s) for s in c.source), (c.id, c.source)
        unknown = [s for s in c.source if s not in SOURCE_ITEMS and s not in EXTENSIONS]
        assert not unknown, f"claim {c.id} cites unknown source items/extensions {unknown}"
        assert c.id.isascii()
