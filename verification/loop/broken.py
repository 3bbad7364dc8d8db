"""Broken variants of the practice twins the critic-free stages train with (SPEC.md §12.L, findings).

Each is a drop-in for one function of :mod:`reference.practice_torch`, injected through
``Impl({"practice_torch.<name>": fn})``; the tests check that the criteria of the stage it
affects fail.  They are the loop's own negative controls (the bug classes of SPEC §17).
"""

from __future__ import annotations

from typing import Any, Callable

from torch import Tensor

from reference import practice_torch

from ..registry import Impl


def group_std_wrong_axis(rewards: Tensor, group_size: int, scale: str = "group", eps: float = 1e-6, **kw: Any) -> Tensor:
    """``group_advantages`` with σ taken over the wrong axis of the [groups, G] table (across groups)."""
    if scale != "group":
        return practice_torch.group_advantages(rewards, group_size, scale, eps, **kw)
    g = rewards.reshape(-1, group_size)
    mu = g.mean(dim=1, keepdim=True)
    sd = g.std(dim=0, keepdim=True)
    return ((g - mu) / (sd + eps)).reshape(-1)


def kl_sign_flipped(logp: Tensor, ref_logp: Tensor, kind: str = "k1", **kw: Any) -> Tensor:
    """``kl_penalty`` with the log-ratio's sign flipped (log π_ref − log π)."""
    return practice_torch.kl_penalty(ref_logp, logp, kind, **kw)


def rloo_includes_self(rewards: Tensor, group_size: int) -> Tensor:
    """``rloo_advantages`` whose "other samples" sum includes the sample itself: r_i − Σ_j r_j / (G − 1)."""
    g = rewards.reshape(-1, group_size)
    return (g - g.sum(dim=1, keepdim=True) / (group_size - 1)).reshape(-1)


BROKEN: dict[str, tuple[str, Callable[..., Any]]] = {
    "group-std-wrong-axis": ("group_advantages", group_std_wrong_axis),
    "kl-penalty-sign-flipped": ("kl_penalty", kl_sign_flipped),
    "rloo-includes-self": ("rloo_advantages", rloo_includes_self),
}


def broken_impl(name: str) -> Impl:
    """An Impl with the broken variant ``name`` in place of its practice twin."""
    target, fn = BROKEN[name]
    return Impl({f"practice_torch.{target}": fn}, name=name)


__all__ = ["BROKEN", "broken_impl", "group_std_wrong_axis", "kl_sign_flipped", "rloo_includes_self"]
