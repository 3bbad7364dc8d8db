"""Claims of SPEC.md §12.L: each torch twin the RLHF loop trains with equals its numpy reference.

The loop (``python -m verification rlhf``) is built from the torch twins in
``reference/rlhf_torch.py``; these claims tie each twin to the numpy reference (or to the
definition written out in numpy) in float64 on padded batches, so that what the loop vouches
for end to end is the same mathematics the rest of the specification checks exactly.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterator

import numpy as np
import torch

import reference

from ..registry import Claim, ClaimViolation, Impl, Measurement, compare, register
from ..strategies.token_batch import TwinBatch, twin_batches

TWIN_TOL = 1e-12
TWIN_WHY = (
    "float64 on both sides, the same formula evaluated elementwise or as sums of at most L <= 8 terms "
    "of size <= 1e4; torch and numpy may order operations differently, which moves results by a few ulps "
    "(~1e-15 relative); 1e-12 leaves a wide margin and still catches any wrong term"
)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from intra-op threads, and on a busy machine an OpenMP barrier
    waiting for a descheduled thread turns a 3 µs log-softmax into milliseconds."""
    prev = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(prev)


def _single_threaded(fn: Callable[[TwinBatch, Impl], Measurement]) -> Callable[[TwinBatch, Impl], Measurement]:
    @functools.wraps(fn)
    def wrapped(case: TwinBatch, impl: Impl) -> Measurement:
        with _one_thread():
            return fn(case, impl)

    return wrapped


def _t(x: Any) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=torch.float64)


def _np(x: Any) -> np.ndarray:
    if not isinstance(x, torch.Tensor):
        raise ClaimViolation(f"expected a torch.Tensor, got {type(x).__name__}")
    return np.asarray(x.detach().cpu().numpy(), dtype=np.float64)


def _mk(mask: list[list[int]], vocab: int, seed: int, **kw: Any) -> TwinBatch:
    m = np.asarray(mask, dtype=np.bool_)
    n, length = m.shape
    rng = np.random.default_rng(seed)
    logp = -rng.uniform(0.0, 5.0, (n, length))
    base: dict[str, Any] = dict(
        mask=m,
        logits=rng.normal(0.0, 3.0, (n, length, vocab)),
        tokens=rng.integers(0, vocab, (n, length)),
        logp=logp,
        ref_logp=-rng.uniform(0.0, 5.0, (n, length)),
        logp_old=logp - rng.uniform(-0.5, 0.5, (n, length)),
        scores=rng.normal(0.0, 2.0, n),
        rewards=rng.normal(0.0, 1.0, (n, length)),
        values=rng.normal(0.0, 3.0, (n, length)),
        advantages=rng.normal(0.0, 1.0, (n, length)),
        r_chosen=rng.normal(0.0, 2.0, n),
        r_rejected=rng.normal(0.0, 2.0, n),
        beta=0.5, dpo_beta=0.5, epsilon=0.2, gamma=1.0, lam=0.95,
    )
    base.update(kw)
    return TwinBatch(**base)


#: The loop's layout: right padding, rows of different prompt lengths, one row reaching the last column.
PINNED_RIGHT = _mk([[0, 1, 1, 1, 0, 0], [0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 0, 0]], 3, 0)
#: Left padding (the layout of batched generation), γ < 1, λ = 0.
PINNED_LEFT = _mk([[0, 0, 0, 1, 1], [0, 1, 1, 1, 1], [0, 0, 0, 0, 1]], 4, 1, gamma=0.9, lam=0.0)
#: One row, one position, one token; β = 0 (no KL penalty), λ = 1.
PINNED_ONE = _mk([[1]], 1, 2, beta=0.0, lam=1.0)
#: A mask with a hole, ratios exactly 1 and on the clip edges, zero advantages, a margin of 2e4 and one
#: of −21 (softplus(21): a softplus that turns linear above 20, as torch.nn.functional.softplus does,
#: is off there by e^-21 ≈ 7.6e-10, 3.6e-11 relative).
PINNED_EDGE = _mk(
    [[1, 0, 1, 1], [1, 1, 1, 1]], 2, 3,
    logp_old=np.array([[-1.0, -1.0, -1.0, -1.0], [-2.0, -2.0, -2.0, -2.0]]),
    logp=np.array([[-1.0, -1.0 + np.log(1.2), -1.0 + np.log(0.8), -1.0 + np.log(1.5)], [-2.0, -2.0 + np.log(0.5), -2.0, -2.0 + np.log(1.2)]]),
    advantages=np.array([[1.0, 2.0, -1.0, 0.0], [-3.0, -2.0, 0.0, 4.0]]),
    r_chosen=np.array([1e4, -10.5]), r_rejected=np.array([-1e4, 10.5]),
)
PINNED = (PINNED_RIGHT, PINNED_LEFT, PINNED_ONE, PINNED_EDGE)


