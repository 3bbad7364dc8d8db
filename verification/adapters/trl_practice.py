"""TRL 1.16: GRPO's loss types, DPO's loss types, selective log-softmax and entropy (SPEC §17 targets).

- ``GRPOTrainer._compute_loss`` runs on a trainer object built without ``__init__`` (no model,
  tokenizer or dataset); its per-token log-prob call (``_get_per_token_logps_and_entropies``)
  is replaced on that object by one returning ``logp_new``, and ``old_per_token_logps`` is
  ``logp_old``; β = 0 (no KL term), token-level importance sampling, no entropy bonus, eval
  mode (no gradient-accumulation divisor).  The clipping, the loss types' normalisers and the
  masking are TRL's own lines.  One row per loss type: ``bnpo`` (token_mean), ``grpo``
  (seq_mean_token_mean), ``dr_grpo`` (seq_mean_token_sum_norm with ``max_completion_length``
  = T), ``dapo`` (token_mean with the batch's token count).
- ``DPOTrainer._compute_loss`` as in :mod:`.trl_dpo`, with the loss type and label smoothing set
  (one row per loss type).
- ``trl.trainer.utils.selective_log_softmax`` and ``selective_log_softmax_and_entropy``
  (their pure-torch paths: no triton on CPU).

TRL's group advantages (``scale_rewards``) and RLOO advantages are inline statements of
``GRPOTrainer._generate_and_score_completions`` / ``RLOOTrainer``: no function to call.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import numpy as np

from . import PeerAdapter, register_adapter

class _Accel:
    num_processes = 1
    sync_gradients = True

    def __init__(self) -> None:
        import torch

        self.device = torch.device("cpu")

    @staticmethod
    def gather(x: Any) -> Any:
        return x

    gather_for_metrics = gather

    @staticmethod
    def reduce(x: Any, reduction: str = "sum") -> Any:
        return x


def _grpo_trainer(loss_type: str, clip_low: float, clip_high: float, t: int) -> Any:
    from trl.trainer.grpo_trainer import GRPOTrainer

    tr = GRPOTrainer.__new__(GRPOTrainer)
    attrs: dict[str, Any] = {
        "accelerator": _Accel(), "aux_loss_enabled": False, "top_entropy_quantile": 1.0, "off_policy_mask_threshold": None,
        "importance_sampling_level": "token", "beta": 0.0, "loss_type": loss_type, "epsilon_low": float(clip_low),
        "epsilon_high": float(clip_high), "args": SimpleNamespace(delta=None, use_bias_correction_kl=False),
        "use_vllm": False, "vllm_importance_sampling_correction": False, "model": SimpleNamespace(training=False),
        "max_completion_length": t, "current_gradient_accumulation_steps": 1, "_entropy_bonus_enabled": False,
        "use_adaptive_entropy": False, "_metrics": {"train": defaultdict(list), "eval": defaultdict(list)},
    }
    for k, v in attrs.items():
        object.__setattr__(tr, k, v)
    return tr


def _grpo(logp_new: Any, logp_old: Any, advantages: Any, mask: Any, clip_low: float, clip_high: float, dual_clip: Any, loss_type: str) -> float:
    import torch

    if dual_clip is not None:
        raise NotImplementedError("TRL's GRPO loss has no dual-clip")
    lp = torch.as_tensor(np.asarray(logp_new, np.float64), dtype=torch.float32)
    b, t = lp.shape
    tr = _grpo_trainer(loss_type, clip_low, clip_high, t)

    def per_token(*args: Any, **kwargs: Any) -> Any:
        return lp, torch.zeros_like(lp), None

    object.__setattr__(tr, "_get_per_token_logps_and_entropies", per_token)
    m = torch.as_tensor(np.asarray(mask, dtype=bool)).to(torch.long)
    inputs = {
        "prompt_ids": torch.ones(b, 1, dtype=torch.long), "prompt_mask": torch.ones(b, 1, dtype=torch.long),
        "completion_ids": torch.ones(b, t, dtype=torch.long), "completion_mask": m,
        "advantages": torch.as_tensor(np.asarray(advantages, np.float64), dtype=torch.float32),
        "old_per_token_logps": torch.as_tensor(np.asarray(logp_old, np.float64), dtype=torch.float32),
        "num_items_in_batch": m.sum().to(torch.float32),
    }
    return float(tr._compute_loss(None, inputs).detach())


def token_logprobs(logits: Any, tokens: Any, temperature: float) -> Any:
    import torch
    from trl.trainer.utils import selective_log_softmax

    z = torch.as_tensor(np.asarray(logits, np.float64), dtype=torch.float32)
    out = selective_log_softmax(z, torch.as_tensor(np.asarray(tokens), dtype=torch.long), temperature=float(temperature))
    return out.detach().double().numpy()


def token_entropy(logits: Any, temperature: float) -> Any:
    import torch
    from trl.trainer.utils import selective_log_softmax_and_entropy

    z = torch.as_tensor(np.asarray(logits, np.float64), dtype=torch.float32)
    idx = torch.zeros(z.shape[:-1], dtype=torch.long)
    _, ent = selective_log_softmax_and_entropy(z, idx, temperature=float(temperature))
    return ent.detach().double().numpy()


def preference_loss(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float, kind: str, label_smoothing: float) -> Any:
    """``DPOTrainer._compute_loss`` with ``loss_type = kind`` and ``label_smoothing``; one pair per call."""
    from .trl_dpo import pair_losses

    return pair_losses(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta, loss_type=kind, label_smoothing=label_smoothing)


def _reg(entry: str, target: str, fn: Any, translation: str, **kw: Any) -> None:
    register_adapter(PeerAdapter("trl", entry, target, fn, translation, **kw))


_GRPO_TR = ("trainer built without __init__; its per-token log-prob call returns logp_new; old_per_token_logps = logp_old; β = 0, "
            "token-level IS, eval mode (no accumulation divisor)")


def _per_loss_type(loss_type: str, agg: str) -> Any:
    def fn(logp_new: Any, logp_old: Any, advantages: Any, mask: Any, clip_low: float, clip_high: float, dual_clip: Any, agg_: str) -> float:
        if agg_ != agg:
            raise NotImplementedError(f"loss_type {loss_type!r} is {agg!r}")
        return _grpo(logp_new, logp_old, advantages, mask, clip_low, clip_high, dual_clip, loss_type)

    fn.__name__ = fn.__qualname__ = f"grpo_loss_{loss_type}"
    fn.__doc__ = f"``GRPOTrainer._compute_loss`` with ``loss_type={loss_type!r}`` (aggregation {agg})."
    return fn


for _lt, _agg, _extra, _known in (
    ("bnpo", "token_mean", "", None),
    ("grpo", "seq_mean_token_mean", "",
     "averages over all B rows: an all-padding row counts as 0 (the reference averages the rows with a token)"),
    ("dr_grpo", "seq_mean_token_sum_norm", "; max_completion_length = T (norm_length)", None),
    ("dapo", "token_mean", "; num_items_in_batch = Σ mask", None),
):
    globals()[f"grpo_loss_{_lt}"] = _f = _per_loss_type(_lt, _agg)
    _reg(f"GRPOTrainer._compute_loss (loss_type={_lt})", "policy_loss", _f, _GRPO_TR + _extra,
         space={"agg": (_agg,), "dual_clip": (None,)}, known_finding=_known)

_reg("trainer.utils.selective_log_softmax", "token_logprobs", token_logprobs, "index = tokens; temperature passed through")
_reg("trainer.utils.selective_log_softmax_and_entropy", "token_entropy", token_entropy, "the entropy output; temperature passed through",
     known_finding="NaN for a −inf logit (exp(−inf)·(−inf))")


def _per_dpo_kind(kind: str) -> Any:
    def fn(pc: Any, pr: Any, rc: Any, rr: Any, beta: float, kind_: str, label_smoothing: float) -> Any:
        if kind_ != kind:
            raise NotImplementedError(f"this row is loss_type={kind!r}")
        return preference_loss(pc, pr, rc, rr, beta, kind, label_smoothing)

    fn.__name__ = fn.__qualname__ = f"dpo_{kind}"
    return fn


_DPO_TR = "as the dpo_loss row, loss_type = kind; one completion token per sequence (IPO's per-token average = the sum); one pair per call"
for _kind, _ls, _note in (
    ("sigmoid", (0.0,), "; label_smoothing 0 only: TRL documents it for robust and EXO, its sigmoid has no cDPO term"),
    ("hinge", (0.0,), ""), ("ipo", (0.0,), ""), ("robust", (0.0, 0.1, 0.25), "; label_smoothing passed through"),
):
    globals()[f"dpo_{_kind}"] = _g = _per_dpo_kind(_kind)
    _reg(f"DPOTrainer._compute_loss (loss_type={_kind})", "preference_loss", _g, _DPO_TR + _note,
         space={"kind": (_kind,), "label_smoothing": _ls})


def _inline(*args: Any) -> Any:  # pragma: no cover - never called (``unavailable``)
    raise NotImplementedError


_reg("GRPOTrainer._generate_and_score_completions (scale_rewards)", "group_advantages", _inline, "-",
     unavailable="inline statements of GRPOTrainer._generate_and_score_completions (ε = 1e-4 on the std; G = 1 gives 0)")
_reg("RLOOTrainer (advantages)", "rloo_advantages", _inline, "-", unavailable="inline statements of the RLOO trainer's scoring step")
