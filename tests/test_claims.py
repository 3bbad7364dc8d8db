"""Every registered claim passes on the reference (one pytest test per claim id)."""

from __future__ import annotations

import os

import pytest

from verification import Claim, all_claims, run_claim

PROFILE = os.environ.get("VERIFICATION_PROFILE", "quick")


@pytest.mark.parametrize("claim", all_claims(), ids=lambda c: c.id)
def test_claim_holds_on_reference(claim: Claim) -> None:
    res = run_claim(claim, profile=PROFILE, seed=0)
    assert res.passed, res.message
    assert res.examples >= 1
