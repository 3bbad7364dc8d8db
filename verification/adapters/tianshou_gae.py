"""tianshou: ``Algorithm.compute_episodic_return`` (GAE over a replay buffer)."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import PeerAdapter, register_adapter


def gae(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    """tianshou's GAE: the rollout is written into a ReplayBuffer and read back in order.

    Translation: none beyond the buffer: ``v_s = values``, ``v_s_ = next_values`` (tianshou
    masks terminal ones itself), ``terminated``/``truncated`` stored as given; the last step of
    an unfinished episode is treated by tianshou as an end with bootstrap, as in the canonical
    form.
    """
    from tianshou.algorithm.algorithm_base import Algorithm
    from tianshou.data import Batch, ReplayBuffer

    n = np.asarray(rewards).shape[0]
    buf = ReplayBuffer(n)
    r = np.asarray(rewards, dtype=np.float64)
    term = np.asarray(terminated).astype(bool)
    trunc = np.asarray(truncated).astype(bool)
    for t in range(n):
        buf.add(Batch(obs=np.zeros(1), act=0, rew=float(r[t]), terminated=bool(term[t]), truncated=bool(trunc[t]),
                      obs_next=np.zeros(1), info={}))
    indices = np.arange(n)
    batch = buf[indices]
    _, adv = Algorithm.compute_episodic_return(batch, buf, indices, v_s_=np.asarray(next_values, dtype=np.float64),
                                               v_s=np.asarray(values, dtype=np.float64), gamma=gamma, gae_lambda=lam)
    return np.asarray(adv)


register_adapter(PeerAdapter(
    "tianshou", "Algorithm.compute_episodic_return", "gae", gae,
    "rollout stored in a ReplayBuffer(T); v_s = values, v_s_ = next_values; tianshou masks terminal next values and ends the unfinished last episode with bootstrap",
    dtype="float64",
))
