"""Claims of SPEC.md §9: PPO-Clip, its case form and gradient, PPO-Penalty, KL estimators, the
adaptive coefficient, entropy and the combined actor-critic loss."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from scipy.special import log_softmax as sp_log_softmax
from scipy.stats import entropy as sp_entropy

from reference._torch import single_thread

from ..exact import enumerate_trajectories
from ..registry import Claim, ClaimViolation, Impl, Measurement, register
from ..strategies.mdp import MDPCase, mdp_cases
from ..strategies.ppo import KLBetaCase, RatioCase, exact_log_ratio, kl_beta_cases, make_ratio_case, ratio_cases
from ._offpolicy import exact_gradient_1t, ratio_measure, step_tables
from .s01_policy_gradient import EXACT_TOL, EXACT_WHY, PINNED

CLIP_TOL = 1e-12
CLIP_WHY = (
    "the reference and the check form the same float64 products ρA, (1±ε)A, so they agree to the last bit; "
    "1e-12 of max(1, |ρA|) leaves room for an implementation that clips in log space (torchrl), which moves ρ "
    "by a few ulps"
)


def pinned_ratio_case(eps: float, adv: list[float], kinds: list[str]) -> RatioCase:
    """A batch with exact edges on *both* sides of the band (logp_old = 0 makes every ratio reachable)."""
    return make_ratio_case(kinds, adv, [0.0] * len(kinds), [0.5] * len(kinds), eps)


_ALL_KINDS = ["edge_hi", "edge_lo", "inside", "above", "below", "one", "ulp_above", "ulp_below"]
#: every ratio kind with A > 0, A < 0 and A = 0, ε = 0.2: r exactly 1 ± ε, one ulp outside, and so on.
PINNED_POS = pinned_ratio_case(0.2, [1.5] * 8, _ALL_KINDS)
PINNED_NEG = pinned_ratio_case(0.2, [-1.5] * 8, _ALL_KINDS)
PINNED_ZERO = pinned_ratio_case(0.2, [0.0] * 8, _ALL_KINDS)
PINNED_MIXED = pinned_ratio_case(0.1, [2.0, -2.0, 0.0, 3.0, -3.0, 1.0, -1.0, 0.5], _ALL_KINDS)
PINNED_RATIOS = (PINNED_POS, PINNED_NEG, PINNED_ZERO, PINNED_MIXED)


def _scale(ratio: np.ndarray, adv: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.maximum(1.0, np.abs(adv) * np.maximum(ratio, 1.0))
    return out


#: Within this many ulps of 1 ± ε the ratio an implementation computes depends on its exp and its rounding (numpy's
#: and torch's exp differ in the last bit for some inputs), so which side of the kink a sample falls on is not a
#: property of the specification: there any value between the one-sided derivatives 0 and ρA is accepted (the
#: generalized gradient; autograd returns ρA/2 when min() meets a rounding tie).
KINK_ULPS = 4


def off_interval(grad: np.ndarray, r: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Distance of each gradient from the interval between 0 and ρA."""
    lo, hi = np.minimum(0.0, r * a), np.maximum(0.0, r * a)
    out: np.ndarray = np.maximum(lo - grad, 0.0) + np.maximum(grad - hi, 0.0)
    return out


def near_kink(c: RatioCase) -> np.ndarray:
    """Samples whose ratio lies within KINK_ULPS ulps of 1 + ε or 1 − ε (exactly on them included)."""
    r = c.ratio
    out: np.ndarray = np.zeros(r.shape, dtype=bool)
    for edge in (1.0 + c.epsilon, 1.0 - c.epsilon):
        out |= np.abs(r - edge) <= KINK_ULPS * np.spacing(edge)
    return out


def spinning_up_clip(c: RatioCase) -> np.ndarray:
    """min(ρA, g(ε, A)) with g = (1 + ε)A for A >= 0 and (1 − ε)A for A < 0 (Spinning Up's form)."""
    r, a = c.ratio, c.advantages
    g = np.where(a >= 0, (1.0 + c.epsilon) * a, (1.0 - c.epsilon) * a)
    out: np.ndarray = np.minimum(r * a, g)
    return out


# ---------------------------------------------------------------------------------------- PPO-CLIP-CASES


