"""SPEC.md §16 traces every source item to our equation, function and claim, and back.

A row of §16.1 reads

    | S6.1 | what the source has | incomplete (E6.1) | (6.1) | `reference.action_values` | `ADV-Q-V-ENUM` |

The checks below fail when

(a) an item of ``SOURCE_ITEMS`` has no row, or two, or the rows leave reading order;
(b) a row names an item that ``SOURCE_ITEMS`` does not have;
(c) a verdict is outside the vocabulary of §16, or names errata where it must not (rows for
    extensions, ``X-PR-*`` of §17, may follow the last source item: verdict ``extension``, each
    an extension of ``EXTENSIONS``, once);
(d) a row names a ``reference.X`` that is not public, an equation or section SPEC.md does not
    define, or a claim id the registry does not have;
(e) a typo/wrong/ambiguous/incomplete item has no registered erratum listing it, an erratum lists an
    item whose row says correct or prose, a row does not name exactly the errata that list its
    item, or its verdict is not the gravest of their kinds; §15's rows give each erratum's items
    and claims as the registry does;
(g) a claim appears in no row although it cites a source item (claims citing only extensions are
    reached through §16.2, whose rows are exactly ``EXTENSIONS``);
(h) a work cited author-year in SPEC.md or in ``EXTENSIONS`` is missing from SPEC.md's References,
    an entry there is cited nowhere, or an extension of §16.2 names no reference from that list
    (only the specification's own additions, ``OWN_EXTENSIONS``, may name none).

(f), a claim citing an item or extension that does not exist, is tests/test_spec_consistency.py's
``test_claims_are_complete``.  Each check is a function of SPEC.md's text, so the tests at the end
feed it deliberately broken copies and assert that it notices.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import reference
from verification import all_claims
from verification.errata import VERDICTS as ERRATUM_KINDS
from verification.errata import all_errata
from verification.traceability import EXTENSIONS, SOURCE_ITEMS

SPEC = Path(__file__).resolve().parent.parent / "SPEC.md"
VERDICTS = ("correct", "typo", "wrong", "ambiguous", "incomplete", "prose")
GRAVITY = ("typo", "ambiguous", "incomplete", "wrong")  # lightest first; SPEC.md §16
HEADER = "| item | what the source has | verdict | our equation | reference | claims |"
DELIMITER = "|---|---|---|---|---|---|"

CELL = re.compile(r"(?<!\\)\|")  # a cell boundary: a pipe that is not escaped
ITEM_ID = re.compile(r"^S(\d+)\.(\d+)$")
#: An extension's row at the end of §16.1 (§17's X-PR-* items): verdict "extension", no errata.
EXTENSION_ROW = re.compile(r"^X-[A-Z0-9]+(?:-[A-Z0-9]+)*$")
ERRATUM_ID = re.compile(r"^E\d+\.\d+$")
CLAIM_ID = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9]+)+$")
BACKTICKED = re.compile(r"`([^`]*)`")
REFERENCE_NAME = re.compile(r"^reference\.([A-Za-z_][A-Za-z0-9_]*)$")
VERDICT_CELL = re.compile(r"^([a-z]+)(?: \((E\d+\.\d+(?:, E\d+\.\d+)*)\))?$")
EQUATION = re.compile(r"\((\d+\.\d+)\)")
SECTION = re.compile(r"§(\d+)")
NONE = "—"

#: An author-year citation: "Baird 1995", "Schulman et al. (2017)", "Bradley and Terry 1952".
CITATION = re.compile(r"\b([A-Z][a-z]+(?:-[A-Z]?[a-z]+)*)(?: and [A-Z][a-z]+| et al\.)?,? \(?((?:19|20)\d\d)\)?")
#: A References entry, "- Surname, initials ... (year). Title ...".
BIB_ENTRY = re.compile(r"^- ([^,]+),.*?\(((?:19|20)\d\d)\)")
#: Text that reads like a citation but is not: the source's date in SPEC.md's opening paragraph.
NOT_CITATIONS = {("Apr", "2024")}
#: Extensions that are this specification's own, with no work to cite (§16.2 writes "—").
OWN_EXTENSIONS = {"X-FAST-FORMS", "X-CONFORMANCE"}


def _cells(line: str) -> list[str]:
    """The cells of a Markdown table row (escaped pipes stay inside their cell)."""
    return [c.strip() for c in CELL.split(line.strip())[1:-1]]


def _subsection(text: str, heading: str) -> list[tuple[int, str]]:
    """(line number, line) of every line under ``heading`` up to the next heading."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == heading]
    assert len(starts) == 1, f"SPEC.md must have exactly one {heading!r} heading"
    out: list[tuple[int, str]] = []
    for i in range(starts[0] + 1, len(lines)):
        if lines[i].startswith("#"):
            break
        out.append((i + 1, lines[i]))
    return out


