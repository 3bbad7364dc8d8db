"""Errata entries rendered for the audit report (Markdown and JSON), each with its class."""

from __future__ import annotations

from typing import Any

from .errata import CLASS_KINDS, ERROR_KINDS, Demo, Erratum, all_errata, gap, run_entry, summary_line


def run_errata() -> list[tuple[Erratum, Demo | None, str]]:
    """Every entry with its demonstration (or None) and the rule's problems ("" when it holds)."""
    out: list[tuple[Erratum, Demo | None, str]] = []
    for e in all_errata():
        d, problems = run_entry(e)
        out.append((e, d, "; ".join(problems)))
    return out


def _group(e: Erratum) -> str:
    return "error" if e.verdict in ERROR_KINDS else "not an error" if e.verdict in CLASS_KINDS else "withdrawn"


def errata_json(rows: list[tuple[Erratum, Demo | None, str]]) -> list[dict[str, Any]]:
    items = []
    for e, d, err in rows:
        entry: dict[str, Any] = {
            "id": e.id,
            "items": list(e.items),
            "verdict": e.verdict,
            "class": _group(e),
            "source_writes": e.source_writes,
            "correct": e.correct,
            "why": e.why,
            "claims": list(e.claims),
            "readings": None if e.readings is None else {"wrong": e.readings[0], "right": e.readings[1]},
            "revision": e.revision,
        }
        demo: dict[str, Any] = {"demonstrated": not err, "required": e.verdict in ERROR_KINDS}
        if err:
            demo["error"] = err
        if d is not None:
            demo.update(
                case=d.case,
                source_form=d.source_form,
                correct_form=d.correct_form,
                separation=d.separation,
                quantity=d.quantity,
                source_value=d.source_value,
                correct_value=d.correct_value,
                margin=d.margin,
            )
        entry["demonstration"] = demo
        items.append(entry)
    return items


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def errata_markdown(rows: list[tuple[Erratum, Demo | None, str]]) -> str:
    errors = [r for r in rows if r[0].verdict in ERROR_KINDS]
    ok = sum(1 for _, _, err in errors if not err)
    lines = [
        "## Errata of the source",
        "",
        f"**{ok} of {len(errors)} errors demonstrated** by the rule of SPEC §15; {summary_line([r[0] for r in rows])} "
        "(`python -m verification errata` prints the same).",
        "",
    ]
    for e, d, err in rows:
        lines += [
            f"### {e.id} ({e.verdict}{'' if e.verdict == _group(e) else ', ' + _group(e)}; source {', '.join(e.items)})",
            "",
            f"- **Source writes.** {e.source_writes}",
            f"- **Correct.** {e.correct}",
            f"- **Why.** {e.why}",
        ]
        if e.readings is not None:
            lines.append(f"- **Readings.** wrong: {e.readings[0]}; right: {e.readings[1]}")
        if e.revision:
            lines.append(f"- **Revised.** {e.revision}")
        lines.append(f"- **Claims.** {', '.join(f'`{c}`' for c in e.claims) or '—'}")
        if err:
            lines.append(f"- **Rule.** BROKEN: {_md(err)}")
        if d is not None:
            lines += [
                "",
                "| | |",
                "|---|---|",
                f"| case | {_md(d.case)} |",
                f"| source's form | {_md(d.source_form)} |",
                f"| correct form | {_md(d.correct_form)} |",
                f"| what separates them | {_md(d.separation)} |",
            ]
            if d.source_value is not None and d.correct_value is not None and d.margin is not None:
                lines.append(f"| {_md(d.quantity)} | source {d.source_value:.6g}, correct {d.correct_value:.6g}, |difference| {gap(d):.3g}, margin {d.margin:.3g} |".replace("|difference|", "\\|difference\\|"))
            lines.append(f"| demonstrated | {'yes' if not err else 'NO'} |")
        lines.append("")
    return "\n".join(lines)
