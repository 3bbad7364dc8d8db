"""Exits its process with status 0 when called (the parent must not exit 0 with it)."""

from __future__ import annotations

import os
import sys
from typing import Any


def bt(r_chosen: Any, r_rejected: Any) -> Any:
    sys.stdout.flush()
    os._exit(0)
