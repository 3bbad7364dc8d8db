"""One call of an implementation, the same in the worker process and in-process.

Both :mod:`._worker` (isolated, the default) and :class:`.callers.InProcessCaller` call
:func:`invoke`, so whatever it does to prepare inputs and collect outputs holds under either
isolation.  It returns named numpy arrays only; the parent computes every expected value and
verdict from them.

Imported by the worker by path: numpy and the standard library only at module level (torch is
imported inside where an option asks for it).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Mapping

from numpy.typing import NDArray

if __package__:
    from ._calls import to_numpy as _convert
else:  # loaded by path in the worker, after its sibling ``_calls``
    _convert = sys.modules["_conformance__calls"].to_numpy

__all__ = ["BadOutput", "invoke", "to_numpy"]


class BadOutput(Exception):
    """The implementation returned something that is not a real numeric array."""


def to_numpy(x: Any) -> NDArray[Any]:
    """What an implementation returned as a numpy array (``_calls.to_numpy``); anything that
    is not a real numeric array raises :class:`BadOutput`."""
    try:
        return _convert(x)
    except Exception as exc:  # noqa: BLE001 - a strange result object is the implementation's failure
        raise BadOutput(f"{type(exc).__name__}: {exc}") from None


def invoke(fn: Callable[..., Any], args: tuple[Any, ...], options: Mapping[str, Any]) -> dict[str, NDArray[Any]]:
    """Call ``fn(*args)`` and return its result as named numpy arrays.

    Args:
        fn: the implementation in the target's canonical signature.
        args: the canonical inputs (numpy arrays, Python scalars, a matrix operator); the
            caller passes copies, so ``fn`` may modify them.
        options: JSON-able call options (reserved: ``inputs``, ``dtype``, ``grad``); the
            parent validates them before any call.  This version passes numpy inputs as given.
    Returns:
        ``{"value": the output as a numpy array}``.
    Raises:
        whatever ``fn`` raises (a result of the call, reported as "raised"); :class:`BadOutput`
        when the output is not numeric.
    """
    out = fn(*args)
    return {"value": to_numpy(out)}
