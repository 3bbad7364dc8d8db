"""verl: ``trainer.ppo.core_algos`` and ``utils.torch_functional`` in the SPEC §17 signatures.

verl is installed with ``--no-deps`` (its requirements pin ray, an older tensordict and an older
transformers than the other peers), plus the two small modules its maths files import
(omegaconf, codetiming).  Stand-ins (:mod:`verification.adapters._stub`): the ``verl`` package
``__init__`` is not executed (it imports ray through ``verl.protocol``), and ``ray`` is a
placeholder module while ``verl.trainer.ppo.core_algos`` and ``verl.utils.torch_functional``
are imported from the installed files (``verl.workers.config`` reaches the ray worker class,
which names ``ray.ObjectRef`` in an annotation).  Every function called is verl's own.
Tensors are float32, [B, T]; the outputs are read back as float64 numpy arrays.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from . import PeerAdapter, register_adapter

_MODES = {"token_mean": "token-mean", "seq_mean_token_mean": "seq-mean-token-mean", "seq_mean_token_sum": "seq-mean-token-sum",
          "seq_mean_token_sum_norm": "seq-mean-token-sum-norm"}
STAND_IN = ("verl installed --no-deps; its package __init__ is not executed (verl.protocol imports ray), ray is a placeholder module "
            "during the import (verl.workers.config reaches the ray worker class); the maths modules load from the installed files")


def _load(module: str) -> Any:
    import importlib

    from ._stub import absent_module, bare_package

    bare_package("verl")
    with absent_module("ray"):
        return importlib.import_module(module)


def _core() -> Any:
    return _load("verl.trainer.ppo.core_algos")


def _F() -> Any:
    return _load("verl.utils.torch_functional")


def _t(x: Any, dtype: Any = None) -> Any:
    import torch

    return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=dtype or torch.float32)


def _mask(m: Any) -> Any:
    import torch

    return torch.as_tensor(np.asarray(m, dtype=bool)).to(torch.float32)


def _np(x: Any) -> Any:
    return np.asarray(x.detach().double().numpy())


def aggregate_loss(loss: Any, mask: Any, mode: str, norm_length: Any) -> Any:
    """``agg_loss(loss_mat, loss_mask, loss_agg_mode, loss_scale_factor=norm_length)``."""
    out = _core().agg_loss(loss_mat=_t(loss), loss_mask=_mask(mask), loss_agg_mode=_MODES[mode], loss_scale_factor=norm_length)
    return float(out)


class _ActorConfig(dict[str, Any]):
    """Stand-in for ``verl.workers.config.ActorConfig``: the four fields the loss reads."""

    def __getattr__(self, k: str) -> Any:
        try:
            return self[k]
        except KeyError as exc:
            raise AttributeError(k) from exc


def policy_loss(logp_new: Any, logp_old: Any, advantages: Any, mask: Any, clip_low: float, clip_high: float, dual_clip: Any, agg: str) -> Any:
    """``compute_policy_loss_vanilla``; verl has no switch for dual-clip: ``clip_ratio_c`` defaults to 3."""
    cfg = _ActorConfig(clip_ratio=clip_low, clip_ratio_low=clip_low, clip_ratio_high=clip_high, global_batch_info={})
    if dual_clip is not None:
        cfg["clip_ratio_c"] = float(dual_clip)
    loss, _ = _core().compute_policy_loss_vanilla(_t(logp_old), _t(logp_new), _t(advantages), _mask(mask), loss_agg_mode=_MODES[agg], config=cfg)
    return float(loss)


def value_loss(values: Any, old_values: Any, returns: Any, mask: Any, clip: Any, agg: str) -> Any:
    """``compute_value_loss(vpreds, returns, values, response_mask, cliprange_value, loss_agg_mode)``; clip=None as ±inf."""
    c = float("inf") if clip is None else float(clip)
    loss, _ = _core().compute_value_loss(_t(values), _t(returns), _t(old_values), _mask(mask), c, loss_agg_mode=_MODES[agg])
    return float(loss)


def kl_penalty(logp: Any, ref_logp: Any, kind: str) -> Any:
    return _np(_core().kl_penalty(_t(logp), _t(ref_logp), kind))


def token_logprobs(logits: Any, tokens: Any, temperature: float) -> Any:
    """``logprobs_from_logits`` (verl divides by the temperature before the call, in its actor)."""
    import torch

    if temperature != 1.0:
        raise NotImplementedError("verl's logprobs_from_logits takes no temperature")
    return _np(_F().logprobs_from_logits(_t(logits), torch.as_tensor(np.asarray(tokens), dtype=torch.long)))


def token_entropy(logits: Any, temperature: float) -> Any:
    if temperature != 1.0:
        raise NotImplementedError("verl's entropy_from_logits takes no temperature")
    return _np(_F().entropy_from_logits(_t(logits)))


def masked_whiten(x: Any, mask: Any, shift_mean: bool, ddof: int, eps: float) -> Any:
    """``masked_whiten(values, mask, shift_mean)``: unbiased variance, ``rsqrt(var + 1e-8)``."""
    if ddof != 1 or eps != 1e-8:
        raise NotImplementedError("verl's masked_whiten has ddof = 1 and eps = 1e-8 built in")
    return _np(_F().masked_whiten(_t(x), _mask(mask), shift_mean=bool(shift_mean)))


def _index(n: int, g: int) -> Any:
    return np.array([i // g for i in range(n)])


def group_advantages(rewards: Any, group_size: int, scale: str, eps: float) -> Any:
    """``compute_grpo_outcome_advantage``: one token per response, the score its reward; index = row // G."""
    import torch

    if scale == "batch":
        raise NotImplementedError("verl's GRPO has no batch scaling")
    r = np.asarray(rewards, dtype=np.float64)
    adv, _ = _core().compute_grpo_outcome_advantage(_t(r[:, None]), torch.ones(r.shape[0], 1), _index(r.shape[0], group_size),
                                                    epsilon=float(eps), norm_adv_by_std_in_grpo=scale == "group")
    return _np(adv)[:, 0]


