"""``list``: print the claim registry."""

from __future__ import annotations

import argparse

from ..registry import select

NAME = "list"
HELP = "print the claim registry (id, SPEC section, source items, kind, tolerance, title)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("patterns", nargs="*", metavar="PATTERN", help="glob patterns on claim ids")
    p.add_argument("--long", action="store_true", help="also print statement, method and tolerance reason")


def run(args: argparse.Namespace) -> int:
    claims = select(args.patterns)
    for c in claims:
        print(f"{c.id:<34} {c.section:<6} {','.join(c.source):<22} {c.kind:<16} tol {c.tolerance:.0e}  {c.title}")
        if args.long:
            print(f"    statement: {c.statement}")
            print(f"    method:    {c.method}")
            print(f"    tolerance: {c.tolerance_reason}")
    print(f"{len(claims)} claims")
    return 0
