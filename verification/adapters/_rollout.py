"""Shared translation for libraries without a truncation flag (stable-baselines3, rlax)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def fold_truncation(rewards: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """r'_t = r_t + γ·V(s_{t+1}) at a truncation that is not also a termination; done_t = terminated_t or truncated_t.

    With the bootstrap folded into the reward, a truncation becomes an ordinary episode end
    without bootstrap, which is the only kind these libraries know.  It is exact: δ_t =
    r_t + γV(s_{t+1}) − V(s_t) either way, and nothing flows across the end in both.
    """
    r = np.asarray(rewards, dtype=np.float64).copy()
    term = np.asarray(terminated).astype(bool)
    trunc = np.asarray(truncated).astype(bool)
    fold = trunc & ~term
    r[fold] += gamma * np.asarray(next_values, dtype=np.float64)[fold]
    return r, term | trunc
