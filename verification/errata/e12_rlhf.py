"""Errata of source section 12 (RLHF), each demonstrated numerically with the §12 reference."""

from __future__ import annotations

import math

import numpy as np
import torch

import reference

from ..claims.s12_rlhf import PINNED_MODELS
from . import Demo, Erratum, register_erratum


def _v(x: object) -> str:
    with np.printoptions(precision=4, suppress=True):
        return np.array2string(np.asarray(x, dtype=float), separator=", ")


def _demo_e121() -> Demo:
    case = PINNED_MODELS[0]
    ys = reference.enumerate_responses(case.vocab, case.length)
    tok = reference.tabular_token_log_probs(case.policy_logits, ys)
    seq = reference.sequence_log_prob(tok, np.ones(tok.shape, dtype=bool))
    # the source's product of dynamics factors: s_{t+1} = s_t ⊕ a_t with probability 1
    dyn = np.ones(ys.shape)
    source = dyn.prod(axis=1)
    return Demo(
        case=f"all {ys.shape[0]} responses of a tabular autoregressive model, V = {case.vocab}, L = {case.length} (PINNED_MODELS[0] of §12)",
        source_form=f"Π_t P(s_t+1|s_t,a_t) = 1 for every response (deterministic concatenation); Σ_τ = {source.sum():.0f}, and ∇_θ log P(τ) = 0",
        correct_form=f"P(y|x) = Π_t π(y_t|x,y_<t): Σ_y = {np.exp(seq).sum():.15f}; probabilities range {np.exp(seq).min():.4f}..{np.exp(seq).max():.4f}",
        separation=f"the source's P(τ) is not a distribution (sums to {source.sum():.0f} = V^L) and carries no policy",
        ok=abs(float(np.exp(seq).sum()) - 1.0) < 1e-12 and float(source.sum()) == float(case.vocab**case.length),
        quantity="total probability Σ_y P(τ) over every response",
        source_value=float(source.sum()),
        correct_value=float(np.exp(seq).sum()),
        margin=1e-9,
    )


def _demo_e122() -> Demo:
    good_lower = float(reference.bt_loss(np.array([0.0]), np.array([1.0]))[0])
    bad_lower = float(reference.bt_loss(np.array([1.0]), np.array([0.0]))[0])
    return Demo(
        case="rewards 0 and 1 for the preferred y_w and the rejected y_l, in both orders",
        source_form="'r_w < r_l: the model incorrectly assigns a lower reward to the bad response' (that is r_l < r_w, the correct order)",
        correct_form=(
            f"a lower reward to the bad response, r_w = 1 > r_l = 0: loss {bad_lower:.4f} < log 2; "
            f"a lower reward to the GOOD response, r_w = 0 < r_l = 1: loss {good_lower:.4f} > log 2"
        ),
        separation=f"the boundary is log 2 = {math.log(2):.4f}: loss < log 2 exactly when r_w > r_l",
        ok=math.log(2) < good_lower,
        quantity="the sign of loss − log 2 when the bad response gets the lower reward (the case the words describe): the source calls the loss higher (+1)",
        source_value=1.0,
        correct_value=float(np.sign(bad_lower - math.log(2))),
        margin=1.0,
    )


def _demo_e123() -> Demo:
    ref = np.array([0.6, 0.3, 0.09, 0.01])
    r = np.array([0.0, 0.5, 1.0, 1.2])
    beta = 0.5
    point = np.eye(4)[int(np.argmax(r))]
    pistar = reference.kl_optimal_policy(ref, r, beta)

    def kl(p: np.ndarray) -> float:
        return float(sum(a * math.log(a / b) for a, b in zip(p, ref) if a > 0))

    j_point = float(reference.kl_regularized_objective(point, ref, r, beta))
    j_star = float(reference.kl_optimal_value(ref, r, beta))
    return Demo(
        case=f"one prompt, π_ref = {_v(ref)}, r = {_v(r)}, β = {beta}",
        source_form=f"PPO on the reward alone maximizes E[r]: the optimum is the point mass {_v(point)}, E[r] = {float(point @ r):.3f}, KL(π‖π_ref) = {kl(point):.3f} nats",
        correct_form=f"maximize E[r] − β KL(π‖π_ref): π* = {_v(pistar)}, E[r] = {float(pistar @ r):.3f}, KL = {kl(pistar):.3f}, J(π*) = β log Z = {j_star:.4f}",
        separation=f"the reward-only optimum collapses onto a response π_ref gives 1% and scores J = {j_point:.4f} < {j_star:.4f} on the regularized objective",
        ok=float(pistar.min()) > 0,
        quantity="the KL-regularized objective E[r] − β KL(π‖π_ref) at each form's optimum",
        source_value=j_point,
        correct_value=j_star,
        margin=1e-3,
    )