def _check_cases(c: RatioCase, impl: Impl) -> Measurement:
    ref = spinning_up_clip(c)
    got = np.asarray(impl.ppo_clip(c.logp_new, c.logp_old, c.advantages, c.epsilon))
    cases = np.asarray(impl.ppo_clip_cases(c.logp_new, c.logp_old, c.advantages, c.epsilon))
    if got.shape != ref.shape or cases.shape != ref.shape:
        raise ClaimViolation(f"shape: expected {ref.shape}, ppo_clip {got.shape}, ppo_clip_cases {cases.shape}")
    s = _scale(c.ratio, c.advantages)
    err = max(float(np.max(np.abs(got - ref) / s)), float(np.max(np.abs(cases - ref) / s)))
    return Measurement(err, expected=ref, got={"ppo_clip": got, "ppo_clip_cases": cases}, detail="min/clip form (9.2) and case form (9.3) vs min(ρA, g(ε, A))")


register(
    Claim(
        id="PPO-CLIP-CASES",
        title="the clipped objective equals its case form",
        statement=(
            "min(ρA, clip(ρ, 1−ε, 1+ε)A) (eq. 9.2) = min(ρ, 1+ε)A for A >= 0 and max(ρ, 1−ε)A for A < 0 (eq. 9.3) "
            "= min(ρA, g(ε, A)) with g = (1+ε)A for A >= 0, (1−ε)A for A < 0, for every ρ > 0 and A"
        ),
        section="§9",
        source=("S9.4", "S9.5", "S9.7"),
        method=(
            "three formulations compared sample by sample; Hypothesis over batches of N <= 12 samples with ratios inside, "
            "above, below, exactly on and one ulp outside the band [1−ε, 1+ε] (exact in float64), A in [-10, 10] with 0 "
            "and ±1 pinned, ε in [0.01, 0.5]"
        ),
        tolerance=CLIP_TOL,
        tolerance_reason=CLIP_WHY,
        strategy=ratio_cases,
        check=_check_cases,
        uses=("ppo_clip", "ppo_clip_cases"),
        examples=PINNED_RATIOS,
    )
)

# ---------------------------------------------------------------------------------------- PPO-CLIP-POS / NEG


def _check_sided(c: RatioCase, impl: Impl, sign: int) -> Measurement:
    sel = c.advantages > 0 if sign > 0 else c.advantages < 0
    r, a, eps = c.ratio, c.advantages, c.epsilon
    val = np.asarray(impl.ppo_clip(c.logp_new, c.logp_old, a, eps))
    grad = np.asarray(impl.ppo_clip_grad(c.logp_new, c.logp_old, a, eps))
    s = _scale(r, a)
    edge = 1.0 + eps if sign > 0 else 1.0 - eps
    outside = (r > edge) if sign > 0 else (r < edge)
    cap = edge * a
    parts: list[tuple[str, float, float]] = []

    def worst(mask: np.ndarray, x: np.ndarray) -> float:
        return float(np.max(x[mask])) if np.any(mask) else 0.0

    side = "ρ >= 1+ε" if sign > 0 else "ρ <= 1−ε"
    parts.append((f"L = {'(1+ε)A' if sign > 0 else '(1−ε)A'} for {side}", worst(sel & (outside | (r == edge)), np.abs(val - cap) / s), CLIP_TOL))
    parts.append(("L = ρA on the other side (no clipping there)", worst(sel & ~outside, np.abs(val - r * a) / s), CLIP_TOL))
    parts.append(("L <= the ceiling " + ("(1+ε)A" if sign > 0 else "(1−ε)A"), worst(sel, np.maximum(val - cap, 0.0) / s), CLIP_TOL))
    kink = near_kink(c)
    parts.append(("∂L/∂logp_new = 0 strictly beyond the edge", worst(sel & outside & ~kink, np.abs(grad)), 0.0))
    parts.append(("∂L/∂logp_new = ρA on the other side", worst(sel & ~outside & ~kink, np.abs(grad - r * a) / s), CLIP_TOL))
    parts.append(("∂L/∂logp_new at the kink ρ = 1 ± ε (± 4 ulps): between 0 and ρA", worst(sel & kink, off_interval(grad, r, a) / s), CLIP_TOL))
    return ratio_measure(parts, expected="the case analysis of S9.5/S9.7", got={"L": val, "dL/dlogp": grad})


def _check_pos(c: RatioCase, impl: Impl) -> Measurement:
    return _check_sided(c, impl, 1)


def _check_neg(c: RatioCase, impl: Impl) -> Measurement:
    return _check_sided(c, impl, -1)


def _sided_cases(sign: int) -> Any:
    return lambda: ratio_cases().map(
        lambda c: RatioCase(c.logp_new, c.logp_old, sign * (np.abs(c.advantages) + 0.25), c.epsilon, c.kinds)
    )


