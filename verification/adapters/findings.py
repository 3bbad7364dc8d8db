"""Reproducers of the peer findings of SPEC.md §13.6 for the practice targets (TRL, verl, OpenRLHF).

``python -m verification.adapters.findings`` (in the venv with the peers, ``make peers-setup``)
runs every reproducer whose library is installed: it builds the smallest input, calls the
library's own function through its adapter, computes the expected value with
``reference.practice`` (under the conventions named), prints both, and exits 1 if a finding no
longer reproduces (the library changed: update SPEC.md §13.6).  Each entry says whether it is a
bug, an edge case the library leaves undefined, or a convention.
"""

from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["FINDINGS", "PeerFinding", "main", "reproduce"]

_INF = float("inf")
_F9 = float(np.float32(0.9))


@dataclass(frozen=True)
class PeerFinding:
    """One documented divergence: the call, its smallest input, and what kind of divergence it is."""

    fid: str
    library: str
    adapter: str  # module:function in verification.adapters
    target: str
    inputs: tuple[Any, ...]
    kind: str  # "bug", "edge" or "convention"
    summary: str
    fix: Mapping[str, Any] = field(default_factory=dict)
    check: str = "value"  # "value": got != expected; "inplace": the first input is modified


FINDINGS: tuple[PeerFinding, ...] = (
    PeerFinding("ENTROPY-NEG-INF", "trl", "trl_practice:token_entropy", "token_entropy", (np.array([[[0.0, -_INF]]]), 1.0), "bug",
                "entropy is NaN for a −inf logit (exp(−inf)·(−inf)); the entropy of a one-hot distribution is 0"),
    PeerFinding("ENTROPY-NEG-INF", "verl", "verl_algos:token_entropy", "token_entropy", (np.array([[[0.0, -_INF]]]), 1.0), "bug",
                "entropy_from_logits is NaN for a −inf logit (softmax 0 times logit −inf)"),
    PeerFinding("ENTROPY-NEG-INF", "openrlhf", "openrlhf_algos:token_entropy", "token_entropy", (np.array([[[0.0, -_INF]]]), 1.0), "bug",
                "compute_entropy is NaN for a −inf logit (softmax 0 times logit −inf)"),
    PeerFinding("LOGPROBS-INPLACE", "openrlhf", "openrlhf_algos:token_logprobs", "token_logprobs",
                (np.array([[[1.0, 0.0]]]), np.array([[0]]), 2.0), "bug",
                "log_probs_from_logits divides the caller's logits by the temperature in place (logits.div_): [1, 0] becomes [0.5, 0]",
                check="inplace"),
    PeerFinding("LOGEXP-OVERFLOW", "openrlhf", "openrlhf_algos:bt_loss_logexp", "bt_loss", (np.array([0.0]), np.array([89.0])), "bug",
                "LogExpLoss computes log(1 + exp(r_l − r_w)) literally: exp(89) overflows float32, the loss is inf instead of 89 "
                "(PairWiseLoss, −logsigmoid, is stable)"),
    PeerFinding("KL-CLAMP", "openrlhf", "openrlhf_algos:kl_penalty", "kl_penalty", (np.array([[-12.0]]), np.array([[0.0]]), "k1"), "convention",
                "compute_approx_kl clamps every estimator to [−10, 10], k1 included: r = −12 gives −10 (conforms under --fix clamp=10)"),
    PeerFinding("K3-CLAMP", "verl", "verl_algos:kl_penalty", "kl_penalty", (np.array([[-12.0]]), np.array([[0.0]]), "k3"), "convention",
                "kl_penalty('low_var_kl' / 'k3') clamps k3 to [−10, 10]: r = −12 gives 10 instead of e^12 − 13 (conforms under --fix clamp=10)"),
    PeerFinding("DUAL-CLIP-DEFAULT", "verl", "verl_algos:policy_loss", "policy_loss",
                (np.array([[0.0]]), np.array([[-2.0]]), np.array([[-1.0]]), np.array([[True]]), 0.2, 0.2, None, "token_mean"), "convention",
                "compute_policy_loss_vanilla always applies dual-clip (clip_ratio_c = 3 unless configured): ρ = e², A = −1 gives 3, PPO gives e²"),
    PeerFinding("SEQ-NORM-ROWS", "verl", "verl_algos:aggregate_loss", "aggregate_loss",
                (np.array([[1.0], [0.0]]), np.array([[True], [False]]), "seq_mean_token_sum_norm", None), "convention",
                "agg_loss('seq-mean-token-sum-norm') divides by the number of rows with a token (and by T), not by B: 1.0 instead of 0.5"),
    PeerFinding("EMPTY-BATCH-NAN", "verl", "verl_algos:aggregate_loss", "aggregate_loss",
                (np.array([[1.0, 2.0]]), np.array([[False, False]]), "token_mean", None), "edge",
                "agg_loss('token-mean') of a batch without a response token is 0/0 = NaN (the reference defines 0)"),
    PeerFinding("EMPTY-BATCH-NAN", "openrlhf", "openrlhf_algos:aggregate_loss", "aggregate_loss",
                (np.array([[1.0, 2.0]]), np.array([[False, False]]), "token_mean", None), "edge",
                "aggregate_loss (and so PolicyLoss and ValueLoss) of a batch without a response token is 0/0 = NaN"),
    PeerFinding("GRPO-EMPTY-ROW", "trl", "trl_practice:grpo_loss_grpo", "policy_loss",
                (np.array([[0.0], [0.0]]), np.array([[0.0], [0.0]]), np.array([[1.0], [0.0]]), np.array([[True], [False]]), 0.2, 0.2, None,
                 "seq_mean_token_mean"), "edge",
                "loss_type='grpo' averages the per-row token means over all B rows: a row without a token counts as 0 (−0.5 instead of −1)"),
    PeerFinding("WHITEN-CONSTANT", "verl", "verl_algos:masked_whiten", "masked_whiten",
                (np.array([[_F9, _F9, _F9]]), np.array([[True, True, True]]), True, 1, 1e-8), "bug",
                "masked_whiten of equal entries: the float32 mean's round-off (an ulp) times rsqrt(0 + 1e-8) = 1e4 gives 6e-4, not 0"),
    PeerFinding("WHITEN-CONSTANT", "openrlhf", "openrlhf_algos:masked_whiten", "masked_whiten",
                (np.array([[_F9, _F9, _F9]]), np.array([[True, True, True]]), True, 0, 1e-8), "bug",
                "masked_normalize of equal entries: the float32 mean's round-off times rsqrt(max(0, 1e-8)) = 1e4 gives 6e-4, not 0"),
    PeerFinding("GRPO-CONSTANT-GROUP", "verl", "verl_algos:group_advantages", "group_advantages",
                (np.array([_F9, _F9, _F9]), 3, "group", 1e-6), "bug",
                "a group of equal rewards (0.9 in float32) gets (r − μ)/(σ + 1e-6) = 0.056 for every member, not 0: σ is round-off, ~1e-8",
                fix={"singleton": "raw"}),
    PeerFinding("GAE-ONE-TOKEN", "verl", "verl_algos:masked_gae", "masked_gae",
                (np.array([[1.0, 0.0]]), np.array([[0.5, 0.0]]), np.array([[True, False]]), 1.0, 1.0), "edge",
                "compute_gae_advantage_return raises ValueError on a batch with one response token (its built-in whitening needs two)"),
)


