"""Small-tensor torch helpers (private).

The reference's torch computations are tiny (tens of elements), where an intra-op thread pool
only adds synchronization cost; on a loaded machine each parallel region can take milliseconds.
:func:`single_thread` runs a block on one intra-op thread and restores the caller's setting.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator


@contextmanager
def single_thread() -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(1)``; the previous value is restored after."""
    import torch

    previous = torch.get_num_threads()
    if previous == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