for _sign, _id, _edge, _items in ((1, "PPO-CLIP-POS", "1+ε", ("S9.5", "S9.6")), (-1, "PPO-CLIP-NEG", "1−ε", ("S9.7", "S9.8"))):
    register(
        Claim(
            id=_id,
            title=f"for A {'>' if _sign > 0 else '<'} 0 the objective is flat beyond ρ = {_edge}",
            statement=(
                f"For A {'>' if _sign > 0 else '<'} 0: L = {_edge}·A once ρ {'>=' if _sign > 0 else '<='} {_edge}, a ceiling "
                f"(L <= {_edge}·A for every ρ), and ∂L/∂log π_θ = 0 strictly beyond it; on the other side L = ρA with "
                f"gradient ρA, unclipped (ρ {'< 1−ε' if _sign > 0 else '> 1+ε'} included); at the kink ρ = {_edge} (within "
                "4 ulps, where implementations' exp and rounding legitimately differ) any value between the one-sided "
                "derivatives 0 and ρA is accepted (the reference returns ρA, autograd's value on the kink)"
            ),
            section="§9",
            source=_items,
            method=(
                "exact case checks on ppo_clip and ppo_clip_grad; Hypothesis over the ratio batches of PPO-CLIP-CASES with "
                f"A mapped to {'|A| + 1/4' if _sign > 0 else '−(|A| + 1/4)'}; pinned ratios exactly on both edges and one ulp outside"
            ),
            tolerance=1.0,
            tolerance_reason=(
                "the error is the largest ratio observed/allowed over the parts: value parts allow 1e-12 of max(1, |ρA|) "
                "(as PPO-CLIP-CASES); the zero-gradient part allows exactly 0"
            ),
            strategy=_sided_cases(_sign),
            check=_check_pos if _sign > 0 else _check_neg,
            uses=("ppo_clip", "ppo_clip_grad"),
            examples=(PINNED_POS,) if _sign > 0 else (PINNED_NEG,),
        )
    )

# ---------------------------------------------------------------------------------------- PPO-CLIP-PESSIMISTIC


def _check_pessimistic(c: RatioCase, impl: Impl) -> Measurement:
    r, a, eps = c.ratio, c.advantages, c.epsilon
    val = np.asarray(impl.ppo_clip(c.logp_new, c.logp_old, a, eps))
    s = _scale(r, a)
    unclipped = r * a
    clipped = np.clip(r, 1.0 - eps, 1.0 + eps) * a
    inside = (r >= 1.0 - eps) & (r <= 1.0 + eps)
    parts = [
        ("L <= ρA (a lower bound of the unclipped surrogate)", float(np.max(np.maximum(val - unclipped, 0.0) / s)), CLIP_TOL),
        ("L <= clip(ρ)A", float(np.max(np.maximum(val - clipped, 0.0) / s)), CLIP_TOL),
        ("L is one of the two (the smaller)", float(np.max(np.minimum(np.abs(val - unclipped), np.abs(val - clipped)) / s)), CLIP_TOL),
        ("L = ρA inside the band", float(np.max((np.abs(val - unclipped) / s)[inside])) if np.any(inside) else 0.0, CLIP_TOL),
    ]
    return ratio_measure(parts, expected="min(ρA, clip(ρ)A)", got=val)


register(
    Claim(
        id="PPO-CLIP-PESSIMISTIC",
        title="the clipped objective is a pessimistic bound",
        statement=(
            "L^CLIP <= ρA and L^CLIP <= clip(ρ, 1−ε, 1+ε)A for every ρ and A, with equality to ρA inside the band: the "
            "clipped objective never exceeds the unclipped surrogate (Schulman et al. 2017, §3)"
        ),
        section="§9",
        source=("S9.2", "S9.4"),
        method="exact comparisons per sample; Hypothesis over the ratio batches of PPO-CLIP-CASES (all ratio kinds, A of both signs and 0)",
        tolerance=1.0,
        tolerance_reason="largest observed/allowed ratio over the parts; each part allows 1e-12 of max(1, |ρA|) (see PPO-CLIP-CASES)",
        strategy=ratio_cases,
        check=_check_pessimistic,
        uses=("ppo_clip",),
        examples=PINNED_RATIOS,
    )
)

# ---------------------------------------------------------------------------------------- PPO-CLIP-GRAD