def _garbage_on_padding(x: np.ndarray, mask: np.ndarray, value: float = 1e3) -> np.ndarray:
    return np.where(mask, x, value)


def _last_index(mask: np.ndarray) -> np.ndarray:
    return np.array([int(np.flatnonzero(row)[-1]) for row in mask])


# ----------------------------------------------------------------------------------- log-probs


@_single_threaded
def _check_logprobs(case: TwinBatch, impl: Impl) -> Measurement:
    n, length = case.shape
    v = case.logits.shape[2]
    logsm = reference.log_softmax_policy(case.logits.reshape(n * length, v))
    expected_tok = logsm[np.arange(n * length), case.tokens.reshape(-1)].reshape(n, length)
    got_tok = _np(impl.token_logprobs_torch(_t(case.logits), torch.as_tensor(case.tokens)))
    errs = [compare(expected_tok, got_tok, "token log-probs vs reference.log_softmax_policy at the token")]
    # the sequence sum must ignore padding, whatever sits there
    tok_in = _garbage_on_padding(expected_tok, case.mask)
    expected_seq = np.array([expected_tok[i][case.mask[i]].sum() for i in range(n)])
    got_seq = _np(impl.sequence_logprob_torch(_t(tok_in), torch.as_tensor(case.mask)))
    errs.append(compare(expected_seq, got_seq, "sequence log-prob vs Σ of token log-probs over the response mask"))
    probs = reference.softmax_policy(case.logits.reshape(n * length, v))
    expected_h = -(probs * logsm).sum(axis=1).reshape(n, length)
    got_h = _np(impl.entropy_torch(_t(case.logits)))
    errs.append(compare(expected_h, got_h, "entropy vs −Σ π log π from reference.softmax_policy / log_softmax_policy"))
    worst = max(errs, key=lambda m: m.error)
    return worst


register(
    Claim(
        id="RLHF-TORCH-LOGPROB-TWIN",
        title="torch token log-probs, sequence log-prob and entropy equal the numpy reference",
        statement=(
            "token_logprobs_torch = reference.log_softmax_policy read at the chosen token (12.L.1); "
            "sequence_logprob_torch = Σ over response tokens only (12.L.2), whatever lies at padding; "
            "entropy_torch = −Σ_v π_v log π_v"
        ),
        section="§12",
        source=("S12.1", "S12.3", "X-PPO-ENTROPY"),
        method="Hypothesis over padded batches (N <= 4, L <= 7, V <= 5, right/left/scattered masks, logits in [-20, 20], 1e3 written at padding); float64 torch vs numpy",
        tolerance=TWIN_TOL,
        tolerance_reason=TWIN_WHY,
        strategy=twin_batches,
        check=_check_logprobs,
        uses=("token_logprobs_torch", "sequence_logprob_torch", "entropy_torch"),
        examples=PINNED,
    )
)

# --------------------------------------------------------------------------- preference losses


