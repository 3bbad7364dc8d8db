"""The declaration API of conformance targets (SPEC.md §13.1): what a target *is*, as data.

A target is a :class:`Target` declaration; the search, the comparison (values, then
vector–Jacobian products), convention discovery and the report (``harness.py``) are written
once and read these fields.  A new target is one declaration (in the family module it belongs
to, e.g. ``targets/rollouts.py``) plus its reference function, strategy and claims:

- **inputs** (:class:`Input`): one per canonical parameter, in signature order: its layout
  (``"[T]"``, ``"[T,N]"``, ``"[B,T]"``, ``"[B,T,V]"``, ``"[N]"``, ``"[n,n]"``, ``"scalar"``,
  ``"int"``, ``"str"``, ``"matvec"``), its kind (``float``, ``bool``, ``mask``, ``int``,
  ``tokens``, ``str``, ``operator``: how it is delivered under ``inputs="torch"``: float tensors
  of the requested dtype, ``torch.bool`` masks, ``torch.long`` tokens, Python scalars), whether
  it is **differentiable** (``--grad`` checks the VJP with respect to it), and ``masked_by``:
  the mask input whose False positions are padding, where the search writes in-domain garbage
  (values drawn from the range of the real entries) that a correct implementation must not read.
  ``keyword=True`` inputs are passed by keyword, and only when they differ from ``default``
  (so an implementation without that parameter still conforms on the default: ``damping``).
- **output**: its layout (``"[T]"``, ``"[B,T]"``, ``"scalar"``); ``reduction`` names the
  aggregation of a scalar loss (``"token_mean"``, …), so the reduction itself is under test.
- **conventions** (:class:`Convention`): where correct libraries differ.  A convention named
  like a parameter (``gamma``, ``ddof``) pins that input when fixed (``--fix gamma=1``); any
  other name (``layout``, ``done``, ``reduction``) is a target-level choice that the target's
  hooks read: ``strategy_for`` (what the search draws), ``call_form`` (what the implementation
  receives), ``convention_kwargs`` (reference keyword arguments), ``expected_for`` and
  ``bound_for`` (the expected output and its tolerance when the convention changes what is
  computed, e.g. a masked-mean reduction).  On failure the harness
  retries the documented alternatives and reports "conforms under convention X".
- **clauses** (:class:`Clause`): the named edge cases (ASCII ids).  ``where(inputs)`` says where
  a clause applies: ``True``/``False`` for the whole case or a boolean array shaped like the
  output (the positions it governs).  ``free=True``: the value there is mathematically free (any
  finite value conforms, NaN still fails); ``grad_free=True``: the gradient there is (a kink).
  The verdict attributes each failing position to its clauses; ``--allow ID`` accepts a
  known deviation.  A clause with ``kind="in-place"`` (``in_place_clause(id)``) makes modifying
  an input in place a failure of that clause (without one it is a note: the harness passes copies).
- **gradient**: ``gradient(inputs, cotangent, conventions) -> {name: VJP}``, the *intended* VJP
  of the output with respect to each differentiable input (float64); where it is not the
  derivative of the value (a stop-gradient that is part of the method) ``gradient_note`` says so
  and SPEC.md states it.  :func:`linear_vjp` and :func:`autograd_vjp` build it.
- **bound**/**tolerance_rule**: the tolerance policy (SPEC.md §13.2); ``grad_bound`` the same for
  VJPs (default :func:`normwise_grad_bound`).

Conventions of a whole run travel as a ``Mapping[str, Any]`` (convention name → value); the
default of each is :attr:`Convention.default` (``DRAWN``: the strategy draws the parameter).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np
from hypothesis.strategies import SearchStrategy
from numpy.typing import NDArray

import reference

from .._calls import Case

__all__ = [
    "K", "U32", "TINY32", "DRAWN", "Bound", "Input", "Convention", "Clause", "Target", "TARGETS", "CanonicalCall",
    "add", "get_target", "in_place_clause", "linear_vjp", "autograd_vjp", "normwise_grad_bound",
]

U32 = 2.0**-24
K = 2.0
#: Smallest normal float32: a float32 computation may flush anything below it to zero.
TINY32 = 2.0**-126
#: The default of a parameter convention whose value the strategy draws.
DRAWN = "drawn"

FloatArray = NDArray[np.float64]
Conventions = Mapping[str, Any]


@dataclass(frozen=True)
class Bound:
    """The allowed error per output element: K·ops·(u32·scale + tiny32·(1 + magnitude)) (arrays shaped like the output)."""

    scale: FloatArray
    ops: FloatArray
    magnitude: FloatArray
    rule: str

    def allowed(self) -> FloatArray:
        out: FloatArray = K * self.ops * (U32 * self.scale + TINY32 * (1.0 + self.magnitude))
        return out


@dataclass(frozen=True)
class Input:
    """One canonical parameter of a target (see the module docstring)."""

    name: str
    layout: str = "scalar"
    kind: str = "float"  # float | bool | mask | int | tokens | str | operator
    differentiable: bool = False
    masked_by: str | None = None
    keyword: bool = False
    default: Any = None


@dataclass(frozen=True)
class Convention:
    """A point where correct implementations differ: a name, the default, the documented alternatives."""

    name: str
    default: Any
    alternatives: tuple[Any, ...] = ()
    doc: str = ""

    def values(self) -> tuple[Any, ...]:
        return (self.default,) + tuple(a for a in self.alternatives if a != self.default)


@dataclass(frozen=True)
class Clause:
    """A named edge case of a target: where it applies, and whether the output there is free."""

    id: str
    description: str
    where: Callable[[Mapping[str, Any]], Any]
    free: bool = False
    grad_free: bool = False
    kind: str = "input"  # "input": where() says where; "in-place": the implementation modified an input (the harness detects it)

    def mask(self, inputs: Mapping[str, Any], shape: tuple[int, ...]) -> NDArray[np.bool_]:
        """The output positions this clause governs on ``inputs`` (all or none for a case-level clause)."""
        w = self.where(inputs)
        if isinstance(w, (bool, np.bool_)):
            return np.full(shape, bool(w))
        out = np.asarray(w, dtype=bool)
        if out.shape != shape and (shape == () or out.ndim != len(shape)):
            # a reduced output mixes every position: a per-position clause cannot be told apart from the formula
            return np.zeros(shape, dtype=bool)
        return np.broadcast_to(out, shape) if out.shape != shape else out


#: A claim's call of the reference function, split into canonical calls: (the canonical inputs of
#: each call, a function that assembles their outputs into what the reference would return).
CanonicalCall = tuple[list[dict[str, Any]], Callable[[list[FloatArray]], Any]]

GradFn = Callable[[Mapping[str, Any], FloatArray, Conventions], dict[str, FloatArray]]
GradBoundFn = Callable[[Mapping[str, Any], str, FloatArray], Bound]


@dataclass(frozen=True)
class Target:
    """One canonical target of the conformance harness.

    Attributes:
        name: the target name (``gae``).
        signature: the canonical signature, e.g. ``(rewards[T], gamma) -> [T]``.
        meaning: what it computes, in one line.
        reference_name: the :mod:`reference` function that implements it; claims that list this
            name in ``uses`` are the claims a non-conforming implementation can break.
        params: canonical parameter names, in order (``inputs`` gives their layouts; when
            ``inputs`` is empty every parameter is a plain float input or scalar).
        strategy: zero-argument function returning the Hypothesis strategy of :class:`Case`.
        bound: ``bound(inputs, expected) -> Bound`` (SPEC.md §13.2).
        tolerance_rule: the bound in words (printed in the report).
        examples: pinned inputs, always run first.
        section: the SPEC.md section of the equation.
        scalar: the output is a single float (``output == "scalar"``).
        alternatives: for discontinuous targets, ``alternatives(inputs) -> extra accepted outputs``.
        split: maps a claim's call of the reference function (args, kwargs) to canonical calls,
            or returns None when the call is outside the canonical domain (the reference answers it).
        invalid: inputs the reference rejects with ValueError, probed and reported as notes.
        domain_note: the domain in words.
        reference_kwargs: extra keyword arguments of the reference call (CG: its stopping rule).
        inputs: the per-parameter declarations (:class:`Input`).
        output: the output layout.
        reduction: the named aggregation of a scalar loss, or None.
        conventions: the target's named conventions.
        clauses: the target's named edge cases.
        gradient: the intended VJP (None: the target has no differentiable input).
        gradient_note: where the intended gradient is not the derivative of the value.
        grad_bound: tolerance of a VJP, ``grad_bound(inputs, wrt, expected_vjp) -> Bound``.
        strategy_for: ``strategy_for(conventions)``: the strategy under non-default target-level
            conventions (a layout, a done signal); None: ``strategy()`` for every convention.
        call_form: ``call_form(inputs, conventions) -> ((name, value), ...)``: what the
            implementation receives under the conventions (default: the inputs in order).
        convention_kwargs: ``convention_kwargs(conventions) -> reference keyword arguments``.
        expected_for: ``expected_for(inputs, conventions)``: the expected output under a
            target-level convention that changes what is computed from the canonical inputs (a
            masked-mean reduction, a token layout), or None for the reference's own output.
        bound_for: the tolerance under such a convention (None: ``bound``).
    """

    name: str
    signature: str
    meaning: str
    reference_name: str
    params: tuple[str, ...]
    strategy: Callable[[], SearchStrategy[Case]]
    bound: Callable[[Mapping[str, Any], FloatArray], Bound]
    tolerance_rule: str
    examples: tuple[dict[str, Any], ...] = ()
    section: str = ""
    scalar: bool = False
    alternatives: Callable[[Mapping[str, Any]], list[FloatArray]] | None = None
    split: Callable[[tuple[Any, ...], dict[str, Any]], CanonicalCall | None] | None = None
    invalid: tuple[tuple[str, dict[str, Any]], ...] = ()
    domain_note: str = ""
    reference_kwargs: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    inputs: tuple[Input, ...] = ()
    output: str = ""
    reduction: str | None = None
    conventions: tuple[Convention, ...] = ()
    clauses: tuple[Clause, ...] = ()
    gradient: GradFn | None = None
    gradient_note: str = ""
    grad_bound: GradBoundFn | None = None
    strategy_for: Callable[[Conventions], SearchStrategy[Case]] | None = None
    call_form: Callable[[Mapping[str, Any], Conventions], tuple[tuple[str, Any], ...]] | None = None
    convention_kwargs: Callable[[Conventions], dict[str, Any]] | None = None
    expected_for: Callable[[Mapping[str, Any], Conventions], FloatArray | None] | None = None
    bound_for: Callable[[Mapping[str, Any], FloatArray, Conventions], Bound | None] | None = None

    def __post_init__(self) -> None:
        if self.inputs and tuple(i.name for i in self.inputs) != self.params:
            raise ValueError(f"target {self.name}: inputs {[i.name for i in self.inputs]} do not match params {list(self.params)}")
        for c in self.clauses:
            if not c.id.isascii() or " " in c.id:
                raise ValueError(f"target {self.name}: clause id {c.id!r} must be ASCII without spaces")
        names = [c.name for c in self.conventions]
        if len(set(names)) != len(names):
            raise ValueError(f"target {self.name}: duplicate convention names {names}")

    # -- declarations, with defaults ---------------------------------------------------
    @property
    def reference(self) -> Callable[..., Any]:
        fn: Callable[..., Any] = getattr(reference, self.reference_name)
        return fn

    def input(self, name: str) -> Input:
        for i in self.inputs:
            if i.name == name:
                return i
        if name in self.params:
            return Input(name)
        raise KeyError(f"{self.name}: no input {name!r}")

    def all_inputs(self) -> tuple[Input, ...]:
        return tuple(self.input(p) for p in self.params)

    @property
    def differentiable(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs if i.differentiable)

    def convention(self, name: str) -> Convention:
        for c in self.conventions:
            if c.name == name:
                return c
        raise KeyError(f"{self.name}: no convention {name!r}; conventions: {', '.join(c.name for c in self.conventions) or '(none)'}; "
                       f"parameters: {', '.join(self.params)}")

    def default_conventions(self) -> dict[str, Any]:
        return {c.name: c.default for c in self.conventions}

    def clause(self, cid: str) -> Clause:
        for c in self.clauses:
            if c.id == cid:
                return c
        raise KeyError(f"{self.name}: no clause {cid!r}; clauses: {', '.join(c.id for c in self.clauses) or '(none)'}")

    # -- evaluation --------------------------------------------------------------------
    def case(self, **inputs: Any) -> Case:
        missing = [p for p in self.params if p not in inputs and not self.input(p).keyword]
        if missing:
            raise ValueError(f"{self.name}: missing inputs {missing}")
        return Case(self.name, {p: inputs[p] if p in inputs else self.input(p).default for p in self.params})

    def expected(self, case: Case, conventions: Conventions | None = None) -> FloatArray:
        if conventions and self.expected_for is not None:
            special = self.expected_for(case.inputs, conventions)
            if special is not None:
                return np.asarray(special, dtype=np.float64)
        kw = self.reference_kwargs(case.inputs) if self.reference_kwargs is not None else {}
        if conventions and self.convention_kwargs is not None:
            kw = kw | self.convention_kwargs(conventions)
        args, kwargs = [], {}
        for i in self.all_inputs():
            if i.keyword:
                v = case.inputs.get(i.name, i.default)
                if not _same(v, i.default):
                    kwargs[i.name] = v
            else:
                args.append(case.inputs[i.name])
        return np.asarray(self.reference(*args, **kwargs, **kw), dtype=np.float64)

    def search_strategy(self, conventions: Conventions | None = None) -> SearchStrategy[Case]:
        if conventions and self.strategy_for is not None:
            return self.strategy_for(conventions)
        return self.strategy()

    def call_args(self, inputs: Mapping[str, Any], conventions: Conventions | None = None) -> tuple[tuple[tuple[str, Any], ...], dict[str, Any]]:
        """(positional (name, value) pairs, keyword arguments) the implementation is called with."""
        if self.call_form is not None and conventions:
            return self.call_form(inputs, conventions), {}
        pos, kw = [], {}
        for i in self.all_inputs():
            if i.keyword:
                v = inputs.get(i.name, i.default)
                if not _same(v, i.default):
                    kw[i.name] = v
            else:
                pos.append((i.name, inputs[i.name]))
        return tuple(pos), kw

    def bound_under(self, inputs: Mapping[str, Any], expected: FloatArray, conventions: Conventions | None = None) -> Bound:
        if conventions and self.bound_for is not None:
            b = self.bound_for(inputs, expected, conventions)
            if b is not None:
                return b
        return self.bound(inputs, expected)

    def free_mask(self, inputs: Mapping[str, Any], shape: tuple[int, ...], allow: frozenset[str] = frozenset()) -> NDArray[np.bool_]:
        out = np.zeros(shape, dtype=bool)
        for c in self.clauses:
            if c.free:
                out |= c.mask(inputs, shape)
        return out


def in_place_clause(cid: str, description: str = "an input array modified in place (the caller's data changes)") -> Clause:
    """The clause that makes modifying an input in place a failure of the target (kind ``in-place``)."""
    return Clause(cid, description, lambda i: False, kind="in-place")


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


TARGETS: dict[str, Target] = {}


def add(t: Target) -> Target:
    """Register a target (family modules call this at import, in SPEC.md §13.1's order)."""
    if t.name in TARGETS:
        raise ValueError(f"duplicate conformance target {t.name!r}")
    TARGETS[t.name] = t
    return t


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise KeyError(f"unknown conformance target {name!r}; targets: {', '.join(TARGETS)}") from None


# ------------------------------------------------------------------------ gradients


def linear_vjp(target_name: str, wrt: tuple[str, ...]) -> GradFn:
    """The exact VJP of a target that is *linear* in ``wrt`` (returns, TD residuals, GAE).

    Column j of the Jacobian is out(e_j) − out(0) with every other ``wrt`` input at 0, so the
    VJP is cᵀJ computed from 1 + Σ|wrt| float64 reference calls (exact up to float64 rounding).
    """

    def vjp(inputs: Mapping[str, Any], cot: FloatArray, conventions: Conventions) -> dict[str, FloatArray]:
        t = get_target(target_name)
        names = [k for k in wrt if k in inputs]
        zero = dict(inputs) | {k: np.zeros_like(np.asarray(inputs[k], dtype=np.float64)) for k in names}
        base = t.expected(Case(t.name, zero), conventions)
        out: dict[str, FloatArray] = {}
        for k in names:
            x = np.asarray(inputs[k], dtype=np.float64)
            g = np.zeros(x.size)
            for j in range(x.size):
                e = np.zeros(x.size)
                e[j] = 1.0
                col = t.expected(Case(t.name, zero | {k: e.reshape(x.shape)}), conventions) - base
                g[j] = float(np.sum(cot * col))
            out[k] = g.reshape(x.shape)
        return out

    return vjp


def autograd_vjp(torch_fn: Callable[..., Any], wrt: tuple[str, ...], params: tuple[str, ...],
                 prepare: Callable[[str, Any], Any] | None = None) -> GradFn:
    """The VJP of a float64 torch twin ``torch_fn(*inputs)`` of the reference, by autograd.

    ``prepare(name, value)`` converts one canonical input for the twin (default: float arrays to
    float64 tensors, bool arrays to bool tensors, scalars as they are).  Torch is imported only
    when a gradient is asked for.
    """

    def vjp(inputs: Mapping[str, Any], cot: FloatArray, conventions: Conventions) -> dict[str, FloatArray]:
        import torch

        args = []
        leaves: dict[str, Any] = {}
        for p in params:
            v = inputs[p]
            if prepare is not None:
                a = prepare(p, v)
            elif isinstance(v, np.ndarray):
                a = torch.as_tensor(v) if v.dtype == np.bool_ else torch.as_tensor(np.asarray(v, dtype=np.float64))
            else:
                a = v
            if p in wrt:
                a = a.detach().clone().requires_grad_(True)
                leaves[p] = a
            args.append(a)
        out = torch_fn(*args)
        grads = torch.autograd.grad(out, [leaves[p] for p in wrt], grad_outputs=torch.as_tensor(np.asarray(cot, dtype=np.float64)).reshape(out.shape),
                                    allow_unused=True)
        return {p: (np.zeros(np.shape(inputs[p])) if g is None else g.detach().numpy().astype(np.float64)) for p, g in zip(wrt, grads)}

    return vjp


def normwise_grad_bound(inputs: Mapping[str, Any], wrt: str, expected: FloatArray, ops: float = 32.0, scale: float | None = None) -> Bound:
    """Default VJP tolerance: norm-wise, S = max|VJP| (or ``scale``), c = ``ops``.

    A float32 backward pass rounds each partial derivative and each accumulation; 32 operations
    cover the chains of the elementwise losses.  Detach and stop-gradient bugs change a VJP by
    O(1) of its size, far above this.
    """
    s = float(np.max(np.abs(expected))) if expected.size else 0.0
    s = max(s, scale or 0.0)
    m = np.full(expected.shape, s)
    return Bound(m, np.full(expected.shape, ops), m, f"norm-wise: S = max|VJP| = {s:.3g}, c = {ops:g}")


def grad_bound_for(t: Target, inputs: Mapping[str, Any], wrt: str, expected: FloatArray) -> Bound:
    return t.grad_bound(inputs, wrt, expected) if t.grad_bound is not None else normwise_grad_bound(inputs, wrt, expected)


def finite_or_inf(x: float) -> float:
    return x if math.isfinite(x) else math.inf