@dataclass(frozen=True)
class Row:
    line: int
    item: str
    verdict: str
    errata: tuple[str, ...]  # the ids in the verdict's parentheses
    equation: str
    reference: str
    claims: str


def parse_rows(text: str) -> tuple[list[Row], list[str]]:
    """The item rows of §16.1, and what keeps them from being a well-formed table."""
    rows: list[Row] = []
    problems: list[str] = []
    block: list[tuple[int, str]] = []  # consecutive table lines: one Markdown table
    body = _subsection(text, "### §16.1 Source items") + [(0, "")]
    for n, line in body:
        if line.startswith("|"):
            block.append((n, line))
            continue
        if block:
            if [b[1] for b in block[:2]] != [HEADER, DELIMITER]:
                problems.append(f"line {block[0][0]}: a table of §16.1 must start with the header {HEADER!r} and its delimiter")
            for bn, bline in block[2:]:
                cells = _cells(bline)
                if len(cells) != 6:
                    problems.append(f"line {bn}: {len(cells)} cells, not 6 (escape a '|' inside a cell as '\\|'): {bline[:60]}")
                    continue
                item, _what, verdict, equation, ref, claims = cells
                if not ITEM_ID.match(item) and not EXTENSION_ROW.match(item):
                    problems.append(f"line {bn}: first cell {item!r} is not a source item id S<k>.<n> or an extension X-...")
                    continue
                m = VERDICT_CELL.match(verdict)
                word, ids = (m.group(1), tuple(m.group(2).split(", ")) if m.group(2) else ()) if m else (verdict, ())
                rows.append(Row(bn, item, word, ids, equation, ref, claims))
            block = []
    return rows, problems


# ------------------------------------------------------------------------------------------- checks


def check_table(text: str) -> list[str]:
    return parse_rows(text)[1]


def check_coverage(text: str) -> list[str]:
    """(a), (b): one row per item, none for unknown items, in reading order."""
    rows, _ = parse_rows(text)
    problems: list[str] = []
    counts = Counter(r.item for r in rows)
    for item in SOURCE_ITEMS:
        if counts[item] == 0:
            problems.append(f"{item} has no row in SPEC.md §16.1")
        elif counts[item] > 1:
            problems.append(f"{item} has {counts[item]} rows in SPEC.md §16.1")
    problems += [f"line {r.line}: {r.item} is not in SOURCE_ITEMS" for r in rows if r.item not in SOURCE_ITEMS and not EXTENSION_ROW.match(r.item)]
    # extension rows (optional, once each, only for EXTENSIONS) come after every source item's row
    ext = [r for r in rows if EXTENSION_ROW.match(r.item)]
    problems += [f"line {r.line}: {r.item} is not in EXTENSIONS" for r in ext if r.item not in EXTENSIONS]
    problems += [f"{x} has {n} rows in SPEC.md §16.1" for x, n in Counter(r.item for r in ext).items() if n > 1]
    last_source = max((r.line for r in rows if r.item in SOURCE_ITEMS), default=0)
    problems += [f"line {r.line}: extension row {r.item} before the last source item's row" for r in ext if r.line < last_source]
    order = list(SOURCE_ITEMS)
    known = [r for r in rows if r.item in SOURCE_ITEMS]
    for a, b in zip(known, known[1:]):
        if order.index(a.item) >= order.index(b.item):
            problems.append(f"line {b.line}: {b.item} after {a.item} breaks reading order")
    return problems


def check_verdicts(text: str) -> list[str]:
    """(c): the verdict is one of §16's words; an erratum id goes with every verdict but correct and prose."""
    rows, _ = parse_rows(text)
    problems: list[str] = []
    for r in rows:
        if EXTENSION_ROW.match(r.item):
            if r.verdict != "extension" or r.errata:
                problems.append(f"line {r.line}: extension row {r.item} must have the verdict 'extension' (no errata), got {r.verdict!r}")
            continue
        if r.verdict not in VERDICTS:
            problems.append(f"line {r.line}: {r.item}'s verdict {r.verdict!r} is not one of {VERDICTS} (optionally followed by ' (E6.1, E6.2)')")
        elif r.verdict in ("correct", "prose") and r.errata:
            problems.append(f"line {r.line}: {r.item} is {r.verdict} but names errata {r.errata}")
        elif r.verdict not in ("correct", "prose") and not r.errata:
            problems.append(f"line {r.line}: {r.item} is {r.verdict} but names no erratum")
    return problems


