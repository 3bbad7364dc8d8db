"""rlax: ``truncated_generalized_advantage_estimation`` and ``clipped_surrogate_pg_loss``."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import PeerAdapter, register_adapter
from ._rollout import fold_truncation


def gae(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    """rlax's GAE on one trajectory, float32 (jax's default precision).

    Translation: a truncation's γV(final obs) is folded into its reward; ``discount_t =
    γ(1 − done_t)``; ``values`` has T + 1 entries, the last being ``next_values[T−1]`` (the
    bootstrap at the cut).  Inside an episode rlax reads V(s_{t+1}) from ``values[t+1]``.
    """
    import jax.numpy as jnp
    import rlax

    r, done = fold_truncation(rewards, next_values, terminated, truncated, gamma)
    v = np.append(np.asarray(values, dtype=np.float64), float(np.asarray(next_values)[-1]))
    disc = gamma * (~done).astype(np.float64)
    out = _jitted(rlax.truncated_generalized_advantage_estimation)(
        jnp.asarray(r, jnp.float32), jnp.asarray(disc, jnp.float32), jnp.float32(lam), jnp.asarray(v, jnp.float32))
    return np.asarray(out)


_JIT: dict[int, Any] = {}


def _jitted(fn: Any) -> Any:
    """``jax.jit(fn)``, cached: un-jitted ``lax.scan`` is traced and compiled again on every call."""
    import jax

    key = id(fn)
    if key not in _JIT:
        _JIT[key] = jax.jit(fn)
    return _JIT[key]


def ppo_clip(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    """rlax's clipped surrogate, one sample at a time (it returns −mean over its batch).

    Translation: rlax takes probability ratios, so ρ = exp(logp_new − logp_old) is formed in
    float64 here and passed as float32; each sample is a batch of one, and the sign is flipped
    (rlax returns a loss).
    """
    import jax.numpy as jnp
    import rlax

    rho = np.exp(np.asarray(logp_new, np.float64) - np.asarray(logp_old, np.float64))
    adv = np.asarray(advantages, np.float64)
    return np.array([-float(rlax.clipped_surrogate_pg_loss(jnp.asarray([rho[i]], jnp.float32), jnp.asarray([adv[i]], jnp.float32), float(epsilon)))
                     for i in range(rho.shape[0])])


register_adapter(PeerAdapter(
    "rlax", "truncated_generalized_advantage_estimation", "gae", gae,
    "truncation folded into the reward (r_t + γV(final obs)); discount_t = γ(1 − done_t); values = [values..., next_values[T−1]]",
))
register_adapter(PeerAdapter(
    "rlax", "clipped_surrogate_pg_loss", "ppo_clip", ppo_clip,
    "ratio exp(logp_new − logp_old) formed in float64; one sample per call (rlax returns −mean); objective = −loss",
))