def torch_clip_grad(c: RatioCase) -> np.ndarray:
    """∂/∂logp_new of min(ρA, clamp(ρ, 1−ε, 1+ε)A) by torch autograd (the form most libraries write)."""
    with single_thread():
        lp = torch.tensor(c.logp_new, requires_grad=True)
        ratio = torch.exp(lp - torch.as_tensor(c.logp_old))
        adv = torch.as_tensor(c.advantages)
        obj = torch.min(ratio * adv, torch.clamp(ratio, 1.0 - c.epsilon, 1.0 + c.epsilon) * adv)
        (g,) = torch.autograd.grad(obj.sum(), lp)
    out: np.ndarray = g.numpy()
    return out


def _check_grad(c: RatioCase, impl: Impl) -> Measurement:
    grad = np.asarray(impl.ppo_clip_grad(c.logp_new, c.logp_old, c.advantages, c.epsilon))
    auto = torch_clip_grad(c)
    s = _scale(c.ratio, c.advantages)
    h = 1e-6
    logr = c.logp_new - c.logp_old
    far = (np.abs(logr - np.log1p(c.epsilon)) > 1e3 * h) & (np.abs(logr - np.log1p(-c.epsilon)) > 1e3 * h)
    up = np.asarray(impl.ppo_clip(c.logp_new + h, c.logp_old, c.advantages, c.epsilon))
    down = np.asarray(impl.ppo_clip(c.logp_new - h, c.logp_old, c.advantages, c.epsilon))
    fd = (up - down) / (2 * h)
    # Near a kink (KINK_ULPS) torch's exp may put ρ on the other side, and where fl(ρA) = fl(clip(ρ)A) with
    # ρ ≠ clip(ρ) min() sees a rounding tie and autograd returns ρA/2: there only "between 0 and ρA" is required.
    r, a = c.ratio, c.advantages
    kink = near_kink(c)
    parts = [
        ("vs torch autograd of min(ρA, clamp(ρ)A), away from the kinks", float(np.max((np.abs(grad - auto) / s)[~kink])) if np.any(~kink) else 0.0, CLIP_TOL),
        ("at a kink (± 4 ulps): between 0 and ρA", float(np.max((off_interval(grad, r, a) / s)[kink])) if np.any(kink) else 0.0, CLIP_TOL),
        ("vs central differences of ppo_clip away from the kinks", float(np.max((np.abs(grad - fd) / s)[far])) if np.any(far) else 0.0, 1e-6),
    ]
    return ratio_measure(parts, expected=auto, got=grad)


register(
    Claim(
        id="PPO-CLIP-GRAD",
        title="the analytic gradient of the clipped objective",
        statement=(
            "∂L_i/∂logp_new_i (eq. 9.4) equals torch autograd of min(ρA, clamp(ρ, 1−ε, 1+ε)A) and central finite "
            "differences of ppo_clip away from the kinks ρ = 1 ± ε; within 4 ulps of a kink it lies between 0 and ρA (exactly on it "
            "autograd gives ρA, since min splits a tie evenly and clamp passes its gradient at the bound; one ulp off, "
            "exp's last bit and product rounding decide the side, and a rounding tie in min makes autograd return ρA/2)"
        ),
        section="§9",
        source=("S9.4", "S9.6", "S9.8"),
        method="torch float64 autograd (away from the kinks) and central differences (h = 1e-6, samples within 1e-3 of a kink in log ρ skipped); Hypothesis over the ratio batches of PPO-CLIP-CASES",
        tolerance=1.0,
        tolerance_reason=(
            "largest observed/allowed ratio: autograd is exact up to rounding (1e-12 of max(1, |ρA|)); central differences "
            "have truncation error ~h²|L'''| and cancellation ~ε_mach|L|/h ≈ 2e-10, allowed 1e-6"
        ),
        strategy=ratio_cases,
        check=_check_grad,
        uses=("ppo_clip_grad", "ppo_clip"),
        examples=PINNED_RATIOS,
    )
)

# ---------------------------------------------------------------------------------------- PPO-RATIO-ONE


