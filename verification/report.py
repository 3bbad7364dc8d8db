"""Reports: the oracle's results as text lines, Markdown and JSON."""

from __future__ import annotations

import json
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from typing import Any, Iterable

from .registry import Claim
from .runner import ClaimResult


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("numpy", "scipy", "torch", "hypothesis", "pg-rlhf-spec"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def result_line(res: ClaimResult) -> str:
    status = {"pass": "PASS", "fail": "FAIL", "error": "ERROR"}[res.status]
    err = f"{res.max_error:.2e}" if res.max_error != float("inf") else "inf"
    return f"{res.claim_id:<34} {status:<5}  err {err:>9} <= tol {res.tolerance:.0e}  n={res.examples:<4} {res.seconds:6.2f}s"


def claim_entry(claim: Claim, res: ClaimResult | None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": claim.id,
        "title": claim.title,
        "statement": claim.statement,
        "section": claim.section,
        "source": list(claim.source),
        "method": claim.method,
        "kind": claim.kind,
        "tolerance": claim.tolerance,
        "tolerance_reason": claim.tolerance_reason,
        "uses": list(claim.uses),
    }
    if claim.false_alarm is not None:
        d["false_alarm"] = claim.false_alarm
    if res is not None:
        d["result"] = res.to_json()
    return d


def json_report(
    pairs: Iterable[tuple[Claim, ClaimResult | None]], profile: str, seed: int, extra: dict[str, Any] | None = None
) -> str:
    pairs = list(pairs)
    doc: dict[str, Any] = {
        "tool": "python -m verification",
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "platform": platform.platform(),
        "profile": profile,
        "seed": seed,
        "summary": {
            "claims": len(pairs),
            "passed": sum(1 for _, r in pairs if r is not None and r.passed),
            "failed": sum(1 for _, r in pairs if r is not None and not r.passed),
        },
        "claims": [claim_entry(c, r) for c, r in pairs],
    }
    if extra:
        doc.update(extra)
    return json.dumps(doc, indent=2, allow_nan=False, default=str)


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|").replace("\n", " ")


def markdown_report(
    pairs: Iterable[tuple[Claim, ClaimResult | None]], profile: str, seed: int, sections: list[str] | None = None
) -> str:
    pairs = list(pairs)
    v = versions()
    n_pass = sum(1 for _, r in pairs if r is not None and r.passed)
    lines = [
        "# Verification report: policy-gradient RL and RLHF reference specification",
        "",
        f"Generated {datetime.now(timezone.utc).isoformat(timespec='seconds')} by `python -m verification report` "
        f"(profile `{profile}`, seed {seed}).",
        "",
        "Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + f"; {platform.platform()}; Python at {sys.executable}.",
        "",
        f"**{n_pass} of {len(pairs)} claims pass.**",
        "",
        "| claim | SPEC | source | kind | status | max error | tolerance | examples | time |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c, r in pairs:
        status = "not run" if r is None else r.status.upper()
        err = "" if r is None else f"{r.max_error:.2e}"
        n = "" if r is None else str(r.examples)
        t = "" if r is None else f"{r.seconds:.2f}s"
        lines.append(
            f"| `{c.id}` | {c.section} | {', '.join(c.source)} | {c.kind} | {status} | {err} | {c.tolerance:.0e} | {n} | {t} |"
        )
    lines += ["", "## Claims", ""]
    for c, r in pairs:
        lines += [
            f"### `{c.id}`: {c.title}",
            "",
            f"- **Statement.** {c.statement}",
            f"- **Where.** SPEC.md {c.section}; source item(s) {', '.join(c.source)}.",
            f"- **Method.** {c.method}",
            f"- **Tolerance.** {c.tolerance:.1e}: {c.tolerance_reason}",
        ]
        if c.false_alarm is not None:
            lines.append(f"- **False-alarm probability.** {c.false_alarm:g}")
        if r is not None:
            lines.append(f"- **Result.** {r.status.upper()}: max error {r.max_error:.3e} over {r.examples} examples in {r.seconds:.2f} s.")
            if not r.passed:
                lines += ["", "```", r.message, "```"]
        lines.append("")
    for extra in sections or []:
        lines += [extra, ""]
    return "\n".join(lines)
