"""One call of an implementation, as the worker process and the in-process caller both make it.

``invoke(fn, args, options)`` converts the canonical arguments (data: numpy arrays, Python
scalars, strings, :class:`~verification.conformance._calls.MatrixOperator`) into what the
implementation expects, calls it, and returns named numpy arrays:

- ``"value"``: the output (any numeric array type, converted by :func:`_calls.to_numpy`);
- ``"grad:<name>"``: with ``options["grad"] = {"wrt": [...], "cotangent": array}``, the
  vector–Jacobian product cotangentᵀ·∂value/∂name computed by torch autograd, for each name in
  ``wrt``; ``"nograd:<name>"`` (a 1-element array) when the output does not depend on that
  input through autograd (detached, computed in numpy, or not a tensor at all);
- ``"mutated:<name>"`` (a 1-element array) for each argument the implementation modified in
  place.

Both :mod:`._worker` (isolated, the default) and :class:`.callers.InProcessCaller` call
:func:`invoke`, so whatever it does holds under either isolation; the parent computes every
expected value and verdict from the arrays it returns.

Options (all plain data): ``inputs`` ("numpy" | "torch"), ``dtype`` ("float64" | "float32"),
``names`` and ``kinds`` (per positional argument: float | bool | mask | int | tokens | str |
operator), ``kwargs`` (keyword arguments, converted like the positional ones, kinds in
``kwarg_kinds``), ``grad`` as above.  Imported by the worker by path: numpy and the standard
library only at module level (torch is imported inside where an option asks for it).
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Mapping

import numpy as np
from numpy.typing import NDArray

if __package__:
    from . import _calls as _calls_module
else:  # loaded by path in the worker, after its sibling ``_calls``
    _calls_module = sys.modules["_conformance__calls"]

_convert: Callable[[Any], NDArray[Any]] = _calls_module.to_numpy
_Operator: type = _calls_module.MatrixOperator

__all__ = ["BadOutput", "InvokeError", "invoke", "to_numpy"]


class InvokeError(Exception):
    """The options or arguments cannot be delivered (a harness error, not the implementation's)."""


class BadOutput(Exception):
    """The implementation returned something that is not a real numeric array."""


def to_numpy(x: Any) -> NDArray[Any]:
    """What an implementation returned as a numpy array (``_calls.to_numpy``); anything that
    is not a real numeric array raises :class:`BadOutput`."""
    try:
        return _convert(x)
    except Exception as exc:  # noqa: BLE001 - a strange result object is the implementation's failure
        raise BadOutput(f"{type(exc).__name__}: {exc}") from None


def _deliver(x: Any, kind: str, framework: str, dtype: str, requires_grad: bool = False) -> Any:
    if kind in ("str",) or x is None or isinstance(x, str):
        return x
    if kind == "operator" or isinstance(x, _Operator):
        return x
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)) and kind in ("int", "float", "scalar"):
        return int(x) if kind == "int" else x
    if isinstance(x, (float, np.floating)):
        return float(x)
    if isinstance(x, (list, tuple)):
        return type(x)(_deliver(v, kind, framework, dtype) for v in x)
    if not isinstance(x, np.ndarray):
        return x
    if framework == "numpy":
        if x.dtype.kind == "f" and kind not in ("bool", "int", "tokens"):
            return x.astype(np.float32 if dtype == "float32" else np.float64)
        return x.copy()
    import torch

    if kind in ("bool",) or x.dtype == np.bool_:
        return torch.as_tensor(x.astype(bool))
    if kind in ("int", "tokens") or x.dtype.kind in "iu":
        return torch.as_tensor(x.astype(np.int64))
    t = torch.as_tensor(np.ascontiguousarray(x, dtype=np.float32 if dtype == "float32" else np.float64))
    if requires_grad:
        t = t.detach().clone().requires_grad_(True)
    return t


def _snapshot(x: Any) -> Any:
    mod = type(x).__module__
    if mod.startswith("torch"):
        return x.detach().clone()
    if isinstance(x, np.ndarray):
        return x.copy()
    return None


def _changed(before: Any, after: Any) -> bool:
    if before is None:
        return False
    if type(after).__module__.startswith("torch"):
        import torch

        a = after.detach()
        return bool(a.shape != before.shape or not torch.equal(torch.nan_to_num(a), torch.nan_to_num(before)))
    if isinstance(after, np.ndarray):
        return bool(after.shape != before.shape or not np.array_equal(after, before, equal_nan=after.dtype.kind == "f"))
    return False


def invoke(fn: Callable[..., Any], args: tuple[Any, ...], options: Mapping[str, Any]) -> dict[str, NDArray[Any]]:
    """Call ``fn`` on ``args`` under ``options`` (module docstring); exceptions from ``fn`` propagate."""
    framework = str(options.get("inputs", "numpy"))
    dtype = str(options.get("dtype", "float64"))
    if framework not in ("numpy", "torch") or dtype not in ("float64", "float32"):
        raise InvokeError(f"invoke: inputs must be numpy|torch and dtype float64|float32, got {framework!r}, {dtype!r}")
    names = list(options.get("names") or [f"argument {i}" for i in range(len(args))])
    kinds = list(options.get("kinds") or ["float"] * len(args))
    grad = options.get("grad") or None
    wrt = [str(w) for w in grad.get("wrt", [])] if grad else []
    if wrt and framework != "torch":
        raise InvokeError("invoke: gradients need inputs='torch'")
    call_args = [_deliver(a, k, framework, dtype, requires_grad=n in wrt) for a, k, n in zip(args, kinds, names)]
    kw_in = dict(options.get("kwargs") or {})
    kw_kinds = dict(options.get("kwarg_kinds") or {})
    call_kwargs = {k: _deliver(v, str(kw_kinds.get(k, "float")), framework, dtype) for k, v in kw_in.items()}
    leaves: dict[str, Any] = {n: a for n, a in zip(names, call_args) if n in wrt}
    before = [_snapshot(a) for a in call_args]
    out = fn(*call_args, **call_kwargs)
    result: dict[str, NDArray[Any]] = {"value": to_numpy(out)}
    for n, b, a in zip(names, before, call_args):
        if _changed(b, a):
            result[f"mutated:{n}"] = np.ones(1, dtype=bool)
    if wrt:
        import torch

        usable = isinstance(out, torch.Tensor) and out.requires_grad
        cot = np.asarray(grad.get("cotangent"), dtype=np.float64) if grad else np.zeros(0)
        grads: list[Any] = [None] * len(wrt)
        if usable:
            assert isinstance(out, torch.Tensor)
            ct = torch.as_tensor(cot, dtype=out.dtype).reshape(out.shape) if cot.size == out.numel() else None
            if ct is None:
                raise BadOutput(f"the output has {out.numel()} elements, the cotangent {cot.size}")
            grads = list(torch.autograd.grad(out, [leaves[w] for w in wrt], grad_outputs=ct, allow_unused=True))
        for w, g in zip(wrt, grads):
            if g is None:
                result[f"nograd:{w}"] = np.ones(1, dtype=bool)
                result[f"grad:{w}"] = np.zeros(np.shape(args[names.index(w)]))
            else:
                result[f"grad:{w}"] = g.detach().cpu().to(torch.float64).numpy()
    return result
