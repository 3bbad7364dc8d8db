"""``bench diff``: the wall time of ``python -m verification diff`` per target (a measurement).

For every target that ``diff --list`` prints (read from the target table, so a target added
later is measured too), it runs ``python -m verification diff TARGET
verification.conformance.examples:FN`` -- the reference's own float32 torch implementation of
that target -- as a user would, in a fresh process, ``--runs`` times, and prints the median and
the largest wall time, and the exit code (0 expected: the examples conform).  A target with
no example in ``verification/conformance/examples.py`` is listed as such.

This module defines no NAME, so it is not a sub-command of its own: ``bench`` dispatches here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``bench diff`` (added to the ``bench`` parser)."""
    g = p.add_argument_group("bench diff")
    g.add_argument("--runs", type=int, default=3, metavar="N", help="bench diff: runs per target (default 3; the median is reported)")
    g.add_argument("--examples", type=int, default=None, metavar="N", help="bench diff: pass --examples N to diff (default: diff's own default)")
    g.add_argument("--only", action="append", default=None, metavar="TARGET", help="bench diff: only this target (repeatable)")


def _example_names() -> dict[str, str]:
    """target -> ``module:function`` of its float32 example (``examples.FLOAT32``, and the §17
    targets' examples in ``examples_practice``, named after their targets)."""
    from ..conformance import examples_practice, targets
    from ..conformance.examples import FLOAT32

    out = {target: f"verification.conformance.examples:{fn.__name__}" for target, fn in FLOAT32.items()}
    for t in targets():
        if t.name not in out and callable(getattr(examples_practice, t.name, None)):
            out[t.name] = f"verification.conformance.examples_practice:{t.name}"
    return out


def run_diff(args: argparse.Namespace) -> int:
    runs = int(args.runs)
    if runs < 1 or (args.examples is not None and args.examples < 1):
        print("bench diff: --runs and --examples must be >= 1", file=sys.stderr)
        return 2
    from ..conformance import targets

    names = [t.name for t in targets()]
    if args.only:
        unknown = sorted(set(args.only) - set(names))
        if unknown:
            print(f"bench diff: unknown target(s) {', '.join(unknown)}; targets: {', '.join(names)}", file=sys.stderr)
            return 2
        names = [n for n in names if n in args.only]
    if args.quick:
        runs = 1
    examples = _example_names()
    extra = [] if args.examples is None else ["--examples", str(args.examples)]
    print("diff benchmark (a measurement, not a test): wall time of `python -m verification diff TARGET "
          "verification.conformance.examples:FN" + (" " + " ".join(extra) if extra else "") + "` in a fresh process;")
    print(f"median and max of {runs} run(s) per target; machine: {os.cpu_count()} CPU(s), "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"{'target':<24} {'median s':>9} {'max s':>8}  exit codes")
    medians: list[float] = []
    bad = 0
    for name in names:
        fn = examples.get(name)
        if fn is None:
            print(f"{name:<24} {'-':>9} {'-':>8}  no float32 example in verification/conformance/examples.py or examples_practice.py")
            continue
        times, codes = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "verification", "diff", name, fn, *extra],
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times.append(time.perf_counter() - t0)
            codes.append(proc.returncode)
        med = statistics.median(times)
        medians.append(med)
        bad += any(c != 0 for c in codes)
        print(f"{name:<24} {med:>9.2f} {max(times):>8.2f}  {','.join(map(str, codes))}", flush=True)
    if medians:
        print(f"over {len(medians)} targets: median of the per-target medians {statistics.median(medians):.2f} s, "
              f"largest {max(medians):.2f} s")
    if bad:
        print(f"{bad} target(s) did not exit 0 with their float32 example (run the diff by hand to see why)")
    return 0
