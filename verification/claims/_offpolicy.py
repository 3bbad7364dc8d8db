"""Shared pieces of the §8-§11 claims: per-step quantities of enumerated trajectories, the
surrogate's exact gradient by autograd, and multi-part measurements.

Not a claim module (it registers nothing); the §8-§11 claim and errata modules import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

import reference
from reference import TabularMDP
from reference._torch import single_thread

from ..exact import Trajectories, exact_gradient
from ..registry import Measurement


def ratio_measure(parts: list[tuple[str, float, float]], expected: object = None, got: object = None) -> Measurement:
    """A Measurement whose error is max_i observed_i / allowed_i (pass when <= 1).

    Used by claims with several parts that have different natural tolerances; ``detail`` lists
    every part as ``name: observed (allowed)``.
    """
    worst = 0.0
    for _, observed, allowed in parts:
        r = float("inf") if not np.isfinite(observed) else (observed / allowed if allowed > 0 else (0.0 if observed == 0 else float("inf")))
        worst = max(worst, r)
    detail = "; ".join(f"{name}: {observed:.3e} (allowed {allowed:.1e})" for name, observed, allowed in parts)
    return Measurement(worst, expected=expected, got=got, detail=detail)


@dataclass(frozen=True, eq=False)
class StepTables:
    """Per-step quantities of every enumerated trajectory ([N, T] unless noted).

    logp: log π(a_t|s_t); v: V_t(s_t); v_next: V_{t+1}(s_{t+1}) (0 at the horizon);
    q: Q_t(s_t, a_t); q_all: Q_t(s_t, ·) [N, T, A]; q_next_all: Q_{t+1}(s_{t+1}, ·) [N, T, A]
    (0 at the horizon); pi: π(·|s_t) [N, T, A]; pi_next: π(·|s_{t+1}) [N, T, A];
    disc: γ^t [T].
    """

    logp: np.ndarray
    v: np.ndarray
    v_next: np.ndarray
    q: np.ndarray
    q_all: np.ndarray
    q_next_all: np.ndarray
    pi: np.ndarray
    pi_next: np.ndarray
    disc: np.ndarray

    @property
    def advantage(self) -> np.ndarray:
        """A_t(s_t, a_t) = Q_t − V_t, [N, T]."""
        out: np.ndarray = self.q - self.v
        return out


def step_tables(mdp: TabularMDP, logits: np.ndarray, tr: Trajectories) -> StepTables:
    """Values, action values and log-probabilities of ``logits``'s policy along ``tr``'s trajectories."""
    n_t = mdp.horizon
    steps = np.arange(n_t)[None, :]
    s, a, s_next = tr.states[:, :-1], tr.actions, tr.states[:, 1:]
    v = reference.state_values(mdp, logits)  # [T+1, S]
    q = reference.action_values(mdp, logits)  # [T, S, A]
    q_pad = np.concatenate([q, np.zeros((1,) + q.shape[1:])], axis=0)  # Q_T = 0
    logpi = reference.log_softmax_policy(logits)
    pi = np.exp(logpi)
    return StepTables(
        logp=logpi[s, a],
        v=v[steps, s],
        v_next=v[steps + 1, s_next],
        q=q[steps, s, a],
        q_all=q[steps, s],
        q_next_all=q_pad[steps + 1, s_next],
        pi=pi[s],
        pi_next=pi[s_next],
        disc=mdp.gamma ** np.arange(n_t, dtype=np.float64),
    )


def surrogate_gradient_autograd(tr: Trajectories, logits_old: np.ndarray, logits: np.ndarray, psi: np.ndarray) -> np.ndarray:
    """∇_θ Σ_τ P_old(τ) Σ_t exp(log π_θ(a_t|s_t) − log π_old(a_t|s_t)) Ψ_t at θ = logits, by autograd."""
    with single_thread():
        th = torch.tensor(np.asarray(logits, dtype=np.float64), requires_grad=True)
        lp = torch.log_softmax(th, dim=1)[torch.as_tensor(tr.states[:, :-1]), torch.as_tensor(tr.actions)]
        lo = torch.as_tensor(reference.log_softmax_policy(logits_old)[tr.states[:, :-1], tr.actions])
        obj = (torch.as_tensor(tr.prob)[:, None] * torch.exp(lp - lo) * torch.as_tensor(psi)).sum()
        (grad,) = torch.autograd.grad(obj, th)
    out: np.ndarray = grad.numpy().reshape(-1)
    return out


def exact_gradient_1t(mdp: TabularMDP, logits: np.ndarray) -> np.ndarray:
    """∇J by autograd through the enumerated J, on one intra-op thread."""
    with single_thread():
        return exact_gradient(mdp, logits)


def hessian(f: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """torch.autograd.functional.hessian of a scalar function of one tensor (typed wrapper)."""
    out = torch.autograd.functional.hessian(f, x)  # type: ignore[no-untyped-call]
    assert isinstance(out, torch.Tensor)
    return out
