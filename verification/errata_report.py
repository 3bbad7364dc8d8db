"""Errata demonstrations rendered for the audit report (Markdown and JSON)."""

from __future__ import annotations

from typing import Any

from .errata import Demo, Erratum, all_errata


def run_errata() -> list[tuple[Erratum, Demo | None, str]]:
    """Every erratum with its demonstration (None and the error text when the demo raised)."""
    out: list[tuple[Erratum, Demo | None, str]] = []
    for e in all_errata():
        try:
            out.append((e, e.demo(), ""))
        except Exception as exc:  # reported, never a crash of the report
            out.append((e, None, f"{type(exc).__name__}: {exc}"))
    return out


def errata_json(rows: list[tuple[Erratum, Demo | None, str]]) -> list[dict[str, Any]]:
    items = []
    for e, d, err in rows:
        entry: dict[str, Any] = {
            "id": e.id,
            "items": list(e.items),
            "verdict": e.verdict,
            "source_writes": e.source_writes,
            "correct": e.correct,
            "why": e.why,
            "claims": list(e.claims),
        }
        if d is not None:
            entry["demonstration"] = {
                "case": d.case,
                "source_form": d.source_form,
                "correct_form": d.correct_form,
                "separation": d.separation,
                "demonstrated": d.ok,
            }
        else:
            entry["demonstration"] = {"error": err, "demonstrated": False}
        items.append(entry)
    return items


def _md(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def errata_markdown(rows: list[tuple[Erratum, Demo | None, str]]) -> str:
    ok = sum(1 for _, d, _ in rows if d is not None and d.ok)
    lines = [
        "## Errata of the source",
        "",
        f"**{ok} of {len(rows)} errata demonstrated** (`python -m verification errata` prints the same).",
        "",
    ]
    for e, d, err in rows:
        lines += [
            f"### {e.id} ({e.verdict}; source {', '.join(e.items)})",
            "",
            f"- **Source writes.** {e.source_writes}",
            f"- **Correct.** {e.correct}",
            f"- **Why.** {e.why}",
            f"- **Claims.** {', '.join(f'`{c}`' for c in e.claims) or '—'}",
        ]
        if d is None:
            lines.append(f"- **Demonstration.** FAILED TO RUN: {err}")
        else:
            lines += [
                "",
                "| | |",
                "|---|---|",
                f"| case | {_md(d.case)} |",
                f"| source's form | {_md(d.source_form)} |",
                f"| correct form | {_md(d.correct_form)} |",
                f"| what separates them | {_md(d.separation)} |",
                f"| demonstrated | {'yes' if d.ok else 'NO'} |",
            ]
        lines.append("")
    return "\n".join(lines)
