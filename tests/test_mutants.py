"""A claim that cannot fail verifies nothing: every mutant must be rejected by the claims it names,
and every claim must be killed by at least one mutant."""

from __future__ import annotations

import pytest

from verification import all_claims, get_claim, run_claim
from verification.mutants import Mutant, all_mutants

PAIRS = [(m, cid) for m in all_mutants() for cid in m.kills]


@pytest.mark.parametrize(("mutant", "claim_id"), PAIRS, ids=[f"{m.name}->{c}" for m, c in PAIRS])
def test_mutant_is_killed(mutant: Mutant, claim_id: str) -> None:
    res = run_claim(get_claim(claim_id), profile="quick", seed=0, impl=mutant.impl())
    assert not res.passed, f"mutant {mutant.name} ({mutant.description}) survived claim {claim_id}"
    assert claim_id in res.message and "reproduce:" in res.message


def test_every_claim_has_a_killing_mutant() -> None:
    killed = {cid for m in all_mutants() for cid in m.kills}
    missing = [c.id for c in all_claims() if c.id not in killed]
    assert not missing, f"claims no mutant breaks (they verify nothing yet): {missing}"


def test_mutants_name_real_claims_and_functions() -> None:
    import reference

    ids = {c.id for c in all_claims()}
    for m in all_mutants():
        assert set(m.kills) <= ids, (m.name, set(m.kills) - ids)
        for fn in m.overrides:
            assert hasattr(reference, fn), (m.name, fn)
