"""Worker process: loads one implementation and serves calls over its standard input/output.

Started by :class:`verification.conformance.callers.ProcessCaller` with :data:`BOOTSTRAP`,
which loads this file and its siblings (``_wire``, ``_calls``, ``_invoke``, ``loader``) by
path, so the worker does not import the rest of the package (scipy, hypothesis) before the
implementation.

The protocol runs over duplicates of the original stdin/stdout in the data-only frames of
:mod:`._wire` -- nothing is pickled in either direction.  The implementation's own stdout and
stderr both go to the worker's stderr, which the parent drains into a bounded buffer.

Requests: ``{"id": n, "args": (...), "options": {...}}``.  Replies: ``{"id": n, "ok": True,
"arrays": {name: ndarray}, "meta": {...}}`` or ``{"id": n, "ok": False, "error": "...",
"meta": {...}}``.  The worker computes nothing but the implementation's outputs; the parent
validates every reply and computes every expected value and verdict itself.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from types import ModuleType
from typing import IO, Any

HERE = os.path.dirname(os.path.abspath(__file__))

#: ``python -c BOOTSTRAP SPEC`` runs :func:`main` of this file without importing the package.
BOOTSTRAP = (
    "import importlib.util as u, sys; "
    f"s = u.spec_from_file_location('_conformance_worker', {os.path.join(HERE, '_worker.py')!r}); "
    "m = u.module_from_spec(s); sys.modules['_conformance_worker'] = m; s.loader.exec_module(m); m.main()"
)

#: Longest error text or traceback a reply carries.
MAX_TEXT = 8000


def _sibling(name: str) -> ModuleType:
    """A module of this package, imported normally or, in the bootstrapped worker, by path."""
    if __package__:
        import importlib

        return importlib.import_module(f"{__package__}.{name}")
    import importlib.util

    key = f"_conformance_{name}"
    if key in sys.modules:
        return sys.modules[key]
    spec = importlib.util.spec_from_file_location(key, os.path.join(HERE, f"{name}.py"))
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[key] = mod
    spec.loader.exec_module(mod)
    return mod


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else "... " + text[-MAX_TEXT:]


def serve(fn: Any, proto_in: IO[bytes], proto_out: IO[bytes]) -> None:
    wire, calls, inv = _sibling("_wire"), _sibling("_calls"), _sibling("_invoke")
    while True:
        try:
            req = wire.read_frame(proto_in, calls.MatrixOperator)
        except wire.WireError:
            return  # the parent never sends a malformed frame; stop rather than guess
        if req is None or not isinstance(req, dict):
            return
        rid, args, options = req.get("id"), tuple(req.get("args", ())), req.get("options") or {}
        pristine = calls.copy_args(args)
        t0 = time.perf_counter()
        try:
            arrays = inv.invoke(fn, args, options)
            seconds = time.perf_counter() - t0
        except inv.BadOutput as exc:
            _reply(wire, proto_out, {"id": rid, "ok": False, "error": _cut(str(exc)),
                                     "meta": {"status": "bad-output", "seconds": time.perf_counter() - t0}})
            continue
        except BaseException as exc:  # noqa: BLE001 - everything the implementation raises is a result
            tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
            _reply(wire, proto_out, {"id": rid, "ok": False, "error": _cut(f"{type(exc).__name__}: {exc}"),
                                     "meta": {"status": "raised", "traceback": _cut("".join(tb[-4:])), "seconds": time.perf_counter() - t0}})
            continue
        dtypes = {k: a.dtype.name for k, a in arrays.items()}
        sendable = {k: a if a.dtype.name in wire.DTYPES else a.astype("float64") for k, a in arrays.items()}
        meta = {"seconds": seconds, "mutated": calls.changed_args(pristine, args), "dtypes": dtypes}
        _reply(wire, proto_out, {"id": rid, "ok": True, "arrays": sendable, "meta": meta})


def _reply(wire: ModuleType, out: IO[bytes], msg: dict[str, Any]) -> None:
    try:
        wire.write_frame(out, msg)
    except wire.WireError as exc:  # e.g. an output larger than a frame may be
        wire.write_frame(out, {"id": msg.get("id"), "ok": False, "error": f"the result cannot be sent: {exc}",
                               "meta": {"status": "bad-output"}})


def _watch_parent(parent: int) -> None:
    """End the worker when the harness is gone (a hung call would otherwise outlive it)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def main() -> None:
    threading.Thread(target=_watch_parent, args=(os.getppid(),), name="conformance-watchdog", daemon=True).start()
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # anything the implementation prints goes to stderr, which the parent bounds
    wire = _sibling("_wire")
    _sibling("_calls")
    _sibling("_invoke")
    loader = _sibling("loader")
    spec = sys.argv[1]
    try:
        fn = loader.load_implementation(spec)
    except loader.ImplementationLoadError as exc:
        wire.write_frame(proto_out, {"ready": False, "error": _cut(str(exc))})
        return
    except BaseException as exc:  # noqa: BLE001
        wire.write_frame(proto_out, {"ready": False, "error": _cut(f"implementation {spec!r}: {type(exc).__name__}: {exc}")})
        return
    wire.write_frame(proto_out, {"ready": True})
    serve(fn, proto_in, proto_out)


if __name__ == "__main__":
    main()
