"""``peers``: run the conformance harness on real libraries (SPEC.md §13.5) and print the matrix.

Every adapter in :mod:`verification.adapters` whose library is installed is checked in this
process (thread isolation, per-call time limit); the others are listed as not installed.
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
HELP = "diff real libraries (stable-baselines3, torchrl, rlax, tianshou, TRL) against the reference; print a matrix"


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


def run(args: argparse.Namespace) -> int:
    from ..adapters import all_adapters, installed_version
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
    print(f"{'library':<18} {'version':<9} {'target':<10} {'entry point':<46} result")
    for a in adapters:
        version = installed_version(a.library)
        row: dict[str, Any] = {"library": a.library, "version": version, "target": a.target, "entry_point": a.entry_point,
                               "translation": a.translation, "known_finding": a.known_finding}
        if version is None:
            row["result"] = "not installed"
            print(f"{a.library:<18} {'-':<9} {a.target:<10} {a.entry_point[:46]:<46} not installed", flush=True)
            rows.append(row)
            continue
        res = check(a.target, a.fn, examples=args.examples, seed=args.seed, isolation="thread", timeout=30.0,
                    first_call_timeout=120.0, name=a.name)
        row.update(res.to_json())
        if res.conforms:
            verdict = f"conforms ({res.examples} inputs, error/tol {res.error_ratio:.2g}, {res.seconds:.1f} s)"
            if a.known_finding:
                verdict += "  [documented finding no longer reproduces]"
                bad += 1
        else:
            short = res.reason if len(res.reason) < 70 else res.reason[:67] + "..."
            inputs = ", ".join(f"{k}={v}" for k, v in (res.counterexample.literals() if res.counterexample else []))
            verdict = f"COUNTEREXAMPLE: {short} on {inputs[:160]}"
            if a.known_finding:
                verdict += f"  [documented: {a.known_finding}]"
            else:
                bad += 1
            reports.append(res.message())
        row["result"] = verdict
        rows.append(row)
        print(f"{a.library:<18} {version:<9} {a.target:<10} {a.entry_point[:46]:<46} {verdict}", flush=True)
    if old_threads is not None:
        import torch

        torch.set_num_threads(old_threads)
    print(f"\n{len([r for r in rows if r['result'] != 'not installed'])} adapters run, {bad} unexpected result(s), {time.perf_counter() - t_all:.1f} s")
    if args.verbose:
        for r in reports:
            print()
            print(r)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"seed": args.seed, "examples": args.examples, "adapters": rows}, indent=2, default=str) + "\n")
    return 0 if bad == 0 else 1
