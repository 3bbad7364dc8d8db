"""torchrl: ``generalized_advantage_estimate``, ``vec_generalized_advantage_estimate`` and ``ClipPPOLoss``."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import PeerAdapter, register_adapter


def _col(x: Any, dtype: Any) -> Any:
    import torch

    return torch.as_tensor(np.asarray(x), dtype=dtype).reshape(-1, 1)  # [T, F=1], time_dim = -2


def _gae(fn_name: str, rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    import torch
    from torchrl.objectives.value import functional as F

    fn = getattr(F, fn_name)
    term = np.asarray(terminated).astype(bool)
    done = term | np.asarray(truncated).astype(bool)
    adv, _ = fn(gamma, lam, _col(values, torch.float32), _col(next_values, torch.float32), _col(rewards, torch.float32),
                _col(done, torch.bool), _col(term, torch.bool))
    return adv[:, 0]


def gae(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    """torchrl's loop GAE; tensors [T, 1] float32, ``done = terminated | truncated``, ``terminated`` as is."""
    return _gae("generalized_advantage_estimate", rewards, values, next_values, terminated, truncated, gamma, lam)


def vec_gae(rewards: Any, values: Any, next_values: Any, terminated: Any, truncated: Any, gamma: float, lam: float) -> Any:
    """torchrl's vectorized GAE (a convolution with (γλ)^k, terms below 1e-7 dropped)."""
    return _gae("vec_generalized_advantage_estimate", rewards, values, next_values, terminated, truncated, gamma, lam)


def ppo_clip(logp_new: Any, logp_old: Any, advantages: Any, epsilon: float) -> Any:
    """``ClipPPOLoss(..., reduction="none")`` on a batch of N samples; returns −loss_objective.

    The actor is a stand-in whose distribution returns ``logp_new`` as the log-prob of the
    stored action; ``sample_log_prob = logp_old``; no critic, no entropy bonus, no advantage
    normalization: the loss code itself (log-weight, clamp in log space, exp, min) is torchrl's.
    """
    import torch
    from tensordict import TensorDict
    from tensordict.nn import TensorDictModule
    from torchrl.modules import ProbabilisticActor
    from torchrl.objectives import ClipPPOLoss

    class FixedLogProb(torch.distributions.Distribution):
        arg_constraints: dict[str, Any] = {}

        def __init__(self, logp: torch.Tensor) -> None:
            self.logp = logp
            super().__init__(batch_shape=logp.shape, validate_args=False)

        def log_prob(self, value: torch.Tensor) -> torch.Tensor:
            return self.logp

        def sample(self, sample_shape: Any = torch.Size()) -> torch.Tensor:
            return torch.zeros_like(self.logp)

        @property
        def mode(self) -> torch.Tensor:
            return torch.zeros_like(self.logp)

    n = np.asarray(logp_new).shape[0]
    module = TensorDictModule(lambda x: x, in_keys=["lp_in"], out_keys=["logp"])
    actor = ProbabilisticActor(module, in_keys=["logp"], out_keys=["action"], distribution_class=FixedLogProb, return_log_prob=False)
    loss = ClipPPOLoss(actor, None, clip_epsilon=epsilon, entropy_bonus=False, critic_coeff=None, normalize_advantage=False, reduction="none")
    td = TensorDict({
        "lp_in": torch.as_tensor(np.asarray(logp_new), dtype=torch.float32),
        "action": torch.zeros(n),
        "action_log_prob": torch.as_tensor(np.asarray(logp_old), dtype=torch.float32),
        "sample_log_prob": torch.as_tensor(np.asarray(logp_old), dtype=torch.float32),
        "advantage": torch.as_tensor(np.asarray(advantages), dtype=torch.float32).reshape(n, 1),
    }, batch_size=[n])
    out = loss(td)
    return -out["loss_objective"].detach().reshape(n)


_TR = "tensors [T, 1] float32 (time_dim = −2); done = terminated | truncated, terminated as is"
register_adapter(PeerAdapter("torchrl", "generalized_advantage_estimate", "gae", gae, _TR))
register_adapter(PeerAdapter(
    "torchrl", "vec_generalized_advantage_estimate", "gae", vec_gae, _TR,
    known_finding="raises IndexError whenever 0 <= γλ < 1e-7 (λ = 0 included); drops terms with (γλ)^l < 1e-7 (SPEC.md §13.6)",
))
register_adapter(PeerAdapter(
    "torchrl", "ClipPPOLoss", "ppo_clip", ppo_clip,
    "stand-in actor returning logp_new as the log-prob; sample_log_prob = logp_old; reduction='none', no critic, no entropy; objective = −loss_objective",
))