def _demo_e125() -> Demo:
    h = np.array([[[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]]])  # prompt + response, 3 tokens, one sequence
    w, b = np.array([1.0, -0.5]), 0.25
    literal = float(h[0, -1] @ w + b)  # "a linear layer ... after the last hidden state"
    right = float(reference.last_token_reward(h, np.ones((1, 3), dtype=bool), w, b)[0])
    return Demo(
        case="one question + answer of 3 tokens, as the source feeds it (no batch, no padding); head w = (1, −0.5), b = 0.25",
        source_form=f"a linear layer on the last hidden state: r = {literal:.3f}",
        correct_form=f"the hidden state of the last non-padding token (12.5): r = {right:.3f}",
        separation="none: for the sequence the source describes the last hidden state is the last token's; padding is a batching matter the source does not raise (RM-PADDING-INVARIANT covers it)",
        ok=True,
        quantity="r(x, y)",
        source_value=literal,
        correct_value=right,
        margin=1e-12,
    )


def _demo_e126() -> Demo:
    case = PINNED_MODELS[0]
    v, n = case.vocab, case.length
    ys = reference.enumerate_responses(v, n)
    k = ys.shape[0]
    rows = reference.prefix_index(ys, v)
    # ground truth ∇_θ E_y[r(x, y)] by autograd through the enumerated expectation
    th = torch.tensor(case.policy_logits, requires_grad=True)
    logpi = torch.log_softmax(th, dim=1)
    seq = logpi[torch.as_tensor(rows), torch.as_tensor(ys)].sum(dim=1)  # log π(y|x), [K]
    (grad,) = torch.autograd.grad((torch.exp(seq) * torch.as_tensor(case.scores)).sum(), th)
    truth = grad.numpy().reshape(-1)
    tok = reference.tabular_token_log_probs(case.policy_logits, ys)
    prob = np.exp(tok.sum(axis=1))
    pi = np.exp(case.policy_logits - np.log(np.exp(case.policy_logits).sum(axis=1, keepdims=True)))
    score = np.zeros((k, n) + case.policy_logits.shape)  # ∇_θ log π(y_t|x, y_<t) = e_row ⊗ (e_y_t − π(·|row))
    for i in range(k):
        for t in range(n):
            score[i, t, rows[i, t]] -= pi[rows[i, t]]
            score[i, t, rows[i, t], ys[i, t]] += 1.0
    score = score.reshape(k, n, -1)
    mask = np.ones((k, n), dtype=bool)
    s = case.scores
    placements = {
        "last": reference.kl_rewards(s, tok, tok, mask, 0.0),  # β = 0: the score alone, on the last token
        "every": np.repeat(s[:, None], n, axis=1),
        "first": np.concatenate([s[:, None], np.zeros((k, n - 1))], axis=1),
    }
    err: dict[str, float] = {}
    v0: dict[str, float] = {}
    for name, r in placements.items():
        g = reference.masked_returns(r, mask, 1.0)  # S12.8's regression targets Σ_{k≥t} r_k
        est = np.einsum("i,itn,it->n", prob, score, g)
        err[name] = float(np.linalg.norm(est - truth) / np.linalg.norm(truth))
        v0[name] = float(prob @ g[:, 0])
    mean_r = float(prob @ s)
    return Demo(
        case=f"all {k} responses of a tabular autoregressive model, V = {v}, L = {n} (PINNED_MODELS[0] of §12), the reward model's score alone (β = 0)",
        source_form=(
            f"r(s_k, a_k) is not defined per token; read as the score on every token, Σ_(k≥t) r_k = (L−t)·r: "
            f"E[Σ_t ∇log π·G_t] has relative error {err['every']:.0%} against ∇E[r] and V(s_0) regresses to {v0['every']:.4f} = L·E[r]; "
            f"read as the score on the first token, the later tokens get no credit: {err['first']:.0%} off"
        ),
        correct_form=(
            f"the score on the last response token (0 before it, plus the KL term of (12.6)): G_t = r(x, y) for every t, "
            f"V(s_0) = E[r] = {v0['last']:.4f}, and E[Σ_t ∇log π·G_t] = ∇E[r] to {err['last']:.1e}"
        ),
        separation=f"relative gradient errors {err['every']:.3f} (every token), {err['first']:.3f} (first token), {err['last']:.1e} (last token) against autograd ∇E[r]",
        ok=err["last"] < 1e-12 and err["first"] > 0.1 and abs(v0["last"] - mean_r) < 1e-12 and abs(v0["every"] - n * mean_r) < 1e-12,
        quantity="relative error of E[Σ_t ∇log π·G_t] against ∇E[r], the score on every token (the first-token reading is checked alongside)",
        source_value=err["every"],
        correct_value=err["last"],
        margin=0.1,
    )


