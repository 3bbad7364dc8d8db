"""The light half of the harness: what travels to an implementation and back.

Imported by the worker process, so it depends on numpy only.  A :class:`Case` is one set of
canonical inputs (plain numpy: float64 arrays, bool arrays, Python floats and ints, and for
``conjugate_gradient`` a :class:`MatrixOperator`); :func:`to_numpy` turns whatever an
implementation returns (numpy, torch, jax, lists, scalars) into a numpy array.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
from numpy.typing import NDArray

__all__ = ["Case", "MatrixOperator", "to_numpy", "copy_args", "changed_args"]


class MatrixOperator:
    """x ↦ A x for a fixed SPD matrix A [n, n]: the ``matvec`` argument of ``conjugate_gradient``.

    Accepts a numpy array (returns float64 numpy), a torch tensor (returns a tensor of the same
    dtype and device) or anything numpy can convert.
    """

    def __init__(self, matrix: Any) -> None:
        self.matrix = np.array(matrix, dtype=np.float64)

    def __call__(self, x: Any) -> Any:
        mod = type(x).__module__
        if mod.startswith("torch"):
            import torch

            a = torch.as_tensor(self.matrix, dtype=x.dtype, device=x.device)
            return a @ x
        if mod.startswith("jax"):
            import jax.numpy as jnp

            return jnp.asarray(self.matrix, dtype=x.dtype) @ x
        out: NDArray[np.float64] = self.matrix @ np.asarray(x, dtype=np.float64)
        return out

    def __repr__(self) -> str:
        return f"MatrixOperator(np.array({self.matrix.tolist()!r}))"


def _literal(x: Any) -> str:
    """An exact Python literal for one canonical input (floats round-trip through repr)."""
    if isinstance(x, MatrixOperator):
        return f"MatrixOperator(np.array({x.matrix.tolist()!r}))"
    if isinstance(x, np.ndarray):
        if x.size == 0:
            return f"np.zeros({x.shape!r}, dtype=np.{x.dtype.name})"
        if x.dtype == np.bool_:
            return f"np.array({x.tolist()!r})"
        return f"np.array({x.astype(np.float64).tolist()!r})"
    if isinstance(x, (bool, np.bool_)):
        return repr(bool(x))
    if isinstance(x, (int, np.integer)):
        return repr(int(x))
    if isinstance(x, (float, np.floating)):
        return repr(float(x))
    return repr(x)


@dataclass(frozen=True, eq=False)
class Case:
    """Canonical inputs of one target, by parameter name in signature order.

    ``case.args()`` returns fresh copies (an implementation may modify its inputs in place
    without changing the case); ``case.call(fn)`` calls ``fn(*case.args())``.
    """

    target: str
    inputs: Mapping[str, Any] = field(default_factory=dict)

    def args(self) -> tuple[Any, ...]:
        return copy_args(tuple(self.inputs.values()))

    def call(self, fn: Callable[..., Any]) -> Any:
        return fn(*self.args())

    def literals(self) -> list[tuple[str, str]]:
        """(name, exact Python literal) for every input, for the reproducer."""
        return [(k, _literal(v)) for k, v in self.inputs.items()]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.literals())
        return f"Case({self.target!r}, {inner})"


def copy_args(args: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(a.copy() if isinstance(a, np.ndarray) else copy.deepcopy(a) for a in args)


def changed_args(before: tuple[Any, ...], after: tuple[Any, ...], names: tuple[str, ...] | None = None) -> list[str]:
    """Names (or positions) of array arguments an implementation modified in place."""
    out = []
    for i, (a, b) in enumerate(zip(before, after)):
        if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
            same = a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
            if not same:
                out.append(names[i] if names and i < len(names) else f"argument {i}")
    return out


def to_numpy(x: Any) -> NDArray[Any]:
    """Whatever an implementation returned, as a numpy array (dtype kept where it is numeric).

    torch tensors are detached and moved to the CPU (bfloat16 widened to float32), jax arrays
    and lists go through ``np.asarray``.  Raises TypeError for anything that is not numeric.
    """
    mod = type(x).__module__
    if mod.startswith("torch"):
        t = x.detach().cpu()
        if str(t.dtype) in ("torch.bfloat16", "torch.float16"):
            t = t.float()
        arr = np.asarray(t.numpy())
    elif isinstance(x, (tuple, list)) and any(type(v).__module__.startswith("torch") for v in x):
        arr = np.asarray([to_numpy(v) for v in x])
    else:
        arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"the result is not a real numeric array (dtype {arr.dtype}, type {type(x).__name__})")
    return arr
