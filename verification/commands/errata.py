"""``errata``: run every erratum's numerical demonstration and print both forms side by side."""

from __future__ import annotations

import argparse
import fnmatch
import sys
import textwrap
import traceback

from ..errata import all_errata

NAME = "errata"
HELP = "demonstrate every erratum of the source: the source's form beside the correct one"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("patterns", nargs="*", metavar="PATTERN", help="glob patterns on erratum ids, e.g. 'E3.*'")


def _wrap(label: str, text: str) -> str:
    return textwrap.fill(text, width=100, initial_indent=f"  {label:<10}", subsequent_indent=" " * 12)


def run(args: argparse.Namespace) -> int:
    errata = [e for e in all_errata() if not args.patterns or any(fnmatch.fnmatchcase(e.id, p) for p in args.patterns)]
    if not errata:
        print("no erratum matches", file=sys.stderr)
        return 2
    bad = 0
    for e in errata:
        print(f"{e.id}  [{e.verdict}]  source {', '.join(e.items)}  (claims: {', '.join(e.claims) or '-'})")
        print(_wrap("source:", e.source_writes))
        print(_wrap("correct:", e.correct))
        print(_wrap("why:", e.why))
        try:
            d = e.demo()
        except Exception as exc:  # a broken demonstration is a failure, reported, not a crash
            bad += 1
            print(f"  DEMO ERROR {type(exc).__name__}: {exc}")
            print(textwrap.indent("".join(traceback.format_exception(exc)[-3:]), "    "))
            print()
            continue
        print(_wrap("case:", d.case))
        print(_wrap("source ->", d.source_form))
        print(_wrap("correct ->", d.correct_form))
        print(_wrap("gap:", d.separation))
        print(f"  {'demonstrated' if d.ok else 'NOT DEMONSTRATED'}")
        print()
        bad += 0 if d.ok else 1
    print(f"{len(errata) - bad} of {len(errata)} errata demonstrated")
    return 0 if bad == 0 else 1
