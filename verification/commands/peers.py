"""``peers``: run the conformance harness on real libraries (SPEC.md §13.5) and print the matrix.

Every adapter in :mod:`verification.adapters` whose library is installed is checked in this
process (thread isolation, per-call time limit); the others are listed as not installed.  The
adapters of the SPEC §17 practice targets (TRL, verl, OpenRLHF) are compared directly with
``reference.practice`` over drawn and pinned inputs (:mod:`verification.adapters._practice`),
restricted to the argument values the library can express (``space``) and under the
conventions the adapter names (``fix``).
Exit 0 when every installed adapter conforms or still shows its documented finding (SPEC.md
§13.6), 1 otherwise (a new disagreement, or a finding that no longer reproduces).
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import time
from pathlib import Path
from typing import Any

NAME = "peers"
HELP = "diff real libraries (stable-baselines3, torchrl, rlax, tianshou, TRL, verl, OpenRLHF) against the reference; print a matrix"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("patterns", nargs="*", metavar="PATTERN", help="glob patterns on 'library:entry_point' or target (default all)")
    p.add_argument("--examples", type=int, default=200, metavar="N", help="Hypothesis examples per adapter (default 200)")
    p.add_argument("--seed", type=int, default=0, metavar="S")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the matrix as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="print the full report (with the reproducer) of every disagreement")


def _threads_one() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny inputs: thread pools only add latency
    return n


def _fix_text(fix: Any) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in dict(fix).items()) or "-"


def run(args: argparse.Namespace) -> int:
    from ..adapters import all_adapters, installed_version
    from ..adapters._practice import PRACTICE_TARGETS, compare_direct
    from ..conformance import check

    adapters = [a for a in all_adapters()
                if not args.patterns or any(fnmatch.fnmatchcase(a.name, p) or fnmatch.fnmatchcase(a.target, p) or fnmatch.fnmatchcase(a.library, p) for p in args.patterns)]
    if not adapters:
        print("no adapter matches", file=sys.stderr)
        return 2
    old_threads = _threads_one()
    rows: list[dict[str, Any]] = []
    reports: list[str] = []
    bad = 0
    t_all = time.perf_counter()
    print(f"{'library':<10} {'version':<9} {'target':<18} {'entry point':<58} {'convention (--fix)':<16} result")
    for a in adapters:
        version = installed_version(a.library)
        row: dict[str, Any] = {"library": a.library, "version": version, "target": a.target, "entry_point": a.entry_point,
                               "translation": a.translation, "known_finding": a.known_finding, "fix": dict(a.fix),
                               "space": {k: list(v) for k, v in a.space.items()}, "stand_in": a.stand_in, "unavailable": a.unavailable}
        head = f"{a.library:<10} {version or '-':<9} {a.target:<18} {a.entry_point[:58]:<58} {_fix_text(a.fix)[:16]:<16}"
        if version is None:
            row["result"] = "not installed"
            print(f"{head} not installed", flush=True)
            rows.append(row)
            continue
        if a.unavailable is not None:
            row["result"] = f"no function to call: {a.unavailable}"
            print(f"{head} {row['result']}", flush=True)
            rows.append(row)
            continue
        direct = a.target in PRACTICE_TARGETS  # adapters restrict their inputs (space): always the direct comparison
        try:
            if direct:
                res: Any = compare_direct(a.target, a.fn, space=a.space, fix=a.fix, examples=args.examples, seed=args.seed)
            else:
                res = check(a.target, a.fn, examples=args.examples, seed=args.seed, isolation="thread", timeout=30.0,
                            first_call_timeout=120.0, name=a.name)
        except ImportError as exc:  # an install that is incomplete: reported, not fatal
            row["result"] = f"not importable here: {type(exc).__name__}: {exc}"[:200]
            print(f"{head} {row['result']}", flush=True)
            rows.append(row)
            bad += 1
            continue
        row.update(res.to_json())
        row["method"] = "direct vs reference.practice" if direct else "conformance harness"
        under = f" under {_fix_text(a.fix)}" if a.fix else ""
        if res.conforms:
            ratio = "" if direct else f", error/tol {res.error_ratio:.2g}"
            verdict = f"conforms{under} ({res.examples} inputs{ratio}, {res.seconds:.1f} s)"
            if a.known_finding:
                verdict += "  [documented finding no longer reproduces]"
                bad += 1
        else:
            if direct:
                f0 = res.failures[0]
                short = f0.reason if len(f0.reason) < 70 else f0.reason[:67] + "..."
                inputs = ", ".join(f"{k}={v}" for k, v in f0.literals())
                more = f" (+{len(res.failures) - 1} more)" if len(res.failures) > 1 else ""
            else:
                short = res.reason if len(res.reason) < 70 else res.reason[:67] + "..."
                inputs = ", ".join(f"{k}={v}" for k, v in (res.counterexample.literals() if res.counterexample else []))
                more = ""
            verdict = f"COUNTEREXAMPLE{under}: {short} on {inputs[:160]}{more}"
            if a.known_finding:
                verdict += f"  [documented: {a.known_finding}]"
            else:
                bad += 1
            reports.append(f"{a.name}\n{res.message()}")
        if a.stand_in:
            verdict += f"  [stand-in: {a.stand_in}]"
        row["result"] = verdict
        rows.append(row)
        print(f"{head} {verdict}", flush=True)
    if old_threads is not None:
        import torch

        torch.set_num_threads(old_threads)
    ran = len([r for r in rows if r["result"] != "not installed" and not str(r["result"]).startswith("no function")])
    print(f"\n{ran} adapters run, {bad} unexpected result(s), {time.perf_counter() - t_all:.1f} s")
    if args.verbose:
        for r in reports:
            print()
            print(r)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"seed": args.seed, "examples": args.examples, "adapters": rows}, indent=2, default=str) + "\n")
    return 0 if bad == 0 else 1
