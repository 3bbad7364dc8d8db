"""The §8-§11 strategies reach the regions their claims are about (Hypothesis `find`)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, Phase, find, settings

from reference import backtracking_line_search
from verification.strategies.importance import finite_is_cases, off_policy_cases
from verification.strategies.ppo import (
    kl_beta_cases,
    line_search_cases,
    ratio_cases,
    spd_cases,
    trust_region_cases,
)

#: generate only (no shrinking: any witness will do), deterministic
FIND = settings(max_examples=1000, database=None, derandomize=True, phases=[Phase.generate], suppress_health_check=list(HealthCheck))


def test_ratios_reach_every_side_of_the_band_with_both_signs() -> None:
    for kind in ("edge_hi", "edge_lo", "ulp_above", "ulp_below", "above", "below", "inside", "one"):
        for sign in (1.0, -1.0):
            c = find(ratio_cases(), lambda c: any(k == kind and a * sign > 0 for k, a in zip(c.kinds, c.advantages)), settings=FIND)
            i = next(i for i, (k, a) in enumerate(zip(c.kinds, c.advantages)) if k == kind and a * sign > 0)
            r, e = c.ratio[i], c.epsilon
            assert {"edge_hi": r == 1 + e, "edge_lo": r == 1 - e, "ulp_above": r > 1 + e, "ulp_below": r < 1 - e,
                    "above": r > 1 + e, "below": r < 1 - e, "inside": 1 - e < r < 1 + e, "one": r == 1.0}[kind]
    find(ratio_cases(), lambda c: bool(np.any(c.advantages == 0.0)), settings=FIND)


def test_kl_beta_cases_hit_both_edges_exactly() -> None:
    find(kl_beta_cases(), lambda c: c.kl == c.kl_target / 1.5 and 1.5 * c.kl == c.kl_target, settings=FIND)
    find(kl_beta_cases(), lambda c: c.kl == 1.5 * c.kl_target and c.kl / 1.5 == c.kl_target, settings=FIND)
    find(kl_beta_cases(), lambda c: c.kl == 0.0, settings=FIND)


def test_spd_cases_include_ill_conditioned_and_clustered() -> None:
    c = find(spd_cases(), lambda c: c.cond >= 1e8 and c.n >= 4, settings=FIND)
    np.linalg.cholesky(c.matrix)
    find(spd_cases(), lambda c: c.distinct == 2 and c.n >= 3 and c.cond >= 1e4, settings=FIND)
    find(spd_cases(), lambda c: c.n == 1, settings=FIND)


def test_trust_region_cases_include_unvisited_states_and_uncentred_advantages() -> None:
    find(trust_region_cases(), lambda c: bool(np.any(c.state_dist == 0.0)) and c.logits_old.shape[0] >= 2, settings=FIND)
    find(trust_region_cases(), lambda c: abs(float(c.advantages.sum())) > 1.0, settings=FIND)


def test_line_search_cases_accept_late_and_never() -> None:
    def outcome(c: object) -> int | None:
        from verification.strategies.ppo import LineSearchCase

        assert isinstance(c, LineSearchCase)
        return backtracking_line_search(c.objective, c.constraint, c.theta, c.step, c.max_kl, backtrack_coef=c.alpha, max_backtracks=c.max_backtracks)[1]

    find(line_search_cases(), lambda c: outcome(c) is None, settings=FIND)
    find(line_search_cases(), lambda c: (outcome(c) or 0) >= 3, settings=FIND)
    find(line_search_cases(), lambda c: outcome(c) == 0, settings=FIND)


def test_importance_cases_include_zeros_and_distinct_policies() -> None:
    find(finite_is_cases(), lambda c: bool(np.any((c.p == 0) & (c.q > 0))), settings=FIND)
    find(off_policy_cases(gamma=None), lambda c: not np.array_equal(c.logits, c.logits_old) and c.mdp.gamma < 1, settings=FIND)
