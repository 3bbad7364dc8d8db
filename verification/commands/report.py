"""``report``: run claims and write an audit report (Markdown or JSON)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

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
    text = json_report(pairs, args.profile, args.seed) if args.format == "json" else markdown_report(pairs, args.profile, args.seed)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text + "\n")
        print(f"wrote {args.output}")
    else:
        print(text)
    return 0 if all(r.passed for _, r in pairs) else 1
