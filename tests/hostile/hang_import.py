"""Never finishes importing (the import limit must cut it off: a usage error)."""

from __future__ import annotations

import time
from typing import Any

def _forever() -> None:
    while True:
        time.sleep(0.05)


_forever()


def bt(r_chosen: Any, r_rejected: Any) -> Any:  # never reached
    return r_chosen
