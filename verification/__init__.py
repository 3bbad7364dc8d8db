"""The verification suite: claims, the exact engine, strategies, conformance and the command line."""

from __future__ import annotations

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