@_single_threaded
def _check_pref(case: TwinBatch, impl: Impl) -> Measurement:
    rc, rr = case.r_chosen, case.r_rejected
    errs = [compare(reference.bt_loss(rc, rr), _np(impl.bt_loss_torch(_t(rc), _t(rr))), "BT loss vs reference.bt_loss")]
    b = case.dpo_beta
    # sequence log-probs: row sums of the drawn token log-probs over the response mask
    pc = np.where(case.mask, case.logp, 0.0).sum(axis=1)
    pr = np.where(case.mask, case.logp_old, 0.0).sum(axis=1)
    qc = np.where(case.mask, case.ref_logp, 0.0).sum(axis=1)
    qr = np.where(case.mask, case.ref_logp[::-1], 0.0).sum(axis=1) if case.shape[0] > 1 else qc - 1.0
    got_dpo = _np(impl.dpo_loss_torch(_t(pc), _t(pr), _t(qc), _t(qr), b))
    errs.append(compare(reference.dpo_loss(pc, pr, qc, qr, b), got_dpo, "DPO loss vs reference.dpo_loss"))
    got_rw = _np(impl.dpo_implicit_reward_torch(_t(pc), _t(qc), b))
    errs.append(compare(b * (pc - qc), got_rw, "implicit reward vs β(log π − log π_ref)"))
    # DPO is the BT loss of the implicit rewards (in torch, both sides through the twins)
    rl = impl.dpo_implicit_reward_torch(_t(pr), _t(qr), b)
    errs.append(compare(_np(impl.bt_loss_torch(impl.dpo_implicit_reward_torch(_t(pc), _t(qc), b), rl)), got_dpo,
                        "DPO loss vs bt_loss_torch of the implicit rewards"))
    return max(errs, key=lambda m: m.error)


register(
    Claim(
        id="RLHF-TORCH-PREF-TWIN",
        title="torch Bradley–Terry and DPO losses and the implicit reward equal the numpy reference",
        statement=(
            "bt_loss_torch = reference.bt_loss = softplus(r_l − r_w) per pair; dpo_loss_torch = reference.dpo_loss; "
            "dpo_implicit_reward_torch = β(log π − log π_ref); and the DPO loss is the BT loss of the implicit rewards"
        ),
        section="§12",
        source=("S12.5", "X-BT", "X-DPO"),
        method="Hypothesis over pairs (margins up to ±1e4, β in [0.01, 10]); float64 torch vs numpy, plus the DPO = BT identity within torch",
        tolerance=TWIN_TOL,
        tolerance_reason=TWIN_WHY,
        strategy=twin_batches,
        check=_check_pref,
        uses=("bt_loss_torch", "dpo_loss_torch", "dpo_implicit_reward_torch"),
        examples=PINNED,
    )
)

# ------------------------------------------------------------------------------ shaped rewards


@_single_threaded
def _check_kl_rewards(case: TwinBatch, impl: Impl) -> Measurement:
    m = case.mask
    lp = _garbage_on_padding(case.logp, m, -50.0)
    ref = _garbage_on_padding(case.ref_logp, m, -1.0)
    expected = reference.kl_rewards(case.scores, lp, ref, m, case.beta)
    got = _np(impl.kl_rewards_torch(_t(case.scores), _t(lp), _t(ref), torch.as_tensor(m), case.beta))
    errs = [compare(expected, got, "per-token shaped rewards vs reference.kl_rewards")]
    x = np.stack([case.values, case.rewards], axis=-1)  # [N, L, 2], any per-position array
    last = _last_index(m)
    expected_last = x[np.arange(m.shape[0]), last]
    errs.append(compare(expected_last, _np(impl.last_token_torch(_t(x), torch.as_tensor(m))), "last_token_torch vs x at the last true mask position"))
    return max(errs, key=lambda e: e.error)


register(
    Claim(
        id="RLHF-TORCH-KL-REWARD-TWIN",
        title="torch KL-shaped rewards equal reference.kl_rewards; the last response token is found under any padding",
        statement=(
            "kl_rewards_torch = reference.kl_rewards: −β(log π − log π_ref) on response tokens, plus the score "
            "on each row's last response token, 0 on padding (12.6); last_token_torch reads position max{l: mask[n,l]}"
        ),
        section="§12",
        source=("S12.4", "X-KL-SHAPED-REWARD"),
        method="Hypothesis over padded batches (right/left/scattered masks, β in [0, 5] with 0 pinned, −50 written at padding); float64 torch vs numpy",
        tolerance=TWIN_TOL,
        tolerance_reason=TWIN_WHY,
        strategy=twin_batches,
        check=_check_kl_rewards,
        uses=("kl_rewards_torch", "last_token_torch"),
        examples=PINNED,
    )
)

