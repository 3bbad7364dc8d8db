"""The scaled-down RLHF loop, measured exactly against the KL-regularized optimum (SPEC.md §12.L).

``python -m verification rlhf`` runs it; :func:`run_loop` is the library entry point.
"""

from __future__ import annotations

from .config import FULL, PRESETS, QUICK, Criteria, LoopConfig
from .run import STAGES, Criterion, LoopResult, Prepared, prepare, resolve_device, run_dpo, run_loop, run_ppo

__all__ = [
    "FULL",
    "PRESETS",
    "QUICK",
    "STAGES",
    "Criteria",
    "Criterion",
    "LoopConfig",
    "LoopResult",
    "Prepared",
    "prepare",
    "resolve_device",
    "run_dpo",
    "run_loop",
    "run_ppo",
]