def _check_ratio_one(item: tuple[MDPCase, float], impl: Impl) -> Measurement:
    case, eps = item
    mdp = case.mdp
    tr = enumerate_trajectories(mdp, case.logits)
    tab = step_tables(mdp, case.logits, tr)
    adv = tab.disc * tab.advantage  # γ^t A_t(s_t, a_t), exact
    lp = tab.logp
    flat_lp, flat_adv = lp.reshape(-1), adv.reshape(-1)
    val = np.asarray(impl.ppo_clip(flat_lp, flat_lp, flat_adv, eps))
    cases = np.asarray(impl.ppo_clip_cases(flat_lp, flat_lp, flat_adv, eps))
    grad = np.asarray(impl.ppo_clip_grad(flat_lp, flat_lp, flat_adv, eps))
    pen = np.asarray(impl.ppo_penalty(flat_lp, flat_lp, flat_adv, np.zeros_like(flat_adv), 0.7))
    s = np.maximum(1.0, np.abs(flat_adv))
    theta_grad = tr.expect(np.einsum("itn,it->in", tr.step_scores(), grad.reshape(adv.shape)))
    true_grad = exact_gradient_1t(mdp, case.logits)
    parts = [
        ("ppo_clip = ρA = A at ρ = 1", float(np.max(np.abs(val - flat_adv) / s)), CLIP_TOL),
        ("ppo_clip_cases = A at ρ = 1", float(np.max(np.abs(cases - flat_adv) / s)), CLIP_TOL),
        ("ppo_penalty = A at ρ = 1, KL = 0", float(np.max(np.abs(pen - flat_adv) / s)), CLIP_TOL),
        ("∂L/∂logp_new = A at ρ = 1", float(np.max(np.abs(grad - flat_adv) / s)), CLIP_TOL),
        ("E[Σ_t ∂L/∂logp ∇log π] = ∇J", float(np.max(np.abs(theta_grad - true_grad))) / max(1.0, float(np.max(np.abs(true_grad)))), EXACT_TOL),
    ]
    return ratio_measure(parts, expected=true_grad, got=theta_grad)


register(
    Claim(
        id="PPO-RATIO-ONE",
        title="at θ = θ_old PPO is the policy gradient",
        statement=(
            "At θ = θ_old (ρ = 1): the clipped objective, its case form and the KL-penalized surrogate (KL = 0) all equal A "
            "per sample, ∂L/∂log π_θ = A, and so E[Σ_t ∂L_t/∂log π_θ ∇_θ log π_θ(a_t|s_t)] = E[Σ_t γ^t A_t ∇log π] = ∇J(θ): "
            "the first PPO step follows the policy gradient, whatever ε"
        ),
        section="§9",
        source=("S9.3", "S9.4", "S8.3"),
        method=(
            "exact enumeration: every step of every trajectory is a sample with A = γ^t(Q_t − V_t) from backward induction; "
            "∇J by autograd through the enumerated J; Hypothesis over MDPs (γ in [0,1]) and ε in [0.01, 0.5]"
        ),
        tolerance=1.0,
        tolerance_reason="largest observed/allowed ratio: per-sample parts 1e-12 (one float64 product), the gradient part " + EXACT_WHY,
        strategy=lambda: st.tuples(mdp_cases(gamma=None), st.floats(0.01, 0.5)),
        check=_check_ratio_one,
        uses=("ppo_clip", "ppo_clip_cases", "ppo_clip_grad", "ppo_penalty"),
        examples=tuple((c, 0.2) for c in PINNED),
        max_examples=25,
    )
)

# ---------------------------------------------------------------------------------------- PPO-KL-BETA-RULE


def expected_beta(c: KLBetaCase) -> float:
    if c.kl < c.kl_target / 1.5:
        return c.beta / 2.0
    if c.kl > 1.5 * c.kl_target:
        return c.beta * 2.0
    return c.beta


def _check_beta(c: KLBetaCase, impl: Impl) -> Measurement:
    want = expected_beta(c)
    got = float(impl.kl_beta_update(c.beta, c.kl, c.kl_target))
    return Measurement(abs(got - want) / want, expected=want, got=got, detail=f"KL {c.kl!r}, band [{c.kl_target / 1.5!r}, {1.5 * c.kl_target!r}]")


_TGT = 0.75  # target/1.5 = 0.5 and 1.5·target = 1.125, exact in float64
BETA_PINNED = (
    KLBetaCase(1.0, 0.5, _TGT),  # exactly on the lower edge: unchanged
    KLBetaCase(1.0, 1.125, _TGT),  # exactly on the upper edge: unchanged
    KLBetaCase(1.0, float(np.nextafter(0.5, 0.0)), _TGT),  # one ulp below: halved
    KLBetaCase(1.0, float(np.nextafter(1.125, 2.0)), _TGT),  # one ulp above: doubled
    KLBetaCase(1.0, 0.75, _TGT),  # on target: unchanged
    KLBetaCase(3.0, 0.0, _TGT),  # KL = 0: halved
    KLBetaCase(0.5, 10.0, 0.01),  # far above: doubled
)

