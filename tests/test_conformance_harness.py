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