def _defined_equations(text: str) -> set[str]:
    """Equations SPEC.md defines: a line opening with ``(N.M) ``, or a table row whose first cell is
    ``(N.M)`` (§11 defines its Ψ forms (11.2)-(11.9) that way)."""
    defining = re.compile(r"^(?:\((\d+\.\d+)\) |\|\s*\((\d+\.\d+)\)\s*\|)")
    return {m.group(1) or m.group(2) for line in text.splitlines() if (m := defining.match(line))}


def _defined_sections(text: str) -> set[str]:
    return {m.group(1) for line in text.splitlines() if (m := re.match(r"^## §(\d+) ", line))}


def check_references(text: str) -> list[str]:
    """(d): the equations, sections and reference functions a row names exist."""
    rows, _ = parse_rows(text)
    equations, sections = _defined_equations(text), _defined_sections(text)
    public = set(reference.__all__)
    problems: list[str] = []
    for r in rows:
        eqs, secs = EQUATION.findall(r.equation), SECTION.findall(r.equation)
        if not eqs and not secs:
            problems.append(f"line {r.line}: {r.item} names no equation (N.M) or section §N")
        problems += [f"line {r.line}: {r.item} cites equation ({e}), which SPEC.md does not define" for e in eqs if e not in equations]
        problems += [f"line {r.line}: {r.item} cites §{s}, which SPEC.md does not have" for s in secs if s not in sections]
        names = BACKTICKED.findall(r.reference)
        if not names and r.reference != NONE:
            problems.append(f"line {r.line}: {r.item}'s reference cell names no `reference.X` (write {NONE} if there is none)")
        for name in names:
            m = REFERENCE_NAME.match(name)
            if not m:
                problems.append(f"line {r.line}: {r.item}'s reference cell has `{name}`, not `reference.X`")
            elif m.group(1) not in public:
                problems.append(f"line {r.line}: {r.item} names `{name}`, which does not exist (not in reference.__all__)")
    return problems


def check_claims(text: str) -> list[str]:
    """(d): every claim a row names is registered; every item with something to check names a claim."""
    rows, _ = parse_rows(text)
    registered = {c.id for c in all_claims()}
    problems: list[str] = []
    for r in rows:
        ids = BACKTICKED.findall(r.claims)
        if not ids and r.verdict != "prose":
            problems.append(f"line {r.line}: {r.item} ({r.verdict}) names no claim that checks it")
        for cid in ids:
            if not CLAIM_ID.match(cid):
                problems.append(f"line {r.line}: {r.item}'s claims cell has `{cid}`, not a claim id")
            elif cid not in registered:
                problems.append(f"line {r.line}: {r.item} names claim {cid}, which is not in the registry")
    return problems


def check_errata(text: str) -> list[str]:
    """(e): verdicts and the registered errata agree, item by item."""
    rows, _ = parse_rows(text)
    errata = {e.id: e for e in all_errata()}
    problems: list[str] = []
    for r in rows:
        if r.item not in SOURCE_ITEMS:
            continue
        listing = {e.id for e in errata.values() if r.item in e.items}
        named = set(r.errata)
        for eid in sorted(named - set(errata)):
            problems.append(f"line {r.line}: {r.item} names {eid}, which is not a registered erratum")
        for eid in sorted((named & set(errata)) - listing):
            problems.append(f"line {r.line}: {r.item} names {eid}, whose items {errata[eid].items} do not include it")
        if r.verdict in ("correct", "prose"):
            problems += [f"{eid} lists {r.item}, but its row (line {r.line}) says {r.verdict}" for eid in sorted(listing)]
            continue
        if r.verdict not in GRAVITY:
            continue  # check_verdicts reports it
        if not listing:
            problems.append(f"line {r.line}: {r.item} is {r.verdict} but no registered erratum lists it in `items`")
            continue
        problems += [f"line {r.line}: {eid} lists {r.item} but its row does not name it" for eid in sorted(listing - named)]
        gravest = max((errata[e].verdict for e in listing), key=GRAVITY.index)
        if r.verdict != gravest:
            problems.append(f"line {r.line}: {r.item} is {r.verdict}, but the gravest kind among {sorted(listing)} is {gravest}")
    return problems


