"""Calling an implementation under a time limit, without letting it crash, hang or fool the harness.

Two isolation levels; both make each call through :func:`._invoke.invoke`:

- :class:`ProcessCaller` (the default of ``check()`` and what the command line uses): the
  implementation runs in a separate worker process (``module:function`` or
  ``file.py:function``) that is killed after its time limit.  It survives exceptions,
  segmentation faults, ``os._exit``, hangs inside C code, threads left running, and
  monkeypatching at import (the parent computes every expected value).  The channel carries
  data only (:mod:`._wire`); a reply that breaks the format is the implementation's failure
  ("corrupted the result channel").  The worker's stdout and stderr are drained into a
  bounded buffer whose last lines go into the report; they never reach the caller's output.
  Importing the implementation has a limit of its own (``import_timeout``, default 30 s).
- :class:`InProcessCaller` (``isolation="in-process"``; ``ThreadCaller`` is the old name): each
  call runs in one daemon thread of the caller's own process and is abandoned after its time
  limit.  Fast, but it trusts the code: an implementation can patch the reference, exit the
  process or print without bound.  Use it only for your own functions.

After a hang, a crash or a corrupted reply the caller is *poisoned*: every later call fails
at once with the same reason, so a search never waits on the same hang twice.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Literal, Mapping

import numpy as np
from numpy.typing import NDArray

from . import _invoke
from ._calls import changed_args, copy_args
from ._wire import WireError, read_frame, write_frame

__all__ = ["CallOutcome", "Caller", "InProcessCaller", "OutputBuffer", "ProcessCaller", "ThreadCaller", "worker_caller", "CLAIMS_BUDGET", "EXAMPLES", "IMPORT_TIMEOUT"]

Status = Literal["ok", "raised", "bad-output", "timeout", "crashed", "corrupted", "poisoned"]

#: Default limit on importing an implementation in the worker, seconds.
IMPORT_TIMEOUT = 30.0

#: Default time for re-running the registered claims with the implementation in place, seconds
#: (a claim still running when it is spent stops at its next call and is listed as not run).
CLAIMS_BUDGET = 5.0
#: Default number of Hypothesis examples after the pinned edge cases (Hypothesis's own default;
#: every mutant of the test suite is rejected within it).
EXAMPLES = 100
#: Set in the worker's environment (``check()`` refuses to run there: a script without a
#: ``__main__`` guard would otherwise start workers without end).
WORKER_ENV = "VERIFICATION_CONFORMANCE_WORKER"


@dataclass
class CallOutcome:
    """What one call produced: named numpy arrays (``value`` first), or why there are none."""

    status: Status
    value: NDArray[Any] | None = None
    error: str = ""
    traceback: str = ""
    seconds: float = 0.0
    mutated: list[str] = field(default_factory=list)
    arrays: dict[str, NDArray[Any]] = field(default_factory=dict)
    dtype: str = ""


class Caller:
    """Base class: ``call(args)`` never raises and never blocks longer than the time limit."""

    def __init__(self, timeout: float, first_call_timeout: float, options: Mapping[str, Any] | None = None) -> None:
        self.timeout = float(timeout)
        self.first_call_timeout = float(max(first_call_timeout, timeout))
        self.options: dict[str, Any] = dict(options or {})
        self.calls = 0
        self.poisoned: CallOutcome | None = None

    def _limit(self) -> float:
        return self.first_call_timeout if self.calls == 0 else self.timeout

    def call(self, args: tuple[Any, ...], options: Mapping[str, Any] | None = None) -> CallOutcome:
        if self.poisoned is not None:
            return CallOutcome("poisoned", error=f"not called: the implementation {self.poisoned.status} on an earlier call ({self.poisoned.error})")
        limit = self._limit()
        out = self._call(args, dict(self.options if options is None else options), limit)
        self.calls += 1
        if out.status in ("timeout", "crashed", "corrupted"):
            self.poisoned = out
        return out

    def _call(self, args: tuple[Any, ...], options: dict[str, Any], limit: float) -> CallOutcome:
        raise NotImplementedError

    def output_tail(self) -> str:
        """The last lines the implementation printed (empty where nothing is captured)."""
        return ""

    def close(self) -> None:
        """Release resources (a worker process)."""

    def __enter__(self) -> "Caller":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _outcome(arrays: dict[str, NDArray[Any]], seconds: float, mutated: list[str], dtype: str = "") -> CallOutcome:
    value = arrays.get("value")
    return CallOutcome("ok", value=value, seconds=seconds, mutated=mutated, arrays=arrays,
                       dtype=dtype or ("" if value is None else str(value.dtype)))


class InProcessCaller(Caller):
    """Calls a Python callable in one long-lived daemon thread of this process (trusts the code).

    One thread serves every call (libraries such as torch set up per-thread state on first
    use, which would cost milliseconds per call with a fresh thread each time).  After a hang
    that thread is abandoned and the caller is poisoned.
    """

    def __init__(self, fn: Callable[..., Any], timeout: float = 5.0, first_call_timeout: float = 10.0,
                 options: Mapping[str, Any] | None = None) -> None:
        super().__init__(timeout, first_call_timeout, options)
        self.fn = fn
        self._requests: queue.Queue[tuple[tuple[Any, ...], dict[str, Any], queue.Queue[CallOutcome]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def _serve(self) -> None:
        while True:
            item = self._requests.get()
            if item is None:
                return
            args, options, reply = item
            reply.put(self._run(args, options))

    def _run(self, args: tuple[Any, ...], options: dict[str, Any]) -> CallOutcome:
        given = copy_args(args)
        t0 = time.perf_counter()
        try:
            arrays = _invoke.invoke(self.fn, given, options)
        except _invoke.BadOutput as exc:
            return CallOutcome("bad-output", error=str(exc), seconds=time.perf_counter() - t0)
        except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt in user code are results too
            tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
            return CallOutcome("raised", error=f"{type(exc).__name__}: {exc}", traceback="".join(tb[-4:]), seconds=time.perf_counter() - t0)
        return _outcome(arrays, time.perf_counter() - t0, changed_args(args, given))

    def _call(self, args: tuple[Any, ...], options: dict[str, Any], limit: float) -> CallOutcome:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="conformance-call", daemon=True)
            self._thread.start()
        reply: queue.Queue[CallOutcome] = queue.Queue()
        self._requests.put((args, options, reply))
        try:
            return reply.get(timeout=limit)
        except queue.Empty:
            self._thread = None  # abandoned: it is still inside the implementation
            return CallOutcome("timeout", error=f"no result within the per-call time limit of {limit:g} s", seconds=limit)

    def close(self) -> None:
        if self._thread is not None and self.poisoned is None:
            self._requests.put(None)
        self._thread = None


#: The old name of :class:`InProcessCaller`.
ThreadCaller = InProcessCaller


class OutputBuffer:
    """Drains a pipe in a thread, keeping only its last ``limit`` bytes and a byte count."""

    def __init__(self, stream: IO[bytes], limit: int = 64 * 1024) -> None:
        self.limit = limit
        self.total = 0
        self._tail = bytearray()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._drain, args=(stream,), name="conformance-output", daemon=True)
        self._thread.start()

    def _drain(self, stream: IO[bytes]) -> None:
        while True:
            try:
                chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
            except (OSError, ValueError):
                return
            if not chunk:
                return
            with self._lock:
                self.total += len(chunk)
                self._tail += chunk
                if len(self._tail) > self.limit:
                    del self._tail[: len(self._tail) - self.limit]

    def tail(self, lines: int = 8, width: int = 160) -> str:
        """The last ``lines`` lines (each cut to ``width`` characters), with what was dropped."""
        with self._lock:
            total, data = self.total, bytes(self._tail)
        if not total:
            return ""
        text = data.decode("utf-8", "replace").rstrip("\n").splitlines()
        shown = [ln if len(ln) <= width else ln[:width] + " ..." for ln in text[-lines:]]
        head = f"{total} bytes printed" + (f", last {len(shown)} lines:" if shown else "")
        return "\n".join([head, *shown])

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


def _is_reply(msg: Any, rid: int) -> bool:
    """A reply of the agreed shape to request ``rid`` (anything else corrupts the channel)."""
    if not isinstance(msg, dict) or msg.get("id") != rid or not isinstance(msg.get("ok"), bool):
        return False
    meta = msg.get("meta", {})
    if not isinstance(meta, dict):
        return False
    if msg["ok"]:
        arrays = msg.get("arrays")
        return (set(msg) <= {"id", "ok", "arrays", "meta"} and isinstance(arrays, dict) and "value" in arrays
                and all(isinstance(k, str) and isinstance(v, np.ndarray) for k, v in arrays.items()))
    return set(msg) <= {"id", "ok", "error", "meta"} and isinstance(msg.get("error"), str)


def _number(x: Any) -> float:
    return float(x) if isinstance(x, (int, float)) and not isinstance(x, bool) and x == x and 0 <= x < 1e9 else 0.0


class ProcessCaller(Caller):
    """Calls ``spec`` (``module:function`` or ``file.py:function``) in a worker process."""

    def __init__(self, spec: str, timeout: float = 5.0, first_call_timeout: float = 10.0, start_timeout: float = IMPORT_TIMEOUT,
                 options: Mapping[str, Any] | None = None, extra_path: list[str] | None = None) -> None:
        super().__init__(timeout, first_call_timeout, options)
        self.spec = spec
        self.start_timeout = float(start_timeout)
        self.extra_path = list(extra_path or [])
        self._proc: subprocess.Popen[bytes] | None = None
        self._queue: queue.Queue[Any] = queue.Queue()
        self._output: OutputBuffer | None = None
        self._next_id = 0
        self._spawned_at = 0.0

    # -- worker management -------------------------------------------------------------
    def spawn(self) -> None:
        """Start the worker process without waiting for it: it imports the implementation while
        this process goes on (the CLI spawns it before importing the harness).  :meth:`start`
        waits for it; the import limit counts from here."""
        if self._proc is not None:
            return
        from ._worker import BOOTSTRAP

        env = dict(os.environ)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        path = [os.getcwd(), root, *self.extra_path, env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(p for p in path if p))
        # One intra-op thread unless the user chose otherwise: the inputs are tiny, and thread
        # pools woken for each small op cost milliseconds per call on small machines.
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env.setdefault(var, "1")
        env[WORKER_ENV] = "1"
        self._proc = subprocess.Popen(
            [sys.executable, "-c", BOOTSTRAP, self.spec],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            start_new_session=True,  # its own process group: closing kills whatever it started
        )
        assert self._proc.stdout is not None and self._proc.stderr is not None
        self._output = OutputBuffer(self._proc.stderr)
        stdout = self._proc.stdout

        def reader() -> None:
            while True:
                try:
                    msg = read_frame(stdout)
                except WireError as exc:
                    self._queue.put(("corrupted", str(exc)))
                    return
                except (OSError, ValueError):
                    msg = None
                self._queue.put(msg)
                if msg is None:
                    return

        threading.Thread(target=reader, name="conformance-reader", daemon=True).start()
        self._spawned_at = time.perf_counter()

    def start(self) -> str | None:
        """Start the worker (unless :meth:`spawn` did) and wait until it has loaded the
        implementation; return an error message or None."""
        self.spawn()
        left = self.start_timeout - (time.perf_counter() - self._spawned_at)
        try:
            hello = self._queue.get(timeout=max(left, 0.01))
        except queue.Empty:
            self._kill()
            return f"importing {self.spec} took longer than the import limit of {self.start_timeout:g} s{self._tail()}"
        if hello is None:
            return f"the worker process died while importing {self.spec} (exit code {self._exit_code()}){self._tail()}"
        if isinstance(hello, dict) and hello == {"ready": True}:
            return None
        self._kill()
        if isinstance(hello, dict) and set(hello) == {"ready", "error"} and hello["ready"] is False and isinstance(hello["error"], str):
            return hello["error"]
        return f"the worker corrupted the result channel while importing {self.spec}{self._tail()}"

    def _exit_code(self) -> int | None:
        if self._proc is None:
            return None
        try:
            return self._proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None

    def output_tail(self) -> str:
        if self._output is None:
            return ""
        self._output.join(0.2 if self._proc is None or self._proc.poll() is not None else 0.0)
        return self._output.tail()

    def _tail(self) -> str:
        text = self.output_tail()
        return ("\n  worker output: " + text.replace("\n", "\n    ")) if text else ""

    def _kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except OSError:
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
            # No graceful exit to wait for: the worker holds nothing of ours, and torch's own
            # shutdown would cost a few hundred milliseconds per diff.
            self._kill()  # also whatever it left running in its process group
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self._proc = None

    # -- calls -------------------------------------------------------------------------
    def _call(self, args: tuple[Any, ...], options: dict[str, Any], limit: float) -> CallOutcome:
        if self._proc is None:
            err = self.start()
            if err is not None:
                return CallOutcome("crashed", error=err)
        assert self._proc is not None and self._proc.stdin is not None
        self._next_id += 1
        rid = self._next_id
        try:
            write_frame(self._proc.stdin, {"id": rid, "args": tuple(args), "options": options})
        except WireError as exc:
            raise TypeError(f"the harness cannot send these inputs to the worker: {exc}") from None
        except (BrokenPipeError, OSError, ValueError):
            return CallOutcome("crashed", error=f"the worker process is gone (exit code {self._exit_code()}){self._tail()}")
        t0 = time.perf_counter()
        try:
            msg = self._queue.get(timeout=limit)
        except queue.Empty:
            self._kill()
            return CallOutcome("timeout", error=f"no result within the per-call time limit of {limit:g} s (worker killed){self._tail()}", seconds=limit)
        if msg is None:
            code = self._exit_code()
            return CallOutcome("crashed", error=f"the worker process died during the call (exit code {code}){self._tail()}",
                               seconds=time.perf_counter() - t0)
        if isinstance(msg, tuple) or not _is_reply(msg, rid):
            self._kill()
            why = msg[1] if isinstance(msg, tuple) else "a reply of the wrong shape"
            return CallOutcome("corrupted", error=f"the implementation corrupted the result channel ({why}; worker killed){self._tail()}")
        meta = msg.get("meta", {})
        seconds = _number(meta.get("seconds"))
        if not msg["ok"]:
            status: Status = "bad-output" if meta.get("status") == "bad-output" else "raised"
            tb = meta.get("traceback")
            return CallOutcome(status, error=msg["error"], traceback=tb if isinstance(tb, str) else "", seconds=seconds)
        mutated = meta.get("mutated")
        mutated = [m for m in mutated if isinstance(m, str)][:64] if isinstance(mutated, list) else []
        dtypes = meta.get("dtypes")
        dtype = dtypes.get("value") if isinstance(dtypes, dict) else None
        return _outcome(msg["arrays"], seconds, mutated, dtype[:20] if isinstance(dtype, str) else "")


def as_float64(value: NDArray[Any]) -> NDArray[np.float64]:
    return np.asarray(value, dtype=np.float64)


def worker_caller(spec: str, timeout: float = 5.0, first_call_timeout: float = 10.0,
                  import_timeout: float = IMPORT_TIMEOUT) -> ProcessCaller:
    """A :class:`ProcessCaller` for ``spec`` whose worker sees this process's import path too."""
    extra = [p for p in sys.path if isinstance(p, str) and p and os.path.isdir(p)]
    return ProcessCaller(spec, timeout=timeout, first_call_timeout=first_call_timeout, start_timeout=import_timeout, extra_path=extra)
