"""``report``: run claims and write an audit report (Markdown or JSON)."""

from __future__ import annotations

import argparse
import sys
from typing import Any
from pathlib import Path

from ..errata_report import errata_json, errata_markdown, run_errata
from ..registry import select
from ..report import json_report, markdown_report, result_line
from ..runner import PROFILE_EXAMPLES, run_claim

NAME = "report"
HELP = "run claims and write an audit report a person can cite (--format md|json)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("patterns", nargs="*", metavar="PATTERN", help="glob patterns on claim ids (default all)")
    p.add_argument("--format", choices=["md", "json"], default="md")
    p.add_argument("--output", type=Path, metavar="FILE", help="write here (default: standard output)")
    p.add_argument("--profile", choices=sorted(PROFILE_EXAMPLES), default="quick")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-errata", action="store_true", help="leave out the errata demonstrations")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the JSON form of the same run here")
    p.add_argument(
        "--diff",
        action="append",
        default=[],
        metavar="TARGET=IMPL",
        help="also diff an implementation (IMPL as for `diff`) against a conformance target and "
        "include the result; repeatable",
    )
    from ..conformance.callers import EXAMPLES

    p.add_argument("--examples", type=int, default=EXAMPLES, help=f"inputs per --diff (default {EXAMPLES})")


def run(args: argparse.Namespace) -> int:
    claims = select(args.patterns)
    if not claims:
        print(f"no claim matches {' '.join(args.patterns)}", file=sys.stderr)
        return 2
    diffs = []
    for spec in args.diff:
        target, sep, impl = spec.partition("=")
        if not sep or not target or not impl:
            print(f"--diff expects TARGET=IMPL, got {spec!r}", file=sys.stderr)
            return 2
        from ..conformance import TARGETS, ImplementationLoadError, check

        if target not in TARGETS:
            print(f"--diff: unknown target {target!r}; targets: {', '.join(TARGETS)}", file=sys.stderr)
            return 2
        try:
            diffs.append(check(target, impl, examples=args.examples, seed=args.seed, isolation="process"))
        except ImplementationLoadError as exc:
            print(f"--diff: cannot load {impl!r}: {exc}", file=sys.stderr)
            return 2
    pairs = []
    for c in claims:
        res = run_claim(c, profile=args.profile, seed=args.seed)
        pairs.append((c, res))
        if args.output:
            print(result_line(res), flush=True)
    errata = [] if args.no_errata else run_errata()
    extra: dict[str, object] = {}
    if errata:
        extra["errata"] = errata_json(errata)
    if diffs:
        extra["conformance"] = [d.to_json() for d in diffs]
    json_text = json_report(pairs, args.profile, args.seed, extra=extra or None)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json_text + "\n")
    if args.format == "json":
        text = json_text
    else:
        sections = [errata_markdown(errata)] if errata else []
        if diffs:
            sections.append(_conformance_markdown(diffs))
        text = markdown_report(pairs, args.profile, args.seed, sections=sections or None)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
        n_fail = sum(1 for _, r in pairs if not r.passed)
        print(f"\n{len(pairs) - n_fail} passed, {n_fail} failed ({len(pairs)} claims, profile {args.profile}, seed {args.seed})")
        if errata:
            print(f"{sum(1 for _, _, err in errata if not err)} of {len(errata)} errata entries hold by the rule of SPEC §15")
        print(f"wrote {args.output}" + (f" and {args.json}" if args.json else ""))
    else:
        print(text)
    errata_ok = all(not err for _, _, err in errata)
    return 0 if all(r.passed for _, r in pairs) and errata_ok and all(d.conforms for d in diffs) else 1


def _conformance_markdown(diffs: list[Any]) -> str:
    lines = [
        "## Conformance of implementations diffed in this run",
        "",
        "| target | implementation | result | inputs | largest error / tolerance | claims broken |",
        "|---|---|---|---|---|---|",
    ]
    for d in diffs:
        verdict = "conforms" if d.conforms else "DOES NOT CONFORM"
        broken = ", ".join(f"`{c}`" for c in d.claims_broken) or "—"
        lines.append(f"| `{d.target}` | `{d.implementation}` | {verdict} | {d.examples} | {d.error_ratio:.2g} | {broken} |")
    for d in diffs:
        lines += ["", f"### `{d.target}` ← `{d.implementation}`", "", "```", d.message(), "```"]
    return "\n".join(lines)