def check_errata_table(text: str) -> list[str]:
    """§15's rows give each erratum's items and claims exactly as the registry does."""
    rows = {}
    problems: list[str] = []
    for n, line in enumerate(text.splitlines(), 1):
        if re.match(r"^\|\s*E\d+\.\d+\s*\|", line):
            cells = _cells(line)
            if len(cells) != 5:
                problems.append(f"line {n}: {len(cells)} cells, not 5 (escape a '|' inside a cell as '\\|'): {line[:60]}")
                continue
            rows[cells[0]] = (n, cells)
    for e in all_errata():
        if e.id not in rows:
            continue  # tests/test_errata.py reports a missing row
        n, cells = rows[e.id]
        items = tuple(i.strip() for i in cells[1].split(","))
        if items != e.items:
            problems.append(f"line {n}: §15 gives {e.id}'s items as {items}, the registry as {e.items}")
        claims = {c for c in BACKTICKED.findall(cells[4]) if CLAIM_ID.match(c)}
        if claims != set(e.claims):
            problems.append(f"line {n}: §15 names claims {sorted(claims)} for {e.id}, the registry {sorted(e.claims)}")
        if e.verdict not in ERRATUM_KINDS:
            problems.append(f"{e.id}: kind {e.verdict!r} is not one of {ERRATUM_KINDS}")
    return problems


def check_extensions_table(text: str) -> list[str]:
    ids = [c[0] for _, line in _subsection(text, "### §16.2 Extensions") if line.startswith("| X-") and (c := _cells(line))]
    if ids != list(EXTENSIONS):
        return [f"§16.2 lists {ids}, EXTENSIONS has {list(EXTENSIONS)} (same ids, same order)"]
    return []


def _bibliography(text: str) -> tuple[str, set[tuple[str, str]]]:
    """SPEC.md's text before its References, and the (surname, year) of every entry there."""
    head, sep, refs = text.partition("\n## References\n")
    if not sep:
        return head, set()
    return head, {(m.group(1), m.group(2)) for line in refs.splitlines() if (m := BIB_ENTRY.match(line))}


def check_bibliography(text: str) -> list[str]:
    """(h): author-year citations, the References list and §16.2's reference column agree."""
    body, known = _bibliography(text)
    if not known:
        return ["SPEC.md has no '## References' list with entries '- Surname, ... (year). ...'"]
    problems: list[str] = []
    cited = {m.groups() for m in CITATION.finditer(body)} - NOT_CITATIONS
    problems += [f"SPEC.md cites {a} {y}, which its References do not list" for a, y in sorted(cited - known)]
    problems += [f"References list {a} ({y}), which SPEC.md cites nowhere" for a, y in sorted(known - cited)]
    for xid, description in EXTENSIONS.items():
        problems += [
            f"EXTENSIONS[{xid!r}] cites {a} {y}, which SPEC.md's References do not list"
            for a, y in sorted({m.groups() for m in CITATION.finditer(description)} - known)
        ]
    for n, line in _subsection(text, "### §16.2 Extensions"):
        cells = _cells(line)
        if not line.startswith("| X-") or len(cells) != 3:
            continue
        xid, _what, ref = cells
        works = [w.strip() for w in ref.split(";")]
        if ref == NONE:
            if xid not in OWN_EXTENSIONS:
                problems.append(f"line {n}: §16.2 gives {xid} no reference (only {sorted(OWN_EXTENSIONS)} may have none)")
            continue
        for work in works:
            m = CITATION.fullmatch(work)
            if not m:
                problems.append(f"line {n}: {xid}'s reference {work!r} is not an author-year citation like 'Schulman et al. (2017)'")
            elif m.groups() not in known:
                problems.append(f"line {n}: {xid} names {work}, which SPEC.md's References do not list")
    return problems


def check_reachable(text: str) -> list[str]:
    """(g): every claim that cites a source item appears in a row."""
    rows, _ = parse_rows(text)
    named = {c for r in rows for c in BACKTICKED.findall(r.claims)}
    problems: list[str] = []
    for c in all_claims():
        if c.id in named:
            continue
        items = [s for s in c.source if s in SOURCE_ITEMS]
        if items:  # a claim citing only extensions is reached through §16.2
            problems.append(f"claim {c.id} cites {items} but appears in no row of SPEC.md §16.1")
    return problems


