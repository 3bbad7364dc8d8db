"""``report``: run claims and write an audit report (Markdown or JSON)."""

from __future__ import annotations

import argparse
import sys
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


def run(args: argparse.Namespace) -> int:
    claims = select(args.patterns)
    if not claims:
        print(f"no claim matches {' '.join(args.patterns)}", file=sys.stderr)
        return 2
    pairs = []
    for c in claims:
        res = run_claim(c, profile=args.profile, seed=args.seed)
        pairs.append((c, res))
        if args.output:
            print(result_line(res), flush=True)
    errata = [] if args.no_errata else run_errata()
    if args.format == "json":
        text = json_report(pairs, args.profile, args.seed, extra={"errata": errata_json(errata)} if errata else None)
    else:
        text = markdown_report(pairs, args.profile, args.seed, sections=[errata_markdown(errata)] if errata else None)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
        print(f"wrote {args.output}")
    else:
        print(text)
    errata_ok = all(d is not None and d.ok for _, d, _ in errata)
    return 0 if all(r.passed for _, r in pairs) and errata_ok else 1
