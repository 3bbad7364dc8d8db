"""Load an implementation from ``package.module:function`` or ``path/to/file.py:function``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, Callable

__all__ = ["ImplementationLoadError", "load_implementation", "is_file_spec"]


class ImplementationLoadError(Exception):
    """The implementation could not be imported or is not a callable (a usage error, exit 2)."""


def is_file_spec(module_part: str) -> bool:
    return module_part.endswith(".py") or "/" in module_part or os.sep in module_part


def split_spec(spec: str) -> tuple[str, str]:
    module_part, sep, attr = spec.rpartition(":")
    if not sep or not module_part or not attr:
        raise ImplementationLoadError(
            f"implementation {spec!r}: expected 'package.module:function' or 'path/to/file.py:function'"
        )
    return module_part, attr


def load_implementation(spec: str) -> Callable[..., Any]:
    """Import ``spec`` and return the callable it names.

    ``package.module:function`` is imported with the current directory on ``sys.path``;
    ``path/to/file.py:function`` is executed as a module from that file.  ``function`` may be a
    dotted path (``Class.method``).  Raises :class:`ImplementationLoadError` with the cause.
    """
    module_part, attr = split_spec(spec)
    try:
        if is_file_spec(module_part):
            path = Path(module_part).resolve()
            if not path.is_file():
                raise ImplementationLoadError(f"implementation {spec!r}: no such file {path}")
            name = f"_conformance_impl_{abs(hash(str(path)))}"
            file_spec = importlib.util.spec_from_file_location(name, path)
            if file_spec is None or file_spec.loader is None:
                raise ImplementationLoadError(f"implementation {spec!r}: cannot load {path} as a module")
            module = importlib.util.module_from_spec(file_spec)
            sys.modules[name] = module
            if str(path.parent) not in sys.path:
                sys.path.insert(0, str(path.parent))
            file_spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_part)
    except ImplementationLoadError:
        raise
    except BaseException as exc:  # the user's module raised on import (even SystemExit): report it
        raise ImplementationLoadError(_import_failure(spec, module_part, exc)) from None
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            home = getattr(obj, "__name__", None)
            names = sorted(n for n, v in getattr(obj, "__dict__", {}).items()
                           if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == home)[:12]
            has = f" (it defines: {', '.join(names)})" if names else ""
            raise ImplementationLoadError(
                f"implementation {spec!r}: {module_part} has no attribute {attr!r}{has}; fix the name after the colon"
            ) from None
    if not callable(obj):
        raise ImplementationLoadError(f"implementation {spec!r}: {attr} is not callable ({type(obj).__name__})")
    fn: Callable[..., Any] = obj
    return fn


def _import_failure(spec: str, module_part: str, exc: BaseException) -> str:
    """One line: why importing ``spec`` failed and what to install or fix."""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = module_part.split(".")[0]
        if not is_file_spec(module_part) and (exc.name == module_part or module_part.startswith(exc.name + ".") or exc.name == top):
            return (f"implementation {spec!r}: importing failed: ModuleNotFoundError: No module named {exc.name!r} -- run from the "
                    f"directory that contains it, add it to PYTHONPATH, or pass path/to/file.py:function")
        return (f"implementation {spec!r}: importing failed: ModuleNotFoundError: No module named {exc.name!r} (needed by "
                f"{module_part}) -- install the package that provides it (e.g. pip install {exc.name.split('.')[0]}) into {sys.executable}")
    if isinstance(exc, SyntaxError):
        where = f"{exc.filename}, line {exc.lineno}" if exc.filename else module_part
        return f"implementation {spec!r}: importing failed: SyntaxError in {where}: {exc.msg} -- fix the file"
    first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
    return f"implementation {spec!r}: importing failed: {type(exc).__name__}: {first} -- the module raised while being imported"
