"""PNG plots of a loop run (optional: needs matplotlib, the ``plots`` extra).

``write_plots`` returns the files written, or a note saying why none were; it never raises for
a missing matplotlib.  Only the object-oriented API is used (no pyplot, no global backend).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

import reference

from .task import FloatArray


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _series(history: list[dict[str, Any]], reward: str, key: str) -> tuple[FloatArray, FloatArray]:
    x = np.array([h["progress"] for h in history], dtype=np.float64)
    y = np.array([h[reward][key] for h in history], dtype=np.float64)
    return x, y


def write_plots(summary: dict[str, Any], out: Path, logp_ref: FloatArray, reward: FloatArray, r_rm: FloatArray | None,
                logp_ppo: FloatArray | None, logp_dpo: FloatArray | None, beta: float, prompt: int = 0,
                critic_free: dict[str, FloatArray] | None = None, lengths: Any = None) -> tuple[list[Path], str]:
    """Training curves, π vs π* over the responses of one prompt, and (when any ran) the
    critic-free stages' curves with the length distribution of π against π*'s.

    Returns:
        (files written, a note: empty on success, the reason when plots were skipped).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return [], "matplotlib is not installed: plots skipped (pip install 'pg-rlhf-spec[plots]')"
    out.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []

    fig = Figure(figsize=(11, 7.5), layout="constrained")
    axes = fig.subplots(2, 2)
    panels = [
        ("gap_mean", "gap J(π*) − J(π)  (exact)", True),
        ("kl_to_ref_mean", "KL(π ‖ π_ref)", False),
        ("expected_reward_mean", "E_π[r]", False),
        ("kl_to_optimum_mean", "KL(π ‖ π*)", True),
    ]
    runs = []
    if "ppo" in summary:
        runs += [("PPO vs learned r", summary["ppo"]["history"], "rm", "C0", "-"), ("PPO vs true r", summary["ppo"]["history"], "true", "C0", "--")]
    if "dpo" in summary:
        runs += [("DPO vs true r", summary["dpo"]["history"], "true", "C1", "--")]
    for ax, (key, title, log) in zip(axes.flat, panels):
        for label, hist, rew, color, style in runs:
            x, y = _series(hist, rew, key)
            ax.plot(x, np.maximum(y, 1e-6) if log else y, style, color=color, label=label, marker=".")
        first = runs[0][1][0] if runs else None
        if first is not None and key == "kl_to_ref_mean":
            ax.axhline(first["true"]["kl_optimum_to_ref_mean"], color="k", lw=0.8, ls=":", label="KL(π*‖π_ref), true r")
            if "rm" in first:
                ax.axhline(first["rm"]["kl_optimum_to_ref_mean"], color="0.5", lw=0.8, ls=":", label="KL(π*‖π_ref), learned r")
        if log:
            ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("fraction of the stage's training")
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    axes[0, 1].legend(fontsize=8)
    fig.suptitle(f"RLHF loop, preset {summary.get('preset', '?')}, seed {summary.get('seed')}: exact measures, mean over prompts")
    path = out / "training_curves.png"
    fig.savefig(path, dpi=110)
    files.append(path)

    ref = np.exp(logp_ref[prompt])
    star = np.asarray(reference.kl_optimal_policy(ref, reward[prompt], beta))
    order = np.argsort(-star)
    top = order[:48]
    fig = Figure(figsize=(12, 5), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2, width_ratios=[1, 1.6])
    lo = max(float(star.min()), 1e-12)
    for name, lp, color in (("PPO", logp_ppo, "C0"), ("DPO", logp_dpo, "C1")):
        if lp is not None:
            ax1.scatter(star, np.exp(lp[prompt]), s=5, alpha=0.5, color=color, label=f"π_{name}")
    ax1.scatter(star, ref, s=5, alpha=0.3, color="0.6", label="π_ref")
    ax1.plot([lo, 1.0], [lo, 1.0], "k-", lw=0.8, label="π = π*")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("π*(y|x) = π_ref exp(r/β) / Z  (true r)")
    ax1.set_ylabel("π(y|x)")
    ax1.set_title(f"all {star.shape[0]} responses of prompt {prompt}")
    ax1.legend(fontsize=8, markerscale=3)
    xs = np.arange(top.shape[0])
    ax2.plot(xs, star[top], "k-", lw=2, label="π* (true r)")
    if r_rm is not None:
        ax2.plot(xs, np.asarray(reference.kl_optimal_policy(ref, r_rm[prompt], beta))[top], "k:", label="π* (learned r)")
    ax2.plot(xs, ref[top], color="0.6", label="π_ref")
    for name, lp, color in (("PPO", logp_ppo, "C0"), ("DPO", logp_dpo, "C1")):
        if lp is not None:
            ax2.plot(xs, np.exp(lp[prompt])[top], color=color, marker=".", label=f"π_{name}")
    ax2.set_xlabel("response, ranked by π*")
    ax2.set_ylabel("probability")
    ax2.set_title(f"the {top.shape[0]} most likely responses under π*")
    ax2.legend(fontsize=8)
    path = out / "policy_vs_optimum.png"
    fig.savefig(path, dpi=110)
    files.append(path)
    if summary.get("critic_free"):
        files.append(_critic_free_plot(summary, out, logp_ref, reward, beta, critic_free or {}, lengths))
    return files, ""


