"""Worker process: loads one implementation and serves calls over its standard input/output.

Started by :class:`verification.conformance.callers.ProcessCaller` as
``python -m verification.conformance._worker SPEC``.  Frames are a 4-byte big-endian length and
a pickle.  The protocol uses duplicates of the original stdin/stdout; the implementation's own
prints go to stderr, so they cannot corrupt a frame.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
import time
import traceback
from typing import Any, BinaryIO

from ._calls import changed_args, copy_args, to_numpy


def send(stream: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(struct.pack(">I", len(data)) + data)
    stream.flush()


def recv(stream: BinaryIO) -> Any:
    head = stream.read(4)
    if len(head) < 4:
        return None
    (n,) = struct.unpack(">I", head)
    data = stream.read(n)
    if len(data) < n:
        return None
    return pickle.loads(data)


def serve(fn: Any, proto_in: BinaryIO, proto_out: BinaryIO) -> None:
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
    from .loader import load_implementation

    try:
        fn = load_implementation(spec)
    except BaseException as exc:  # noqa: BLE001
        send(proto_out, {"ready": False, "error": str(exc)})
        return
    send(proto_out, {"ready": True})
    serve(fn, proto_in, proto_out)


if __name__ == "__main__":
    main()
