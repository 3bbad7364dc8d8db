"""Leaves a busy, non-daemon thread running from its first call and returns reference + 1.

Writes the worker's process id to $HOSTILE_PIDFILE so the test can check the worker is gone
after ``check`` returns (an abandoned busy loop slowed every later check of the old harness).
"""

from __future__ import annotations

import os
import threading
from typing import Any

import reference

_started: list[threading.Thread] = []


def _spin() -> None:
    x = 0
    while True:
        x += 1


def bt(r_chosen: Any, r_rejected: Any) -> Any:
    if not _started:
        t = threading.Thread(target=_spin, daemon=False)
        t.start()
        _started.append(t)
        path = os.environ.get("HOSTILE_PIDFILE")
        if path:
            with open(path, "w") as f:
                f.write(str(os.getpid()))
    return reference.bt_loss(r_chosen, r_rejected) + 1.0
