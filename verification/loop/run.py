"""The scaled-down RLHF loop end to end: task, π_ref, reward model, PPO, DPO, exact evaluation, criteria."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
import torch

import reference

from ..registry import REFERENCE, Impl
from .config import LoopConfig
from .evaluate import group_locality_error, heldout_accuracy, kl_divergence, own_reward_coefficient, pair_accuracies, reverse_kl_optimum
from .model import TinyCausalLM, exact_logp, exact_rewards
from .progress import Progress
from .critic_free import VARIANTS, Variant, twin
from .stages import ProgressFn, StageResult, implicit_rewards, train_cf, train_dpo, train_ppo, train_rm, train_sft
from .task import FloatArray, Preferences, Task, make_task, sample_preferences

STAGES = ("rm", "ppo", "dpo", "critic_free")


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when available, else the CPU; ``cuda`` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device: 'cuda' requested but torch.cuda.is_available() is False")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device: expected auto, cpu or cuda, got {name!r}")
    return torch.device(name)


@contextlib.contextmanager
def torch_threads(cfg: LoopConfig, device: torch.device) -> Iterator[None]:
    """On the CPU, run with ``cfg.threads`` intra-op threads and restore the previous number after.

    The tiny model's kernels are too small to share out: one thread is fastest, and on a busy
    2-core machine a second thread waiting at an OpenMP barrier can slow each step tenfold.
    """
    prev = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(cfg.threads)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def stage_seeds(seed: int) -> dict[str, int]:
    """Independent seeds per stage, so a stage rerun alone reproduces its numbers."""
    children = np.random.SeedSequence(seed).spawn(6)
    names = ("task", "sft", "prefs", "rm", "ppo", "dpo")
    out = {n: int(c.generate_state(1)[0]) for n, c in zip(names, children)}
    for name in VARIANTS:  # the critic-free stages: a stream per stage name, independent of the others
        out[name] = int(np.random.SeedSequence([seed, *name.encode()]).generate_state(1)[0])
    return out


@dataclass
class Prepared:
    """Everything the PPO and DPO stages start from (reused by tests that rerun one stage)."""

    cfg: LoopConfig
    seed: int
    device: torch.device
    task: Task
    ref: TinyCausalLM
    logp_ref: FloatArray
    train_prefs: Preferences
    heldout_prefs: Preferences
    rm: TinyCausalLM | None = None
    r_rm: FloatArray | None = None
    summary: dict[str, Any] = field(default_factory=dict)


def prepare(cfg: LoopConfig, seed: int, device: torch.device, impl: Impl = REFERENCE, progress: ProgressFn | None = None,
            reward_model: bool = True) -> Prepared:
    """The task, π_ref (SFT), the preference pairs and (optionally) the reward model."""
    with torch_threads(cfg, device):
        return _prepare(cfg, seed, device, impl, progress, reward_model)


def _prepare(cfg: LoopConfig, seed: int, device: torch.device, impl: Impl, progress: ProgressFn | None,
             reward_model: bool) -> Prepared:
    prog: ProgressFn = progress or (lambda *a: None)
    seeds = stage_seeds(seed)
    task = make_task(cfg, np.random.default_rng(seeds["task"]))
    sft = train_sft(task, cfg, device, seeds["sft"], impl, prog)
    logp_ref = exact_logp(sft.model, task, device)
    rng = np.random.default_rng(seeds["prefs"])
    train = sample_preferences(task, logp_ref, cfg.pref_pairs, rng)
    held = sample_preferences(task, logp_ref, cfg.pref_heldout, rng)
    base = np.exp(task.base_logp)
    ref_p = np.exp(logp_ref)
    summary: dict[str, Any] = {
        "task": {
            "prompts": [list(p) for p in task.prompts],
            "prompt_lengths": [len(p) for p in task.prompts],
            "vocab": task.vocab,
            "response_length": task.length,
            "eos": task.eos,
            "responses_by_length": [int(x) for x in np.bincount(task.lengths, minlength=task.length + 1)[1:]],
            "responses_per_prompt": task.n_responses,
            "beta": cfg.beta,
            "true_reward_std_under_ref": [float(np.sqrt(ref_p[p] @ (task.reward[p] - ref_p[p] @ task.reward[p]) ** 2)) for p in range(task.n_prompts)],
            "preference_pairs": {"train": train.n, "heldout": held.n},
        },
        "sft": {
            "seconds": sft.seconds,
            "kl_base_to_ref": [float(x) for x in kl_divergence(base, ref_p)],
            "kl_ref_to_uniform": [float(x) for x in kl_divergence(ref_p, np.full_like(ref_p, 1.0 / task.n_responses))],
        },
    }
    prep = Prepared(cfg, seed, device, task, sft.model, logp_ref, train, held, summary=summary)
    if reward_model:
        rm = train_rm(task, cfg, sft.model, train, device, seeds["rm"], impl, prog)
        r_rm = exact_rewards(rm.model, task, device)
        bayes, acc = pair_accuracies(logp_ref, task.reward, r_rm)
        summary["rm"] = {
            "seconds": rm.seconds,
            "exact_accuracy": [float(x) for x in acc],
            "bayes_accuracy": [float(x) for x in bayes],
            "exact_accuracy_mean": float(acc.mean()),
            "bayes_accuracy_mean": float(bayes.mean()),
            "heldout": heldout_accuracy(held, task.reward, r_rm),
            "train": heldout_accuracy(train, task.reward, r_rm),
        }
        prep.rm, prep.r_rm = rm.model, r_rm
    return prep


def run_ppo(prep: Prepared, impl: Impl = REFERENCE, progress: ProgressFn | None = None, cfg: LoopConfig | None = None) -> StageResult:
    """Stage 2 on a prepared loop (``cfg`` may override the training effort)."""
    if prep.rm is None or prep.r_rm is None:
        raise ValueError("prep: PPO needs the reward model (prepare(..., reward_model=True))")
    c = cfg or prep.cfg
    with torch_threads(c, prep.device):
        return train_ppo(prep.task, c, prep.ref, prep.rm, prep.device, stage_seeds(prep.seed)["ppo"], impl, prep.logp_ref,
                         prep.r_rm, progress or (lambda *a: None))


def run_dpo(prep: Prepared, impl: Impl = REFERENCE, progress: ProgressFn | None = None, cfg: LoopConfig | None = None) -> StageResult:
    """Stage 3 on a prepared loop."""
    c = cfg or prep.cfg
    with torch_threads(c, prep.device):
        return train_dpo(prep.task, c, prep.ref, prep.train_prefs, prep.device, stage_seeds(prep.seed)["dpo"], impl,
                         prep.logp_ref, progress or (lambda *a: None))


def run_cf(prep: Prepared, name: str, impl: Impl = REFERENCE, progress: ProgressFn | None = None,
           cfg: LoopConfig | None = None) -> StageResult:
    """Stage 4, one critic-free variant (``VARIANTS[name]``) on a prepared loop."""
    if name not in VARIANTS:
        raise ValueError(f"name: unknown critic-free stage {name!r}; choose from {sorted(VARIANTS)}")
    c = cfg or prep.cfg
    with torch_threads(c, prep.device):
        return train_cf(prep.task, c, prep.ref, prep.device, stage_seeds(prep.seed)[name], impl, prep.logp_ref,
                        VARIANTS[name], progress or (lambda *a: None))


@dataclass(frozen=True)
class Criterion:
    name: str
    description: str
    value: float
    threshold: float
    direction: str  # ">=" or "<="

    @property
    def passed(self) -> bool:
        v = self.value
        return bool(np.isfinite(v) and (v >= self.threshold if self.direction == ">=" else v <= self.threshold))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "value": self.value, "threshold": self.threshold,
                "direction": self.direction, "passed": self.passed}


def rm_criteria(summary: dict[str, Any], cfg: LoopConfig) -> list[Criterion]:
    rm = summary["rm"]
    return [Criterion("rm_accuracy", "reward model's exact expected pair accuracy ≥ Bayes-optimal − margin (mean over prompts)",
                      rm["exact_accuracy_mean"], rm["bayes_accuracy_mean"] - cfg.criteria.rm_accuracy_margin, ">=")]


def ppo_criteria(final: dict[str, Any], cfg: LoopConfig) -> list[Criterion]:
    c = cfg.criteria
    return [
        Criterion("ppo_gap_closed_rm", "PPO: fraction of the gap J(π_ref) → J(π*) closed, against the learned reward, worst prompt",
                  final["rm"]["gap_closed_min"], c.ppo_gap_closed_rm, ">="),
        Criterion("ppo_kl_ratio_rm", "PPO: KL(π‖π*) / KL(π_ref‖π*), against the learned reward (means over prompts)",
                  final["rm"]["kl_to_optimum_ratio"], c.ppo_kl_ratio_rm, "<="),
        Criterion("ppo_gap_closed_true", "PPO end to end: fraction of the gap closed, against the true reward (mean over prompts)",
                  final["true"]["gap_closed_mean"], c.ppo_gap_closed_true, ">="),
    ]


def dpo_criteria(final: dict[str, Any], cfg: LoopConfig) -> list[Criterion]:
    c = cfg.criteria
    return [
        Criterion("dpo_gap_closed_true", "DPO: fraction of the gap closed, against the true reward (mean over prompts)",
                  final["true"]["gap_closed_mean"], c.dpo_gap_closed_true, ">="),
        Criterion("dpo_kl_ratio_true", "DPO: KL(π‖π*) / KL(π_ref‖π*), against the true reward (means over prompts)",
                  final["true"]["kl_to_optimum_ratio"], c.dpo_kl_ratio_true, "<="),
    ]


def linear_own_coefficient(variant: Variant, impl: Impl, group_size: int) -> float | None:
    """∂A_i/∂r_i of the variant's advantage function when it is linear in the rewards (else None).

    The expected update of a linear advantage is this coefficient times ∇J (KL in the reward):
    1 is unbiased (leave-one-out); the same-group mean gives 1 − 1/G (SPEC.md §12.L).
    """
    if variant.advantage == "rloo":
        return own_reward_coefficient(twin(impl, "rloo_advantages"), group_size)
    if variant.advantage == "none":
        ga = twin(impl, "group_advantages")
        return own_reward_coefficient(lambda r, g: ga(r, g, "none", 1e-6), group_size)
    return None


def cf_measures(variant: Variant, impl: Impl, prep: Prepared, logp: FloatArray, cfg: LoopConfig) -> dict[str, Any]:
    """Exact measures of a critic-free stage beyond the objective report.

    ``own_reward_coefficient`` (linear advantages), and for KL in the loss the distance to the
    reverse-KL optimum π° = argmax E[r] − β_eff KL(π_ref‖π) with β_eff = β / coefficient (the
    expected k3 gradient is ∇KL(π_ref‖π), SPEC §17, while the reward term is scaled by the coefficient).
    """
    out: dict[str, Any] = {}
    coef = linear_own_coefficient(variant, impl, cfg.cf_group_size)
    out["own_reward_coefficient"] = coef
    if variant.advantage in ("group", "none", "rloo"):
        if variant.advantage == "rloo":
            fn = twin(impl, "rloo_advantages")
        else:
            ga, sc = twin(impl, "group_advantages"), variant.advantage
            fn = lambda r, g: ga(r, g, sc, 1e-6)  # noqa: E731
        out["group_locality_error"] = group_locality_error(fn, cfg.cf_group_size)
    if variant.kl == "loss-k3" and coef is not None and coef > 0:
        beta_eff = cfg.beta / coef
        rev = reverse_kl_optimum(prep.logp_ref, prep.task.reward, beta_eff)
        pi = np.exp(logp)
        star = np.asarray(reference.kl_optimal_policy(np.exp(prep.logp_ref), prep.task.reward, cfg.beta))
        to_rev = kl_divergence(pi, np.exp(rev))
        to_star = kl_divergence(pi, star)
        out.update({"beta_eff": beta_eff, "kl_to_reverse_optimum": [float(x) for x in to_rev],
                    "kl_to_optimum": [float(x) for x in to_star],
                    "reverse_vs_optimum_ratio": float(np.mean(to_rev) / np.mean(to_star)),
                    "kl_reverse_optimum_to_optimum": [float(x) for x in kl_divergence(np.exp(rev), star)]})
    return out


def cf_criteria(name: str, final: dict[str, Any], measures: dict[str, Any], cfg: LoopConfig) -> list[Criterion]:
    """The pass criteria of one critic-free stage (SPEC.md §12.L, findings): what the exact measures support."""
    c = cfg.criteria
    t = final["true"]
    v = VARIANTS[name]
    out: list[Criterion] = []
    if v.kl == "reward":
        out.append(Criterion(f"{name}_gap_closed_true", f"{v.label}: fraction of the gap closed, true reward (mean over prompts)",
                             t["gap_closed_mean"], c.cf_gap_closed_true, ">="))
        out.append(Criterion(f"{name}_length_error", f"{v.label}: mean over prompts of |E_π[n] − E_π*[n]| (tokens)",
                             t["length_error_mean"], c.cf_length_error_max, "<="))
    if "group_locality_error" in measures:
        out.append(Criterion(f"{name}_group_local", f"{v.label}: max change of a group's advantages when the other groups' rewards change (exact probe)",
                             measures["group_locality_error"], 1e-12, "<="))
    if v.advantage == "rloo":
        coef = measures["own_reward_coefficient"]
        out.append(Criterion(f"{name}_unbiased", f"{v.label}: |∂A_i/∂r_i − 1| (exact probe; 0 iff E[update] = ∇J)",
                             abs(float(coef) - 1.0), 1e-12, "<="))
    if v.kl == "loss-k1":
        out.append(Criterion(f"{name}_unregularized", f"{v.label}: KL(π‖π_ref) / KL(π*‖π_ref) (k1's expected gradient is 0: no KL pull)",
                             t["kl_to_ref_mean"] / t["kl_optimum_to_ref_mean"], c.cf_k1_loss_kl_overshoot_min, ">="))
    return out


def reward_kl_partner(name: str) -> str | None:
    """The stage with the same advantage and aggregation as ``name`` but the KL in the reward (if any)."""
    v = VARIANTS[name]
    if v.kl == "reward":
        return None
    for other in VARIANTS.values():
        if other.kl == "reward" and other.advantage == v.advantage and other.agg == v.agg:
            return other.name
    return None


def cf_pair_criteria(finals: dict[str, dict[str, Any]], cfg: LoopConfig) -> list[Criterion]:
    """Cross-stage criteria: k3 in the loss against the same estimator with k1 in the reward."""
    out: list[Criterion] = []
    for name, final in finals.items():
        partner = reward_kl_partner(name)
        if VARIANTS[name].kl != "loss-k3" or partner not in finals:
            continue
        ratio = final["true"]["kl_to_optimum_mean"] / finals[partner]["true"]["kl_to_optimum_mean"]
        out.append(Criterion(f"{name}_vs_{partner}", f"{VARIANTS[name].label}: KL(π‖π*) over {partner}'s (same estimator, k1 in the "
                             "reward): k3 in the loss does not reach π* of the reward-KL objective", ratio, cfg.criteria.cf_k3_vs_reward_min, ">="))
    return out


@dataclass
class LoopResult:
    summary: dict[str, Any]
    criteria: list[Criterion]
    prepared: Prepared
    ppo: StageResult | None = None
    dpo: StageResult | None = None
    critic_free: dict[str, StageResult] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.criteria)


def run_loop(cfg: LoopConfig, seed: int = 0, device: str | torch.device = "auto", impl: Impl = REFERENCE,
             progress: Progress | None = None, stages: Sequence[str] = STAGES) -> LoopResult:
    """Run the loop and judge it; nothing is written (see the ``rlhf`` command for files)."""
    bad = [s for s in stages if s not in STAGES]
    if bad:
        raise ValueError(f"stages: unknown stage(s) {bad}; choose from {list(STAGES)}")
    dev = device if isinstance(device, torch.device) else resolve_device(device)
    t0 = time.perf_counter()
    with torch_threads(cfg, dev):
        need_rm = "rm" in stages or "ppo" in stages
        prep = prepare(cfg, seed, dev, impl, progress, reward_model=need_rm)
        summary = prep.summary
        summary.update({"seed": seed, "device": str(dev), "torch_threads": torch.get_num_threads(),
                        "implementation": impl.name, "config": cfg.to_json()})
        criteria: list[Criterion] = []
        if need_rm:
            criteria += rm_criteria(summary, cfg)
        result = LoopResult(summary, criteria, prep)
        if "ppo" in stages:
            ppo = run_ppo(prep, impl, progress)
            summary["ppo"] = {"seconds": ppo.seconds, "history": ppo.history, "final": ppo.history[-1],
                              "diagnostics": ppo.extra["diagnostics"]}
            criteria += ppo_criteria(ppo.history[-1], cfg)
            result.ppo = ppo
        if "dpo" in stages:
            dpo = run_dpo(prep, impl, progress)
            final = dpo.history[-1]
            implicit = implicit_rewards(dpo.extra["logp"], prep.logp_ref, cfg.beta)
            bayes, acc = pair_accuracies(prep.logp_ref, prep.task.reward, implicit)
            summary["dpo"] = {"seconds": dpo.seconds, "history": dpo.history, "final": final,
                              "implicit_reward_exact_accuracy_mean": float(acc.mean()),
                              "implicit_reward_heldout": heldout_accuracy(prep.heldout_prefs, prep.task.reward, implicit)}
            criteria += dpo_criteria(final, cfg)
            result.dpo = dpo
        if "critic_free" in stages:
            summary["critic_free"] = {}
            for name in cfg.critic_free:
                st = run_cf(prep, name, impl, progress)
                v = VARIANTS[name]
                measures = cf_measures(v, impl, prep, st.extra["logp"], cfg)
                summary["critic_free"][name] = {"label": v.label, "advantage": v.advantage, "agg": v.agg, "kl": v.kl,
                                                "group_size": cfg.cf_group_size, "seconds": st.seconds, "history": st.history,
                                                "final": st.history[-1], "measures": measures,
                                                "diagnostics": st.extra["diagnostics"]}
                criteria += cf_criteria(name, st.history[-1], measures, cfg)
                result.critic_free[name] = st
            criteria += cf_pair_criteria({k: v.history[-1] for k, v in result.critic_free.items()}, cfg)
        summary["criteria"] = [c.to_json() for c in criteria]
        summary["passed"] = result.passed
        summary["seconds"] = time.perf_counter() - t0
        return result