def check_source_items() -> list[str]:
    """SOURCE_ITEMS numbers each section 1, 2, ... in reading order, sections in order."""
    seen: list[tuple[int, int]] = []
    for item in SOURCE_ITEMS:
        m = ITEM_ID.match(item)
        if not m:
            return [f"{item!r} is not an id S<k>.<n>"]
        seen.append((int(m.group(1)), int(m.group(2))))
    problems = []
    for (s0, n0), (s1, n1) in zip([(0, 0)] + seen, seen):
        if not ((s1 == s0 and n1 == n0 + 1) or (s1 > s0 and n1 == 1)):
            problems.append(f"S{s1}.{n1} follows S{s0}.{n0}")
    return problems


CHECKS: dict[str, Callable[[str], list[str]]] = {
    "table": check_table,
    "coverage": check_coverage,
    "verdicts": check_verdicts,
    "references": check_references,
    "claims": check_claims,
    "errata": check_errata,
    "errata_table": check_errata_table,
    "extensions_table": check_extensions_table,
    "reachable": check_reachable,
    "bibliography": check_bibliography,
}


def _spec() -> str:
    return SPEC.read_text(encoding="utf-8")


# -------------------------------------------------------------------------------- the real SPEC.md


@pytest.mark.parametrize("name", list(CHECKS))
def test_spec_traceability(name: str) -> None:
    problems = CHECKS[name](_spec())
    assert not problems, "\n".join(problems)


def test_source_items_are_numbered_in_order() -> None:
    problems = check_source_items()
    assert not problems, "\n".join(problems)


def test_table_has_rows_for_every_section() -> None:
    rows, _ = parse_rows(_spec())
    assert [r.item for r in rows if not EXTENSION_ROW.match(r.item)] == list(SOURCE_ITEMS)


# ------------------------------------------------------------------- the checks notice broken copies


def _replace(old: str, new: str) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        assert text.count(old) == 1, f"mutation anchor not unique: {old!r}"
        return text.replace(old, new)

    return mutate


def _row_of(item: str) -> str:
    lines = [line for line in _spec().splitlines() if line.startswith(f"| {item} |")]
    assert len(lines) == 1, item
    return lines[0]


def _drop_row(item: str) -> Callable[[str], str]:
    return _replace(_row_of(item) + "\n", "")


def _swap_rows(a: str, b: str) -> Callable[[str], str]:
    ra, rb = _row_of(a), _row_of(b)
    return _replace(f"{ra}\n{rb}\n", f"{rb}\n{ra}\n")


def _edit_row(item: str, old: str, new: str) -> Callable[[str], str]:
    row = _row_of(item)
    assert row.count(old) == 1, (item, old)
    return _replace(row, row.replace(old, new))


def _move_before(row_start: str, anchor: str) -> Callable[[str], str]:
    row = next(line for line in _spec().splitlines() if line.startswith(row_start)) + "\n"
    at = _row_of(anchor) + "\n"
    return lambda text: text.replace(row, "").replace(at, row + at)


