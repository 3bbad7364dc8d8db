"""OpenRLHF: ``models/loss.py``, ``models/utils.py`` and the PPO utilities in the SPEC §17 signatures.

OpenRLHF is installed with ``--no-deps`` (it requires deepspeed, flash-attn 2.8.3, ray 2.55 and
vllm, none of which has a CPU build here).  Stand-ins (:mod:`verification.adapters._stub`):
``openrlhf`` and ``openrlhf.models`` are registered without running their ``__init__`` (which
imports the actor, hence transformers' model code, deepspeed and flash-attn); ``deepspeed`` is a
placeholder module while ``openrlhf/models/utils.py`` is imported (it is used only by
``set_z3_leaf_modules``); ``compute_entropy``'s ``@torch.compile`` wrapper is bypassed (the
function it wraps is called: compiling needs a C++ toolchain and seconds per shape); the GAE,
a method of ``RemoteExperienceMaker`` in a module that imports ray and the ray launcher at the
top, is compiled alone from the installed file.  All arithmetic is OpenRLHF's.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from . import PeerAdapter, register_adapter

STAND_IN = ("openrlhf installed --no-deps; openrlhf and openrlhf.models __init__ not executed (they import deepspeed, flash-attn via the actor); "
            "deepspeed a placeholder module while models/utils.py is imported")


def _load(module: str) -> Any:
    from ._stub import absent_module, bare_package

    bare_package("openrlhf.models")
    bare_package("openrlhf.trainer.ppo_utils")
    with absent_module("deepspeed"):
        return importlib.import_module(module)


def _utils() -> Any:
    return _load("openrlhf.models.utils")


def _loss() -> Any:
    return _load("openrlhf.models.loss")


def _t(x: Any) -> Any:
    import torch

    return torch.as_tensor(np.asarray(x, dtype=np.float64), dtype=torch.float32)


def _mask(m: Any) -> Any:
    import torch

    return torch.as_tensor(np.asarray(m, dtype=bool)).to(torch.float32)


def _np(x: Any) -> Any:
    return np.asarray(x.detach().double().numpy())


def _token_level(mode: str) -> bool:
    if mode not in ("token_mean", "seq_mean_token_mean"):
        raise NotImplementedError(f"OpenRLHF has no {mode!r} aggregation")
    return mode == "token_mean"


def aggregate_loss(loss: Any, mask: Any, mode: str, norm_length: Any) -> Any:
    """``aggregate_loss(loss, loss_mask, token_level_loss)``: token_mean (True) or seq_mean_token_mean (False)."""
    return float(_loss().aggregate_loss(_t(loss), _mask(mask), token_level_loss=_token_level(mode)))


def policy_loss(logp_new: Any, logp_old: Any, advantages: Any, mask: Any, clip_low: float, clip_high: float, dual_clip: Any, agg: str) -> Any:
    fn = _loss().PolicyLoss(clip_eps_low=clip_low, clip_eps_high=clip_high, dual_clip=dual_clip, token_level_loss=_token_level(agg))
    return float(fn(_t(logp_new), _t(logp_old), _t(advantages), action_mask=_mask(mask))[0])


def value_loss(values: Any, old_values: Any, returns: Any, mask: Any, clip: Any, agg: str) -> Any:
    fn = _loss().ValueLoss(clip_eps=clip, token_level_loss=_token_level(agg))
    return float(fn(_t(values), _t(old_values), _t(returns), action_mask=_mask(mask)))


def kl_penalty(logp: Any, ref_logp: Any, kind: str) -> Any:
    return _np(_utils().compute_approx_kl(_t(logp), _t(ref_logp), kl_estimator=kind))


def token_logprobs(logits: Any, tokens: Any, temperature: float) -> Any:
    import torch

    z = torch.as_tensor(np.asarray(logits, dtype=np.float64), dtype=torch.float32)
    out = _np(_utils().log_probs_from_logits(z, torch.as_tensor(np.asarray(tokens), dtype=torch.long), temperature=float(temperature)))
    if isinstance(logits, np.ndarray):  # report an in-place change of the caller's logits, as torch would propagate it
        logits[...] = z.double().numpy()
    return out


def token_entropy(logits: Any, temperature: float) -> Any:
    if temperature != 1.0:
        raise NotImplementedError("OpenRLHF's compute_entropy takes no temperature")
    fn = _utils().compute_entropy
    fn = getattr(fn, "_torchdynamo_orig_callable", fn)  # the function under @torch.compile
    return _np(fn(_t(logits)))


def masked_whiten(x: Any, mask: Any, shift_mean: bool, ddof: int, eps: float) -> Any:
    """``masked_normalize(tensor, mask, dim=(0, 1), eps)``: statistics over the whole batch, ddof 0, var clamped at eps."""
    if not shift_mean or ddof != 0:
        raise NotImplementedError("OpenRLHF's masked_normalize always centres, with ddof 0")
    return _np(_utils().masked_normalize(_t(x), _mask(mask), dim=(0, 1), eps=float(eps)))


def _gae_fn() -> Any:
    import torch
    from typing import Tuple

    from ._stub import function_from_file, package_dir

    path = package_dir("openrlhf.trainer.ppo_utils") / "experience_maker.py"
    return function_from_file(path, "RemoteExperienceMaker.get_advantages_and_returns", {"torch": torch, "Tuple": Tuple})


_GAE: list[Any] = []


def masked_gae(rewards: Any, values: Any, mask: Any, gamma: float, lam: float) -> Any:
    if not _GAE:
        _GAE.append(_gae_fn())
    adv, _ = _GAE[0](None, _t(values), _t(rewards), _mask(mask), float(gamma), float(lam))
    return _np(adv)


def preference_loss(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float, kind: str, label_smoothing: float) -> Any:
    """``DPOLoss(beta, label_smoothing, ipo)``, one pair per call (it returns the batch mean)."""
    if kind not in ("sigmoid", "ipo"):
        raise NotImplementedError(f"OpenRLHF's DPOLoss has no {kind!r} loss")
    fn = _loss().DPOLoss(float(beta), label_smoothing=float(label_smoothing), ipo=kind == "ipo")
    cols = [np.asarray(x, dtype=np.float64) for x in (policy_chosen, policy_rejected, ref_chosen, ref_rejected)]
    return np.array([float(fn(*(_t(c[i:i + 1]) for c in cols))[0]) for i in range(cols[0].shape[0])])


def adaptive_kl_update(beta: float, kl: float, target: float, horizon: float, n_steps: float) -> float:
    mod = _load("openrlhf.trainer.ppo_utils.kl_controller")
    ctl = mod.AdaptiveKLController(float(beta), float(target), float(horizon))
    ctl.update(float(kl), float(n_steps))
    return float(ctl.value)


_AGG2 = ("token_mean", "seq_mean_token_mean")


def _reg(entry: str, target: str, fn: Any, translation: str, stand_in: str | None = STAND_IN, **kw: Any) -> None:
    register_adapter(PeerAdapter("openrlhf", entry, target, fn, translation, stand_in=stand_in, **kw))


_reg("models.loss.aggregate_loss", "aggregate_loss", aggregate_loss, "token_level_loss=True: token_mean, False: seq_mean_token_mean",
     space={"mode": _AGG2}, known_finding="an all-padding batch gives NaN (0/0), the reference 0")
_reg("models.loss.PolicyLoss", "policy_loss", policy_loss, "PolicyLoss(clip_eps_low, clip_eps_high, dual_clip, token_level_loss)(...)[0]",
     space={"agg": _AGG2}, known_finding="an all-padding batch gives NaN (0/0), the reference 0")
_reg("models.loss.ValueLoss", "value_loss", value_loss, "ValueLoss(clip_eps, token_level_loss)(values, old_values, returns, action_mask)",
     space={"agg": _AGG2}, known_finding="an all-padding batch gives NaN (0/0), the reference 0")
_reg("models.utils.compute_approx_kl", "kl_penalty", kl_penalty, "kl_estimator = kind; OpenRLHF clamps every estimator to [−10, 10]",
     space={"kind": ("k1", "k2", "k3")}, fix={"clamp": 10.0})
_reg("models.utils.log_probs_from_logits", "token_logprobs", token_logprobs,
     "float32 logits tensor shared with the caller's array (an in-place change is visible)",
     known_finding="divides the caller's logits by the temperature in place (logits.div_)")
_reg("models.utils.compute_entropy", "token_entropy", token_entropy,
     "temperature 1 only; the @torch.compile wrapper bypassed (its original function called)", space={"temperature": (1.0,)},
     stand_in=STAND_IN + "; @torch.compile bypassed", known_finding="NaN for a −inf logit (softmax 0 times logit −inf)")
_reg("models.utils.masked_normalize", "masked_whiten", masked_whiten, "dim=(0, 1): whole-batch statistics; ddof 0; var clamped at eps (not var + eps)",
     space={"shift_mean": (True,), "ddof": (0,)},
     known_finding="equal entries: the float32 mean's round-off is multiplied by rsqrt(max(var, 1e-8)) = 1e4 (three 0.9s → 6e-4 instead of 0)")
_reg("RemoteExperienceMaker.get_advantages_and_returns", "masked_gae", masked_gae,
     "self=None (the method uses no state); (values, rewards, action_mask, gamma, lambd)", fix={"holes": "step"},
     stand_in="openrlhf installed --no-deps; the method compiled alone from the installed experience_maker.py (the module imports ray and the ray launcher)")
_reg("models.loss.DPOLoss", "preference_loss", preference_loss, "ipo=False: sigmoid (cDPO label smoothing), ipo=True: IPO; one pair per call",
     space={"kind": ("sigmoid", "ipo")})
_reg("trainer.ppo_utils.kl_controller.AdaptiveKLController.update", "adaptive_kl_update", adaptive_kl_update, "controller (β, target, horizon), value after update(kl, n_steps)",
     stand_in="openrlhf installed --no-deps; trainer.ppo_utils __init__ not executed (it imports the experience and replay-buffer modules)")


def _inline(*args: Any) -> Any:  # pragma: no cover - never called (``unavailable``)
    raise NotImplementedError


_reg("RemoteExperienceMaker.compute_advantages_and_returns (group_norm, dr_grpo)", "group_advantages", _inline, "-", stand_in=None,
     unavailable="inline statements of compute_advantages_and_returns (group_norm: ε = 1e-9 on the std; G = 1: torch.std gives NaN)")
_reg("RemoteExperienceMaker.compute_advantages_and_returns (rloo)", "rloo_advantages", _inline, "-", stand_in=None,
     unavailable="inline statements of compute_advantages_and_returns (G = 1 divides by 0)")


# ------------------------------------------------------------------ the source's targets (§13)


def bt_loss(r_chosen: Any, r_rejected: Any) -> Any:
    """``PairWiseLoss()(chosen_reward, reject_reward)``, one pair per call (it returns the batch mean)."""
    fn = _loss().PairWiseLoss()
    c, r = np.asarray(r_chosen, np.float64), np.asarray(r_rejected, np.float64)
    return np.array([float(fn(_t(c[i:i + 1]), _t(r[i:i + 1]))) for i in range(c.shape[0])])


def bt_loss_logexp(r_chosen: Any, r_rejected: Any) -> Any:
    """``LogExpLoss()``: log(1 + exp(r_l − r_w)), one pair per call."""
    fn = _loss().LogExpLoss()
    c, r = np.asarray(r_chosen, np.float64), np.asarray(r_rejected, np.float64)
    return np.array([float(fn(_t(c[i:i + 1]), _t(r[i:i + 1]))) for i in range(c.shape[0])])


def dpo_loss(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> Any:
    """``DPOLoss(beta)`` (sigmoid, no label smoothing), one pair per call."""
    return preference_loss(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta, "sigmoid", 0.0)


_reg("models.loss.PairWiseLoss", "bt_loss", bt_loss, "one pair per call (the loss is the batch mean); no margin")
_reg("models.loss.LogExpLoss", "bt_loss", bt_loss_logexp, "one pair per call; log(1 + exp(r_l − r_w)) as written",
     known_finding="overflows: r_l − r_w > 88.7 gives exp = inf in float32, so the loss is inf instead of ≈ r_l − r_w")
_reg("models.loss.DPOLoss (ipo=False, label_smoothing=0)", "dpo_loss", dpo_loss, "ipo=False, label_smoothing=0; one pair per call")
