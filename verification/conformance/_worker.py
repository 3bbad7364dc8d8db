"""Worker process: loads one implementation and serves calls over its standard input/output.

Started by :class:`verification.conformance.callers.ProcessCaller` with :data:`BOOTSTRAP`,
which loads this file and its two siblings (``_calls``, ``loader``) by path, so the worker does
not pay for importing the rest of the package (scipy, hypothesis) before the implementation.
Frames are a 4-byte big-endian length and a pickle.  The protocol uses duplicates of the
original stdin/stdout; the implementation's own prints go to stderr, so they cannot corrupt a
frame.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
import time
import traceback
from typing import IO, Any

from types import ModuleType

HERE = os.path.dirname(os.path.abspath(__file__))

#: ``python -c BOOTSTRAP SPEC`` runs :func:`main` of this file without importing the package.
BOOTSTRAP = (
    "import importlib.util as u, sys; "
    f"s = u.spec_from_file_location('_conformance_worker', {os.path.join(HERE, '_worker.py')!r}); "
    "m = u.module_from_spec(s); sys.modules['_conformance_worker'] = m; s.loader.exec_module(m); m.main()"
)


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


def send(stream: IO[bytes], obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def recv(stream: IO[bytes]) -> Any:
    head = stream.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack(">I", head)
    data = stream.read(n)
    if len(data) < n:
        return None
    return pickle.loads(data)


def serve(fn: Any, proto_in: IO[bytes], proto_out: IO[bytes]) -> None:
    calls = _sibling("_calls")
    changed_args, copy_args, to_numpy = calls.changed_args, calls.copy_args, calls.to_numpy
    while True:
        req = recv(proto_in)
        if req is None:
            return
        args = req["args"]
        pristine = copy_args(args)
        t0 = time.perf_counter()
        try:
            out = fn(*args)
            seconds = time.perf_counter() - t0
        except BaseException as exc:  # noqa: BLE001 - everything the implementation raises is a result
            tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
            send(proto_out, {"status": "raised", "error": f"{type(exc).__name__}: {exc}", "traceback": "".join(tb[-4:]),
                             "seconds": time.perf_counter() - t0})
            continue
        try:
            value = to_numpy(out)
        except BaseException as exc:  # noqa: BLE001
            send(proto_out, {"status": "bad-output", "error": f"{type(exc).__name__}: {exc}", "seconds": seconds})
            continue
        send(proto_out, {"status": "ok", "value": value, "seconds": seconds, "mutated": changed_args(pristine, args)})


def main() -> None:
    proto_in = os.fdopen(os.dup(0), "rb")
    proto_out = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # anything the implementation prints goes to stderr
    spec = sys.argv[1]
    try:
        fn = _sibling("loader").load_implementation(spec)
    except BaseException as exc:  # noqa: BLE001
        send(proto_out, {"ready": False, "error": str(exc)})
        return
    send(proto_out, {"ready": True})
    serve(fn, proto_in, proto_out)


if __name__ == "__main__":
    main()
