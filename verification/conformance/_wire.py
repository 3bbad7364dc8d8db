"""The data-only frames between the harness and its worker process (SPEC.md §13, issue 15).

Nothing read from a frame is unpickled, evaluated or imported: a frame is

    4 bytes   big-endian length L of the rest (at most :data:`MAX_FRAME`)
    4 bytes   big-endian length H of the JSON header (at most :data:`MAX_HEADER`)
    H bytes   the header, UTF-8 JSON
    L-4-H     the raw bytes of the arrays, back to back

The header is ``{"msg": {...}, "arrays": [{"dtype", "shape", "offset", "nbytes"}, ...]}``.
``msg`` is JSON data in which an array, a numpy scalar, a tuple and a matrix operator are
tagged objects (``{"$": "array", "i": 0}``, ...); :func:`encode` writes them and
:func:`decode` rebuilds them.  Arrays are little-endian, of a dtype from :data:`DTYPES`, and
their shape must match their byte count exactly.  Anything else -- a length past a limit,
bytes that are not JSON, an unknown tag or dtype, a shape that does not fit, trailing bytes
-- raises :class:`WireError`, which the harness reports as the implementation having
corrupted the result channel.

Depends on numpy and the standard library only: the worker loads this file by path.
"""

from __future__ import annotations

import json
import math
import struct
from typing import IO, Any, Callable

import numpy as np
from numpy.typing import NDArray

__all__ = ["DTYPES", "MAX_FRAME", "MAX_HEADER", "WireError", "decode", "encode", "read_frame", "write_frame"]

#: The only dtypes an array may travel as (issue 15: floats, integers, bool).
DTYPES: frozenset[str] = frozenset(
    {"float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"}
)
#: Largest frame (after its 4-byte length), bytes.
MAX_FRAME = 256 * 2**20
#: Largest JSON header, bytes.
MAX_HEADER = 4 * 2**20
#: Most arrays in one frame, most dimensions of one array, deepest nesting of ``msg``.
MAX_ARRAYS = 4096
MAX_NDIM = 16
MAX_DEPTH = 32
#: Longest string in a message (longer error texts are cut on the sending side).
MAX_STRING = 64 * 1024


class WireError(Exception):
    """A frame that breaks the format: the sender corrupted the channel."""


class _Encoder:
    def __init__(self) -> None:
        self.arrays: list[NDArray[Any]] = []

    def array(self, a: NDArray[Any]) -> dict[str, Any]:
        name = a.dtype.name
        if name not in DTYPES:
            raise WireError(f"dtype {a.dtype} cannot travel (allowed: {', '.join(sorted(DTYPES))})")
        self.arrays.append(np.array(a, dtype=a.dtype.newbyteorder("<"), order="C"))  # keeps 0-d arrays 0-d
        return {"$": "array", "i": len(self.arrays) - 1}

    def value(self, x: Any, depth: int = 0) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("message nested too deeply")
        if isinstance(x, np.ndarray):
            return self.array(x)
        if isinstance(x, np.generic):
            if x.dtype.name not in DTYPES:
                raise WireError(f"numpy scalar of dtype {x.dtype} cannot travel")
            return {"$": "scalar", "a": self.array(np.asarray(x))}
        if x is None or isinstance(x, (bool, int)):
            return x
        if isinstance(x, str):
            return x if len(x) <= MAX_STRING else x[: MAX_STRING - 20] + " ... (cut)"
        if isinstance(x, float):
            return x if math.isfinite(x) else {"$": "float", "v": repr(x)}
        if isinstance(x, (list, tuple)):
            items = [self.value(v, depth + 1) for v in x]
            return items if isinstance(x, list) else {"$": "tuple", "v": items}
        if isinstance(x, dict):
            if not all(isinstance(k, str) for k in x):
                raise WireError("dict keys must be strings")
            return {"$": "dict", "v": {k: self.value(v, depth + 1) for k, v in x.items()}}
        matrix = getattr(x, "matrix", None)
        if type(x).__name__ == "MatrixOperator" and isinstance(matrix, np.ndarray):
            return {"$": "matop", "a": self.array(np.asarray(matrix, dtype=np.float64))}
        raise WireError(f"a {type(x).__name__} cannot travel (data only: None, bool, int, float, str, lists, tuples, dicts, numpy arrays, MatrixOperator)")


def encode(msg: Any) -> bytes:
    """``msg`` as one frame body (without its 4-byte length).  Raises :class:`WireError`."""
    enc = _Encoder()
    tree = enc.value(msg)
    descs, offset = [], 0
    for a in enc.arrays:
        descs.append({"dtype": a.dtype.name, "shape": list(a.shape), "offset": offset, "nbytes": a.nbytes})
        offset += a.nbytes
    header = json.dumps({"msg": tree, "arrays": descs}, allow_nan=False, separators=(",", ":")).encode("utf-8")
    if len(header) > MAX_HEADER:
        raise WireError(f"header of {len(header)} bytes exceeds {MAX_HEADER}")
    body = struct.pack(">I", len(header)) + header + b"".join(a.tobytes() for a in enc.arrays)
    if len(body) > MAX_FRAME:
        raise WireError(f"frame of {len(body)} bytes exceeds {MAX_FRAME}")
    return body


