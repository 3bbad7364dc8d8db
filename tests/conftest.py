"""Shared pytest set-up: Hypothesis profiles for tests that use @given directly.

Profiles: ``ci`` (default; derandomized, no database), ``dev`` (fewer examples), ``thorough``.
Select with HYPOTHESIS_PROFILE=...; claims run through verification.run_claim use
VERIFICATION_PROFILE (quick | thorough).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=15, deadline=None, database=None)
settings.register_profile("thorough", max_examples=1000, deadline=None, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
