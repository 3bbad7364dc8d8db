"""The loop's training stages: SFT (π_ref), the reward model, PPO, DPO.

Every loss is assembled from the torch twins of the reference, called through ``impl`` (an
:class:`verification.registry.Impl`), so a test can swap one twin for a mutant and watch the
criteria fail.  Each stage seeds its own random streams (numpy for data and sampling, torch for
initialization and minibatch order), so a stage can be rerun alone with the same result.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import Tensor

from ..registry import Impl
from .config import LoopConfig
from .critic_free import Variant, train_critic_free
from .evaluate import objective_report
from .model import TinyCausalLM, build_model, exact_logp, generate, to_device
from .task import FloatArray, Preferences, Task, sample_responses

#: progress callback: (stage, step, total, short status text)
ProgressFn = Callable[[str, int, int, str], None]


def _noop(stage: str, step: int, total: int, text: str) -> None:
    return None


def eval_steps(total: int, points: int) -> list[int]:
    """Steps 0..total at which the exact evaluation runs (always 0 and total)."""
    return sorted({int(round(x)) for x in np.linspace(0, total, max(points, 2))})


@dataclass
class StageResult:
    """What a stage produced: the trained model, its exact history, and its wall time."""

    model: TinyCausalLM
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def _seq_logp(model: TinyCausalLM, ids: Tensor, actions: Tensor, mask: Tensor, impl: Impl) -> Tensor:
    tok = impl.token_logprobs_torch(model.policy_logits(ids), actions)
    out: Tensor = impl.sequence_logprob_torch(tok, mask)
    return out


# ------------------------------------------------------------------------------------------ SFT


def train_sft(task: Task, cfg: LoopConfig, device: torch.device, seed: int, impl: Impl, progress: ProgressFn = _noop) -> StageResult:
    """π_ref: maximum likelihood on ``sft_samples`` samples per prompt of the base distribution."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    samples = sample_responses(task.base_logp, cfg.sft_samples, rng)  # [P, n]
    p_all = np.repeat(np.arange(task.n_prompts), cfg.sft_samples)
    r_all = samples.reshape(-1)
    model = build_model(task, cfg.d_model, cfg.n_layers, cfg.n_heads).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.sft_lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / max(cfg.sft_steps, 1))
    for step in range(cfg.sft_steps):
        rows = rng.integers(0, p_all.shape[0], size=cfg.sft_batch)
        ids, actions, mask = to_device(task, p_all[rows], r_all[rows], device)
        tok = impl.token_logprobs_torch(model.policy_logits(ids), actions)
        loss = -impl.masked_mean_torch(tok, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 25 == 0 or step == cfg.sft_steps - 1:
            progress("sft", step + 1, cfg.sft_steps, f"nll/token {loss.item():.3f}")
    model.eval()
    for prm in model.parameters():
        prm.requires_grad_(False)
    return StageResult(model, seconds=time.perf_counter() - t0)


# --------------------------------------------------------------------------------- reward model



def _trainable_copy(ref: TinyCausalLM, fresh_head: str | None) -> TinyCausalLM:
    """A deep copy of π_ref's network with every parameter trainable, ``fresh_head`` (if any)
    zero-initialized, in training mode."""
    model = copy.deepcopy(ref)
    for prm in model.parameters():
        prm.requires_grad_(True)
    if fresh_head is not None:
        head = getattr(model, fresh_head)
        torch.nn.init.zeros_(head.weight)
        torch.nn.init.zeros_(head.bias)
    model.train()
    return model

def train_rm(
    task: Task, cfg: LoopConfig, ref: TinyCausalLM, prefs: Preferences, device: torch.device, seed: int, impl: Impl,
    progress: ProgressFn = _noop,
) -> StageResult:
    """The reward model: π_ref's network with a fresh scalar head, trained on the Bradley–Terry loss."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    rm = _trainable_copy(ref, "reward_head")
    params = [p for n, p in rm.named_parameters() if not n.startswith(("policy_head", "value_head"))]
    opt = torch.optim.Adam(params, lr=cfg.rm_lr)
    steps_per_epoch = max(1, prefs.n // cfg.rm_batch)
    total = cfg.rm_epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / max(total, 1))
    step = 0
    for _ in range(cfg.rm_epochs):
        perm = rng.permutation(prefs.n)
        for b in range(steps_per_epoch):
            rows = perm[b * cfg.rm_batch : (b + 1) * cfg.rm_batch]
            n = rows.shape[0]
            ids, _, mask = to_device(
                task, np.concatenate([prefs.prompt[rows]] * 2), np.concatenate([prefs.chosen[rows], prefs.rejected[rows]]), device
            )
            r = rm.reward(ids, mask, impl)
            loss = impl.bt_loss_torch(r[:n], r[n:]).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step % 10 == 0 or step == total:
                progress("reward model", step, total, f"BT loss {loss.item():.3f}")
    rm.eval()
    for prm in rm.parameters():
        prm.requires_grad_(False)
    return StageResult(rm, seconds=time.perf_counter() - t0)


# ------------------------------------------------------------------------------------------ PPO


def _evaluate(model: TinyCausalLM, task: Task, device: torch.device, logp_ref: FloatArray, r_true: FloatArray,
              r_rm: FloatArray | None, beta: float, step: int, total: int, store: dict[str, Any]) -> dict[str, Any]:
    """The exact report of the current policy against the true (and the learned) reward."""
    logp = exact_logp(model, task, device)
    store["logp"] = logp
    n = task.lengths
    rec: dict[str, Any] = {"step": step, "progress": step / max(total, 1), "true": objective_report(logp, logp_ref, r_true, beta, n)}
    if r_rm is not None:
        rec["rm"] = objective_report(logp, logp_ref, r_rm, beta, n)
    return rec


def _whiten(adv: Tensor, mask: Tensor, impl: Impl) -> Tensor:
    mean = impl.masked_mean_torch(adv, mask)
    var = impl.masked_mean_torch((adv - mean) ** 2, mask)
    return torch.where(mask, (adv - mean) / torch.sqrt(var + 1e-8), torch.zeros_like(adv))


def train_ppo(
    task: Task, cfg: LoopConfig, ref: TinyCausalLM, rm: TinyCausalLM, device: torch.device, seed: int, impl: Impl,
    logp_ref: FloatArray, r_rm: FloatArray, progress: ProgressFn = _noop,
) -> StageResult:
    """PPO with a value head on the policy, the clipped objective, masked GAE over tokens and
    the KL-shaped rewards −β log(π/π_ref) per token plus the reward model's score at the end."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    policy = _trainable_copy(ref, "value_head")
    params = [p for n, p in policy.named_parameters() if not n.startswith("reward_head")]
    opt = torch.optim.Adam(params, lr=cfg.ppo_lr)
    evals = set(eval_steps(cfg.ppo_iterations, cfg.eval_points))
    history: list[dict[str, Any]] = []
    diag: list[dict[str, float]] = []
    extra: dict[str, Any] = {"diagnostics": diag}
    p_idx = np.repeat(np.arange(task.n_prompts), cfg.ppo_rollouts)
    n = p_idx.shape[0]
    for it in range(cfg.ppo_iterations + 1):
        if it in evals:
            rec = _evaluate(policy, task, device, logp_ref, task.reward, r_rm, cfg.beta, it, cfg.ppo_iterations, extra)
            history.append(rec)
            progress("ppo", it, cfg.ppo_iterations, f"gap(rm) {rec['rm']['gap_mean']:.4f}  gap(true) {rec['true']['gap_mean']:.4f}")
        if it == cfg.ppo_iterations:
            break
        # ---- rollout
        r_idx = generate(policy, task, p_idx, rng, device)
        ids, actions, mask = to_device(task, p_idx, r_idx, device)
        with torch.no_grad():
            h = policy.hidden(ids)
            old_logp = impl.token_logprobs_torch(policy.policy_logits(ids, h), actions)
            values = policy.values(ids, h)
            ref_logp = impl.token_logprobs_torch(ref.policy_logits(ids), actions)
            scores = rm.reward(ids, mask, impl)
            rewards = impl.kl_rewards_torch(scores, old_logp, ref_logp, mask, cfg.beta)
            adv = impl.masked_gae_torch(rewards, values, mask, lam=cfg.gae_lambda, gamma=cfg.gamma)
            returns = torch.where(mask, adv + values, torch.zeros_like(adv))
            if cfg.whiten_advantages:
                adv = _whiten(adv, mask, impl)
        # ---- optimization
        mb = n // cfg.ppo_minibatches
        stats = {"pg": 0.0, "vf": 0.0, "entropy": 0.0, "clipfrac": 0.0}
        count = 0
        for _ in range(cfg.ppo_epochs):
            perm = torch.from_numpy(rng.permutation(n)).to(device)
            for b in range(cfg.ppo_minibatches):
                rows = perm[b * mb : (b + 1) * mb]
                m = mask[rows]
                h = policy.hidden(ids[rows])
                logits = policy.policy_logits(ids[rows], h)
                new_logp = impl.token_logprobs_torch(logits, actions[rows])
                v = policy.values(ids[rows], h)
                pg = -impl.masked_mean_torch(impl.ppo_clip_torch(new_logp, old_logp[rows], adv[rows], cfg.ppo_clip), m)
                vf = impl.masked_mean_torch(impl.value_loss_torch(v, returns[rows]), m)
                loss = pg + cfg.vf_coef * vf
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
                opt.step()
                with torch.no_grad():
                    ratio = torch.exp(new_logp - old_logp[rows])
                    stats["pg"] += pg.item()
                    stats["vf"] += vf.item()
                    stats["entropy"] += float(impl.masked_mean_torch(impl.entropy_torch(logits), m))
                    stats["clipfrac"] += float(impl.masked_mean_torch(((ratio - 1).abs() > cfg.ppo_clip).to(ratio.dtype), m))
                count += 1
        diag.append({"iteration": it + 1, "score_mean": float(scores.mean()), **{k: v / count for k, v in stats.items()}})
    policy.eval()
    return StageResult(policy, history, time.perf_counter() - t0, extra)


# ------------------------------------------------------------------------------------------ DPO


def train_dpo(
    task: Task, cfg: LoopConfig, ref: TinyCausalLM, prefs: Preferences, device: torch.device, seed: int, impl: Impl,
    logp_ref: FloatArray, progress: ProgressFn = _noop,
) -> StageResult:
    """DPO on the preference pairs, from π_ref, with the same β as the KL-regularized objective."""
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    policy = _trainable_copy(ref, None)
    params = [p for n, p in policy.named_parameters() if not n.startswith(("reward_head", "value_head"))]
    opt = torch.optim.Adam(params, lr=cfg.dpo_lr)
    with torch.no_grad():
        ids_c, act_c, m_c = to_device(task, prefs.prompt, prefs.chosen, device)
        ids_r, act_r, m_r = to_device(task, prefs.prompt, prefs.rejected, device)
        ref_c = _seq_logp(ref, ids_c, act_c, m_c, impl)
        ref_r = _seq_logp(ref, ids_r, act_r, m_r, impl)
    steps_per_epoch = max(1, prefs.n // cfg.dpo_batch)
    total = cfg.dpo_epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0 - s / max(total, 1))
    evals = set(eval_steps(total, cfg.eval_points))
    history: list[dict[str, Any]] = []
    step = 0
    extra: dict[str, Any] = {}
    history.append(_evaluate(policy, task, device, logp_ref, task.reward, None, cfg.beta, 0, total, extra))
    for _ in range(cfg.dpo_epochs):
        perm = torch.from_numpy(rng.permutation(prefs.n)).to(device)
        for b in range(steps_per_epoch):
            rows = perm[b * cfg.dpo_batch : (b + 1) * cfg.dpo_batch]
            k = rows.shape[0]
            ids = torch.cat([ids_c[rows], ids_r[rows]])
            lp = _seq_logp(policy, ids, torch.cat([act_c[rows], act_r[rows]]), torch.cat([m_c[rows], m_r[rows]]), impl)
            loss = impl.dpo_loss_torch(lp[:k], lp[k:], ref_c[rows], ref_r[rows], cfg.beta).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step in evals:
                rec = _evaluate(policy, task, device, logp_ref, task.reward, None, cfg.beta, step, total, extra)
                history.append(rec)
                progress("dpo", step, total, f"DPO loss {loss.item():.3f}  gap(true) {rec['true']['gap_mean']:.4f}")
    policy.eval()
    return StageResult(policy, history, time.perf_counter() - t0, extra)


def train_cf(
    task: Task, cfg: LoopConfig, ref: TinyCausalLM, device: torch.device, seed: int, impl: Impl, logp_ref: FloatArray,
    variant: Variant, progress: ProgressFn = _noop,
) -> StageResult:
    """A critic-free stage (:mod:`.critic_free`), judged against the true reward it trains on."""
    t0 = time.perf_counter()

    def evaluate(model: TinyCausalLM, step: int, total: int, store: dict[str, Any]) -> dict[str, Any]:
        return _evaluate(model, task, device, logp_ref, task.reward, None, cfg.beta, step, total, store)

    policy, history, extra = train_critic_free(task, cfg, ref, device, seed, impl, logp_ref, variant, evaluate,
                                               lambda m: _trainable_copy(m, None), progress)
    return StageResult(policy, history, time.perf_counter() - t0, extra)


def implicit_rewards(logp_pi: FloatArray, logp_ref: FloatArray, beta: float) -> FloatArray:
    """β log π/π_ref of every response, [P, K] (the DPO policy's implicit reward, up to a per-prompt constant)."""
    out: FloatArray = beta * (logp_pi - logp_ref)
    return out

