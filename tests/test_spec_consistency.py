"""SPEC.md, the claim registry, the mutants and the tests agree.

- every claim in the registry has a row in a SPEC.md claims table (`| `ID` | ...`), and vice versa;
- each row's section matches the section heading it sits under, and the claim's ``section``;
- every reference function named in SPEC.md (`reference.name`) exists;
- every claim states a method, a tolerance and why, and cites a source item or an extension;
- every row of every Markdown table has as many cells as its header (a '|' inside a cell, as in
  π(a|s) or |r|, must be escaped as '\\|', or GitHub splits the cell and shifts the columns).
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
CELL_BOUNDARY = re.compile(r"(?<!\\)\|")  # a pipe that is not escaped


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


def _cell_count(line: str) -> int:
    """Cells of a Markdown table row written with leading and trailing pipes (GFM splits at every
    unescaped pipe, inside code spans too)."""
    return len(CELL_BOUNDARY.split(line.strip())) - 2


def table_shape_problems(text: str) -> list[str]:
    """Rows of a Markdown table (consecutive lines starting with '|') whose cell count differs from the header's."""
    problems: list[str] = []
    header: tuple[int, int] | None = None  # (line number, cells) of the current table's header
    fenced = False
    for n, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or not line.startswith("|"):
            header = None
            continue
        if not line.rstrip().endswith("|"):
            problems.append(f"line {n}: a table row must end with '|': {line[:60]}")
            continue
        if header is None:
            header = (n, _cell_count(line))
        elif (cells := _cell_count(line)) != header[1]:
            problems.append(
                f"line {n}: {cells} cells, but the header on line {header[0]} has {header[1]} "
                f"(escape a '|' inside a cell as '\\|'): {line[:60]}"
            )
    return problems


def test_every_table_row_has_the_headers_cell_count() -> None:
    problems = table_shape_problems(SPEC.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)


def test_table_shape_check_notices_an_unescaped_pipe() -> None:
    text = SPEC.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `PG-SCORE-ZERO-MEAN` |"))
    assert "π(a\\|s)" in row
    broken = text.replace(row, row.replace("π(a\\|s)", "π(a|s)"))
    assert any("6 cells, but the header" in p for p in table_shape_problems(broken))
    short = text.replace(row, row.rsplit(" |", 2)[0] + " |")  # a row that lost its last cell
    assert any("4 cells, but the header" in p for p in table_shape_problems(short))
    # a '|' inside a code span splits the cell as well
    assert table_shape_problems("| a | b |\n|---|---|\n| `x|y` | z |\n") == [
        "line 3: 3 cells, but the header on line 1 has 2 (escape a '|' inside a cell as '\\|'): | `x|y` | z |"
    ]
    assert table_shape_problems("| a | b |\n|---|---|\n| `x\\|y` | z |\n") == []
