"""Loading a library's maths module when its package import chain cannot run on a CPU machine.

Two stand-ins, the smallest that work, each named in the matrix row that uses it:

- :func:`bare_package`: the package's ``__init__`` is not executed (verl's imports ray through
  ``verl.protocol``; OpenRLHF's ``openrlhf.models`` imports the actor, hence deepspeed and
  flash-attn).  A module object whose ``__path__`` is the installed package directory takes its
  place in ``sys.modules``, so ``import pkg.sub.module`` loads the installed files of the
  subpackages as usual; nothing is copied.
- :func:`absent_module`: a module that the import chain imports at the top but that the
  functions we call never use (``import deepspeed`` in ``openrlhf/models/utils.py``, used only by
  ``set_z3_leaf_modules``; ``import ray`` in verl's worker base class, reached through
  ``verl.workers.config``) is a placeholder module for the duration of that import, then removed
  from ``sys.modules`` again so that nothing else sees it.  Its attributes (``ray.ObjectRef`` in
  an annotation) are placeholder classes that raise when called or instantiated.
- :func:`function_from_file`: a function defined in a module whose top-level imports start a
  distributed runtime (OpenRLHF's ``experience_maker.py`` imports ray and the ray launcher) is
  compiled alone from the installed source file, with only the names it uses in its globals.

A stand-in changes only what gets imported, never the arithmetic of the functions called.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = ["absent_module", "bare_package", "function_from_file", "package_dir"]


def package_dir(package: str) -> Path:
    """The installed directory of a top-level package, found without importing it."""
    spec = importlib.util.find_spec(package.split(".")[0])
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{package}: not installed")
    root = Path(list(spec.submodule_search_locations)[0])
    return root.joinpath(*package.split(".")[1:])


def bare_package(name: str) -> types.ModuleType:
    """Register ``name`` (a package, dotted allowed) without running its ``__init__``."""
    mod = sys.modules.get(name)
    if mod is not None:
        return mod
    if "." in name:
        bare_package(name.rsplit(".", 1)[0])
    path = package_dir(name)
    if not (path / "__init__.py").is_file():
        raise ImportError(f"{name}: no package at {path}")
    mod = types.ModuleType(name, f"stand-in for {name}: its __init__ is not executed")
    mod.__path__ = [str(path)]
    mod.__file__ = str(path / "__init__.py")
    mod.__package__ = name
    mod.__spec__ = importlib.util.spec_from_file_location(name, path / "__init__.py", submodule_search_locations=[str(path)])
    sys.modules[name] = mod
    if "." in name:
        parent, _, child = name.rpartition(".")
        setattr(sys.modules[parent], child, mod)
    return mod


class _Placeholder:
    """An attribute of a placeholder module: usable in annotations and subscripts, never called."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"{type(self).__qualname__}: stand-in for a library that is not installed here; it was called")

    def __class_getitem__(cls, item: Any) -> Any:
        return cls


class _PlaceholderModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return type(f"{self.__name__}.{name}", (_Placeholder,), {})


@contextlib.contextmanager
def absent_module(*names: str) -> Iterator[None]:
    """Placeholder modules under ``names`` while the body runs (only where the real one is not installed)."""
    added = []
    for n in names:
        if n in sys.modules or importlib.util.find_spec(n) is not None:
            continue
        sys.modules[n] = _PlaceholderModule(n, f"stand-in: {n} is not installed here (imported, not used, by the maths module)")
        added.append(n)
    try:
        yield
    finally:
        for n in added:
            sys.modules.pop(n, None)


def function_from_file(path: Path, qualname: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    """Compile one function (``name`` or ``Class.method``) of an installed source file alone.

    The function's own source lines are compiled with the file name and line numbers of the
    installed file (tracebacks point there); decorators are dropped (``@torch.no_grad()`` on a
    method is the only kind used), and ``namespace`` gives the globals it needs.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    parts = qualname.split(".")
    body: list[ast.stmt] = tree.body
    node: ast.AST | None = None
    for i, part in enumerate(parts):
        node = next((n for n in body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name == part), None)
        if node is None:
            raise ImportError(f"{path}: no {qualname}")
        if i < len(parts) - 1:
            assert isinstance(node, ast.ClassDef)
            body = node.body
    assert isinstance(node, ast.FunctionDef)
    node.decorator_list = []
    module = ast.Module(body=[node], type_ignores=[])
    code = compile(module, str(path), "exec")
    g: dict[str, Any] = dict(namespace)
    exec(code, g)  # noqa: S102 - the library's own installed source
    fn: Callable[..., Any] = g[parts[-1]]
    return fn
