"""Exact evaluation by enumerating every response: what each stage reached, and what it should reach.

All quantities are float64 sums over the K responses of each prompt, computed with the numpy
reference (``reference.kl_regularized_objective``, ``kl_optimal_value``, ``kl_optimal_policy``);
no sampling is involved.  Prompts are weighted uniformly in the means.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import reference

from .task import FloatArray, Preferences


def kl_divergence(p: FloatArray, q: FloatArray) -> FloatArray:
    """KL(p‖q) per row, [P]: −J(p) of ``reference.kl_regularized_objective`` with zero reward and β = 1."""
    out = -np.asarray(reference.kl_regularized_objective(p, q, np.zeros_like(p), 1.0), dtype=np.float64)
    return out


def _ratio(num: Any, den: Any) -> FloatArray:
    """num / den, NaN where den is not positive (a degenerate task: π_ref is already optimal)."""
    n = np.asarray(num, dtype=np.float64)
    d = np.asarray(den, dtype=np.float64)
    out: FloatArray = np.where(d > 0, n / np.where(d > 0, d, 1.0), np.nan)
    return out


def objective_report(logp_pi: FloatArray, logp_ref: FloatArray, reward: FloatArray, beta: float,
                     lengths: Any = None) -> dict[str, Any]:
    """E[r], KL(π‖π_ref), J(π), J(π*) = β log Z, the gap, the fraction of the gap closed, KL(π‖π*),
    and, given the response lengths, E_π[n], E_π*[n] and E_π_ref[n].

    Args:
        logp_pi, logp_ref: [P, K] log-probabilities of every response under π and π_ref.
        reward: [P, K] the reward J is measured against (the true one or the learned one).
        beta: the KL coefficient β > 0.
        lengths: optional [K] length n of each response (tokens, EOS included).
    Returns:
        a dict of per-prompt lists and their means (``*_mean``); ``gap_closed`` is
        (J(π) − J(π_ref)) / (J(π*) − J(π_ref)), 1 at the optimum and 0 at π_ref.
    """
    pi, ref = np.exp(logp_pi), np.exp(logp_ref)
    pi_star = np.asarray(reference.kl_optimal_policy(ref, reward, beta))
    j = np.asarray(reference.kl_regularized_objective(pi, ref, reward, beta), dtype=np.float64)
    j_ref = np.asarray(reference.kl_regularized_objective(ref, ref, reward, beta), dtype=np.float64)
    j_star = np.asarray(reference.kl_optimal_value(ref, reward, beta), dtype=np.float64)
    kl_ref = kl_divergence(pi, ref)
    kl_star = kl_divergence(pi, pi_star)
    kl_ref_star = kl_divergence(ref, pi_star)
    out: dict[str, Any] = {
        "expected_reward": (pi * reward).sum(axis=1),
        "kl_to_ref": kl_ref,
        "J": j,
        "J_ref": j_ref,
        "J_star": j_star,
        "gap": j_star - j,
        "gap_closed": _ratio(j - j_ref, j_star - j_ref),
        "kl_to_optimum": kl_star,
        "kl_ref_to_optimum": kl_ref_star,
        "kl_optimum_to_ref": kl_divergence(pi_star, ref),
    }
    if lengths is not None:
        n = np.asarray(lengths, dtype=np.float64)
        out["expected_length"] = pi @ n
        out["expected_length_star"] = pi_star @ n
        out["expected_length_ref"] = ref @ n
        out["length_error"] = np.abs(pi @ n - pi_star @ n)
    res: dict[str, Any] = {}
    for key, val in out.items():
        res[key] = [float(x) for x in val]
        res[key + "_mean"] = float(np.mean(val))
    res["gap_closed_mean"] = float(_ratio(np.mean(j) - np.mean(j_ref), np.mean(j_star) - np.mean(j_ref)))
    res["gap_closed_min"] = float(np.min(out["gap_closed"]))
    res["kl_to_optimum_ratio"] = float(_ratio(np.mean(kl_star), np.mean(kl_ref_star)))
    return res


def _sigmoid(x: FloatArray) -> FloatArray:
    out: FloatArray = 0.5 * (1.0 + np.tanh(0.5 * x))
    return out


def pair_accuracies(logp_ref: FloatArray, reward: FloatArray, learned: FloatArray, chunk: int = 512) -> tuple[FloatArray, FloatArray]:
    """Exact expected accuracies on the pair distribution π_ref ⊗ π_ref conditioned on y1 ≠ y2.

    A pair (y1, y2) is labelled y1 ≻ y2 with probability σ(r(y1) − r(y2)) (Bradley–Terry).
    Returns, per prompt, [P] each:
        bayes: E[σ(|r(y1) − r(y2)|)], the accuracy of the best possible predictor (the true ordering);
        learned: E[σ(Δ)·1{Δ̂ > 0} + σ(−Δ)·1{Δ̂ < 0} + ½·1{Δ̂ = 0}], the learned reward's accuracy,
        with Δ = r(y1) − r(y2) and Δ̂ its learned counterpart.
    """
    n_p = logp_ref.shape[0]
    bayes = np.zeros(n_p)
    acc = np.zeros(n_p)
    for p in range(n_p):
        w = np.exp(logp_ref[p])
        norm = 1.0 - float(w @ w)
        for s in range(0, w.shape[0], chunk):
            ww = w[s : s + chunk, None] * w[None, :]
            idx = np.arange(s, min(s + chunk, w.shape[0]))
            ww[idx - s, idx] = 0.0
            d = reward[p, s : s + chunk, None] - reward[p, None, :]
            dh = learned[p, s : s + chunk, None] - learned[p, None, :]
            bayes[p] += float((ww * _sigmoid(np.abs(d))).sum())
            right = np.where(dh > 0, _sigmoid(d), np.where(dh < 0, _sigmoid(-d), 0.5))
            acc[p] += float((ww * right).sum())
        bayes[p] /= norm
        acc[p] /= norm
    return bayes, acc


def heldout_accuracy(prefs: Preferences, reward: FloatArray, learned: FloatArray) -> dict[str, float]:
    """Accuracy on held-out labelled pairs: empirical (sampled labels) and expected (exact in the labels)."""
    lc = learned[prefs.prompt, prefs.chosen]
    lr = learned[prefs.prompt, prefs.rejected]
    d = reward[prefs.prompt, prefs.chosen] - reward[prefs.prompt, prefs.rejected]
    empirical = np.where(lc > lr, 1.0, np.where(lc < lr, 0.0, 0.5))
    expected = np.where(lc > lr, _sigmoid(d), np.where(lc < lr, _sigmoid(-d), 0.5))
    n = prefs.n
    acc = float(empirical.mean())
    return {
        "pairs": n,
        "accuracy": acc,
        "accuracy_stderr": float(np.sqrt(max(acc * (1 - acc), 1e-12) / n)),
        "true_reward_accuracy": float(np.where(d > 0, 1.0, np.where(d < 0, 0.0, 0.5)).mean()),
        "expected_accuracy": float(expected.mean()),
        "bayes_accuracy": float(_sigmoid(np.abs(d)).mean()),
    }


def reverse_kl_optimum(logp_ref: FloatArray, reward: FloatArray, beta: float) -> FloatArray:
    """log π° of the maximizer of E_π[r] − β KL(π_ref‖π) per prompt, [P, K] (the k3-in-the-loss fixed point).

    Stationarity on the simplex gives π°(y) = β π_ref(y) / (λ − r(y)) with λ > max r the root of
    Σ_y β π_ref(y) / (λ − r(y)) = 1 (the left side decreases from +∞ to 0 in λ, so the root is
    unique; bracketed in (max r, max r + β], found by scipy's brentq to ~1e-15 relative).
    Where π_ref(y) = 0, π°(y) = 0.
    """
    from scipy.optimize import brentq

    ref = np.exp(logp_ref)
    out = np.full_like(ref, -np.inf)
    for p in range(ref.shape[0]):
        r = reward[p]
        top = float(r.max())

        def excess(lam: float, r: FloatArray = r, w: FloatArray = ref[p]) -> float:
            return float(np.sum(beta * w / (lam - r))) - 1.0

        lo = top + 8 * np.finfo(np.float64).eps * max(1.0, abs(top))
        hi = top + beta  # Σ β π_ref / (λ − r) ≤ β / (λ − max r) ≤ 1 here
        while excess(lo) <= 0:  # only when π_ref puts ~no mass near the max: move lo up towards it
            lo = top + (lo - top) * 10 + 1e-12
        lam = brentq(excess, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
        pos = ref[p] > 0
        out[p, pos] = np.log(beta * ref[p, pos]) - np.log(lam - r[pos])
        out[p] -= np.log(np.exp(out[p]).sum())  # normalize away the root's residual (≤ 1e-15)
    return out


def own_reward_coefficient(fn: Any, group_size: int) -> float:
    """∂A_i/∂r_i of a linear advantage function (``rloo_advantages``-like, ``(rewards, G) -> [N]``).

    For advantages A = M r that are linear in the group's rewards, the expected policy gradient
    Σ_i E[A_i ∇log π(y_i)] is Σ_i M_ii E[r ∇log π] (the other samples are independent and
    E[∇log π] = 0), i.e. M_ii · ∇E[r] per sample: unbiased iff M_ii = 1.  Probed on unit reward
    vectors, exactly (the result is a float; for leave-one-out it is 1, for the same-batch mean
    1 − 1/G).  Returns the largest deviation-from-1 coefficient (i.e. the M_ii farthest from 1).
    """
    import torch

    g = int(group_size)
    diag = []
    for i in range(g):
        e = torch.zeros(g, dtype=torch.float64)
        e[i] = 1.0
        diag.append(float(fn(e, g)[i]))
    d = np.asarray(diag)
    return float(d[np.argmax(np.abs(d - 1.0))])


def group_locality_error(fn: Any, group_size: int, n_groups: int = 4, seed: int = 0) -> float:
    """max |ΔA| on group 0 when every other group's rewards are redrawn: 0 for a per-group advantage.

    ``fn(rewards[N], G) -> [N]`` (groups are consecutive rows).  GRPO's, Dr. GRPO's and RLOO's
    advantages of a response depend on its own group only; a statistic taken over the wrong axis
    (across groups) does not.  Deterministic: seeded float64 probes.
    """
    import torch

    g = int(group_size)
    rng = np.random.default_rng(seed)
    r = torch.from_numpy(rng.normal(size=n_groups * g))
    r2 = r.clone()
    r2[g:] = torch.from_numpy(3.0 * rng.normal(size=(n_groups - 1) * g) + 1.0)
    a = fn(r, g)
    b = fn(r2, g)
    return float((a[:g] - b[:g]).abs().max())