def _installed(library: str) -> bool:
    from . import installed_version

    return installed_version(library) is not None


def reproduce(f: PeerFinding) -> tuple[bool, Any, Any]:
    """(still reproduces, expected, got) for one finding; the library must be installed."""
    import reference.practice as rp

    from ._practice import PRACTICE_TARGETS

    mod, _, name = f.adapter.partition(":")
    fn: Callable[..., Any] = getattr(importlib.import_module(f"{__package__}.{mod}"), name)
    args = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in f.inputs)
    if f.target in PRACTICE_TARGETS:
        kwargs = dict(zip(PRACTICE_TARGETS[f.target], f.inputs))
        expected = np.asarray(getattr(rp, f.target)(**kwargs, **f.fix), dtype=np.float64)
    else:  # a target of the source's chapters (SPEC §13.1), its reference function by name
        import reference

        expected = np.asarray(getattr(reference, f.target)(*f.inputs), dtype=np.float64)
    try:
        got: Any = np.asarray(fn(*args), dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - an exception is the finding
        return True, expected, f"{type(exc).__name__}: {exc}"
    if f.check == "inplace":
        return not np.array_equal(args[0], f.inputs[0]), f.inputs[0], args[0]
    same = got.shape == expected.shape and bool(np.allclose(got, expected, rtol=1e-4, atol=1e-4, equal_nan=False))
    return not same, expected, got


def main(argv: list[str] | None = None) -> int:
    missing = 0
    for f in FINDINGS:
        if not _installed(f.library):
            print(f"{f.library:<9} {f.fid:<20} skipped: {f.library} not installed")
            continue
        ok, exp, got = reproduce(f)
        what = "reproduces" if ok else "NO LONGER REPRODUCES"
        print(f"{f.library:<9} {f.fid:<20} {what} [{f.kind}] {f.summary}\n{'':30}expected {exp!r}\n{'':30}got      {got!r}")
        missing += not ok
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
