"""Small helpers shared by the target families."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
from numpy.typing import NDArray

from ._base import CanonicalCall

FloatArray = NDArray[np.float64]


def _f(x: Any) -> FloatArray:
    return np.asarray(x, dtype=np.float64)


def _b(x: Any) -> NDArray[np.bool_]:
    return np.asarray(x).astype(bool)


def elementwise_split(names: tuple[str, ...], scalars: tuple[str, ...]) -> Callable[[tuple[Any, ...], dict[str, Any]], CanonicalCall | None]:
    """Elementwise targets: any common shape is flattened to [N] and the output reshaped back."""

    def split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CanonicalCall | None:
        allnames = names + scalars
        if len(args) + len(kwargs) != len(allnames) or set(kwargs) - set(allnames):
            return None
        bound = dict(zip(allnames, args)) | kwargs
        arrays = [_f(bound[k]) for k in names]
        shape = arrays[0].shape
        if any(a.shape != shape for a in arrays) or arrays[0].size == 0:
            return None
        inp: dict[str, Any] = {k: a.reshape(-1) for k, a in zip(names, arrays)} | {k: float(bound[k]) for k in scalars}
        return [inp], lambda outs: outs[0].reshape(shape)

    return split


def scalar_split(names: tuple[str, ...]) -> Callable[[tuple[Any, ...], dict[str, Any]], CanonicalCall | None]:
    def split(args: tuple[Any, ...], kwargs: dict[str, Any]) -> CanonicalCall | None:
        if len(args) + len(kwargs) != len(names) or set(kwargs) - set(names):
            return None
        bound = dict(zip(names, args)) | kwargs
        return [{k: float(bound[k]) for k in names}], lambda outs: float(outs[0])

    return split

