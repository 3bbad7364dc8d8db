"""The rollout strategies reach the interesting regions (SPEC.md §6 boundary cases)."""

from __future__ import annotations

from typing import Callable

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy

from verification.strategies.rollouts import Rollout, rollouts

REGIONS: list[tuple[str, Callable[[Rollout], bool]]] = [
    ("T = 1", lambda r: r.rewards.shape[0] == 1),
    ("termination at t = 0", lambda r: bool(r.terminated[0]) and r.rewards.shape[0] > 1),
    ("truncation at t = T-1", lambda r: bool(r.truncated[-1]) and r.rewards.shape[0] > 2),
    ("termination mid-rollout", lambda r: r.rewards.shape[0] > 4 and bool(r.terminated[1:-1].any())),
    ("truncation mid-rollout", lambda r: r.rewards.shape[0] > 4 and bool(r.truncated[1:-1].any())),
    ("back-to-back ends", lambda r: bool(np.any(r.done[:-1] & r.done[1:]))),
    ("both flags on one step", lambda r: bool(np.any(r.terminated & r.truncated))),
    ("no episode end", lambda r: r.rewards.shape[0] > 5 and not r.done.any()),
    ("gamma = 0", lambda r: r.gamma == 0.0),
    ("gamma = 1 and lam = 1", lambda r: r.gamma == 1.0 and r.lam == 1.0),
    ("lam = 0", lambda r: r.lam == 0.0),
    ("gamma strictly inside", lambda r: 0.0 < r.gamma < 1.0 and r.gamma not in (0.5, 0.9, 0.95, 0.99)),
    ("negative and positive rewards", lambda r: bool((r.rewards < 0).any() and (r.rewards > 0).any())),
    ("wide values", lambda r: bool(np.abs(r.values).max() > 20)),
]


def _regions_hit(strategy: SearchStrategy[Rollout], regions: list[tuple[str, Callable[[Rollout], bool]]], n: int) -> set[str]:
    hit: set[str] = set()

    @settings(max_examples=n, database=None, derandomize=True, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(r: Rollout) -> None:
        hit.update(name for name, pred in regions if pred(r))

    collect()
    return hit


def test_rollouts_reach_every_region() -> None:
    hit = _regions_hit(rollouts(max_t=24), REGIONS, 500)
    missing = [name for name, _ in REGIONS if name not in hit]
    assert not missing, f"rollouts() never produced: {missing}"


def test_batched_and_consistent_reach() -> None:
    batched = [("N > 1 with an episode end", lambda r: r.rewards.ndim == 2 and r.rewards.shape[1] > 1 and bool(r.done.any()))]
    assert _regions_hit(rollouts(max_t=24, batched=True), batched, 200) == {batched[0][0]}
    seen: list[Rollout] = []

    @settings(max_examples=200, database=None, derandomize=True, phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(rollouts(max_t=24, consistent=True))
    def check(r: Rollout) -> None:
        inside = ~r.done[:-1]
        assert np.array_equal(r.next_values[:-1][inside], r.values[1:][inside])
        if r.rewards.shape[0] > 3 and r.done[:-1].any():
            seen.append(r)

    check()
    assert seen, "consistent rollouts never had an episode end before the last step"
