"""The scaled-down RLHF loop (SPEC.md §12.L) and the torch twins it is built from.

- the quick preset passes its criteria and the CLI writes its JSON summary (and plots);
- the same loop with one broken twin injected into the stage it affects fails the criteria
  (KL sign flipped, score on the wrong token, DPO without the reference);
- the exact evaluation and the sampler agree with second formulations written out here;
- bad input gets a clear error, and a run is a deterministic function of its seed.

Tests marked ``rlhf_loop`` train models (about a minute in all on 2 cores); they are part of the
default run and can be selected alone with ``pytest -m rlhf_loop``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable, cast

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from scipy.special import expit, logsumexp

import reference
from verification import get_claim, run_claim
from verification.cli import main
from verification.commands import rlhf as rlhf_cmd
from verification.loop import QUICK, LoopConfig, LoopResult, prepare, run_dpo, run_loop, run_ppo
from verification.loop.broken import broken_impl, group_std_wrong_axis, rloo_includes_self
from verification.loop.critic_free import VARIANTS
from verification.loop.evaluate import group_locality_error, objective_report, own_reward_coefficient, pair_accuracies, reverse_kl_optimum
from verification.loop.model import exact_logp, exact_rewards, generate, to_device
from verification.loop.plots import matplotlib_available
from verification.loop.run import cf_criteria, cf_measures, dpo_criteria, ppo_criteria, run_cf
from verification.loop.task import Task, count_responses, enumerate_task_responses, make_task
from verification.mutants import Mutant, all_mutants
from verification.registry import REFERENCE
from verification.strategies.token_batch import TwinBatch, twin_batches

#: A loop small enough to train in a second or two: for determinism and plumbing, not for criteria.
TINY = LoopConfig(
    prompt_lengths=(1, 2), vocab=3, length=2, base_logit_scale=3.0, d_model=16, n_layers=1, n_heads=2,
    sft_samples=300, sft_steps=60, sft_batch=64, pref_pairs=64, pref_heldout=32, rm_epochs=1, rm_batch=32,
    ppo_iterations=2, ppo_rollouts=8, dpo_epochs=1, dpo_batch=32, eval_points=2, cf_iterations=2, cf_group_size=4,
    cf_eval_points=2,
)

MUTANTS = {m.name: m for m in all_mutants()}


def _t(x: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


# ------------------------------------------------------------------------------ the quick run


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[LoopResult, Path]:
    out = tmp_path_factory.mktemp("rlhf-quick")
    result = rlhf_cmd.execute("quick", seed=0, device="cpu", out=out, quiet=True, plots=True)
    assert isinstance(result, LoopResult)
    return result, out


@pytest.mark.rlhf_loop
def test_quick_preset_passes_its_criteria(quick: tuple[LoopResult, Path]) -> None:
    result, _ = quick
    names = [c.name for c in result.criteria]
    assert names[:6] == ["rm_accuracy", "ppo_gap_closed_rm", "ppo_kl_ratio_rm", "ppo_gap_closed_true", "dpo_gap_closed_true", "dpo_kl_ratio_true"]
    assert names[6:] == [
        "grpo_gap_closed_true", "grpo_length_error", "grpo_group_local",
        "grpo_seq_mean_gap_closed_true", "grpo_seq_mean_length_error", "grpo_seq_mean_group_local",
        "dr_grpo_gap_closed_true", "dr_grpo_length_error", "dr_grpo_group_local",
        "rloo_gap_closed_true", "rloo_length_error", "rloo_group_local", "rloo_unbiased",
        "reinforce_pp_gap_closed_true", "reinforce_pp_length_error",
        "dr_grpo_k3_group_local", "dr_grpo_k1_loss_group_local", "dr_grpo_k1_loss_unregularized",
        "dr_grpo_k3_vs_dr_grpo",
    ]
    failed = [c for c in result.criteria if not c.passed]
    assert not failed, "\n" + rlhf_cmd.format_report(result.summary)
    s = result.summary
    # the numbers the criteria read are the exact evaluation's
    assert s["rm"]["exact_accuracy_mean"] <= s["rm"]["bayes_accuracy_mean"] + 1e-12  # nothing beats Bayes
    finals = [s[stage]["final"]["true"] for stage in ("ppo", "dpo")] + [st["final"]["true"] for st in s["critic_free"].values()]
    for final in finals:
        assert final["gap_mean"] > 0  # J(π*) is the maximum: a trained policy does not exceed it
        assert all(g >= -1e-12 for g in final["gap"])
    # the task has a length effect to act on: π* is longer than π_ref
    first = s["ppo"]["history"][0]["true"]
    assert first["expected_length_star_mean"] - first["expected_length_ref_mean"] > 0.3
    assert s["task"]["eos"] is True and sum(s["task"]["responses_by_length"]) == s["task"]["responses_per_prompt"]


@pytest.mark.rlhf_loop
def test_exact_report_agrees_with_a_second_formulation(quick: tuple[LoopResult, Path]) -> None:
    """J, J(π*) = β log Z and KL recomputed here with scipy's logsumexp and explicit sums."""
    result, _ = quick
    prep = result.prepared
    assert result.dpo is not None
    beta = prep.cfg.beta
    logp, logp_ref, r = result.dpo.extra["logp"], prep.logp_ref, prep.task.reward
    pi = np.exp(logp)
    np.testing.assert_allclose(pi.sum(axis=1), 1.0, rtol=0, atol=1e-12)  # the enumeration is complete
    kl = (pi * (logp - logp_ref)).sum(axis=1)
    j = (pi * r).sum(axis=1) - beta * kl
    j_star = beta * logsumexp(logp_ref + r / beta, axis=1)
    log_star = logp_ref + r / beta - logsumexp(logp_ref + r / beta, axis=1, keepdims=True)
    kl_star = (pi * (logp - log_star)).sum(axis=1)
    rep = result.summary["dpo"]["final"]["true"]
    np.testing.assert_allclose(rep["J"], j, rtol=0, atol=1e-10)
    np.testing.assert_allclose(rep["J_star"], j_star, rtol=0, atol=1e-10)
    np.testing.assert_allclose(rep["kl_to_ref"], kl, rtol=0, atol=1e-10)
    np.testing.assert_allclose(rep["kl_to_optimum"], kl_star, rtol=0, atol=1e-10)
    # J(π*) − J(π) = β KL(π‖π*): the gap is exactly β times the distance to the optimum
    np.testing.assert_allclose(rep["gap"], beta * kl_star, rtol=0, atol=1e-10)


