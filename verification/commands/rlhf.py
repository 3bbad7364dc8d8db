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
    "run the scaled-down RLHF loop (SFT π_ref, reward model, PPO, DPO, and the critic-free GRPO, Dr. GRPO, "
    "RLOO, REINFORCE++) on an enumerable task with variable-length responses and measure every stage "
    "exactly against the optimum π* = π_ref exp(r/β)/Z; exit 0 iff the criteria pass, 2 on a usage error"
)

#: seeds are numpy SeedSequence entropy: a non-negative integer; capped so that it is a plain uint64
SEED_MAX = 2**63 - 1


def _seed(text: str) -> int:
    try:
        v = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if not 0 <= v <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"must lie in [0, 2^63 − 1], got {v}")
    return v


def _stage_list(text: str) -> tuple[str, ...]:
    from ..loop.critic_free import VARIANTS

    names = tuple(x.strip() for x in text.split(",") if x.strip())
    bad = [n for n in names if n not in VARIANTS]
    if bad or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"unknown or repeated stage(s) {bad or list(names)}; choose from {', '.join(sorted(VARIANTS))}")
    return names


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto picks cuda when available (default auto)")
    p.add_argument("--seed", type=_seed, default=0, help="seed of every random stream, an integer >= 0 (default 0)")
    p.add_argument("--out", type=Path, default=Path("rlhf-out"), metavar="DIR", help="where summary.json and the plots go (default ./rlhf-out)")
    p.add_argument("--preset", choices=["quick", "full"], default="quick", help="quick (CI; see README for its time) or full (default quick)")
    p.add_argument("--critic-free", type=_stage_list, default=None, metavar="LIST",
                   help="comma-separated critic-free stages to run (default: the preset's); '' runs none")
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
    n = f" {r['expected_length_mean']:>6.3f} {r['expected_length_star_mean']:>6.3f}" if "expected_length_mean" in r else ""
    return (f"  {name:<22} {r['expected_reward_mean']:>8.4f} {r['kl_to_ref_mean']:>10.4f} {r['J_mean']:>9.4f} "
            f"{r['J_star_mean']:>9.4f} {r['gap_mean']:>10.5f} {100 * r['gap_closed_mean']:>7.1f}% {r['kl_to_optimum_mean']:>10.5f}" + n)


