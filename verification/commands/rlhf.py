"""``rlhf``: the scaled-down RLHF loop, measured exactly against the KL-regularized optimum (SPEC.md §12.L)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

NAME = "rlhf"
HELP = (
    "run the scaled-down RLHF loop (SFT π_ref, reward model, PPO, DPO) on an enumerable task and "
    "measure every stage exactly against the optimum π* = π_ref exp(r/β)/Z; exit 0 iff the criteria pass"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto picks cuda when available (default auto)")
    p.add_argument("--seed", type=int, default=0, help="seed of every random stream (default 0)")
    p.add_argument("--out", type=Path, default=Path("rlhf-out"), metavar="DIR", help="where summary.json and the plots go (default ./rlhf-out)")
    p.add_argument("--preset", choices=["quick", "full"], default="quick", help="quick (about a minute on 2 CPU cores; CI) or full (default quick)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--no-plots", action="store_true", help="do not write the PNG plots")


def _json_default(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    raise TypeError(f"not JSON serializable: {type(x).__name__}")


def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_finite(v) for v in x]
    return x


def _row(name: str, r: dict[str, Any]) -> str:
    return (f"  {name:<22} {r['expected_reward_mean']:>8.4f} {r['kl_to_ref_mean']:>10.4f} {r['J_mean']:>9.4f} "
            f"{r['J_star_mean']:>9.4f} {r['gap_mean']:>10.5f} {100 * r['gap_closed_mean']:>7.1f}% {r['kl_to_optimum_mean']:>10.5f}")


def format_report(summary: dict[str, Any]) -> str:
    """The human-readable account of a run: task, each stage's exact numbers, the criteria."""
    t = summary["task"]
    lines = [
        f"RLHF loop: preset {summary['preset']}, seed {summary['seed']}, device {summary['device']}, "
        f"{summary['seconds']:.1f} s",
        f"task: {len(t['prompts'])} prompts (lengths {', '.join(map(str, t['prompt_lengths']))}), {t['vocab']} response tokens, "
        f"responses of length {t['response_length']}: {t['responses_per_prompt']} responses per prompt, all enumerated; β = {t['beta']}",
        f"π_ref (SFT, {summary['sft']['seconds']:.1f} s): KL(base‖π_ref) = {np.mean(summary['sft']['kl_base_to_ref']):.4f}, "
        f"KL(π_ref‖uniform) = {np.mean(summary['sft']['kl_ref_to_uniform']):.3f} (means over prompts)",
    ]
    if "rm" in summary:
        rm = summary["rm"]
        h = rm["heldout"]
        lines.append(
            f"reward model ({rm['seconds']:.1f} s, {t['preference_pairs']['train']} training pairs): exact pair accuracy "
            f"{rm['exact_accuracy_mean']:.4f} vs Bayes-optimal {rm['bayes_accuracy_mean']:.4f} (exact, π_ref ⊗ π_ref pairs); "
            f"held-out {h['accuracy']:.4f} ± {h['accuracy_stderr']:.4f} on {h['pairs']} pairs (Bayes on those pairs {h['bayes_accuracy']:.4f})"
        )
    lines.append("")
    lines.append(f"  {'exact, mean over prompts':<22} {'E[r]':>8} {'KL(π‖ref)':>10} {'J(π)':>9} {'J(π*)':>9} {'gap J*−J':>10} {'closed':>8} {'KL(π‖π*)':>10}")
    first = None
    if "ppo" in summary:
        first = summary["ppo"]["history"][0]
    elif "dpo" in summary:
        first = summary["dpo"]["history"][0]
    if first is not None:
        lines.append(_row("π_ref, true r", first["true"]))
        if "rm" in first:
            lines.append(_row("π_ref, learned r", first["rm"]))
    if "ppo" in summary:
        f = summary["ppo"]["final"]
        lines.append(_row("PPO, learned r", f["rm"]))
        lines.append(_row("PPO, true r", f["true"]))
    if "dpo" in summary:
        lines.append(_row("DPO, true r", summary["dpo"]["final"]["true"]))
    lines.append("  (J(π*) = β log Z; 'learned r': measured against the reward model, what PPO optimizes; "
                 "'true r': against the hidden reward; the criteria say which they use)")
    lines.append("")
    lines.append("criteria:")
    for c in summary["criteria"]:
        lines.append(f"  {'PASS' if c['passed'] else 'FAIL'}  {c['name']:<22} {c['value']:.4f} {c['direction']} {c['threshold']:.4f}   {c['description']}")
    lines.append(f"{'PASSED' if summary['passed'] else 'FAILED'}: {sum(c['passed'] for c in summary['criteria'])} of {len(summary['criteria'])} criteria")
    return "\n".join(lines)


def execute(preset: str, seed: int, device: str, out: Path | None, quiet: bool = True, plots: bool = True) -> Any:
    """Run the loop, write ``summary.json`` (and plots) to ``out``, return the LoopResult."""
    from ..loop import PRESETS, run_loop
    from ..loop.plots import write_plots
    from ..loop.progress import Progress

    cfg = PRESETS[preset]
    progress = Progress(enabled=not quiet)
    result = run_loop(cfg, seed=seed, device=device, progress=progress)
    summary = result.summary
    summary["preset"] = preset
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        files: list[Path] = []
        note = "plots not requested (--no-plots)"
        if plots:
            prep = result.prepared
            files, note = write_plots(
                summary, out, prep.logp_ref, prep.task.reward, prep.r_rm,
                result.ppo.extra["logp"] if result.ppo else None, result.dpo.extra["logp"] if result.dpo else None, cfg.beta,
            )
        summary["plots"] = [p.name for p in files]
        summary["plots_note"] = note
        (out / "summary.json").write_text(json.dumps(_finite(summary), indent=1, default=_json_default) + "\n", encoding="utf-8")
    return result


def run(args: argparse.Namespace) -> int:
    from ..loop import resolve_device

    try:
        resolve_device(args.device)
    except ValueError as exc:
        print(f"rlhf: {exc}", file=sys.stderr)
        return 2
    result = execute(args.preset, args.seed, args.device, args.out, quiet=args.quiet, plots=not args.no_plots)
    print(format_report(result.summary))
    print(f"wrote {args.out / 'summary.json'}" + "".join(f", {args.out / p}" for p in result.summary["plots"]))
    if result.summary["plots_note"] and not args.no_plots:
        print(result.summary["plots_note"])
    return 0 if result.passed else 1