@pytest.mark.rlhf_loop
def test_cli_writes_summary_and_plots(quick: tuple[LoopResult, Path]) -> None:
    result, out = quick
    doc = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert doc["passed"] is True and doc["preset"] == "quick" and doc["seed"] == 0
    v, n = QUICK.vocab, QUICK.length
    assert doc["task"]["responses_per_prompt"] == sum(v ** (k - 1) for k in range(1, n)) + v ** (n - 1) * (v + 1) <= 2000
    for key in ("sft", "rm", "ppo", "dpo", "critic_free", "criteria", "config"):
        assert key in doc
    assert len(doc["ppo"]["history"]) >= 2 and doc["ppo"]["history"][0]["step"] == 0
    assert [c["name"] for c in doc["criteria"]] == [c.name for c in result.criteria]
    if matplotlib_available():
        assert doc["plots"] == ["training_curves.png", "policy_vs_optimum.png", "critic_free.png"]
        for name in doc["plots"]:
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert doc["plots"] == [] and "matplotlib" in doc["plots_note"]
    text = rlhf_cmd.format_report(result.summary)
    assert "gap J*−J" in text and "PASSED" in text


@pytest.mark.rlhf_loop
def test_plots_are_skipped_with_a_note_without_matplotlib(quick: tuple[LoopResult, Path], tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from verification.loop.plots import write_plots

    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib...` raise ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    result, _ = quick
    prep = result.prepared
    files, note = write_plots(result.summary, tmp_path, prep.logp_ref, prep.task.reward, prep.r_rm, None, None, QUICK.beta)
    assert files == [] and "matplotlib is not installed" in note
    assert not matplotlib_available()
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- broken variants fail the loop


def _failed(criteria: list[Any]) -> set[str]:
    return {c.name for c in criteria if not c.passed}


@pytest.mark.rlhf_loop
def test_kl_sign_flipped_fails_ppo(quick: tuple[LoopResult, Path]) -> None:
    mutant = MUTANTS["kl-reward-sign-flipped"]
    ppo = run_ppo(quick[0].prepared, mutant.impl())
    failed = _failed(ppo_criteria(ppo.history[-1], QUICK))
    assert {"ppo_gap_closed_rm", "ppo_kl_ratio_rm", "ppo_gap_closed_true"} <= failed
    assert ppo.history[-1]["true"]["kl_to_ref_mean"] > ppo.history[-1]["true"]["kl_optimum_to_ref_mean"]  # it overshoots π*
    assert not run_claim(get_claim("RLHF-TORCH-KL-REWARD-TWIN"), impl=mutant.impl()).passed


@pytest.mark.rlhf_loop
def test_score_on_wrong_token_fails_ppo(quick: tuple[LoopResult, Path]) -> None:
    mutant = MUTANTS["kl-score-on-last-column"]
    ppo = run_ppo(quick[0].prepared, mutant.impl())
    assert "ppo_gap_closed_rm" in _failed(ppo_criteria(ppo.history[-1], QUICK))
    closed = ppo.history[-1]["rm"]["gap_closed"]
    lengths = QUICK.prompt_lengths
    longest = max(lengths)
    # rows of the longest prompts end in the last column and keep their score; the others lose it
    assert min(c for c, n in zip(closed, lengths) if n < longest) < 0.5
    assert not run_claim(get_claim("RLHF-TORCH-KL-REWARD-TWIN"), impl=mutant.impl()).passed


@pytest.mark.rlhf_loop
def test_dpo_without_reference_fails_dpo(quick: tuple[LoopResult, Path]) -> None:
    mutant = MUTANTS["dpo-torch-no-reference"]
    dpo = run_dpo(quick[0].prepared, mutant.impl())
    assert {"dpo_gap_closed_true", "dpo_kl_ratio_true"} <= _failed(dpo_criteria(dpo.history[-1], QUICK))
    assert not run_claim(get_claim("RLHF-TORCH-PREF-TWIN"), impl=mutant.impl()).passed


# --------------------------------------------------------------------- exact evaluation, sampler


def test_objective_report_endpoints() -> None:
    rng = np.random.default_rng(0)
    logp_ref = np.log(rng.dirichlet(np.ones(7), size=3))
    r = rng.normal(size=(3, 7))
    beta = 0.7
    star = np.asarray(reference.kl_optimal_policy(np.exp(logp_ref), r, beta))
    at_ref = objective_report(logp_ref, logp_ref, r, beta)
    at_star = objective_report(np.log(star), logp_ref, r, beta)
    assert at_ref["gap_closed"] == [0.0, 0.0, 0.0]
    np.testing.assert_allclose(at_star["gap_closed"], 1.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(at_star["kl_to_optimum"], 0.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(at_ref["kl_ref_to_optimum"], at_ref["kl_to_optimum"], rtol=0, atol=1e-15)


def test_pair_accuracies_by_explicit_double_sum() -> None:
    w = np.array([0.5, 0.25, 0.125, 0.125])
    r = np.array([0.0, 1.0, 2.0, -1.0])
    learned = np.array([0.0, 2.0, 1.0, 1.0])  # orders 1 > 2 wrongly, ties 2 with 3
    num_b = num_a = den = 0.0
    for i in range(4):
        for j in range(4):
            if i == j:
                continue
            p = w[i] * w[j]
            d = r[i] - r[j]
            den += p
            num_b += p * expit(abs(d))
            dh = learned[i] - learned[j]
            num_a += p * (expit(d) if dh > 0 else expit(-d) if dh < 0 else 0.5)
    bayes, acc = pair_accuracies(np.log(w)[None], r[None], learned[None])
    assert bayes[0] == pytest.approx(num_b / den, abs=1e-15)
    assert acc[0] == pytest.approx(num_a / den, abs=1e-15)
    assert acc[0] < bayes[0]


@pytest.fixture(scope="module")
def tiny_prepared() -> Any:
    return prepare(TINY, seed=3, device=torch.device("cpu"))


def test_generate_samples_the_enumerated_distribution(tiny_prepared: Any) -> None:
    """Autoregressive sampling (token by token) against the exact sequence probabilities.

    20000 draws per prompt over 9 responses; each empirical frequency must lie within 5 standard
    errors of the enumerated probability.  Seeded, so deterministic; for a correct sampler the
    chance of a false alarm is below 2·9·5.7e-7 ≈ 1e-5.
    """
    prep = tiny_prepared
    n = 20000
    rng = np.random.default_rng(11)
    for p in range(prep.task.n_prompts):
        draws = generate(prep.ref, prep.task, np.full(n, p), rng, torch.device("cpu"))
        freq = np.bincount(draws, minlength=prep.task.n_responses) / n
        prob = np.exp(prep.logp_ref[p])
        z = np.abs(freq - prob) / np.sqrt(prob * (1 - prob) / n)
        assert z.max() < 5.0, (p, freq, prob)
    assert prep.summary["sft"]["kl_ref_to_uniform"][0] > 0.1  # skewed enough for the test to mean something


def test_padding_does_not_change_rewards_or_logits(tiny_prepared: Any) -> None:
    prep = tiny_prepared
    task: Task = prep.task
    k = task.n_responses
    p_idx = np.zeros(k, dtype=np.int64)  # prompt 0 is the shorter one: its rows carry padding
    ids, actions, mask = to_device(task, p_idx, np.arange(k), torch.device("cpu"))
    assert bool((~mask[:, -1]).all())
    noisy = ids.clone()
    pad = ids == 0
    noisy[pad] = torch.randint(1, task.n_input_tokens, (int(pad.sum()),), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(prep.rm.reward(ids, mask, REFERENCE), prep.rm.reward(noisy, mask, REFERENCE))
        a = prep.ref.policy_logits(ids)[mask]
        b = prep.ref.policy_logits(noisy)[mask]
        assert torch.equal(a, b)
    np.testing.assert_array_equal(exact_rewards(prep.rm, task, torch.device("cpu"))[0], prep.r_rm[0])


def test_run_is_deterministic_and_stages_are_independent() -> None:
    a = run_loop(TINY, seed=5, device="cpu")
    b = run_loop(TINY, seed=5, device="cpu")
    c = run_loop(TINY, seed=5, device="cpu", stages=("dpo",))
    d = run_loop(TINY, seed=6, device="cpu", stages=("dpo",))
    def strip(s: dict[str, Any]) -> str:
        return json.dumps({k: v for k, v in s.items() if k != "seconds"}, sort_keys=True, default=str)

    for s in (a.summary, b.summary):
        for key in ("sft", "rm", "ppo", "dpo"):
            s[key].pop("seconds", None)
        for st in s["critic_free"].values():
            st.pop("seconds", None)
    assert strip(a.summary) == strip(b.summary)
    assert c.summary["dpo"]["history"] == a.summary["dpo"]["history"]  # DPO alone reproduces DPO in the full run
    assert d.summary["dpo"]["history"] != a.summary["dpo"]["history"]
    assert "rm" not in c.summary and [x.name for x in c.criteria] == ["dpo_gap_closed_true", "dpo_kl_ratio_true"]


# ------------------------------------------------------------------ torch twins, second formulations


@settings(max_examples=30)
@given(twin_batches())
def test_kl_rewards_rows_sum_to_score_minus_beta_log_ratio(case: TwinBatch) -> None:
    m = torch.as_tensor(case.mask)
    out = reference.kl_rewards_torch(_t(case.scores), _t(case.logp), _t(case.ref_logp), m, case.beta).numpy()
    expected = case.scores - case.beta * np.where(case.mask, case.logp - case.ref_logp, 0.0).sum(axis=1)
    np.testing.assert_allclose(out.sum(axis=1), expected, rtol=1e-12, atol=1e-9)
    assert np.all(out[~case.mask] == 0.0)


@settings(max_examples=30)
@given(twin_batches())
def test_masked_gae_lambda_one_is_reward_to_go_minus_value(case: TwinBatch) -> None:
    """γ = λ = 1: Â_t = Σ_{k ≥ t} r_k − V_t over the row's response tokens (the telescoping sum)."""
    adv = reference.masked_gae_torch(_t(case.rewards), _t(case.values), torch.as_tensor(case.mask), lam=1.0, gamma=1.0).numpy()
    for i in range(case.mask.shape[0]):
        pos = np.flatnonzero(case.mask[i])
        rtg = np.cumsum(case.rewards[i, pos][::-1])[::-1]
        np.testing.assert_allclose(adv[i, pos], rtg - case.values[i, pos], rtol=0, atol=1e-11)


def test_bt_loss_gradient_is_sigmoid_of_minus_margin() -> None:
    rc = torch.tensor([2.0, -1.0, 0.0, 30.0], dtype=torch.float64, requires_grad=True)
    rr = torch.tensor([1.0, 1.0, 0.0, -30.0], dtype=torch.float64, requires_grad=True)
    g_c, g_r = torch.autograd.grad(reference.bt_loss_torch(rc, rr).sum(), [rc, rr])
    margin = np.array([1.0, -2.0, 0.0, 60.0])
    np.testing.assert_allclose(g_c.numpy(), -expit(-margin), rtol=1e-14, atol=0)
    np.testing.assert_allclose(g_r.numpy(), expit(-margin), rtol=1e-14, atol=0)
    assert reference.bt_loss_torch(rc, rr)[2].item() == pytest.approx(math.log(2.0), abs=1e-15)


def test_twins_run_in_float32_under_autograd() -> None:
    logits = torch.randn(3, 5, 4, requires_grad=True)
    tokens = torch.randint(0, 4, (3, 5))
    mask = torch.tensor([[0, 1, 1, 0, 0], [0, 0, 1, 1, 1], [1, 1, 1, 1, 1]], dtype=torch.bool)
    tok = reference.token_logprobs_torch(logits, tokens)
    seq = reference.sequence_logprob_torch(tok, mask)
    loss = reference.dpo_loss_torch(seq, seq.flip(0), seq.detach(), seq.detach().flip(0), 0.1).mean()
    loss = loss + reference.masked_mean_torch(reference.entropy_torch(logits), mask)
    (grad,) = torch.autograd.grad(loss, [logits])
    assert tok.dtype == torch.float32 and bool(torch.isfinite(grad).all())
    assert bool((grad[0, 3:] == 0).all())  # padding positions receive no gradient


# ---------------------------------------------------------------------------------- bad input

M_OK = torch.tensor([[False, True, True], [True, True, False]])
M_EMPTY_ROW = torch.tensor([[False, True, True], [False, False, False]])
Z = torch.zeros(2, 3, dtype=torch.float64)
S = torch.zeros(2, dtype=torch.float64)
E0 = torch.zeros(0, dtype=torch.float64)
E2 = torch.zeros(0, 3, dtype=torch.float64)

BAD: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("kl empty batch", lambda: reference.kl_rewards_torch(E0, E2, E2, torch.zeros(0, 3, dtype=torch.bool), 0.1), ValueError, "empty batch"),
    ("kl row without response", lambda: reference.kl_rewards_torch(S, Z, Z, M_EMPTY_ROW, 0.1), ValueError, "row 1 has no response token"),
    ("kl beta < 0", lambda: reference.kl_rewards_torch(S, Z, Z, M_OK, -0.1), ValueError, "beta"),
    ("kl beta nan", lambda: reference.kl_rewards_torch(S, Z, Z, M_OK, float("nan")), ValueError, "beta"),
    ("kl scores shape", lambda: reference.kl_rewards_torch(torch.zeros(3, dtype=torch.float64), Z, Z, M_OK, 0.1), ValueError, "scores"),
    ("kl numpy input", lambda: reference.kl_rewards_torch(cast(Any, np.zeros(2)), Z, Z, M_OK, 0.1), TypeError, "scores"),
    ("kl nan on response", lambda: reference.kl_rewards_torch(S, torch.full((2, 3), float("nan"), dtype=torch.float64), Z, M_OK, 0.1), ValueError, "finite"),
    ("dpo beta 0", lambda: reference.dpo_loss_torch(S, S, S, S, 0.0), ValueError, "beta"),
    ("dpo beta < 0", lambda: reference.dpo_loss_torch(S, S, S, S, -1.0), ValueError, "beta"),
    ("dpo empty batch", lambda: reference.dpo_loss_torch(E0, E0, E0, E0, 0.1), ValueError, "empty batch"),
    ("dpo shapes", lambda: reference.dpo_loss_torch(S, torch.zeros(3, dtype=torch.float64), S, S, 0.1), ValueError, "policy_rejected"),
    ("implicit reward beta", lambda: reference.dpo_implicit_reward_torch(S, S, 0.0), ValueError, "beta"),
    ("bt empty batch", lambda: reference.bt_loss_torch(E0, E0), ValueError, "empty batch"),
    ("bt int tensor", lambda: reference.bt_loss_torch(torch.zeros(2, dtype=torch.int64), S), TypeError, "r_chosen"),
    ("gae row without response", lambda: reference.masked_gae_torch(Z, Z, M_EMPTY_ROW, lam=0.9), ValueError, "row 1 has no response token"),
    ("gae lam > 1", lambda: reference.masked_gae_torch(Z, Z, M_OK, lam=1.5), ValueError, "lam"),
    ("gae gamma < 0", lambda: reference.masked_gae_torch(Z, Z, M_OK, lam=0.9, gamma=-0.1), ValueError, "gamma"),
    ("gae empty batch", lambda: reference.masked_gae_torch(E2, E2, torch.zeros(0, 3, dtype=torch.bool), lam=0.9), ValueError, "empty batch"),
    ("gae mask not boolean", lambda: reference.masked_gae_torch(Z, Z, torch.full((2, 3), 0.5), lam=0.9), ValueError, "mask"),
    ("seq row without response", lambda: reference.sequence_logprob_torch(Z, M_EMPTY_ROW), ValueError, "row 1 has no response token"),
    ("seq shapes", lambda: reference.sequence_logprob_torch(torch.zeros(2, 4, dtype=torch.float64), M_OK), ValueError, "mask"),
    ("last token row without response", lambda: reference.last_token_torch(Z, M_EMPTY_ROW), ValueError, "row 1 has no response token"),
    ("tokens out of range", lambda: reference.token_logprobs_torch(torch.zeros(2, 3, 4), torch.full((2, 3), 4)), ValueError, "tokens"),
    ("tokens float", lambda: reference.token_logprobs_torch(torch.zeros(2, 3, 4), torch.zeros(2, 3)), TypeError, "tokens"),
    ("masked mean no response", lambda: reference.masked_mean_torch(Z, torch.zeros(2, 3, dtype=torch.bool)), ValueError, "no response token"),
    ("ppo epsilon 0", lambda: reference.ppo_clip_torch(Z, Z, Z, 0.0), ValueError, "epsilon"),
    ("ppo shapes", lambda: reference.ppo_clip_torch(Z, S, Z, 0.2), ValueError, "logp_old"),
    ("value loss shapes", lambda: reference.value_loss_torch(Z, S), ValueError, "returns"),
    ("entropy empty vocab", lambda: reference.entropy_torch(torch.zeros(2, 0)), ValueError, "logits"),
    ("loop beta 0", lambda: QUICK.with_(beta=0.0), ValueError, "beta"),
    ("loop beta < 0", lambda: QUICK.with_(beta=-0.5), ValueError, "beta"),
    ("loop too many responses", lambda: QUICK.with_(vocab=12, length=5), ValueError, "enumerate"),
    ("loop no prompts", lambda: QUICK.with_(prompt_lengths=()), ValueError, "prompt_lengths"),
    ("loop unknown stage", lambda: run_loop(TINY, stages=("sft", "ppo")), ValueError, "stages"),
]


@pytest.mark.parametrize(("fn", "exc", "text"), [(c[1], c[2], c[3]) for c in BAD], ids=[c[0] for c in BAD])
def test_bad_input_gives_a_clear_error(fn: Callable[[], Any], exc: type[Exception], text: str) -> None:
    with pytest.raises(exc) as info:
        fn()
    assert text in str(info.value), f"message does not say {text!r}: {info.value}"


def test_cli_usage_errors() -> None:
    assert main(["rlhf", "--preset", "huge"]) == 2
    assert main(["rlhf", "--device", "tpu"]) == 2
    if not torch.cuda.is_available():
        assert main(["rlhf", "--device", "cuda", "--quiet"]) == 2


def test_tiny_task_is_a_deterministic_function_of_the_seed() -> None:
    a = make_task(TINY, np.random.default_rng(1))
    b = make_task(TINY, np.random.default_rng(1))
    assert a.prompts == b.prompts and np.array_equal(a.reward, b.reward) and np.array_equal(a.base_logp, b.base_logp)
    np.testing.assert_allclose(np.exp(a.base_logp).sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.array_equal(a.response_index(a.responses), np.arange(a.n_responses))
    # the hidden reward is standardized under the base distribution
    w = np.exp(a.base_logp)
    np.testing.assert_allclose((w * a.reward).sum(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose((w * a.reward**2).sum(axis=1), TINY.reward_scale**2, rtol=1e-12)


def test_exact_logp_is_normalized_for_an_untrained_model() -> None:
    task = make_task(TINY, np.random.default_rng(2))
    torch.manual_seed(0)
    from verification.loop.model import build_model

    model = build_model(task, 16, 1, 2)
    lp = exact_logp(model, task, torch.device("cpu"))
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, rtol=0, atol=1e-13)


def test_loop_mutants_are_registered_for_the_twin_claims() -> None:
    for name in ("kl-reward-sign-flipped", "kl-score-on-last-column", "dpo-torch-no-reference"):
        m: Mutant = MUTANTS[name]
        assert m.kills and all(k.startswith("RLHF-TORCH-") for k in m.kills)


# ------------------------------------------------------------- critic-free stages: broken variants


def _cf_failed(prep: Any, stage: str, impl: Any) -> tuple[set[str], dict[str, Any]]:
    st = run_cf(prep, stage, impl)
    measures = cf_measures(VARIANTS[stage], impl, prep, st.extra["logp"], prep.cfg)
    return _failed(cf_criteria(stage, st.history[-1], measures, prep.cfg)), st.history[-1]["true"]


@pytest.mark.rlhf_loop
def test_kl_penalty_sign_flipped_fails_rloo(quick: tuple[LoopResult, Path]) -> None:
    failed, final = _cf_failed(quick[0].prepared, "rloo", broken_impl("kl-penalty-sign-flipped"))
    assert {"rloo_gap_closed_true", "rloo_length_error"} <= failed
    assert final["kl_to_ref_mean"] > 2 * final["kl_optimum_to_ref_mean"]  # pushed away from π_ref, past π*


@pytest.mark.rlhf_loop
def test_rloo_including_the_sample_itself_fails_the_unbiasedness_probe(quick: tuple[LoopResult, Path]) -> None:
    """Σ_j r_j / (G − 1) with j = i included: E[update] = (1 − 1/(G − 1)) ∇J, a rescale that Adam
    absorbs (the training criteria pass, SPEC §12.L findings); the exact probe catches it."""
    failed, _ = _cf_failed(quick[0].prepared, "rloo", broken_impl("rloo-includes-self"))
    assert failed == {"rloo_unbiased"}
    g = QUICK.cf_group_size
    assert own_reward_coefficient(rloo_includes_self, g) == pytest.approx(1 - 1 / (g - 1), abs=1e-15)


@pytest.mark.rlhf_loop
def test_group_std_over_the_wrong_axis_fails_grpo(quick: tuple[LoopResult, Path]) -> None:
    failed, _ = _cf_failed(quick[0].prepared, "grpo", broken_impl("group-std-wrong-axis"))
    assert "grpo_group_local" in failed


def test_own_reward_coefficients_are_exact() -> None:
    """RLOO's ∂A_i/∂r_i is 1 (unbiased); the same-group mean's is 1 − 1/G (Fraction arithmetic)."""
    from fractions import Fraction

    from reference import practice_torch as pt

    for g in (2, 3, 16):
        assert own_reward_coefficient(pt.rloo_advantages, g) == 1.0
        expected = float(1 - Fraction(1, g))
        assert own_reward_coefficient(lambda r, gg: pt.group_advantages(r, gg, "none"), g) == pytest.approx(expected, abs=1e-15)


def test_group_locality_probe_separates_per_group_from_batch_statistics() -> None:
    from reference import practice_torch as pt

    assert group_locality_error(lambda r, g: pt.group_advantages(r, g, "group", 1e-6), 8) == 0.0
    assert group_locality_error(pt.rloo_advantages, 8) == 0.0
    assert group_locality_error(lambda r, g: pt.group_advantages(r, g, "batch", 1e-6), 8) > 0.1
    assert group_locality_error(group_std_wrong_axis, 8) > 0.1


def test_reverse_kl_optimum_against_scipy() -> None:
    """π° = argmax E_π[r] − β KL(π_ref‖π), by BFGS over softmax logits (a second formulation)."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(4)
    ref = rng.dirichlet(np.ones(6), size=3)
    r = rng.normal(size=(3, 6))
    for beta in (0.2, 1.0, 3.0):
        got = np.exp(reverse_kl_optimum(np.log(ref), r, beta))
        np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=0, atol=1e-14)
        for p in range(3):
            def neg(z: np.ndarray, p: int = p) -> float:
                q = np.exp(z - logsumexp(z))
                return -float(q @ r[p] - beta * ref[p] @ (np.log(ref[p]) - np.log(q)))

            res = minimize(neg, np.log(ref[p]), method="BFGS", options={"gtol": 1e-11})
            q = np.exp(res.x - logsumexp(res.x))
            np.testing.assert_allclose(got[p], q, rtol=0, atol=1e-7)  # BFGS's argmin to ~1e-8


# --------------------------------------------------------------------- variable-length responses


def test_eos_task_enumerates_every_response_once() -> None:
    for v, n in ((2, 1), (3, 2), (2, 4), (6, 4)):
        resp, lens = enumerate_task_responses(v, n, eos=True)
        k = sum(v ** (m - 1) for m in range(1, n)) + v ** (n - 1) * (v + 1)
        assert resp.shape == (k, n) and count_responses(v, n, True) == k
        assert len({tuple(row) for row in resp.tolist()}) == k  # no duplicates
        for row, m in zip(resp.tolist(), lens.tolist()):
            assert all(a >= 0 for a in row[:m]) and all(a == -1 for a in row[m:])
            assert all(0 <= a < v for a in row[: m - 1])  # content before the last token
            assert m == n or row[m - 1] == v  # shorter than L only by ending in EOS
    task = make_task(QUICK, np.random.default_rng(0))
    np.testing.assert_allclose(np.exp(task.base_logp).sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.array_equal(task.response_index(task.responses), np.arange(task.n_responses))
    ids, actions, mask = task.batch(np.zeros(task.n_responses, dtype=np.int64), np.arange(task.n_responses))
    assert np.array_equal(mask.sum(axis=1), task.lengths)
    base = np.exp(task.base_logp)
    assert all((base * (task.lengths == m)).sum(axis=1).min() > 0.01 for m in range(1, QUICK.length + 1))  # every length occurs


def test_generate_samples_the_enumerated_distribution_with_eos() -> None:
    """As the fixed-length test above, on a task with EOS (13 responses of lengths 1, 2)."""
    prep = prepare(TINY.with_(eos=True), seed=2, device=torch.device("cpu"), reward_model=False)
    assert prep.task.n_responses == 13
    n = 20000
    rng = np.random.default_rng(12)
    for p in range(prep.task.n_prompts):
        draws = generate(prep.ref, prep.task, np.full(n, p), rng, torch.device("cpu"))
        freq = np.bincount(draws, minlength=prep.task.n_responses) / n
        prob = np.exp(prep.logp_ref[p])
        z = np.abs(freq - prob) / np.sqrt(prob * (1 - prob) / n)
        assert z.max() < 5.0, (p, freq, prob)  # false alarm < 2·13·5.7e-7 ≈ 1.5e-5


# -------------------------------------------------------------------- validation before training


def _no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    import verification.loop as loop_pkg

    def boom(*a: Any, **k: Any) -> Any:
        raise AssertionError("training started before the arguments were validated")

    monkeypatch.setattr(loop_pkg, "run_loop", boom)


@pytest.mark.parametrize(("argv", "option"), [
    (["--seed", "-1"], "--seed"),
    (["--seed", "1.5"], "--seed"),
    (["--seed", str(2**64)], "--seed"),
    (["--preset", "huge"], "--preset"),
    (["--device", "tpu"], "--device"),
    (["--critic-free", "grpo,ppo2"], "--critic-free"),
])
def test_rlhf_usage_errors_name_the_option(argv: list[str], option: str, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _no_training(monkeypatch)
    assert main(["rlhf", "--quiet", *argv]) == 2
    assert option in capsys.readouterr().err


def test_rlhf_out_is_checked_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    _no_training(monkeypatch)
    a_file = tmp_path / "a-file"
    a_file.write_text("x", encoding="utf-8")
    assert main(["rlhf", "--quiet", "--device", "cpu", "--out", str(a_file)]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["rlhf", "--quiet", "--device", "cpu", "--out", str(a_file / "sub")]) == 2
    assert "--out" in capsys.readouterr().err
    blocked = tmp_path / "blocked"
    (blocked / "summary.json").mkdir(parents=True)
    assert main(["rlhf", "--quiet", "--device", "cpu", "--out", str(blocked)]) == 2
    assert "summary.json" in capsys.readouterr().err
    if os.name == "posix" and os.geteuid() != 0:  # root writes anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            assert main(["rlhf", "--quiet", "--device", "cpu", "--out", str(ro)]) == 2
            assert "not writable" in capsys.readouterr().err
        finally:
            ro.chmod(0o700)


def test_validate_api_names_the_argument(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--seed"):
        rlhf_cmd.validate("quick", -1, "cpu", None)
    with pytest.raises(TypeError, match="--seed"):
        rlhf_cmd.validate("quick", 1.0, "cpu", None)
    with pytest.raises(ValueError, match="--preset"):
        rlhf_cmd.validate("medium", 0, "cpu", None)
    with pytest.raises(ValueError, match="--device"):
        rlhf_cmd.validate("quick", 0, "gpu", None)
    with pytest.raises(ValueError, match="--critic-free"):
        rlhf_cmd.validate("quick", 0, "cpu", None, ["nope"])
    cfg = rlhf_cmd.validate("quick", 0, "cpu", tmp_path / "new" / "dir", ["rloo"])
    assert cfg.critic_free == ("rloo",) and (tmp_path / "new" / "dir").is_dir()
    assert list((tmp_path / "new" / "dir").iterdir()) == []  # the write probe is removed


@pytest.mark.parametrize(("changes", "text"), [
    ({"cf_group_size": 1}, "cf_group_size"),
    ({"critic_free": ("grpo", "grpo")}, "critic_free"),
    ({"critic_free": ("ppo",)}, "critic_free"),
    ({"cf_lr": float("nan")}, "cf_lr"),
    ({"cf_lr": -1e-3}, "cf_lr"),
    ({"eos": 1}, "eos"),
    ({"length": 10**6}, "length"),
    ({"reward_length_scale": float("inf")}, "reward_length_scale"),
])
def test_loop_config_rejects_bad_values(changes: dict[str, Any], text: str) -> None:
    with pytest.raises((ValueError, TypeError), match=text):
        QUICK.with_(**changes)


def test_every_critic_free_variant_runs_and_reports_its_measures(tiny_prepared: Any) -> None:
    """All 15 variants (5 estimators × 3 KL placements) train two steps on the tiny task; each
    reports the exact measures its criteria read (plumbing only: TINY is too small for criteria)."""
    assert len(VARIANTS) == 15
    for name, v in VARIANTS.items():
        st = run_cf(tiny_prepared, name)
        final = st.history[-1]["true"]
        assert np.isfinite(final["gap_mean"]) and np.isfinite(final["expected_length_mean"]), name
        m = cf_measures(v, REFERENCE, tiny_prepared, st.extra["logp"], tiny_prepared.cfg)
        names = {c.name for c in cf_criteria(name, st.history[-1], m, tiny_prepared.cfg)}
        assert (f"{name}_group_local" in names) == (v.advantage != "whiten"), name
        assert (f"{name}_gap_closed_true" in names) == (v.kl == "reward"), name
        if v.kl == "loss-k3" and v.advantage in ("none", "rloo"):
            assert m["beta_eff"] > 0 and len(m["kl_to_reverse_optimum"]) == tiny_prepared.task.n_prompts