# --------------------------------------------------------------------------------------- GAE


@_single_threaded
def _check_gae(case: TwinBatch, impl: Impl) -> Measurement:
    m = case.mask
    expected = np.zeros(m.shape)
    for i in range(m.shape[0]):
        pos = np.flatnonzero(m[i])
        r, v = case.rewards[i, pos], case.values[i, pos]
        nv = np.append(v[1:], 0.0)
        term = np.zeros(pos.shape[0], dtype=bool)
        term[-1] = True
        expected[i, pos] = reference.gae(r, v, nv, term, np.zeros_like(term), case.gamma, case.lam)
    # padding holds rewards and values of the same size as response tokens: they must not leak
    got = _np(impl.masked_gae_torch(_t(case.rewards), _t(case.values), torch.as_tensor(m), lam=case.lam, gamma=case.gamma))
    return compare(expected, got, "masked GAE vs reference.gae on each row's response tokens (terminated after the last), 0 on padding")


register(
    Claim(
        id="RLHF-TORCH-GAE-TWIN",
        title="torch masked GAE over tokens equals reference.gae on each row's response tokens",
        statement=(
            "masked_gae_torch on a padded batch equals reference.gae (6.8) applied to each row's response tokens "
            "as one episode that terminates after the last one, and is 0 on padding: rewards and values at padding "
            "positions do not leak"
        ),
        section="§12",
        source=("S12.7", "S6.9", "X-KL-SHAPED-REWARD"),
        method="Hypothesis over padded batches with values and rewards in [-10, 10] at every position, padding included; γ, λ in [0, 1] with 0, 0.9/0.95, 1 pinned",
        tolerance=TWIN_TOL,
        tolerance_reason=TWIN_WHY,
        strategy=twin_batches,
        check=_check_gae,
        uses=("masked_gae_torch",),
        examples=PINNED,
    )
)

# --------------------------------------------------------------------------------------- PPO


@_single_threaded
def _check_ppo(case: TwinBatch, impl: Impl) -> Measurement:
    m = case.mask
    tm = torch.as_tensor(m)
    expected = reference.ppo_clip(case.logp, case.logp_old, case.advantages, case.epsilon)
    got_t = impl.ppo_clip_torch(_t(case.logp), _t(case.logp_old), _t(case.advantages), case.epsilon)
    errs = [compare(expected, _np(got_t), "per-token PPO-Clip vs reference.ppo_clip")]
    errs.append(compare(float(expected[m].mean()), float(_np(impl.masked_mean_torch(got_t, tm))), "masked mean over response tokens"))
    vl = impl.masked_mean_torch(impl.value_loss_torch(_t(case.values), _t(case.rewards)), tm)
    errs.append(compare(reference.value_regression_loss(case.values[m], case.rewards[m]), float(_np(vl)),
                        "masked mean of value_loss_torch vs reference.value_regression_loss on response tokens"))
    return max(errs, key=lambda e: e.error)


register(
    Claim(
        id="RLHF-TORCH-PPO-TWIN",
        title="torch PPO-Clip, value loss and the masked mean equal the numpy reference",
        statement=(
            "ppo_clip_torch = reference.ppo_clip per token (9.2); the masked mean of value_loss_torch = "
            "reference.value_regression_loss on the response tokens (S12.8); masked_mean_torch averages over "
            "response tokens only"
        ),
        section="§12",
        source=("S9.4", "S12.8", "S12.7"),
        method="Hypothesis over padded batches (log-ratios in [-3, 3], zero advantages drawn often, ratios exactly 1 and 1 ± ε pinned); float64 torch vs numpy",
        tolerance=TWIN_TOL,
        tolerance_reason=TWIN_WHY,
        strategy=twin_batches,
        check=_check_ppo,
        uses=("ppo_clip_torch", "value_loss_torch", "masked_mean_torch"),
        examples=PINNED,
    )
)
