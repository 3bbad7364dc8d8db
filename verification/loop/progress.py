"""A plain-text progress bar on standard error (no dependency).

On a terminal one line per stage is redrawn in place; elsewhere (CI logs, pipes) a line is
printed each time a stage moves by at least a tenth, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Callable as ``progress(stage, step, total, text)``."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True, width: int = 24) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._t0 = time.perf_counter()
        self._stage = ""
        self._last_decile = -1

    def __call__(self, stage: str, step: int, total: int, text: str) -> None:
        if not self.enabled:
            return
        if stage != self._stage:
            if self._stage and self.tty:
                self.stream.write("\n")
            self._stage = stage
            self._last_decile = -1
        frac = min(max(step / total if total else 1.0, 0.0), 1.0)
        filled = int(round(frac * self.width))
        bar = "#" * filled + "." * (self.width - filled)
        line = f"{stage:<13}[{bar}] {step:>5}/{total:<5} {text}  {time.perf_counter() - self._t0:6.1f}s"
        if self.tty:
            self.stream.write("\r" + line)
            if step >= total:
                self.stream.write("\n")
                self._stage = ""
        else:
            decile = int(frac * 10)
            if decile > self._last_decile or step >= total:
                self.stream.write(line + "\n")
                self._last_decile = decile
        self.stream.flush()

