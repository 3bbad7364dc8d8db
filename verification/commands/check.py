"""``check``: run claims and print one line per claim plus a summary."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..registry import select
from ..report import json_report, result_line
from ..runner import PROFILE_EXAMPLES, run_claim

NAME = "check"
HELP = "run claims (all by default; glob patterns on ids) and print one line per claim"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("patterns", nargs="*", metavar="PATTERN", help="glob patterns on claim ids, e.g. 'PG-*'")
    p.add_argument("--profile", choices=sorted(PROFILE_EXAMPLES), default="quick", help="Hypothesis effort (default quick)")
    p.add_argument("--seed", type=int, default=0, help="Hypothesis seed (default 0)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the JSON report here")
    p.add_argument("-v", "--verbose", action="store_true", help="print the full message of every failure")


def run(args: argparse.Namespace) -> int:
    claims = select(args.patterns)
    if not claims:
        print(f"no claim matches {' '.join(args.patterns)}", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    pairs = []
    for c in claims:
        res = run_claim(c, profile=args.profile, seed=args.seed)
        pairs.append((c, res))
        print(result_line(res), flush=True)
    failed = [r for _, r in pairs if not r.passed]
    for r in failed:
        print()
        print(r.message)
    total = time.perf_counter() - t0
    print(f"\n{len(pairs) - len(failed)} passed, {len(failed)} failed ({len(pairs)} claims, profile {args.profile}, seed {args.seed}, {total:.1f} s)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json_report(pairs, args.profile, args.seed))
    return 0 if not failed else 1
