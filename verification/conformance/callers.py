"""Calling an implementation under a time limit, without letting it crash or hang the harness.

Two isolation levels:

- :class:`ThreadCaller` (for a Python callable): each call runs in a daemon thread and is
  abandoned after its time limit.  Catches exceptions (``SystemExit`` included), wrong outputs
  and pure-Python hangs; a hung thread keeps running in the background until the process ends.
- :class:`ProcessCaller` (for an ``module:function`` spec, what the command line uses): the
  implementation runs in a separate worker process that is killed after the time limit.  Also
  survives segmentation faults, ``os._exit`` and hangs inside C code.

After a hang or a crash the caller is *poisoned*: every later call fails at once with the same
reason, so a search never waits on the same hang twice.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Literal

import numpy as np
from numpy.typing import NDArray

from ._calls import changed_args, copy_args, to_numpy

__all__ = ["CallOutcome", "Caller", "ThreadCaller", "ProcessCaller"]

Status = Literal["ok", "raised", "bad-output", "timeout", "crashed", "poisoned"]


@dataclass
class CallOutcome:
    """What one call produced: a numpy value, or why there is none."""

    status: Status
    value: NDArray[Any] | None = None
    error: str = ""
    traceback: str = ""
    seconds: float = 0.0
    mutated: list[str] = field(default_factory=list)


class Caller:
    """Base class: ``call(args)`` never raises and never blocks longer than the time limit."""

    def __init__(self, timeout: float, first_call_timeout: float) -> None:
        self.timeout = float(timeout)
        self.first_call_timeout = float(max(first_call_timeout, timeout))
        self.calls = 0
        self.poisoned: CallOutcome | None = None

    def _limit(self) -> float:
        return self.first_call_timeout if self.calls == 0 else self.timeout

    def call(self, args: tuple[Any, ...]) -> CallOutcome:
        if self.poisoned is not None:
            return CallOutcome("poisoned", error=f"not called: the implementation {self.poisoned.status} on an earlier call ({self.poisoned.error})")
        limit = self._limit()
        out = self._call(args, limit)
        self.calls += 1
        if out.status in ("timeout", "crashed"):
            self.poisoned = out
        return out

    def _call(self, args: tuple[Any, ...], limit: float) -> CallOutcome:
        raise NotImplementedError

    def close(self) -> None:
        """Release resources (a worker process)."""

    def __enter__(self) -> "Caller":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ThreadCaller(Caller):
    """Calls a Python callable in one long-lived daemon thread, waiting at most the time limit.

    One thread serves every call (libraries such as torch set up per-thread state on first
    use, which would cost milliseconds per call with a fresh thread each time).  After a hang
    that thread is abandoned and the caller is poisoned.
    """

    def __init__(self, fn: Callable[..., Any], timeout: float = 5.0, first_call_timeout: float = 10.0) -> None:
        super().__init__(timeout, first_call_timeout)
        self.fn = fn
        self._requests: queue.Queue[tuple[tuple[Any, ...], queue.Queue[CallOutcome]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def _serve(self) -> None:
        while True:
            item = self._requests.get()
            if item is None:
                return
            args, reply = item
            reply.put(self._run(args))

    def _run(self, args: tuple[Any, ...]) -> CallOutcome:
        given = copy_args(args)
        t0 = time.perf_counter()
        try:
            out = self.fn(*given)
        except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt in user code are results too
            tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
            return CallOutcome("raised", error=f"{type(exc).__name__}: {exc}", traceback="".join(tb[-4:]), seconds=time.perf_counter() - t0)
        seconds = time.perf_counter() - t0
        try:
            value = to_numpy(out)
        except BaseException as exc:  # noqa: BLE001
            return CallOutcome("bad-output", error=f"{type(exc).__name__}: {exc}", seconds=seconds)
        return CallOutcome("ok", value=value, seconds=seconds, mutated=changed_args(args, given))

    def _call(self, args: tuple[Any, ...], limit: float) -> CallOutcome:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="conformance-call", daemon=True)
            self._thread.start()
        reply: queue.Queue[CallOutcome] = queue.Queue()
        self._requests.put((args, reply))
        try:
            return reply.get(timeout=limit)
        except queue.Empty:
            self._thread = None  # abandoned: it is still inside the implementation
            return CallOutcome("timeout", error=f"no result within the per-call time limit of {limit:g} s", seconds=limit)

    def close(self) -> None:
        if self._thread is not None and self.poisoned is None:
            self._requests.put(None)
        self._thread = None


class ProcessCaller(Caller):
    """Calls ``spec`` (``module:function`` or ``file.py:function``) in a worker process."""

    def __init__(self, spec: str, timeout: float = 5.0, first_call_timeout: float = 10.0, start_timeout: float = 120.0) -> None:
        super().__init__(timeout, first_call_timeout)
        self.spec = spec
        self.start_timeout = start_timeout
        self._proc: subprocess.Popen[bytes] | None = None
        self._queue: queue.Queue[Any] = queue.Queue()
        self._stderr: IO[bytes] | None = None

    # -- worker management -------------------------------------------------------------
    def start(self) -> str | None:
        """Start the worker and load the implementation; return an error message or None."""
        from ._worker import BOOTSTRAP, recv

        self._stderr = tempfile.TemporaryFile()
        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), root, env.get("PYTHONPATH", "")) if p)
        # One intra-op thread unless the user chose otherwise: the inputs are tiny, and thread
        # pools woken for each small op cost milliseconds per call on small machines.
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.setdefault(var, "1")
        self._proc = subprocess.Popen(
            [sys.executable, "-c", BOOTSTRAP, self.spec],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
        )
        stdout = self._proc.stdout
        assert stdout is not None

        def reader() -> None:
            while True:
                try:
                    msg = recv(stdout)
                except Exception:  # noqa: BLE001 - a torn frame means the worker died
                    msg = None
                self._queue.put(msg)
                if msg is None:
                    return

        threading.Thread(target=reader, name="conformance-reader", daemon=True).start()
        try:
            hello = self._queue.get(timeout=self.start_timeout)
        except queue.Empty:
            self._kill()
            return f"importing {self.spec} took longer than {self.start_timeout:g} s"
        if hello is None:
            return f"the worker process died while importing {self.spec} (exit code {self._exit_code()}){self._stderr_tail()}"
        if not hello.get("ready"):
            self._kill()
            return str(hello.get("error"))
        return None

    def _exit_code(self) -> int | None:
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None

    def _stderr_tail(self, n: int = 1500) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            text = self._stderr.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""
        return f"\n  worker stderr (last lines):\n    " + text[-n:].replace("\n", "\n    ") if text else ""

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    def close(self) -> None:
        if self._proc is not None:
            try:
                if self._proc.stdin is not None:
                    self._proc.stdin.close()
            except OSError:
                pass
            try:
                self._proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._kill()
            self._proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    # -- calls -------------------------------------------------------------------------
    def _call(self, args: tuple[Any, ...], limit: float) -> CallOutcome:
        from ._worker import send

        if self._proc is None:
            err = self.start()
            if err is not None:
                return CallOutcome("crashed", error=err)
        assert self._proc is not None and self._proc.stdin is not None
        try:
            send(self._proc.stdin, {"args": args})
        except (BrokenPipeError, OSError):
            return CallOutcome("crashed", error=f"the worker process is gone (exit code {self._exit_code()}){self._stderr_tail()}")
        try:
            msg = self._queue.get(timeout=limit)
        except queue.Empty:
            self._kill()
            return CallOutcome("timeout", error=f"no result within the per-call time limit of {limit:g} s (worker killed)", seconds=limit)
        if msg is None:
            code = self._exit_code()
            return CallOutcome("crashed", error=f"the worker process died during the call (exit code {code}){self._stderr_tail()}")
        status = msg["status"]
        return CallOutcome(
            status, value=msg.get("value"), error=msg.get("error", ""), traceback=msg.get("traceback", ""),
            seconds=float(msg.get("seconds", 0.0)), mutated=list(msg.get("mutated", [])),
        )


def as_float64(value: NDArray[Any]) -> NDArray[np.float64]:
    return np.asarray(value, dtype=np.float64)