for _e in [
    Erratum("E12.1", ("S12.3",), "incomplete", "P(τ) = Π_t P(s_{t+1}|s_t,a_t), restated for text generation",
            "P(y|x) = Π_t π_θ(y_t|x, y_<t) (times the prompt distribution ρ(x) for P(τ)); the transition s_{t+1} = s_t ⊕ a_t is deterministic",
            "with deterministic concatenation every dynamics factor is 1, so the written product is 1 for every response: not a distribution, and it does not involve the policy",
            ("RLHF-SEQ-FACTORIZES",), _demo_e121,
            revision="re-graded from wrong to incomplete, as E1.1: the same product without the policy's factors, which the source's §2 supplies"),
    Erratum("E12.2", ("S12.6",), "typo", "r_w < r_l: 'the model incorrectly assigns a lower reward to the \"bad\" response'",
            "r_w < r_l means the model assigns a lower reward to the good response y_w; the loss is above log 2 exactly then, and below log 2 exactly when r_w > r_l",
            "the words swap the responses; 'small' and 'higher' loss have a precise boundary, log 2",
            ("RM-LOSS-SIGN",), _demo_e122),
    Erratum("E12.3", ("S12.1",), "incomplete", "fine-tune the LLM with the previously developed PPO on the reward model's reward",
            "maximize E[r] − β KL(π‖π_ref), implemented as per-token rewards −β log(π/π_ref) plus the score on the last token (Ziegler et al. 2019; Ouyang et al. 2022)",
            "without the KL term the optimum of E[r] is a point mass on the highest-scoring response, however unlikely under π_ref, where the reward model is least reliable",
            ("RLHF-OPTIMUM", "RLHF-KL-REWARD-SUM"), _demo_e123),
    Erratum("E12.4", ("S12.1", "S12.4"), "prose", "good responses get large rewards and bad responses small or no reward",
            "the Bradley–Terry loss determines r(x, y) only up to an additive constant per prompt; only differences between responses to the same prompt carry information",
            "shifting every reward of a prompt changes neither the loss, nor the preference probabilities, nor the optimal policy π*",
            ("RM-BT-RECOVERS-REWARD", "RLHF-OPTIMUM"), None,
            revision="reclassified from ambiguous (overstated): the sentences say what the reward should express, not a property of the loss; a Bradley–Terry reward may be shifted per prompt so that bad responses score about 0, so nothing the source says evaluates to a wrong number. The shift invariance is kept here as a remark"),
    Erratum("E12.5", ("S12.4",), "withdrawn", "a linear layer with one output 'after the last hidden state' of question + answer",
            "r(x, y) = wᵀh + b with h the final hidden state of the last non-padding token (the last response token)",
            "in a padded batch the last position is a pad for every shorter sequence; reading it makes the score depend on the padding",
            ("RM-PADDING-INVARIANT",), _demo_e125,
            revision="withdrawn (overstated): the source feeds one question + answer, whose last hidden state is the last token's; padded batches are an implementation matter the source never raises, and the specification handles them in (12.5)"),
    Erratum("E12.6", ("S12.8",), "incomplete", "regress V on Σ_(k≥t) r(s_k, a_k), 'the same formulations discussed previously'",
            "per-token rewards of the token MDP: 0 before the last response token and the reward model's score r(x, y) on it (plus −β log(π/π_ref) on every token, (12.6)); "
            "the targets are their returns-to-go, so V(s_t) regresses to E[r(x, y) | x, y_<t] (minus the KL still to come)",
            "the reward model scores a whole prompt + response (S12.4), so r(s_k, a_k) has no meaning until the score is placed on a token; "
            "on every token the returns-to-go weight it by the tokens left, on the first token the later tokens get no credit, and either way the policy gradient is not ∇E[r]",
            ("RLHF-TOKEN-PG-UNBIASED", "RLHF-VALUE-REGRESSION", "RLHF-KL-REWARD-SUM"), _demo_e126),
    Erratum("E12.7", ("S12.2",), "notation", "\"thus our first action a_t ∼ π(·|s_t) is the next word the LLM predicts\"",
            "the first action is a_0 ∼ π(·|s_0), s_0 the prompt", "an index slip with one reading: the sentence is about the prompt s_0",
            ("RLHF-SEQ-FACTORIZES",), None,
            revision="added on re-reading: recorded as notation, not counted"),
]:
    register_erratum(_e)