def rloo_advantages(rewards: Any, group_size: int) -> Any:
    import torch

    r = np.asarray(rewards, dtype=np.float64)
    adv, _ = _core().compute_rloo_outcome_advantage(_t(r[:, None]), torch.ones(r.shape[0], 1), _index(r.shape[0], group_size))
    return _np(adv)[:, 0]


def masked_gae(rewards: Any, values: Any, mask: Any, gamma: float, lam: float) -> Any:
    """``compute_gae_advantage_return``; it returns whitened advantages, so the raw GAE is read as returns − values."""
    v = _t(values)
    _, ret = _core().compute_gae_advantage_return(_t(rewards), v, _mask(mask), float(gamma), float(lam))
    return _np(ret - v)


def adaptive_kl_update(beta: float, kl: float, target: float, horizon: float, n_steps: float) -> float:
    ctl = _core().AdaptiveKLController(init_kl_coef=float(beta), target_kl=float(target), horizon=float(horizon))
    ctl.update(float(kl), float(n_steps))
    return float(ctl.value)


def _reg(entry: str, target: str, fn: Any, translation: str, **kw: Any) -> None:
    register_adapter(PeerAdapter("verl", entry, target, fn, translation, stand_in=STAND_IN, **kw))


_reg("core_algos.agg_loss", "aggregate_loss", aggregate_loss, "mode names with hyphens; norm_length passed as loss_scale_factor (None: T)",
     known_finding="an all-padding batch gives NaN (0/0), the reference 0; seq-mean-token-sum-norm divides by the number of non-empty rows, not B")
_reg("core_algos.compute_policy_loss_vanilla", "policy_loss", policy_loss,
     "config stand-in with clip_ratio_low/high (and clip_ratio_c = dual_clip when given); old/new log-prob order swapped into verl's",
     space={"agg": tuple(_MODES)},
     known_finding="dual-clip is always on (clip_ratio_c = 3 by default): with dual_clip=None, A < 0 and ρ > 3 the loss is capped at −3A")
_reg("core_algos.compute_value_loss", "value_loss", value_loss, "clip=None passed as cliprange_value=inf (verl always clips); old values as `values`",
     space={"agg": tuple(_MODES)}, known_finding="through agg_loss: an all-padding batch gives NaN; seq-mean-token-sum-norm divides by the non-empty rows")
_reg("core_algos.kl_penalty (k1, k2, abs)", "kl_penalty", kl_penalty, "kind names as in verl", space={"kind": ("k1", "k2", "abs")})
_reg("core_algos.kl_penalty (k3 = low_var_kl)", "kl_penalty", kl_penalty, "kind 'k3'; verl clamps k3 to [−10, 10]",
     space={"kind": ("k3",)}, fix={"clamp": 10.0})
_reg("torch_functional.logprobs_from_logits", "token_logprobs", token_logprobs, "temperature 1 only (verl's actor divides the logits first)",
     space={"temperature": (1.0,)})
_reg("torch_functional.entropy_from_logits", "token_entropy", token_entropy, "temperature 1 only", space={"temperature": (1.0,)},
     known_finding="NaN for a −inf logit (softmax 0 times logit −inf)")
_reg("torch_functional.masked_whiten", "masked_whiten", masked_whiten, "ddof 1 and eps 1e-8 inside the rsqrt are built in; outside the mask: free",
     space={"ddof": (1,), "eps": (1e-8,)},
     known_finding="equal masked entries: the float32 mean's round-off is multiplied by rsqrt(1e-8) = 1e4 (three 0.9s → 6e-4 instead of 0)")
_reg("core_algos.compute_grpo_outcome_advantage", "group_advantages", group_advantages,
     "rewards as [N, 1] token-level scores with a full mask, index = row // G; scale 'group' or 'none' (norm_adv_by_std_in_grpo)",
     space={"scale": ("group", "none")}, fix={"singleton": "raw"},
     known_finding="a group of three equal rewards 0.9 gets (r − μ)/(σ + 1e-6) = 0.056, not 0 (float32 round-off of μ over σ + 1e-6)")
_reg("core_algos.compute_rloo_outcome_advantage", "rloo_advantages", rloo_advantages, "as GRPO: [N, 1] scores, index = row // G")
_reg("core_algos.compute_gae_advantage_return", "masked_gae", masked_gae,
     "verl whitens the advantages it returns: the raw GAE is read back as returns − values; outside the mask: free",
     known_finding="raises ValueError for a batch with fewer than two response tokens (its built-in whitening needs two)")
_reg("core_algos.AdaptiveKLController.update", "adaptive_kl_update", adaptive_kl_update, "controller built with (β, target, horizon), value read after update(kl, n_steps)")
