"""Prints 1 MB to stdout and to stderr per call and returns reference + 1."""

from __future__ import annotations

import sys
from typing import Any

import reference

LINE = "flood " * 170 + "\n"  # ~1 kB


def bt(r_chosen: Any, r_rejected: Any) -> Any:
    sys.stdout.write(LINE * 1000)
    sys.stderr.write(LINE * 1000)
    return reference.bt_loss(r_chosen, r_rejected) + 1.0