BROKEN: list[tuple[str, Callable[[str], str], str]] = [
    ("missing row", _drop_row("S6.1"), "S6.1 has no row"),
    ("duplicate row", _replace(_row_of("S7.4") + "\n", _row_of("S7.4") + "\n" + _row_of("S7.4") + "\n"), "S7.4 has 2 rows"),
    ("unknown item", _edit_row("S6.10", "| S6.10 |", "| S6.11 |"), "S6.11 is not in SOURCE_ITEMS"),
    ("reading order", _swap_rows("S12.1", "S12.2"), "breaks reading order"),
    ("unescaped pipe", _edit_row("S6.1", "\\|", "|"), "7 cells, not 6"),
    ("table split by a blank line", _replace(_row_of("S6.1") + "\n", "\n" + _row_of("S6.1") + "\n"), "must start with the header"),
    ("verdict outside the vocabulary", _edit_row("S6.2", "ambiguous (E6.2)", "unclear (E6.2)"), "'unclear' is not one of"),
    ("correct with an erratum id", _edit_row("S6.6", "| correct |", "| correct (E6.4) |"), "is correct but names errata"),
    ("typo without an erratum id", _edit_row("S6.6", "| correct |", "| typo |"), "is typo but names no erratum"),
    ("verdict no erratum backs", _edit_row("S6.6", "| correct |", "| typo (E6.4) |"), "do not include it"),
    ("erratum on a correct row", _edit_row("S6.1", "incomplete (E6.1)", "correct"), "E6.1 lists S6.1, but its row"),
    ("unregistered erratum", _edit_row("S6.1", "(E6.1)", "(E6.1, E6.99)"), "E6.99, which is not a registered erratum"),
    ("erratum not named", _edit_row("S3.13", "(E3.4, E3.7)", "(E3.7)"), "E3.4 lists S3.13 but its row does not name it"),
    ("not the gravest kind", _edit_row("S6.9", "incomplete (E6.5, E6.6)", "typo (E6.5, E6.6)"), "the gravest kind"),
    ("unknown function", _edit_row("S6.6", "`reference.td_residuals`", "`reference.td_residual`"), "`reference.td_residual`, which does not exist"),
    ("private function", _edit_row("S6.6", "`reference.td_residuals`", "`reference._validate`"), "which does not exist"),
    ("no reference and no dash", _edit_row("S6.6", "`reference.td_residuals`", "td_residuals"), "names no `reference.X`"),
    ("unknown equation", _edit_row("S6.6", "| (6.4) |", "| (6.40) |"), "equation (6.40)"),
    ("unknown section", _edit_row("S12.1", "§12, ", "§21, "), "§21"),
    ("equation a table does not define", _edit_row("S11.2", "| (11.2) |", "| (11.20) |"), "equation (11.20)"),
    ("prose with an erratum id", _edit_row("S10.12", "| prose |", "| prose (E10.1) |"), "is prose but names errata"),
    ("two kinds, the lighter chosen", _edit_row("S11.7", "wrong (E11.3, E11.6)", "incomplete (E11.3, E11.6)"), "the gravest kind"),
    ("unknown claim", _edit_row("S6.6", "`GAE-LAMBDA0`", "`GAE-LAMBDA-ZERO`"), "GAE-LAMBDA-ZERO, which is not in the registry"),
    ("no claim", _edit_row("S7.7", "`A2C-ACTOR-TD-ADVANTAGE` |", "— |"), "names no claim"),
    ("unreachable claim", _edit_row("S6.9", ", `GAE-LAMBDA-RETURN`", ""), "GAE-LAMBDA-RETURN cites"),
    ("§15 items differ", _replace("| E3.2 | S3.7, S3.9 |", "| E3.2 | S3.7 |"), "E3.2's items"),
    ("§15 claims differ", _replace("| `RM-PADDING-INVARIANT` |\n| E12.6", "| `RM-LOSS-SIGN` |\n| E12.6"), "for E12.5"),
    ("§16.2 differs", _replace("| X-DPO |", "| X-DPO-LOSS |"), "§16.2 lists"),
    ("unknown extension row", _replace("| X-PR-RLOO | not in the source", "| X-PR-LOO | not in the source"), "X-PR-LOO is not in EXTENSIONS"),
    ("extension row with a source verdict", _replace("leave-one-out advantages | extension |", "leave-one-out advantages | correct |"),
     "must have the verdict 'extension'"),
    ("extension row among the source items", _move_before("| X-PR-RLOO | not in the source", "S12.9"), "before the last source item's row"),
    ("cited work missing from References", _replace("- Baird, L. (1995). Residual algorithms: reinforcement learning with function approximation. ICML.\n", ""), "cites Baird 1995"),
    ("References entry cited nowhere", _replace("double sampling, Baird 1995)", "double sampling)"), "References list Baird (1995)"),
    ("extension reference not listed", _replace("| Pardo et al. (2018) |", "| Pardo et al. (2019) |"), "X-TERMINATION names Pardo et al. (2019)"),
    ("extension without a reference", _replace("| X-GAE-FINITE | GAE's (1−λ) mix on finite rollouts | Schulman et al. (2016) |", "| X-GAE-FINITE | GAE's (1−λ) mix on finite rollouts | — |"), "gives X-GAE-FINITE no reference"),
]


@pytest.mark.parametrize(("mutate", "expected"), [(m, e) for _, m, e in BROKEN], ids=[n for n, _, _ in BROKEN])
def test_checks_notice(mutate: Callable[[str], str], expected: str) -> None:
    text = mutate(_spec())
    problems = [p for check in CHECKS.values() for p in check(text)]
    assert any(expected in p for p in problems), f"expected a problem containing {expected!r}; got {problems}"
