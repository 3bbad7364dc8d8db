"""The errata of SPEC.md §15 hold up: every entry obeys the rule of §15, and SPEC, README and the
``errata`` command agree on it.

The rule: an entry is an error (typo, ambiguous, incomplete, wrong) only if its demonstration
computes the source's form, read with the source's own conventions, and the correct form, and they
differ by more than the stated margin; ambiguous entries say which reading is wrong and which is
right; classified entries (prose, notation, extraction) and withdrawn ones give their reason and
are not counted; a withdrawn entry with a demonstration shows the two forms agreeing.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from verification import all_claims
from verification.cli import main
from verification.errata import (
    CLASS_KINDS,
    ERROR_KINDS,
    WITHDRAWN,
    Demo,
    Erratum,
    all_errata,
    check_entry,
    gap,
    run_entry,
    summary_line,
)
from verification.traceability import SOURCE_ITEMS

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "SPEC.md"
README = ROOT / "README.md"
ROW = re.compile(r"^\|\s*(E\d+\.\d+)\s*\|")


def _spec_rows() -> dict[str, str]:
    return {m.group(1): line for line in SPEC.read_text(encoding="utf-8").splitlines() if (m := ROW.match(line))}


def test_spec_and_registry_errata_agree() -> None:
    spec = [m.group(1) for line in SPEC.read_text(encoding="utf-8").splitlines() if (m := ROW.match(line))]
    assert len(spec) == len(set(spec)), "an erratum id appears twice in SPEC.md"
    reg = [e.id for e in all_errata()]
    assert sorted(spec) == sorted(reg), f"SPEC.md only: {set(spec) - set(reg)}; registry only: {set(reg) - set(spec)}"


@pytest.mark.parametrize("erratum", all_errata(), ids=lambda e: e.id)
def test_entry_obeys_the_rule(erratum: Erratum) -> None:
    assert set(erratum.items) <= set(SOURCE_ITEMS), erratum.items
    ids = {c.id for c in all_claims()}
    assert set(erratum.claims) <= ids, set(erratum.claims) - ids
    demo, problems = run_entry(erratum)
    assert not problems, "\n".join(problems)
    if erratum.verdict in ERROR_KINDS:
        assert demo is not None and demo.margin is not None
        # SPEC §15 promises every error exceeds its margin by a factor of 2 at least
        assert gap(demo) >= 2 * demo.margin, (gap(demo), demo.margin)


@pytest.mark.parametrize("erratum", all_errata(), ids=lambda e: e.id)
def test_spec_row_says_the_class(erratum: Erratum) -> None:
    """§15 marks every entry that is not an error with its class in the `correct` cell."""
    row = _spec_rows()[erratum.id]
    marker = f"**{erratum.verdict}**"
    if erratum.verdict in ERROR_KINDS:
        assert not any(f"**{k}**" in row for k in CLASS_KINDS + (WITHDRAWN,)), row
    else:
        assert marker in row, f"§15's row of {erratum.id} must say {marker}"


def _demo(**kw: object) -> Demo:
    base: dict[str, object] = dict(case="c", source_form="s", correct_form="r", separation="x", ok=True,
                                   quantity="q", source_value=1.0, correct_value=0.0, margin=0.5)
    base.update(kw)
    return Demo(**base)  # type: ignore[arg-type]


def _entry(kind: str, **kw: object) -> Erratum:
    base: dict[str, object] = dict(id="E3.9", items=("S3.2",), verdict=kind, source_writes="s", correct="c", why="w",
                                   claims=(), demo=lambda: _demo())
    base.update(kw)
    return Erratum(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("entry", "demo", "expected"),
    [
        (_entry("wrong"), _demo(correct_value=0.9), "not more than the margin"),
        (_entry("typo"), _demo(source_value=None), "compute the source's value"),
        (_entry("typo"), _demo(quantity=""), "state the quantity"),
        (_entry("incomplete"), _demo(margin=0.0, correct_value=-3.0), "margin must be positive"),
        (_entry("wrong", demo=None), None, "without a demonstration"),
        (_entry("ambiguous"), _demo(), "which reading is wrong"),
        (_entry("notation", demo=None), None, "gives no reason"),
        (_entry("withdrawn", revision="r"), _demo(), "withdrawn but its demonstration separates"),
        (_entry("wrong"), _demo(gamma=0.5), "undiscounted"),
        (_entry("wrong"), _demo(fixed_start=False), "one fixed state"),
        (_entry("wrong"), _demo(ok=False), "own checks failed"),
    ],
)
def test_rule_notices_broken_entries(entry: Erratum, demo: Demo | None, expected: str) -> None:
    problems = check_entry(entry, demo)
    assert any(expected in p for p in problems), problems


def test_rule_accepts_a_sound_entry() -> None:
    assert check_entry(_entry("wrong"), _demo()) == []
    assert check_entry(_entry("withdrawn", revision="r"), _demo(correct_value=1.0)) == []
    assert check_entry(_entry("prose", demo=None, revision="r"), None) == []


def _errata_output() -> tuple[int, str]:
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["errata"])
    return rc, buf.getvalue()


def test_errata_command_prints_values_and_summary() -> None:
    rc, out = _errata_output()
    assert rc == 0, out[-2000:]
    line = summary_line()
    assert out.rstrip().splitlines()[-1] == line
    n_err = sum(1 for e in all_errata() if e.verdict in ERROR_KINDS)
    assert f"{n_err} of {n_err} errors demonstrated" in out
    for e in all_errata():
        block = out.split(f"{e.id}  [", 1)[1].split("\n\n", 1)[0]
        if e.verdict in ERROR_KINDS:
            assert re.search(r"values:\s+source \S+\s+correct \S+\s+\|difference\| \S+ > margin", block), block


def test_counts_by_class_are_quoted_in_readme_and_spec() -> None:
    """README.md and SPEC.md §16 quote the `errata` summary line verbatim."""
    line = summary_line()
    spec = SPEC.read_text(encoding="utf-8")
    sec16 = spec.split("\n## §16 Traceability\n", 1)[1].split("\n### §16.1", 1)[0]
    assert line in sec16, f"SPEC.md §16 must quote: {line}"
    assert line in README.read_text(encoding="utf-8"), f"README.md must quote: {line}"
