"""``python -m verification``: the oracle's command line.

Sub-commands live in :mod:`verification.commands`, one module each, discovered at start-up.
Exit codes: 0 success, 1 a claim (or an implementation) failed, 2 usage error.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from types import ModuleType

from . import commands as commands_pkg


def _command_modules() -> list[ModuleType]:
    mods = []
    for info in sorted(pkgutil.iter_modules(commands_pkg.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module(f"{commands_pkg.__name__}.{info.name}"))
    return mods


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="python -m verification",
        description="Executable reference specification of policy-gradient RL and RLHF: check claims, write reports, diff implementations.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    table: dict[str, ModuleType] = {}
    for mod in _command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        table[mod.NAME] = mod
    return parser, table


def main(argv: list[str] | None = None) -> int:
    parser, table = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if not args.command:
        parser.print_help()
        return 2
    # The claims evaluate many tiny torch graphs; with several intra-op threads they spend
    # milliseconds per call waiting on the pool.  A command that trains (rlhf) sets its own.
    import torch

    torch.set_num_threads(int(getattr(table[args.command], "TORCH_THREADS", 1)))
    rc: int = table[args.command].run(args)
    return rc


if __name__ == "__main__":
    sys.exit(main())