def _critic_free_plot(summary: dict[str, Any], out: Path, logp_ref: FloatArray, reward: FloatArray, beta: float,
                      logps: dict[str, FloatArray], lengths: Any) -> Path:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 7.5), layout="constrained")
    axes = fig.subplots(2, 2)
    stages = summary["critic_free"]
    for i, (name, st) in enumerate(stages.items()):
        color = f"C{(i + 2) % 10}"
        for ax, key, log in ((axes[0, 0], "gap_mean", True), (axes[0, 1], "kl_to_optimum_mean", True),
                             (axes[1, 0], "expected_length_mean", False)):
            x, y = _series(st["history"], "true", key)
            ax.plot(x, np.maximum(y, 1e-6) if log else y, color=color, marker=".", label=name)
    first = next(iter(stages.values()))["history"][0]["true"]
    axes[1, 0].axhline(first["expected_length_star_mean"], color="k", lw=1.2, ls="--", label="E_π*[n]")
    axes[1, 0].axhline(first["expected_length_ref_mean"], color="0.6", lw=1.0, ls=":", label="E_π_ref[n]")
    for ax, title in ((axes[0, 0], "gap J(π*) − J(π)  (exact, true r)"), (axes[0, 1], "KL(π ‖ π*)"),
                      (axes[1, 0], "expected response length E_π[n]")):
        ax.set_title(title)
        ax.set_xlabel("fraction of the stage's training")
        ax.grid(alpha=0.3)
    axes[0, 0].set_yscale("log")
    axes[0, 1].set_yscale("log")
    axes[0, 0].legend(fontsize=7)
    axes[1, 0].legend(fontsize=7)
    ax = axes[1, 1]
    if lengths is not None:
        n = np.asarray(lengths, dtype=np.int64)
        top = int(n.max())
        ref = np.exp(logp_ref)
        star = np.asarray(reference.kl_optimal_policy(ref, reward, beta))

        def dist(p: FloatArray) -> FloatArray:
            out_: FloatArray = np.stack([(p * (n == k)).sum(axis=1) for k in range(1, top + 1)], axis=1).mean(axis=0)
            return out_

        ks = np.arange(1, top + 1)
        width = 0.8 / (len(logps) + 2)
        ax.bar(ks - 0.4 + width / 2, dist(star), width, color="k", label="π*")
        ax.bar(ks - 0.4 + 1.5 * width, dist(ref), width, color="0.6", label="π_ref")
        for i, (name, lp) in enumerate(logps.items()):
            ax.bar(ks - 0.4 + (i + 2.5) * width, dist(np.exp(lp)), width, color=f"C{(list(stages).index(name) + 2) % 10}", label=name)
        ax.set_xticks(ks)
        ax.set_xlabel("response length n (tokens, EOS included)")
        ax.set_ylabel("probability (mean over prompts)")
        ax.legend(fontsize=7)
    ax.set_title("length distribution at the end of training")
    fig.suptitle(f"critic-free stages, preset {summary.get('preset', '?')}, seed {summary.get('seed')}: exact measures, mean over prompts")
    path = out / "critic_free.png"
    fig.savefig(path, dpi=110)
    return path