def _check_desc(d: Any, payload: int) -> tuple[np.dtype[Any], tuple[int, ...], int, int]:
    if not isinstance(d, dict) or set(d) != {"dtype", "shape", "offset", "nbytes"}:
        raise WireError("malformed array descriptor")
    name, shape, offset, nbytes = d["dtype"], d["shape"], d["offset"], d["nbytes"]
    if not isinstance(name, str) or name not in DTYPES:
        raise WireError(f"array dtype {name!r} is not allowed")
    if not isinstance(shape, list) or len(shape) > MAX_NDIM or not all(type(s) is int and 0 <= s for s in shape):
        raise WireError(f"array shape {shape!r} is not a list of at most {MAX_NDIM} non-negative integers")
    if type(offset) is not int or type(nbytes) is not int or offset < 0 or nbytes < 0 or offset + nbytes > payload:
        raise WireError("array bytes out of range")
    dt = np.dtype(name).newbyteorder("<")
    if math.prod(shape) * dt.itemsize != nbytes:
        raise WireError(f"array shape {tuple(shape)} of {name} needs {math.prod(shape) * dt.itemsize} bytes, frame says {nbytes}")
    return dt, tuple(shape), offset, nbytes


def decode(body: bytes, make_operator: Callable[[NDArray[np.float64]], Any] | None = None) -> Any:
    """Rebuild the message of one frame body.  Raises :class:`WireError` on any malformation.

    ``make_operator(matrix)`` rebuilds a tagged matrix operator; without it such a tag is an
    error (the parent never accepts one from the worker).
    """
    if len(body) < 4:
        raise WireError("frame shorter than its header length")
    (h,) = struct.unpack(">I", body[:4])
    if h > MAX_HEADER or 4 + h > len(body):
        raise WireError(f"header length {h} out of range")
    try:
        header = json.loads(body[4 : 4 + h].decode("utf-8"), parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise WireError(f"header is not JSON ({type(exc).__name__})") from None
    if not isinstance(header, dict) or set(header) != {"msg", "arrays"} or not isinstance(header["arrays"], list):
        raise WireError("header is not {msg, arrays}")
    descs = header["arrays"]
    if len(descs) > MAX_ARRAYS:
        raise WireError(f"more than {MAX_ARRAYS} arrays")
    payload = memoryview(body)[4 + h :]
    arrays: list[NDArray[Any]] = []
    end = 0
    for d in descs:
        dt, shape, offset, nbytes = _check_desc(d, len(payload))
        if offset != end:
            raise WireError("array bytes not back to back")
        end = offset + nbytes
        arrays.append(np.frombuffer(payload[offset:end], dtype=dt).reshape(shape).astype(dt.newbyteorder("="), copy=True))
    if end != len(payload):
        raise WireError(f"{len(payload) - end} trailing bytes after the arrays")
    used: set[int] = set()

    def arr(node: Any) -> NDArray[Any]:
        if not isinstance(node, dict) or node.get("$") != "array" or set(node) != {"$", "i"} or type(node["i"]) is not int:
            raise WireError("malformed array reference")
        i = node["i"]
        if not 0 <= i < len(arrays) or i in used:
            raise WireError(f"array reference {i} out of range or used twice")
        used.add(i)
        return arrays[i]

    def build(node: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError("message nested too deeply")
        if node is None or isinstance(node, (bool, int, float)):
            return node
        if isinstance(node, str):
            if len(node) > MAX_STRING:
                raise WireError("string too long")
            return node
        if isinstance(node, list):
            return [build(v, depth + 1) for v in node]
        if not isinstance(node, dict):
            raise WireError("unexpected JSON value")
        tag = node.get("$")
        if tag == "array":
            return arr(node)
        if tag == "scalar" and set(node) == {"$", "a"}:
            a = arr(node["a"])
            if a.shape != ():
                raise WireError("scalar with a shape")
            return a[()]
        if tag == "float" and set(node) == {"$", "v"} and node["v"] in ("nan", "inf", "-inf"):
            return float(node["v"])
        if tag == "tuple" and set(node) == {"$", "v"} and isinstance(node["v"], list):
            return tuple(build(v, depth + 1) for v in node["v"])
        if tag == "dict" and set(node) == {"$", "v"} and isinstance(node["v"], dict):
            return {str(k): build(v, depth + 1) for k, v in node["v"].items()}
        if tag == "matop" and set(node) == {"$", "a"} and make_operator is not None:
            m = arr(node["a"])
            if m.dtype != np.float64 or m.ndim != 2 or m.shape[0] != m.shape[1]:
                raise WireError("matrix operator is not a square float64 matrix")
            return make_operator(m)
        raise WireError(f"unknown tag {str(tag)[:40]!r}")

    msg = build(header["msg"], 0)
    if len(used) != len(arrays):
        raise WireError("arrays that nothing refers to")
    return msg


def _no_constant(name: str) -> Any:
    raise ValueError(f"bare {name} in JSON")


def write_frame(stream: IO[bytes], msg: Any) -> None:
    """Encode ``msg`` and write it as one frame.  Raises :class:`WireError` or OSError."""
    body = encode(msg)
    stream.write(struct.pack(">I", len(body)) + body)
    stream.flush()


def read_frame(stream: IO[bytes], make_operator: Callable[[NDArray[np.float64]], Any] | None = None) -> Any:
    """Read and decode one frame; None at a clean end of stream (no byte of a new frame).

    Raises :class:`WireError` for a torn or malformed frame (a length past :data:`MAX_FRAME`
    is refused before anything that large is read).
    """
    head = _read_exactly(stream, 4)
    if not head:
        return None
    if len(head) < 4:
        raise WireError("stream ended inside a frame length")
    (n,) = struct.unpack(">I", head)
    if n > MAX_FRAME:
        raise WireError(f"frame length {n} exceeds {MAX_FRAME}")
    body = _read_exactly(stream, n)
    if len(body) < n:
        raise WireError(f"stream ended inside a frame ({len(body)} of {n} bytes)")
    return decode(body, make_operator)


def _read_exactly(stream: IO[bytes], n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
