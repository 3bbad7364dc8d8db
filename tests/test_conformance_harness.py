"""The harness's own error paths: an implementation that raises, returns NaN, the wrong shape,
not an array, hangs, exits or kills its process is reported as not conforming, with the reason,
and the harness neither crashes nor hangs; the command line's exit codes."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from verification.cli import main
from verification.conformance import ImplementationLoadError, check, load_implementation
from verification.conformance.callers import ProcessCaller, ThreadCaller

#: The misbehaving implementations, imported by name as the command line would.
impls: Any = importlib.import_module("tests.conformance_impls")
ROOT = Path(__file__).resolve().parent.parent
IMPLS = "tests/conformance_impls.py"
FAST = {"examples": 10, "claims": False, "timeout": 0.5, "first_call_timeout": 0.5}


@pytest.mark.parametrize(
    ("fn", "kind", "words"),
    [
        (impls.bt_raises, "raised", "RuntimeError: boom"),
        (impls.bt_nan, "non-finite", "non-finite output nan"),
        (impls.bt_wrong_shape, "shape", "wrong shape"),
        (impls.bt_returns_text, "bad-output", "not a real numeric array"),
        (impls.bt_exits, "raised", "SystemExit"),
    ],
    ids=["raises", "nan", "wrong-shape", "not-an-array", "sys-exit"],
)
def test_misbehaving_implementation_is_reported(fn: Any, kind: str, words: str) -> None:
    res = check("bt_loss", fn, **FAST)  # type: ignore[arg-type]
    assert not res.conforms
    assert words in res.reason, res.reason
    assert "reproduce (paste into python):" in res.message()


def test_hang_is_cut_off_in_a_thread() -> None:
    t0 = time.perf_counter()
    res = check("bt_loss", impls.bt_hangs, isolation="in-process", **FAST)  # type: ignore[arg-type]
    assert time.perf_counter() - t0 < 10
    assert not res.conforms and "hung" in res.reason and "0.5 s" in res.reason
    assert res.counterexample is not None


def test_thread_caller_is_poisoned_after_a_hang() -> None:
    c = ThreadCaller(impls.bt_hangs, timeout=0.2, first_call_timeout=0.2)
    args = (np.zeros(1), np.zeros(1))
    assert c.call(args).status == "timeout"
    out = c.call(args)
    assert out.status == "poisoned" and "earlier call" in out.error


@pytest.mark.parametrize(
    ("name", "words"),
    [("bt_hangs", "hung"), ("bt_kills_process", "crashed"), ("bt_raises", "RuntimeError"), ("bt_wrong_shape", "wrong shape")],
)
def test_process_isolation_survives_everything(name: str, words: str) -> None:
    t0 = time.perf_counter()
    res = check("bt_loss", f"{IMPLS}:{name}", **FAST)  # type: ignore[arg-type]
    assert time.perf_counter() - t0 < 20
    assert not res.conforms and words in res.reason, res.reason


def test_process_worker_keeps_stdout_clean_and_passes_copies() -> None:
    res = check("bt_loss", f"{IMPLS}:bt_prints", examples=10, claims=False)
    assert res.conforms, res.message()
    res = check("bt_loss", f"{IMPLS}:bt_mutates", examples=10, claims=False)
    assert res.conforms and any("modifies its input arrays" in n for n in res.notes)
    res = check("bt_loss", impls.bt_mutates, examples=10, claims=False)
    assert res.conforms and any("modifies its input arrays" in n for n in res.notes)


def test_process_caller_reports_worker_death_with_stderr() -> None:
    c = ProcessCaller(f"{IMPLS}:bt_kills_process", timeout=5)
    assert c.start() is None
    out = c.call((np.zeros(1), np.zeros(1)))
    assert out.status == "crashed" and "exit code 7" in out.error
    c.close()


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("tests.conformance_broken_module:f", "importing failed"),
        ("no_such_module_xyz:f", "No module named"),
        (f"{IMPLS}:missing", "has no attribute"),
        (f"{IMPLS}:NOT_CALLABLE", "not callable"),
        ("tests/nope.py:f", "no such file"),
        ("no-colon", "expected 'package.module:function'"),
    ],
)
def test_load_errors_are_usage_errors(spec: str, words: str) -> None:
    with pytest.raises(ImplementationLoadError) as info:
        load_implementation(spec)
    assert words in str(info.value)
    with pytest.raises(ImplementationLoadError):
        check("bt_loss", spec, examples=5, claims=False)


def test_dotted_function_and_module_spec() -> None:
    assert load_implementation("tests.conformance_impls:Losses.bt") is impls.Losses.bt
    res = check("bt_loss", "tests.conformance_impls:Losses.bt", examples=10, claims=False)
    assert res.conforms
    assert check("bt_loss", "tests.conformance_impls:bt_ok", examples=5, claims=False).snippet == ""


def test_cli_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "bt_loss", f"{IMPLS}:bt_ok", "--examples", "10", "--no-claims"]) == 0
    assert "bt_loss: CONFORMS" in capsys.readouterr().out
    out_json = tmp_path / "r.json"
    assert main(["diff", "bt_loss", f"{IMPLS}:bt_nan", "--examples", "10", "--json", str(out_json)]) == 1
    text = capsys.readouterr().out
    assert "DOES NOT CONFORM" in text and "reproduce (paste into python):" in text
    doc = json.loads(out_json.read_text())
    assert doc["conforms"] is False and doc["target"] == "bt_loss"
    assert main(["diff", "no_such_target", f"{IMPLS}:bt_ok"]) == 2
    assert main(["diff", "bt_loss", "no_such_module_xyz:f"]) == 2
    assert main(["diff", "bt_loss"]) == 2
    assert main(["diff", "bt_loss", f"{IMPLS}:bt_ok", "--examples", "0"]) == 2


def test_cli_list_prints_every_target(capsys: pytest.CaptureFixture[str]) -> None:
    from verification.conformance import targets

    assert main(["diff", "--list"]) == 0
    out = capsys.readouterr().out
    for t in targets():
        assert f"{t.name}{t.signature}" in out


def test_cli_end_to_end_in_a_subprocess() -> None:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "verification", "diff", "bt_loss", f"{IMPLS}:bt_hangs", "--timeout", "0.5", "--first-call-timeout", "0.5",
                           "--examples", "5"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "hung" in proc.stdout
    assert time.perf_counter() - t0 < 60


def test_peers_matrix_lists_uninstalled_libraries(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever is installed here, a library reported missing is listed as such and not run.
    import verification.adapters as adapters

    monkeypatch.setattr(adapters, "installed_version", lambda library: None)
    assert main(["peers", "--examples", "5"]) == 0
    out = capsys.readouterr().out
    for a in adapters.all_adapters():
        assert a.library in out
    assert out.count("not installed") == len(adapters.all_adapters())
    assert main(["peers", "no-such-library"]) == 2


# -- messages, exit codes and speed (issue 10 items 8 and 9) -----------------------------------

def test_no_claims_prints_no_claims_line_and_a_raise_breaks_no_claim(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diff", "bt_loss", f"{IMPLS}:bt_ok", "--examples", "5", "--no-claims"]) == 0
    out = capsys.readouterr().out
    assert "CONFORMS" in out and "claims" not in out
    res = check("bt_loss", f"{IMPLS}:bt_raises", examples=5)  # claims on: the call failed, not a claim
    assert not res.conforms and res.kind == "raised"
    assert "claims broken" not in res.message() and res.claims_broken == []
    res = check("bt_loss", f"{IMPLS}:bt_nan", examples=5)
    assert "claims broken" in res.message()


def test_error_tolerance_and_ratio_are_reported_at_one_index() -> None:
    from verification.conformance.examples import FLOAT32

    for res in (check("gae", FLOAT32["gae"], examples=20, claims=False, isolation="in-process"),
                check("bt_loss", impls.bt_nan, examples=5, claims=False, isolation="in-process"),
                check("returns", "verification.conformance.wrong:_ret_half", examples=20, claims=False)):
        doc = res.to_json()
        if res.conforms:
            assert res.index is not None and res.tolerance > 0
            assert res.max_error / res.tolerance == pytest.approx(res.error_ratio, rel=1e-12)
        elif res.kind == "mismatch":
            assert res.max_error / res.tolerance == pytest.approx(res.error_ratio, rel=1e-12)
            assert doc["index"] == list(res.index or ())
        else:
            assert doc["error_ratio"] == "inf"


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("def f(:\n    pass\n", "SyntaxError in"),
        ("import no_such_dependency_xyz\n", "install the package that provides it (e.g. pip install no_such_dependency_xyz)"),
        ("def g(a, b):\n    return a\n", "has no attribute 'f' (it defines: g); fix the name"),
    ],
    ids=["syntax", "missing-dependency", "no-such-function"],
)
def test_import_failures_are_one_line_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, words: str) -> None:
    (tmp_path / "impl.py").write_text(source)
    assert main(["diff", "bt_loss", f"{tmp_path / 'impl.py'}:f", "--examples", "3", "--no-claims"]) == 2
    err = capsys.readouterr().err.strip()
    assert words in err and len(err.splitlines()) == 1, err


def test_import_reference_loads_neither_torch_nor_scipy_signal() -> None:
    code = ("import sys, reference; heavy = [m for m in ('torch', 'scipy.signal') if m in sys.modules]; "
            "from reference import ppo_clip_torch, discounted_returns; "
            "assert all(hasattr(reference, n) for n in reference.__all__); "
            "print(heavy, 'torch' in sys.modules, float(discounted_returns([1.0, 1.0], 0.5)[0]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "True", "1.5"], out.stdout


def test_help_imports_no_command_module() -> None:
    code = ("import sys; from verification.cli import main; rc = main(['--help']); "
            "print(rc, sorted(m for m in ('torch', 'scipy', 'hypothesis', 'reference', 'verification.registry') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "0 []", out.stdout + out.stderr


def test_bench_diff_times_every_listed_target(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from verification.commands import bench_diff
    from verification.conformance import targets
    from verification.conformance.examples import FLOAT32

    calls: list[list[str]] = []

    def fake_run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        calls.append(cmd)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)  # the module bench_diff calls
    assert main(["bench", "diff", "--runs", "2"]) == 0
    out = capsys.readouterr().out
    for t in targets():
        assert any(line.split()[:1] == [t.name] for line in out.splitlines()), t.name
    from verification.conformance import examples_practice

    # every target with a float32 example: examples.FLOAT32, or a function of examples_practice named after it
    with_example = [t.name for t in targets() if t.name in FLOAT32 or callable(getattr(examples_practice, t.name, None))]
    assert len(with_example) == len(targets())
    assert len(calls) == 2 * len(with_example)
    assert all(c[2:4] == ["verification", "diff"] for c in calls)
    monkeypatch.undo()
    assert main(["bench", "diff", "--only", "bt_loss", "--runs", "1", "--examples", "3"]) == 0  # a real run
    row = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("bt_loss")]
    assert row and row[0].split()[-1] == "0", row


# ------------------------------------------------------------------ claims modes, budgets, speed


def test_claims_auto_runs_them_only_when_a_value_is_wrong(capsys: pytest.CaptureFixture[str]) -> None:
    from verification.conformance.examples import FLOAT32

    ok = check("returns", FLOAT32["returns"], examples=10, isolation="in-process")  # claims="auto", the default
    assert ok.conforms and ok.claims_skipped and not ok.claims_run and ok.claims_checked == []
    assert "claims:    not re-run with it in place" in ok.message() and ok.to_json()["claims_skipped"] is True
    always = check("returns", FLOAT32["returns"], examples=10, isolation="in-process", claims=True)
    assert always.claims_run and not always.claims_skipped and "VF-REGRESSION" in always.claims_checked
    bad = check("returns", "verification.conformance.wrong:_ret_half", examples=10, claims_budget=1.0)
    assert not bad.conforms and bad.claims_run and bad.claims_broken
    with pytest.raises(ValueError, match="claims"):
        check("returns", FLOAT32["returns"], claims="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="claims_budget"):
        check("returns", FLOAT32["returns"], claims_budget=-1.0)
    spec = "verification.conformance.examples:returns"
    assert main(["diff", "returns", spec, "--examples", "5", "--claims", "always"]) == 0
    assert "hold with it in place" in capsys.readouterr().out
    assert main(["diff", "returns", spec, "--examples", "5", "--claims", "never"]) == 0
    assert "claims" not in capsys.readouterr().out
    assert main(["diff", "returns", spec, "--examples", "5", "--claims-budget", "-1"]) == 2


def test_a_claim_cut_by_the_budget_is_not_run_rather_than_held_or_broken() -> None:
    # TD-UNBIASED-ADVANTAGE enumerates an MDP's trajectories, one call per column (about 2000
    # calls per example): with a 0.3 s budget it stops inside the claim.
    from verification.conformance.examples import FLOAT32

    t0 = time.perf_counter()
    res = check("td_residuals", FLOAT32["td_residuals"], examples=5, isolation="in-process", claims=True, claims_budget=0.3)
    assert res.conforms and "TD-UNBIASED-ADVANTAGE" in res.claims_not_run
    assert "TD-UNBIASED-ADVANTAGE" not in res.claims_checked and not res.claims_broken
    assert "claims not run (time budget" in res.message()
    assert time.perf_counter() - t0 < 15.0  # the whole claim takes about 20 s


def test_shrinking_stops_at_its_budget_with_a_counterexample_that_still_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    from verification.conformance import evaluate, get_target, harness
    from verification.conformance.callers import InProcessCaller
    from verification.conformance.wrong import family

    w = [w for w in family("conjugate_gradient") if w.name == "wrong-beta"][0]
    monkeypatch.setattr(harness, "SHRINK_BUDGET", 0.0)  # cut at the first shrink step
    res = check("conjugate_gradient", w.fn, examples=100, pinned=False, claims=False, discover=False, isolation="in-process", **w.options)
    assert not res.conforms and res.counterexample is not None
    assert "the smallest failing input by then" in res.found_by
    again = evaluate(get_target("conjugate_gradient"), InProcessCaller(w.fn), res.counterexample)
    assert not again.ok  # the reported input reproduces the failure


def test_the_worker_module_chain_imports_no_harness() -> None:
    # `diff` spawns the worker before it imports the harness, so the worker's import of the
    # implementation (torch: about a second) overlaps the harness's own imports.
    code = ("import sys; import verification.conformance.callers as c; "
            "print(sorted(m for m in ('torch', 'scipy', 'hypothesis', 'reference', 'verification.registry', "
            "'verification.conformance.harness') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr
    code = ("import verification.conformance as vc, verification.conformance.harness; "
            "print(callable(vc.targets), len(vc.targets()) == len(vc.TARGETS))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.split() == ["True", "True"], out.stdout + out.stderr
