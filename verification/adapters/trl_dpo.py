"""TRL: the DPO loss of ``DPOTrainer._compute_loss``, driven with fixed log-probs and no model.

TRL 1.16 has no standalone DPO loss function: the loss is computed inside
``DPOTrainer._compute_loss`` from the model's per-token log-probs.  This adapter builds a
trainer object without running ``__init__`` (no model, tokenizer or dataset), gives it a
stand-in "model" whose output carries the per-token log-probs of one completion token, passes
the reference log-probs as precomputed (``precompute_ref_logps``), and reads the loss.  The
arithmetic (log-ratios, reverse-KL scores, ``-logsigmoid(beta * delta)``) is TRL's own code.
TRL reduces with a mean over the batch, so each pair is a batch of one.
"""

from __future__ import annotations

from collections import defaultdict
from types import SimpleNamespace
from typing import Any

import numpy as np

from . import PeerAdapter, register_adapter


def _trainer(beta: float, loss_type: str = "sigmoid", label_smoothing: float = 0.0) -> Any:
    import torch
    from trl.trainer.dpo_trainer import DPOTrainer

    class Accel:
        device = torch.device("cpu")

        @staticmethod
        def gather_for_metrics(x: Any) -> Any:
            return x

        @staticmethod
        def gather(x: Any) -> Any:
            return x

    tr = DPOTrainer.__new__(DPOTrainer)
    attrs: dict[str, Any] = {
        "accelerator": Accel(), "aux_loss_enabled": False, "ld_alpha": None, "precompute_ref_logps": True,
        "f_divergence_type": "reverse_kl", "loss_types": [loss_type], "loss_weights": [1.0], "beta": float(beta),
        "use_weighting": False, "label_smoothing": float(label_smoothing), "_total_train_tokens": 0, "_tp_size": 1,
        "_metrics": {"train": defaultdict(list), "eval": defaultdict(list)},
    }
    for k, v in attrs.items():
        object.__setattr__(tr, k, v)
    return tr


def dpo_loss(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float) -> Any:
    """Per-pair DPO loss from TRL's trainer code (float32, sigmoid loss, reverse KL)."""
    return pair_losses(policy_chosen, policy_rejected, ref_chosen, ref_rejected, beta)


def pair_losses(policy_chosen: Any, policy_rejected: Any, ref_chosen: Any, ref_rejected: Any, beta: float,
                loss_type: str = "sigmoid", label_smoothing: float = 0.0) -> Any:
    """Per-pair loss of ``DPOTrainer._compute_loss`` with one ``loss_type`` (float32, reverse KL)."""
    import torch

    pc, pr, rc, rr = (np.asarray(x, dtype=np.float64) for x in (policy_chosen, policy_rejected, ref_chosen, ref_rejected))
    tr = _trainer(beta, loss_type, label_smoothing)
    out = []
    for i in range(pc.shape[0]):
        logps = torch.tensor([[pc[i]], [pr[i]]], dtype=torch.float32)  # [chosen; rejected] x one completion token

        class Model:
            training = True

            def __call__(self, **kwargs: Any) -> Any:
                z = torch.zeros_like(logps)
                return SimpleNamespace(log_probs=logps, entropy=z, mean_logits=z, is_top1=torch.zeros_like(logps, dtype=torch.bool))

        model = Model()
        object.__setattr__(tr, "model", model)
        inputs = {
            "input_ids": torch.tensor([[1, 2], [1, 3]]), "attention_mask": torch.ones(2, 2, dtype=torch.long),
            "completion_mask": torch.tensor([[0, 1], [0, 1]]),
            "ref_chosen_logps": torch.tensor([rc[i]], dtype=torch.float32), "ref_rejected_logps": torch.tensor([rr[i]], dtype=torch.float32),
        }
        loss = tr._compute_loss(model, inputs, return_outputs=False)
        out.append(float(loss.detach()))
    return np.array(out)


register_adapter(PeerAdapter(
    "trl", "DPOTrainer._compute_loss (loss_type='sigmoid')", "dpo_loss", dpo_loss,
    "no standalone loss in TRL 1.16: the trainer's loss code runs on a stand-in model whose output holds the policy log-probs "
    "(one completion token per sequence), reference log-probs passed as precomputed; one pair per call (TRL takes the batch mean)",
))
