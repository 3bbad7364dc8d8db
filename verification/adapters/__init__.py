"""Adapters that put real libraries' functions into the canonical signatures (SPEC.md §13.5).

Each adapter is a thin translation, documented where it is more than a renaming: SB3 and rlax
take no truncation flag, so the adapter folds γ·V(final observation) into the reward of a
truncated step, exactly as those libraries' own rollout code does; TRL 1.16 has no standalone
DPO loss function, so its adapter drives ``DPOTrainer._compute_loss`` with fixed log-probs and a
stand-in model (no weights are loaded).  The RLHF libraries' functions (TRL, verl, OpenRLHF) are
put in the signatures of the SPEC §17 practice targets; where a library's import chain cannot
run on a CPU machine (ray, deepspeed, flash-attn), :mod:`._stub` loads its maths module from the
installed files with the smallest stand-in, named in the adapter.  The libraries are imported lazily: importing this
package needs none of them, and ``python -m verification peers`` runs the adapters of the
libraries that are installed (``pip install -e '.[peers]'``).
"""

from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

__all__ = ["PeerAdapter", "all_adapters", "installed_version", "register_adapter"]


@dataclass(frozen=True)
class PeerAdapter:
    """One library function in a canonical signature.

    Attributes:
        library: the distribution name on the package index (``stable-baselines3``).
        entry_point: what the adapter calls, as the library names it.
        target: the conformance target.
        fn: the adapter, in the target's canonical signature.
        translation: how the canonical inputs are put into the library's convention.
        dtype: what the library computes in.
        known_finding: a documented disagreement (SPEC.md §13.6); ``peers`` expects it to persist.
        fix: the reference conventions the library follows (``diff --fix`` values, e.g.
            ``{"clamp": 10.0}``); the comparison uses the reference with them.
        space: the values of discrete canonical arguments the library can express (e.g.
            ``{"temperature": (1.0,)}``); inputs are drawn from them only.
        stand_in: how the library was loaded where its import chain cannot run here
            (``peers`` prints it in the row).
        unavailable: set where the library computes the target inline, with no function to call
            (the row says where); ``fn`` is then never called.
    """

    library: str
    entry_point: str
    target: str
    fn: Callable[..., Any]
    translation: str
    dtype: str = "float32"
    known_finding: str | None = None
    fix: Mapping[str, Any] = field(default_factory=dict)
    space: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    stand_in: str | None = None
    unavailable: str | None = None

    @property
    def name(self) -> str:
        return f"{self.library}:{self.entry_point}"


_ADAPTERS: list[PeerAdapter] = []
_LOADED = False


def register_adapter(a: PeerAdapter) -> PeerAdapter:
    _ADAPTERS.append(a)
    return a


def all_adapters() -> list[PeerAdapter]:
    global _LOADED
    if not _LOADED:
        for mod in ("sb3", "torchrl_gae", "rlax_gae", "tianshou_gae", "trl_dpo", "trl_practice", "verl_algos", "openrlhf_algos"):
            importlib.import_module(f"{__name__}.{mod}")
        _LOADED = True
    return list(_ADAPTERS)


def installed_version(library: str) -> str | None:
    """The installed version of a distribution, or None."""
    try:
        return importlib.metadata.version(library)
    except importlib.metadata.PackageNotFoundError:
        return None
