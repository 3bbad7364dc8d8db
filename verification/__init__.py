"""The verification suite: claims, the exact engine, strategies, conformance and the command line."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded on first access (PEP 562): ``python -m verification --help`` stays fast
    from .registry import Claim, ClaimViolation, Impl, Measurement, all_claims, get_claim, register, select
    from .runner import ClaimResult, run_claim

__all__ = [
    "Claim",
    "ClaimResult",
    "ClaimViolation",
    "Impl",
    "Measurement",
    "all_claims",
    "get_claim",
    "register",
    "run_claim",
    "select",
]

_LAZY = {"ClaimResult": ".runner", "run_claim": ".runner"} | {
    n: ".registry" for n in ("Claim", "ClaimViolation", "Impl", "Measurement", "all_claims", "get_claim", "register", "select")
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