def format_report(summary: dict[str, Any]) -> str:
    """The human-readable account of a run: task, each stage's exact numbers, the criteria."""
    t = summary["task"]
    lines = [
        f"RLHF loop: preset {summary['preset']}, seed {summary['seed']}, device {summary['device']}, "
        f"{summary['seconds']:.1f} s",
        f"task: {len(t['prompts'])} prompts (lengths {', '.join(map(str, t['prompt_lengths']))}), {t['vocab']} response tokens, "
        f"responses of length {'1 to ' if t.get('eos') else ''}{t['response_length']}{' (EOS)' if t.get('eos') else ''}: "
        f"{t['responses_per_prompt']} responses per prompt, all enumerated; β = {t['beta']}",
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
    lines.append(f"  {'exact, mean over prompts':<22} {'E[r]':>8} {'KL(π‖ref)':>10} {'J(π)':>9} {'J(π*)':>9} {'gap J*−J':>10} {'closed':>8} {'KL(π‖π*)':>10} {'E[n]':>6} {'E*[n]':>6}")
    first = None
    if "ppo" in summary:
        first = summary["ppo"]["history"][0]
    elif "dpo" in summary:
        first = summary["dpo"]["history"][0]
    elif summary.get("critic_free"):
        first = next(iter(summary["critic_free"].values()))["history"][0]
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
    for name, st in summary.get("critic_free", {}).items():
        lines.append(_row(f"{name}, true r", st["final"]["true"]))
    lines.append("  (J(π*) = β log Z; 'learned r': measured against the reward model, what PPO optimizes; "
                 "'true r': against the hidden reward, which the critic-free stages train on; E[n], E*[n]: expected "
                 "response length under π and π*; the criteria say which they use)")
    lines.append("")
    lines.append("criteria:")
    for c in summary["criteria"]:
        lines.append(f"  {'PASS' if c['passed'] else 'FAIL'}  {c['name']:<22} {c['value']:.4g} {c['direction']} {c['threshold']:.4g}   {c['description']}")
    lines.append(f"{'PASSED' if summary['passed'] else 'FAILED'}: {sum(c['passed'] for c in summary['criteria'])} of {len(summary['criteria'])} criteria")
    return "\n".join(lines)


def check_out_dir(out: Path) -> None:
    """Raise ValueError naming ``--out`` unless ``out`` is (or can be made) a writable folder.

    Creates the folder (and its parents) and writes, then removes, a probe file in it, so that a
    run never trains for minutes and then fails to save its results.
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: {str(out)!r} exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"--out: cannot create the folder {str(out)!r}: {exc.strerror or exc}") from None
    probe = out / ".rlhf-write-probe"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ValueError(f"--out: the folder {str(out)!r} is not writable: {exc.strerror or exc}") from None
    for name in ("summary.json", "training_curves.png", "policy_vs_optimum.png", "critic_free.png"):
        if (out / name).is_dir():
            raise ValueError(f"--out: {str(out / name)!r} is a folder, so the result file cannot be written there")


def validate(preset: str, seed: Any, device: str, out: Path | None, critic_free: Any = None) -> Any:
    """Every argument, the output folder and the device, before any training; returns the LoopConfig.

    Raises ValueError (TypeError for a wrong type) whose message starts with the option's name.
    """
    from ..loop import PRESETS, resolve_device
    from ..loop.critic_free import VARIANTS

    if preset not in PRESETS:
        raise ValueError(f"--preset: expected one of {sorted(PRESETS)}, got {preset!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"--seed: expected an integer, got {type(seed).__name__}")
    if not 0 <= int(seed) <= SEED_MAX:
        raise ValueError(f"--seed: must lie in [0, 2^63 − 1], got {seed}")
    try:
        resolve_device(device)
    except ValueError as exc:
        raise ValueError(f"--{exc}") from None
    cfg = PRESETS[preset]
    if critic_free is not None:
        names = tuple(critic_free)
        bad = [n for n in names if n not in VARIANTS]
        if bad:
            raise ValueError(f"--critic-free: unknown stage(s) {bad}; choose from {sorted(VARIANTS)}")
        cfg = cfg.with_(critic_free=names)
    if out is not None:
        check_out_dir(Path(out))
    return cfg


def execute(preset: str, seed: int, device: str, out: Path | None, quiet: bool = True, plots: bool = True,
            critic_free: Any = None) -> Any:
    """Validate (:func:`validate`), run the loop, write ``summary.json`` (and plots) to ``out``, return the LoopResult."""
    from ..loop import run_loop
    from ..loop.plots import write_plots
    from ..loop.progress import Progress

    cfg = validate(preset, seed, device, out, critic_free)
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
                critic_free={k: v.extra["logp"] for k, v in result.critic_free.items()}, lengths=prep.task.lengths,
            )
        summary["plots"] = [p.name for p in files]
        summary["plots_note"] = note
        (out / "summary.json").write_text(json.dumps(_finite(summary), indent=1, default=_json_default) + "\n", encoding="utf-8")
    return result


def run(args: argparse.Namespace) -> int:
    try:
        validate(args.preset, args.seed, args.device, args.out, args.critic_free)
    except (ValueError, TypeError) as exc:
        print(f"rlhf: usage error: {exc}", file=sys.stderr)
        return 2
    result = execute(args.preset, args.seed, args.device, args.out, quiet=args.quiet, plots=not args.no_plots,
                     critic_free=args.critic_free)
    print(format_report(result.summary))
    print(f"wrote {args.out / 'summary.json'}" + "".join(f", {args.out / p}" for p in result.summary["plots"]))
    if result.summary["plots_note"] and not args.no_plots:
        print(result.summary["plots_note"])
    return 0 if result.passed else 1
