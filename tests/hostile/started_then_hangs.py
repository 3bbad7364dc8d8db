"""Writes $HOSTILE_STARTED on its first call, then hangs: the test kills the parent meanwhile."""

from __future__ import annotations

import os
import time
from typing import Any


def bt(r_chosen: Any, r_rejected: Any) -> Any:
    path = os.environ.get("HOSTILE_STARTED")
    if path:
        with open(path, "w") as f:
            f.write(str(os.getpid()))
    while True:
        time.sleep(0.05)