register(
    Claim(
        id="PPO-KL-BETA-RULE",
        title="the adaptive KL coefficient rule",
        statement=(
            "β ← β/2 if KL < KL_target/1.5, β ← 2β if KL > 1.5·KL_target, otherwise unchanged (eq. 9.5, Schulman et al. "
            "2017, §4); both inequalities strict, so a KL exactly on a band edge leaves β unchanged"
        ),
        section="§9",
        source=("S9.1", "X-PPO-ADAPTIVE-KL"),
        method=(
            "the rule evaluated in the check; Hypothesis over β in [1e-4, 1e4], targets in [1e-4, 1], KL = 0, below, inside "
            "and above the band (1e-6 relative margins), and exactly on its edges with targets 3m/2^k (edges exact in float64)"
        ),
        tolerance=0.0,
        tolerance_reason="halving and doubling are exact in float64: the result must be bit-identical",
        strategy=kl_beta_cases,
        check=_check_beta,
        uses=("kl_beta_update",),
        examples=BETA_PINNED,
    )
)

# ---------------------------------------------------------------------------------------- KL, penalty, entropy


def _softmax(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = np.exp(sp_log_softmax(x, axis=-1))
    return out


@st.composite
def _policy_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(logits_old [S, A], logits_new [S, A], A [S, A], β): per-state policy pairs."""
    n_s = draw(st.integers(1, 3), label="S")
    n_a = draw(st.integers(1, 4), label="A")
    size = n_s * n_a

    def table(lo: float, hi: float) -> np.ndarray:
        return np.asarray(draw(st.lists(st.floats(lo, hi), min_size=size, max_size=size)), dtype=float).reshape(n_s, n_a)

    old = table(-4, 4)
    new = old.copy() if draw(st.booleans(), label="same") else table(-4, 4)
    beta = draw(st.sampled_from([0.0, 0.5, 1.0, 3.0]), label="beta")
    return old, new, table(-5, 5), beta


PAIR_PINNED = (
    (np.array([[0.0, 0.0]]), np.array([[0.0, 0.0]]), np.array([[1.0, -1.0]]), 1.0),
    (np.array([[1.0, -1.0, 0.5], [0.0, 2.0, -2.0]]), np.array([[-1.0, 1.0, 0.0], [0.3, 0.3, 0.3]]), np.array([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0]]), 0.5),
    (np.array([[6.0, -6.0]]), np.array([[-6.0, 6.0]]), np.array([[2.0, 3.0]]), 3.0),
)


def _check_penalty(item: tuple[np.ndarray, np.ndarray, np.ndarray, float], impl: Impl) -> Measurement:
    old, new, adv, beta = item
    p_old, p_new = _softmax(old), _softmax(new)
    kl_ref = np.array([sp_entropy(p_old[s], p_new[s]) for s in range(old.shape[0])])  # Σ p log(p/q)
    kl = np.asarray(impl.categorical_kl(old, new))
    lo, ln = sp_log_softmax(old, axis=1), sp_log_softmax(new, axis=1)
    n_a = old.shape[1]
    exp_pen = []
    for s in range(old.shape[0]):
        per = np.asarray(impl.ppo_penalty(ln[s], lo[s], adv[s], np.full(n_a, kl[s]), beta))
        exp_pen.append(float(p_old[s] @ per))
    want = (p_new * adv).sum(axis=1) - beta * kl_ref
    scale = max(1.0, float(np.max(np.abs(adv))))
    parts = [
        ("categorical_kl(old, new) = Σ_a π_old log(π_old/π_new) (scipy)", float(np.max(np.abs(kl - kl_ref))) / max(1.0, float(np.max(kl_ref))), 1e-12),
        ("E_{a~π_old}[ρA − β KL] = Σ_a π_new A − β KL(π_old‖π_new)", float(np.max(np.abs(np.asarray(exp_pen) - want))) / scale, 1e-12),
        ("KL >= 0, and = 0 for equal policies", float(np.max(np.maximum(-kl, 0.0)) + (float(np.max(kl)) if np.array_equal(old, new) else 0.0)), 1e-15),
    ]
    return ratio_measure(parts, expected=want, got=np.asarray(exp_pen))


register(
    Claim(
        id="PPO-PENALTY-OBJECTIVE",
        title="the KL-penalized surrogate and its KL direction",
        statement=(
            "Per state, E_{a~π_old}[ρA − β KL] = Σ_a π_θ(a|s)A(s,a) − β KL(π_old(·|s) ‖ π_θ(·|s)) (eq. 9.6, Schulman et al. "
            "2017 eq. 8), where categorical_kl(old, new) is KL(π_old ‖ π_θ) = Σ_a π_old log(π_old/π_θ) (eq. 9.7), >= 0 and "
            "0 for equal policies"
        ),
        section="§9",
        source=("S9.1", "X-PPO-ADAPTIVE-KL"),
        method="exact sums over actions; KL from scipy.stats.entropy(p, q); Hypothesis over S <= 3 states, A <= 4 actions, logits in [-4, 4], equal or different, β in {0, 1/2, 1, 3}",
        tolerance=1.0,
        tolerance_reason="largest observed/allowed ratio: sums of <= 4 terms of size <= 40 in float64, allowed 1e-12 relative; KL sign exact (1e-15)",
        strategy=_policy_pairs,
        check=_check_penalty,
        uses=("categorical_kl", "ppo_penalty"),
        examples=PAIR_PINNED,
    )
)


def _check_kl_estimators(item: tuple[np.ndarray, np.ndarray, np.ndarray, float], impl: Impl) -> Measurement:
    old, new, _, _ = item
    p_old = _softmax(old)
    lo, ln = sp_log_softmax(old, axis=1), sp_log_softmax(new, axis=1)
    kl = np.array([sp_entropy(p_old[s], _softmax(new)[s]) for s in range(old.shape[0])])
    parts = []
    for name in ("k1", "k3"):
        est = np.asarray(impl.kl_estimate(ln, lo, name))
        mean = (p_old * est).sum(axis=1)
        parts.append((f"E_old[{name}] = KL(π_old‖π_new)", float(np.max(np.abs(mean - kl))) / max(1.0, float(np.max(kl))), 1e-10))
    k3 = np.asarray(impl.kl_estimate(ln, lo, "k3"))
    parts.append(("k3 >= 0 per sample", float(np.max(np.maximum(-k3, 0.0))), 1e-15))
    k2 = np.asarray(impl.kl_estimate(ln, lo, "k2"))
    log_r = ln - lo
    parts.append(("k2 = ½(log ρ)²", float(np.max(np.abs(k2 - 0.5 * log_r**2))) / max(1.0, float(np.max(k2))), 1e-12))
    return ratio_measure(parts, expected=kl, got={"k3": k3})


register(
    Claim(
        id="PPO-KL-ESTIMATORS",
        title="the k1 and k3 KL estimators are unbiased; k3 is non-negative",
        statement=(
            "For actions sampled from π_old and log ρ = log π_new − log π_old (eq. 9.7): E[k1] = E[−log ρ] = KL(π_old‖π_new) "
            "and E[k3] = E[(ρ − 1) − log ρ] = KL(π_old‖π_new) exactly, k3 >= 0 per sample (k1 is not), and k2 = ½(log ρ)² "
            "(biased, equal to the KL only to second order)"
        ),
        section="§9",
        source=("S9.1", "X-PPO-ADAPTIVE-KL"),
        method="exact expectations over the actions of each state; KL from scipy.stats.entropy; Hypothesis over the policy pairs of PPO-PENALTY-OBJECTIVE",
        tolerance=1.0,
        tolerance_reason="largest observed/allowed ratio: E[k1], E[k3] are sums of <= 4 terms with |log ρ| <= 16, allowed 1e-10 relative; k3 >= 0 holds to rounding (expm1 form)",
        strategy=_policy_pairs,
        check=_check_kl_estimators,
        uses=("kl_estimate",),
        examples=PAIR_PINNED,
    )
)


def _check_entropy(logits: np.ndarray, impl: Impl) -> Measurement:
    h = np.asarray(impl.categorical_entropy(logits))
    p = _softmax(logits)
    ref = sp_entropy(p, axis=-1)
    n_a = logits.shape[-1]
    parts = [
        ("H = −Σ p log p (scipy.stats.entropy)", float(np.max(np.abs(h - ref))), 1e-12),
        ("0 <= H <= log A", float(np.max(np.maximum(-h, 0.0) + np.maximum(h - np.log(n_a), 0.0))), 1e-12),
    ]
    if np.all(logits == logits[..., :1]):
        parts.append(("H = log A for uniform logits", float(np.max(np.abs(h - np.log(n_a)))), 1e-12))
    return ratio_measure(parts, expected=ref, got=h)


@st.composite
def _logit_batches(draw: st.DrawFn) -> np.ndarray:
    n = draw(st.integers(1, 4), label="rows")
    n_a = draw(st.integers(1, 5), label="A")
    if draw(st.booleans(), label="uniform rows"):
        return np.repeat(np.asarray(draw(st.lists(st.floats(-50, 50), min_size=n, max_size=n)))[:, None], n_a, axis=1)
    return np.asarray(draw(st.lists(st.floats(-50, 50), min_size=n * n_a, max_size=n * n_a)), dtype=float).reshape(n, n_a)


register(
    Claim(
        id="PPO-ENTROPY",
        title="categorical entropy",
        statement="categorical_entropy(θ) = H[softmax(θ)] = −Σ_a π(a) log π(a) (eq. 9.8), in [0, log A], equal to log A for uniform logits, for any finite logits",
        section="§9",
        source=("S9.10", "X-PPO-ENTROPY"),
        method="scipy.stats.entropy of scipy.special.softmax as the independent formulation; Hypothesis over batches of logits in [-50, 50] (near-deterministic rows included) and uniform rows",
        tolerance=1.0,
        tolerance_reason="largest observed/allowed ratio, each allowed 1e-12 absolute: sums of <= 5 terms bounded by log 5",
        strategy=_logit_batches,
        check=_check_entropy,
        uses=("categorical_entropy",),
        examples=(np.zeros((1, 4)), np.array([[50.0, -50.0, 0.0]]), np.array([[1.0], [2.0]]), np.array([[0.3, -1.2, 2.0, 0.0, 0.5]])),
    )
)

# ---------------------------------------------------------------------------------------- PPO-COMBINED-LOSS


@st.composite
def _combined_cases(draw: st.DrawFn) -> tuple[RatioCase, np.ndarray, np.ndarray, np.ndarray, float, float]:
    c = draw(ratio_cases())
    n = c.logp_new.shape[0]
    vals = np.asarray(draw(st.lists(st.floats(-10, 10), min_size=2 * n, max_size=2 * n)), dtype=float)
    logits = np.asarray(draw(st.lists(st.floats(-5, 5), min_size=3 * n, max_size=3 * n)), dtype=float).reshape(n, 3)
    c1 = draw(st.sampled_from([0.0, 0.5, 1.0]), label="c1")
    c2 = draw(st.sampled_from([0.0, 0.01, 0.1]), label="c2")
    return c, vals[:n], vals[n:], logits, c1, c2


def _check_combined(item: tuple[RatioCase, np.ndarray, np.ndarray, np.ndarray, float, float], impl: Impl) -> Measurement:
    c, values, returns, logits, c1, c2 = item
    ent = sp_entropy(_softmax(logits), axis=-1)
    got = np.asarray(impl.ppo_actor_critic_loss(c.logp_new, c.logp_old, c.advantages, values, returns, ent, c.epsilon, c1, c2))
    want = -spinning_up_clip(c) + c1 * (values - returns) ** 2 - c2 * ent
    s = np.maximum(_scale(c.ratio, c.advantages), np.maximum(1.0, (values - returns) ** 2))
    err = float(np.max(np.abs(got - want) / s)) if got.shape == want.shape else float("inf")
    return Measurement(err, expected=want, got=got, detail="−L^CLIP + c1 (V − V^targ)² − c2 H, per sample")


register(
    Claim(
        id="PPO-COMBINED-LOSS",
        title="the combined actor-critic loss",
        statement=(
            "The per-sample PPO loss is ℓ = −L^CLIP + c1 (V_θ(s) − V^targ)² − c2 H[π_θ(·|s)] (eq. 9.9, Schulman et al. 2017, "
            "eq. 9): minimizing it maximizes the clipped objective and the entropy and fits the value; the reduction is separate"
        ),
        section="§9",
        source=("S9.10", "X-PPO-ENTROPY"),
        method=(
            "the loss rebuilt in the check from Spinning Up's clip form and scipy's entropy; Hypothesis over the ratio batches "
            "of PPO-CLIP-CASES with values and targets in [-10, 10], 3-action logits in [-5, 5], c1 in {0, 1/2, 1}, c2 in {0, 0.01, 0.1}"
        ),
        tolerance=1e-12,
        tolerance_reason="a sum of three float64 terms, relative to max(1, |ρA|, (V − V^targ)²)",
        strategy=_combined_cases,
        check=_check_combined,
        uses=("ppo_actor_critic_loss",),
        examples=(
            (PINNED_MIXED, np.linspace(-1, 1, 8), np.zeros(8), np.zeros((8, 3)), 0.5, 0.01),
            (PINNED_NEG, np.ones(8), np.ones(8), np.tile([2.0, 0.0, -2.0], (8, 1)), 1.0, 0.1),
        ),
    )
)

__all__ = [
    "PINNED_MIXED",
    "PINNED_NEG",
    "PINNED_POS",
    "PINNED_RATIOS",
    "PINNED_ZERO",
    "exact_log_ratio",
    "spinning_up_clip",
    "torch_clip_grad",
]
