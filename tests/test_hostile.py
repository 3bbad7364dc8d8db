"""Code under test cannot fool the oracle (issue 15): the data-only channel, exit codes, isolation.

Each hostile implementation in tests/hostile/ tries one way to make the harness accept a wrong
``bt_loss`` or to end it with exit 0; each must come out as "does not conform" (exit 1) or as a
usage error (exit 2), from the command line and from ``check()`` with its default isolation.
The attacks that would end their process with 0 if they worked run in a subprocess, so that a
successful attack fails the test instead of ending the test run with 0.
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from verification.conformance import ImplementationLoadError, MatrixOperator, check
from verification.conformance._wire import MAX_FRAME, WireError, decode, encode, read_frame, write_frame

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = "tests/hostile"
QUICK = ["--examples", "5", "--no-claims", "--timeout", "10", "--first-call-timeout", "20"]


def _cli(impl: str, *extra: str, env: dict[str, str] | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "verification", "diff", "bt_loss", impl, *QUICK, *extra],
                          capture_output=True, text=True, cwd=ROOT, timeout=timeout, env={**os.environ, **(env or {})})


API_SCRIPT = """
import json, sys
from verification.conformance import check
res = check("bt_loss", sys.argv[1], examples=5, claims=False, timeout=10.0, first_call_timeout=20.0)
print(json.dumps({"conforms": res.conforms, "reason": res.reason, "kind": res.kind}))
sys.exit(0 if res.conforms else 1)
"""


def _api_in_subprocess(impl: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", API_SCRIPT, impl], capture_output=True, text=True, cwd=ROOT, timeout=180,
                          env={**os.environ, **env})


# -- the channel ------------------------------------------------------------------------------

def test_pickle_payload_corrupts_the_channel_and_is_never_unpickled(tmp_path: Path) -> None:
    sentinel = tmp_path / "pwned"
    env = {"HOSTILE_SENTINEL": str(sentinel)}
    proc = _cli(f"{HOSTILE}/pickle_payload.py:bt", env=env)
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "DOES NOT CONFORM" in proc.stdout and "corrupted the result channel" in proc.stdout, proc.stdout
    api = _api_in_subprocess(f"{HOSTILE}/pickle_payload.py:bt", env)
    assert api.returncode == 1, (api.returncode, api.stdout, api.stderr)
    out = json.loads(api.stdout.strip().splitlines()[-1])
    assert out["conforms"] is False and out["kind"] == "corrupted" and "corrupted the result channel" in out["reason"]
    assert not sentinel.exists(), "the parent unpickled the worker's payload"


def test_exit_zero_in_the_worker_is_a_crash_not_a_pass() -> None:
    proc = _cli(f"{HOSTILE}/exit_zero.py:bt")
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "DOES NOT CONFORM" in proc.stdout and "exit code 0" in proc.stdout
    api = _api_in_subprocess(f"{HOSTILE}/exit_zero.py:bt", {})
    assert api.returncode == 1 and json.loads(api.stdout.strip().splitlines()[-1])["kind"] == "crashed", api.stdout


def test_patching_the_reference_at_import_changes_nothing_in_the_parent() -> None:
    proc = _cli(f"{HOSTILE}/patch_reference.py:bt")
    assert proc.returncode == 1 and "DOES NOT CONFORM" in proc.stdout, (proc.stdout, proc.stderr)
    import reference

    before = reference.bt_loss
    res = check("bt_loss", f"{HOSTILE}/patch_reference.py:bt", examples=5, claims=False)
    assert not res.conforms and res.kind == "mismatch", res.message()
    assert reference.bt_loss is before  # nothing leaked into this process
    assert check("bt_loss", "tests.conformance_impls:bt_ok", examples=5, claims=False).conforms
    assert not check("bt_loss", "tests.conformance_impls:bt_nan", examples=5, claims=False).conforms


def test_flooding_output_is_captured_bounded_and_not_passed_through(capfd: pytest.CaptureFixture[str]) -> None:
    proc = _cli(f"{HOSTILE}/flood.py:bt")
    assert proc.returncode == 1 and "DOES NOT CONFORM" in proc.stdout
    assert len(proc.stdout) + len(proc.stderr) < 200_000, len(proc.stdout)  # it printed >= 2 MB per call
    assert "bytes printed" in proc.stdout and "flood flood" in proc.stdout  # the last lines are in the report
    capfd.readouterr()
    res = check("bt_loss", f"{HOSTILE}/flood.py:bt", examples=5, claims=False)
    seen = capfd.readouterr()
    assert not res.conforms and "flood" not in seen.out + seen.err
    assert 0 < len(res.output) < 70_000 and "bytes printed" in res.output
    assert int(res.output.split()[0]) >= 2_000_000


def test_an_import_that_never_returns_is_a_usage_error_under_the_limit() -> None:
    t0 = time.perf_counter()
    proc = _cli(f"{HOSTILE}/hang_import.py:bt", "--import-timeout", "2")
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "import limit of 2 s" in proc.stderr and proc.stdout == ""
    with pytest.raises(ImplementationLoadError, match="import limit of 1.5 s"):
        check("bt_loss", f"{HOSTILE}/hang_import.py:bt", examples=5, claims=False, import_timeout=1.5)
    assert time.perf_counter() - t0 < 120


def _gone(pid: int, wait: float = 5.0) -> bool:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie (exited, not yet reaped by whoever inherited it) is gone too
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                return True
        except (OSError, IndexError):
            pass
        time.sleep(0.05)
    return False


def test_an_abandoned_busy_thread_dies_with_its_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pidfile = tmp_path / "pid"
    proc = _cli(f"{HOSTILE}/busy_thread.py:bt", env={"HOSTILE_PIDFILE": str(pidfile)})
    assert proc.returncode == 1 and "DOES NOT CONFORM" in proc.stdout
    assert _gone(int(pidfile.read_text()))
    pidfile.unlink()
    monkeypatch.setenv("HOSTILE_PIDFILE", str(pidfile))
    res = check("bt_loss", f"{HOSTILE}/busy_thread.py:bt", examples=5, claims=False)
    assert not res.conforms and res.kind == "mismatch"
    assert _gone(int(pidfile.read_text())), "the worker with the busy thread is still running"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_a_parent_killed_mid_run_never_exits_0(tmp_path: Path, sig: int) -> None:
    started = tmp_path / "started"
    proc = subprocess.Popen([sys.executable, "-m", "verification", "diff", "bt_loss", f"{HOSTILE}/started_then_hangs.py:bt",
                             "--timeout", "120", "--first-call-timeout", "120", "--no-claims"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "HOSTILE_STARTED": str(started)})
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert started.exists(), "the implementation was never called"
        proc.send_signal(sig)
        rc = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = proc.stdout.read().decode() if proc.stdout else ""
    assert rc != 0, out
    assert "CONFORMS" not in out
    worker = int(started.read_text())
    assert _gone(worker, wait=10.0), "the worker outlived its parent"


# -- the frame format -------------------------------------------------------------------------

def _frame(header: Any, payload: bytes = b"") -> bytes:
    h = json.dumps(header).encode()
    return struct.pack(">I", len(h)) + h + payload


def test_frames_round_trip_data_exactly() -> None:
    arrays = {name: np.arange(6).reshape(2, 3).astype(name) for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8")}
    arrays["bool"] = np.array([[True, False], [False, True]])
    arrays["empty"] = np.zeros((0, 4))
    arrays["nan"] = np.array([np.nan, np.inf, -np.inf, 5e-324, 1.7976931348623157e308])
    msg = {"args": (1, 2.5, float("nan"), True, None, "s", [1, [2]], np.float32(0.1), np.int64(-3)), "arrays": arrays,
           "op": MatrixOperator(np.eye(2) * 3.0)}
    back = decode(encode(msg), MatrixOperator)
    assert back["args"][:2] == (1, 2.5) and np.isnan(back["args"][2]) and back["args"][3:7] == (True, None, "s", [1, [2]])
    assert type(back["args"][3]) is bool and type(back["args"][0]) is int
    assert back["args"][7] == np.float32(0.1) and back["args"][7].dtype == np.float32 and back["args"][8] == -3
    for k, a in arrays.items():
        assert back["arrays"][k].dtype == a.dtype and back["arrays"][k].shape == a.shape
        assert np.array_equal(back["arrays"][k], a, equal_nan=a.dtype.kind == "f")
    assert np.array_equal(back["op"](np.ones(2)), [3.0, 3.0])


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (pickle.dumps({"ok": True, "value": 1}), "header length"),
        (b"\x00\x00\x00\x05{oops", "not JSON"),
        (_frame({"msg": {"ok": True}, "arrays": [{"dtype": "object", "shape": [1], "offset": 0, "nbytes": 8}]}, b"\0" * 8), "not allowed"),
        (_frame({"msg": {"$": "array", "i": 0}, "arrays": [{"dtype": "float64", "shape": [3], "offset": 0, "nbytes": 16}]}, b"\0" * 16), "needs 24 bytes"),
        (_frame({"msg": {"$": "array", "i": 0}, "arrays": [{"dtype": "float64", "shape": [10**12], "offset": 0, "nbytes": 8}]}, b"\0" * 8), "needs"),
        (_frame({"msg": {"$": "array", "i": 0}, "arrays": [{"dtype": "float64", "shape": [1], "offset": 0, "nbytes": 8}]}, b"\0" * 9), "trailing"),
        (_frame({"msg": {"$": "array", "i": 1}, "arrays": [{"dtype": "float64", "shape": [1], "offset": 0, "nbytes": 8}]}, b"\0" * 8), "out of range"),
        (_frame({"msg": 1, "arrays": [{"dtype": "float64", "shape": [1], "offset": 0, "nbytes": 8}]}, b"\0" * 8), "nothing refers"),
        (_frame({"msg": {"$": "pickle", "v": "gASV"}, "arrays": []}), "unknown tag"),
        (_frame({"msg": {"$": "matop", "a": {"$": "array", "i": 0}}, "arrays": [{"dtype": "float64", "shape": [1, 1], "offset": 0, "nbytes": 8}]}, b"\0" * 8), "unknown tag"),
        (struct.pack(">I", 26) + b'{"msg": NaN, "arrays": []}', "not JSON"),
        (_frame({"msg": 1}), "{msg, arrays}"),
        (_frame([1, 2]), "{msg, arrays}"),
    ],
    ids=["pickle", "not-json", "object-dtype", "short-bytes", "huge-shape", "trailing", "bad-ref", "unused-array", "unknown-tag",
         "operator-from-worker", "bare-nan", "no-arrays-key", "not-a-dict"],
)
def test_malformed_frames_are_refused(body: bytes, words: str) -> None:
    with pytest.raises(WireError, match=words.replace("{", r"\{").replace("}", r"\}")):
        decode(body)  # the parent decodes the worker's frames with no operator factory


def test_read_frame_refuses_oversized_and_torn_frames(tmp_path: Path) -> None:
    import io

    with pytest.raises(WireError, match="exceeds"):
        read_frame(io.BytesIO(struct.pack(">I", MAX_FRAME + 1)))
    buf = io.BytesIO()
    write_frame(buf, {"x": np.ones(3)})
    data = buf.getvalue()
    assert np.array_equal(read_frame(io.BytesIO(data))["x"], np.ones(3))
    assert read_frame(io.BytesIO(b"")) is None
    with pytest.raises(WireError, match="inside a frame"):
        read_frame(io.BytesIO(data[:-1]))
    with pytest.raises(WireError, match="cannot travel"):
        encode({"x": np.array([1 + 2j])})
    with pytest.raises(WireError, match="cannot travel"):
        encode({"f": print})


# -- the default isolation --------------------------------------------------------------------

def test_check_isolates_by_default_and_in_process_is_explicit() -> None:
    impls: Any = importlib.import_module("tests.conformance_impls")

    res = check("bt_loss", impls.bt_kills_process, examples=5, claims=False)  # would end this process in-process
    assert not res.conforms and res.kind == "crashed" and "exit code 7" in res.reason
    with pytest.raises(ValueError, match="isolation='in-process'"):
        check("bt_loss", lambda a, b: a, examples=5, claims=False)
    assert check("bt_loss", lambda a, b: impls.bt_ok(a, b), examples=5, claims=False, isolation="in-process").conforms
    with pytest.raises(ValueError, match="isolation"):
        check("bt_loss", impls.bt_ok, examples=5, claims=False, isolation="threads")  # type: ignore[arg-type]
