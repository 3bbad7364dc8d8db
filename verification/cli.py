"""``python -m verification``: the oracle's command line.

Sub-commands live in :mod:`verification.commands`, one module each (``NAME``, ``HELP``,
``add_arguments``, ``run``), discovered at start-up.  Only the chosen command's module is
imported: the others' names and one-line help are read from their source (``NAME`` and
``HELP`` are string constants), so ``--help`` does not import torch, scipy or the claims.

Exit codes: 0 success -- for ``diff``, only from the verdict path after a positive verdict;
1 a claim (or an implementation) failed, and also any run that did not reach its verdict
(an internal error, an interruption); 2 usage error.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType

COMMANDS_DIR = Path(__file__).resolve().parent / "commands"
PACKAGE = f"{__package__ or 'verification'}.commands"


def _command_table() -> dict[str, tuple[str, str]]:
    """``{NAME: (module name, HELP)}`` of every command module, read without importing them."""
    table: dict[str, tuple[str, str]] = {}
    for path in sorted(COMMANDS_DIR.glob("*.py")):
        if path.name.startswith("_"):
            continue
        consts: dict[str, str] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    consts[node.targets[0].id] = node.value.value
        if "NAME" in consts:
            table[consts["NAME"]] = (path.stem, consts.get("HELP", ""))
    return table


def _module(stem: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{stem}")


def _parser(only: str | None) -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="python -m verification",
        description="Executable reference specification of policy-gradient RL and RLHF: check claims, write reports, diff implementations.",
        epilog="exit codes: 0 success (diff: conforms), 1 a claim or an implementation failed (or the run did not finish), 2 usage error",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    loaded: dict[str, ModuleType] = {}
    for name, (stem, help_text) in _command_table().items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if only is None or name == only:
            mod = _module(stem)
            mod.add_arguments(p)
            loaded[name] = mod
    return parser, loaded


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    """The full parser and every command module (imports them all)."""
    return _parser(None)


def _chosen(argv: list[str]) -> str | None:
    names = _command_table()
    for a in argv:
        if a.startswith("-"):
            continue
        return a if a in names else None
    return None


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, table = _parser(_chosen(argv) or "")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return 0 if exc.code in (0, None) else 2
    if not args.command:
        parser.print_help()
        return 2
    try:
        # The claims evaluate many tiny torch graphs; with several intra-op threads they spend
        # milliseconds per call waiting on the pool.  A command that trains (rlhf) sets its own.
        # torch is not imported for this (1 s a command such as `diff` may never need): it takes
        # its intra-op thread count from OMP_NUM_THREADS when it is first imported.
        threads = int(getattr(table[args.command], "TORCH_THREADS", 1))
        if "torch" in sys.modules:
            sys.modules["torch"].set_num_threads(threads)
        else:
            os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(threads)
        rc = table[args.command].run(args)
    except KeyboardInterrupt:
        print(f"python -m verification {args.command}: interrupted before a verdict", file=sys.stderr)
        return 130
    except Exception:  # noqa: BLE001 - an internal error is never a pass
        traceback.print_exc()
        print(f"python -m verification {args.command}: internal error before a verdict (exit 1)", file=sys.stderr)
        return 1
    if not isinstance(rc, int) or isinstance(rc, bool):
        print(f"python -m verification {args.command}: returned {rc!r}, not an exit code (exit 1)", file=sys.stderr)
        return 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
