"""``diff``: check a third-party implementation against the reference on one canonical target.

    python -m verification diff TARGET IMPL [--examples N] [--seed S] [--json FILE]
                                [--inputs numpy|torch] [--dtype float64|float32] [--grad]
                                [--fix NAME=VALUE ...] [--allow CLAUSE ...] [--mask bool|float]
    python -m verification diff --list

IMPL is ``package.module:function`` (imported with the current directory on the path) or
``path/to/file.py:function``; it runs in a worker process with a per-call time limit, an
import limit, its output captured, and a data-only channel back (SPEC.md §13).
Exit codes: 0 conforms -- only from the verdict path, after the verdict is printed; 1 does not
conform (including a crash, a hang, a corrupted result channel) or no verdict was reached;
2 usage error (unknown target, an implementation that cannot be imported or whose import
passes --import-timeout, a --json path that cannot be written).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ..conformance import ConformanceResult
    from ..conformance.callers import ProcessCaller

NAME = "diff"
HELP = "diff an implementation (module:function or file.py:function) against the reference on one target"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..conformance.callers import CLAIMS_BUDGET, EXAMPLES

    p.add_argument("target", nargs="?", metavar="TARGET", help="a conformance target (see --list)")
    p.add_argument("impl", nargs="?", metavar="IMPL", help="package.module:function or path/to/file.py:function")
    p.add_argument("--list", action="store_true", help="print the targets and their canonical signatures")
    p.add_argument("--examples", type=int, default=EXAMPLES, metavar="N", help=f"Hypothesis examples after the pinned edge cases (default {EXAMPLES})")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="Hypothesis seed (default 0)")
    p.add_argument("--json", type=Path, metavar="FILE", help="also write the result as JSON")
    p.add_argument("--timeout", type=float, default=5.0, metavar="SEC", help="per-call time limit in seconds (default 5)")
    p.add_argument("--first-call-timeout", type=float, default=10.0, metavar="SEC", help="time limit of the first call (lazy set-up, JIT compilation; default 10)")
    p.add_argument("--claims-budget", type=float, default=CLAIMS_BUDGET, metavar="SEC",
                   help=f"seconds for re-running the claims with the implementation in place; those not finished are listed as not run (default {CLAIMS_BUDGET:g})")
    p.add_argument("--claims", choices=("auto", "always", "never"), default="auto",
                   help="re-run the registered claims that use the target with the implementation in place: when a value is wrong, "
                        "to name the claims it breaks (auto, the default); always (an extra search on the claims' inputs; "
                        "a few seconds more: the claims import torch); never")
    p.add_argument("--no-claims", action="store_true", help="the same as --claims never")
    p.add_argument("--inputs", choices=("numpy", "torch"), default="numpy", help="what the implementation receives: numpy arrays (default) or torch tensors (bool masks as torch.bool, tokens as torch.long)")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="float dtype of the array inputs (default float64)")
    p.add_argument("--grad", action="store_true", help="also check the vector-Jacobian product w.r.t. every differentiable input (implies --inputs torch)")
    p.add_argument("--fix", action="append", default=[], metavar="NAME=VALUE", help="pin a convention or scalar parameter (repeatable): --fix gamma=1 --fix lam=0.95 --fix done=cleanrl --fix layout=[T,N]")
    p.add_argument("--allow", action="append", default=[], metavar="CLAUSE", help="accept a known deviation on a clause id (repeatable); see --list")
    p.add_argument("--mask", choices=("bool", "float"), default="bool", help="deliver mask inputs as bool (default) or {0, 1} float")
    p.add_argument("--import-timeout", type=float, default=30.0, metavar="SEC", help="time limit on importing the implementation (default 30; past it, exit 2)")


def _list() -> int:
    from ..conformance import targets

    for t in targets():
        print(f"{t.name:<22} {t.name}{t.signature}")
        print(f"{'':<22} {t.meaning}   [reference.{t.reference_name}; SPEC.md {t.section}]")
        if t.differentiable:
            print(f"{'':<22} differentiable (--grad): {', '.join(t.differentiable)}")
        for c in t.conventions:
            alts = ", ".join(str(a) for a in c.alternatives)
            print(f"{'':<22} --fix {c.name}=  default {c.default}; alternatives {alts}")
        if t.clauses:
            print(f"{'':<22} clauses: {', '.join(c.id + (' (free)' if c.free else '') for c in t.clauses)}")
    return 0


def parse_fix(items: list[str]) -> dict[str, object]:
    """``NAME=VALUE`` pairs; VALUE is read as an int, a float, true/false/none, or else kept as text."""
    out: dict[str, object] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--fix {item!r}: expected NAME=VALUE")
        value: object
        low = raw.strip().lower()
        if low in ("true", "false"):
            value = low == "true"
        elif low == "none":
            value = None
        else:
            try:
                value = int(raw)
            except ValueError:
                try:
                    value = float(raw)
                except ValueError:
                    value = raw.strip()
        out[name.strip()] = value
    return out


def run(args: argparse.Namespace) -> int:
    if args.list:
        return _list()
    if not args.target or not args.impl:
        print("usage: python -m verification diff TARGET IMPL [--examples N] [--seed S] [--json FILE]  (or diff --list)", file=sys.stderr)
        return 2
    if args.examples < 1 or args.timeout <= 0 or args.first_call_timeout <= 0 or args.import_timeout <= 0 or args.claims_budget < 0:
        print("--examples must be >= 1; --timeout, --first-call-timeout and --import-timeout > 0; --claims-budget >= 0", file=sys.stderr)
        return 2
    # The worker imports the implementation (torch: about a second) while this process imports
    # the harness, the registry and the reference.
    from ..conformance.callers import worker_caller

    worker = worker_caller(args.impl, args.timeout, args.first_call_timeout, args.import_timeout)
    worker.spawn()
    try:
        return _run(args, worker)
    finally:
        worker.close()


def _run(args: argparse.Namespace, worker: "ProcessCaller") -> int:
    from ..conformance import ImplementationLoadError, TARGETS, check

    if args.target not in TARGETS:
        print(f"unknown target {args.target!r}; targets: {', '.join(TARGETS)}", file=sys.stderr)
        return 2
    if args.json is not None and (args.json.is_dir() or (args.json.parent.exists() and not args.json.parent.is_dir())):
        print(f"--json {args.json}: not a writable file path", file=sys.stderr)
        return 2
    try:
        fix = parse_fix(args.fix)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        res = check(args.target, args.impl, examples=args.examples, seed=args.seed, timeout=args.timeout,
                    first_call_timeout=args.first_call_timeout, claims=_claims_mode(args), isolation="process",
                    inputs=args.inputs, dtype=args.dtype, grad=args.grad, fix=fix, allow=tuple(args.allow), mask=args.mask,
                    import_timeout=args.import_timeout, claims_budget=args.claims_budget, worker=worker)
    except ImplementationLoadError as exc:
        print(f"cannot load the implementation (usage error): {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"usage error: {exc}", file=sys.stderr)
        return 2
    return _verdict(res, args.json)


def _claims_mode(args: argparse.Namespace) -> "bool | Literal['auto']":
    if args.no_claims or args.claims == "never":
        return False
    return True if args.claims == "always" else "auto"


def _verdict(res: "ConformanceResult", json_path: Path | None) -> int:
    """The one path that may exit 0: the verdict is complete, printed and (with --json) written."""
    try:
        print(res.message(), flush=True)
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(res.to_json(), indent=2) + "\n")
    except OSError as exc:
        print(f"cannot write the verdict: {exc}", file=sys.stderr)
        return 1
    return 0 if res.conforms is True else 1
