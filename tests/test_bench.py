"""``python -m verification bench gae`` runs (a smoke test of the command, not a timing test)."""

from __future__ import annotations

import pytest

from verification.cli import main


def test_bench_gae_quick_prints_our_forms_side_by_side(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "gae", "--quick", "--repeats", "2", "--budget", "0.5"]) == 0
    out = capsys.readouterr().out
    for label in ("ours: gae_fast", "ours: gae (backward recursion)", "stable-baselines3", "torchrl", "rlax", "tianshou", "floor: δ_t only",
                  "floor: argument validation", "× fast", "max|err| vs gae"):
        assert label in out
    # our two forms agree to float64 round-off (the error column of the fast form)
    fast_lines = [line for line in out.splitlines() if line.lstrip().startswith("ours: gae_fast")]
    assert len(fast_lines) == 2 and all(float(line.split()[-1]) < 1e-12 for line in fast_lines)


def test_bench_rejects_bad_options() -> None:
    assert main(["bench", "gae", "--repeats", "0"]) == 2
    assert main(["bench", "nothing"]) == 2
