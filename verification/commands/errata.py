"""``errata``: per entry, the source's value beside the correct value and the margin; a summary by class."""

from __future__ import annotations

import argparse
import fnmatch
import sys
import textwrap

from ..errata import CLASS_KINDS, ERROR_KINDS, WITHDRAWN, all_errata, gap, run_entry, summary_line

NAME = "errata"
HELP = "check every erratum of the source by the rule of SPEC §15: the source's value beside the correct one"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("patterns", nargs="*", metavar="PATTERN", help="glob patterns on erratum ids, e.g. 'E3.*'")


def _wrap(label: str, text: str) -> str:
    return textwrap.fill(text, width=100, initial_indent=f"  {label:<11}", subsequent_indent=" " * 13)


def run(args: argparse.Namespace) -> int:
    errata = [e for e in all_errata() if not args.patterns or any(fnmatch.fnmatchcase(e.id, p) for p in args.patterns)]
    if not errata:
        print("no erratum matches", file=sys.stderr)
        return 2
    bad = 0
    bad_errors = 0
    for e in errata:
        group = "error" if e.verdict in ERROR_KINDS else "not an error" if e.verdict in CLASS_KINDS else ""
        print(f"{e.id}  [{e.verdict}{': ' + group if group else ''}]  source {', '.join(e.items)}  (claims: {', '.join(e.claims) or '-'})")
        print(_wrap("source:", e.source_writes))
        print(_wrap("correct:", e.correct))
        print(_wrap("why:", e.why))
        if e.readings is not None:
            print(_wrap("wrong:", f"reading {e.readings[0]}"))
            print(_wrap("right:", f"reading {e.readings[1]}"))
        if e.revision:
            print(_wrap("revised:", e.revision))
        d, problems = run_entry(e)
        if d is not None:
            print(_wrap("case:", d.case))
            print(_wrap("source ->", d.source_form))
            print(_wrap("correct ->", d.correct_form))
            print(_wrap("gap:", d.separation))
            if d.source_value is not None and d.correct_value is not None and d.margin is not None:
                rel = ">" if gap(d) > d.margin else "<="
                print(f"  {'quantity:':<11}{d.quantity}")
                print(f"  {'values:':<11}source {d.source_value:.6g}   correct {d.correct_value:.6g}   "
                      f"|difference| {gap(d):.3g} {rel} margin {d.margin:.3g}")
        for p in problems:
            print(f"  RULE BROKEN: {p}")
        if e.verdict in ERROR_KINDS:
            print(f"  {'demonstrated' if not problems else 'NOT DEMONSTRATED'}")
        elif e.verdict == WITHDRAWN:
            print(f"  withdrawn{'' if not problems else ' (INCONSISTENT)'}")
        else:
            print(f"  classified {e.verdict}, not counted as an error{'' if not problems else ' (INCOMPLETE)'}")
        print()
        bad += 1 if problems else 0
        bad_errors += 1 if problems and e.verdict in ERROR_KINDS else 0
    n_err = sum(1 for e in errata if e.verdict in ERROR_KINDS)
    print(f"{n_err - bad_errors} of {n_err} errors demonstrated")
    print(summary_line(errata))
    return 0 if bad == 0 else 1
