"""Errata of source section 10 (TRPO), demonstrated on the pinned tabular problem of §10."""

from __future__ import annotations

import numpy as np
import torch

from scipy.special import softmax

import reference
from reference._torch import single_thread

from ..registry import all_claims

all_claims()  # register every claim module in canonical (name) order before importing any of them here

from ..claims._offpolicy import hessian as _hessian
from ..claims.s10_trpo import TR_PINNED, autograd_taylor, local_fisher
from ..strategies.ppo import TrustRegionCase
from . import Demo, Erratum, register_erratum

C = TR_PINNED
CASE_TEXT = "the pinned tabular problem of §10 (S=2, A=3, d=(3/4, 1/4), δ=0.01; verification.claims.s10_trpo.TR_PINNED)"


def _v(x: object) -> str:
    with np.printoptions(precision=4, suppress=True):
        return np.array2string(np.asarray(x, dtype=float), separator=", ")


def _surr(th: np.ndarray, c: TrustRegionCase = C) -> float:
    return reference.surrogate_advantage(th, c.logits_old, c.advantages, c.state_dist)


def _kl(th: np.ndarray, c: TrustRegionCase = C) -> float:
    return reference.mean_kl(th, c.logits_old, c.state_dist)


def _natural(c: TrustRegionCase = C) -> np.ndarray:
    g = reference.surrogate_gradient(c.logits_old, c.advantages, c.state_dist)
    f = local_fisher(c)
    x = np.linalg.pinv(f, hermitian=True) @ g
    out: np.ndarray = (np.sqrt(2 * c.max_kl / float(x @ f @ x)) * x).reshape(c.logits_old.shape)
    return out


def _exact_case() -> TrustRegionCase:
    """C with advantages centred under π_θk, as the exact A^(π_θk) the source's surrogate uses is."""
    pi = reference.softmax_policy(C.logits_old)
    centred = C.advantages - (pi * C.advantages).sum(axis=1, keepdims=True)
    return TrustRegionCase(C.logits_old, centred, C.state_dist, C.max_kl)


def _demo_e103() -> Demo:
    c = _exact_case()
    base = _surr(c.logits_old, c)
    step, j = reference.trpo_step(c.logits_old, c.advantages, c.state_dist, c.max_kl)
    g = reference.surrogate_gradient(c.logits_old, c.advantages, c.state_dist)
    d = (step - c.logits_old).reshape(-1)
    return Demo(
        case=CASE_TEXT + ", with the exact advantages the source's surrogate uses: A centred under π_θk in each state (Σ_a π_θk(a|s) A(s,a) = 0)",
        source_form=f"L(θ_k, θ) ≈ gᵀ(θ − θ_k): the constant L(θ_k, θ_k) is dropped (taken as 0); at the TRPO step (j = {j}) gᵀΔ = {float(g @ d):.6f}",
        correct_form=f"L(θ_k, θ_k) = E_s E_(a~π_θk)[A^(π_θk)(s,a)] = {base:.1e}; L(θ_k, θ_k + Δ) = {_surr(step, c):.6f}",
        separation="none: with the source's exact advantages the dropped constant is 0; H, in the line of D̄_KL's expansion, is that expansion's Hessian",
        ok=True,
        quantity="L(θ_k, θ_k), the constant the source's Taylor model leaves out",
        source_value=0.0,
        correct_value=base,
        margin=1e-12,
    )


def _demo_e104() -> Demo:
    th_k = C.logits_old
    g = reference.surrogate_gradient(th_k, C.advantages, C.state_dist)
    f = local_fisher(C)
    scalar = float(np.sqrt(2.0 / C.max_kl) * (g @ np.linalg.pinv(f, hermitian=True) @ g))
    src, j_src = reference.backtracking_line_search(_surr, _kl, th_k, np.full(th_k.shape, scalar), C.max_kl)
    gain = max(abs(_surr(th_k + 0.8**j * scalar) - _surr(th_k)) for j in range(10))
    new, j = reference.trpo_step(th_k, C.advantages, C.state_dist, C.max_kl)
    return Demo(
        case=CASE_TEXT,
        source_form=(
            f"θ_k + α^j sqrt(2/Δ) gᵀH⁻¹g: with Δ read as δ a scalar c = {scalar:.4f}; added to every logit it changes no softmax "
            f"probability: the surrogate moves by at most {gain:.1e} over j < 10 (round-off), the policy after the line search "
            f"(j = {j_src}) is the old one (D̄_KL = {_kl(src):.1e})"
        ),
        correct_form=f"θ_k + α^j sqrt(2δ / gᵀH⁻¹g) H⁻¹g: accepted at j = {j}, L − L(θ_k) = {_surr(new) - _surr(th_k):.5f}, D̄_KL = {_kl(new):.5f} <= δ",
        separation="the step must be the vector H⁻¹g scaled by sqrt(2δ / gᵀH⁻¹g), not a scalar built from gᵀH⁻¹g",
        ok=gain < 1e-12 and _kl(src) < 1e-12 and j is not None and _kl(new) <= C.max_kl,
        quantity="the surrogate's gain L(θ_k, θ_(k+1)) − L(θ_k, θ_k) after the line search",
        source_value=_surr(src) - _surr(th_k),
        correct_value=_surr(new) - _surr(th_k),
        margin=1e-3,
    )


def _demo_e105() -> Demo:
    c = _exact_case()
    th_k = c.logits_old
    base = _surr(th_k, c)
    step, j = reference.trpo_step(th_k, c.advantages, c.state_dist, c.max_kl)
    bad = th_k - (step - th_k)  # the step reversed: lowers the surrogate
    return Demo(
        case=CASE_TEXT + ", exact (centred) advantages as in E10.3; the TRPO step and the same step reversed",
        source_form=f"\"a positive surrogate advantage\", L(θ_k, θ) > 0: {_surr(step, c):.6f} at the step (accepted), {_surr(bad, c):.6f} reversed (rejected)",
        correct_form=f"an improvement, L(θ_k, θ) > L(θ_k, θ_k) = {base:.1e}: the same two decisions",
        separation="none: with exact advantages L(θ_k, θ_k) = 0, so \"positive\" and \"improved\" are one test",
        ok=_surr(step, c) > 0 > _surr(bad, c),
        quantity="the acceptance threshold: 0 (positive) against L(θ_k, θ_k) (improved)",
        source_value=0.0,
        correct_value=base,
        margin=1e-12,
    )


def _demo_e106() -> Demo:
    th_k, shape = C.logits_old, C.logits_old.shape
    g = reference.surrogate_gradient(th_k, C.advantages, C.state_dist)
    f = reference.fisher_matrix(th_k, C.state_dist)
    n_s, n_a = shape
    ones = np.kron(np.eye(n_s), np.ones(n_a))  # row s: the all-ones direction of state s's logits
    null_norm = float(np.max(np.abs(f @ ones.T)))  # F 1_s = 0: a constant added to one state's logits
    rank = int(np.linalg.matrix_rank(f, hermitian=True))
    try:
        reference.natural_step(g, f, C.max_kl)  # the formula needs F⁻¹: an SPD matrix
        refusal = f"a Cholesky factorization of H happened to pass on rounding (smallest eigenvalue {np.linalg.eigvalsh(f)[0]:.0e})"
    except ValueError as err:  # the usual outcome; whether round-off leaves the last pivot <= 0 is the platform's
        refusal = f"natural_step, which needs it, refuses: '{err}'"
    x_pinv = np.linalg.pinv(f, rcond=1e-13, hermitian=True) @ g
    x_cg = reference.conjugate_gradient(lambda v: reference.fisher_vector_product(th_k, C.state_dist, v), g, 10, 1e-24 * float(g @ g))
    quad = float(g @ x_pinv)
    step = np.sqrt(2 * C.max_kl / quad) * x_pinv
    shifted = step + ones.T @ np.array([3.0, -7.0])  # + a constant per state: another maximizer
    same_policy = float(np.max(np.abs(softmax(th_k + step.reshape(shape), axis=1) - softmax(th_k + shifted.reshape(shape), axis=1))))
    damped = reference.natural_step(g, f, C.max_kl, damping=0.1)
    return Demo(
        quantity="the rank of H: the source's H⁻¹ presumes the full rank d = 6",
        source_value=float(f.shape[0]),
        correct_value=float(rank),
        margin=0.5,
        case=CASE_TEXT + "; H = the Fisher matrix at θ_k (the Hessian of D̄_KL there, eq. 10.4)",
        source_form=(
            f"θ_k + sqrt(2δ / gᵀH⁻¹g) H⁻¹g, with CG solving Hx = g 'for x = H⁻¹g': H is 6x6 of rank {rank} "
            f"(max |H 1_s| = {null_norm:.0e}, cond = {np.linalg.cond(f):.0e}), so H⁻¹ does not exist; "
            + refusal
        ),
        correct_form=(
            f"H⁺g (CG from x_0 = 0 converges to it, max |x_CG − H⁺g| = {np.max(np.abs(x_cg - x_pinv)):.0e}; g lies in the range of H): "
            f"gᵀH⁺g = {quad:.4f}, Δ = {_v(step)}, ½ΔᵀHΔ = {0.5 * step @ f @ step:.6f} = δ; or damping, (H + 0.1I)⁻¹g: Δ = {_v(damped)}"
        ),
        separation=(
            f"the maximizer is unique only as a policy: Δ + (3·1_(s=0) − 7·1_(s=1)) has the same gᵀΔ "
            f"(difference {abs(float(g @ shifted) - float(g @ step)):.0e}) and the same π_(θ_k+Δ) (difference {same_policy:.0e}); "
            "every softmax policy's Fisher matrix is singular this way, so the formula must read H⁺ (or H + λI)"
        ),
        ok=(
            rank == n_s * (n_a - 1)
            and null_norm < 1e-14
            and float(np.max(np.abs(x_cg - x_pinv))) < 1e-10
            and abs(0.5 * float(step @ f @ step) - C.max_kl) < 1e-12
            and same_policy < 1e-14
            and abs(float(g @ shifted) - float(g @ step)) < 1e-12
        ),
    )


for _e in [
    Erratum("E10.1", ("S10.1",), "notation", "θ_(k+1) = argmax_(θ ∈ L(θ_k,θ)) surrogate advantage s.t. D̄_KL(θ‖θ_k) <= δ",
            "θ_(k+1) = argmax_θ L(θ_k, θ) s.t. D̄_KL(θ‖θ_k) <= δ",
            "the maximization is over the parameters θ; L(θ_k, θ) is the objective, not a set",
            ("TRPO-STEP", "TRPO-LINESEARCH"), None,
            revision="reclassified from typo: \"θ ∈ L(θ_k, θ)\" has no reading that could be evaluated (L is a number), and the next sentence names L(θ_k, θ) as the objective; a typesetting slip in the argmax, with nothing to compute"),
    Erratum("E10.2", ("S10.3",), "withdrawn", "D̄_KL(θ‖θ_k) = E_(s~π_θk)[D_KL(π_θ(·|s) ‖ π_θk(·|s))]",
            "either direction is usable (same value, gradient and Hessian at θ_k); this specification uses the source's, and says so (§10, §14.3)",
            "Schulman et al. (2015) constrain KL(π_θk ‖ π_θ); the two differ from third order on, so the accepted step can differ",
            ("TRPO-TAYLOR", "TRPO-FVP-IS-FISHER"), None,
            revision="withdrawn: the source states its direction explicitly, D̄_KL(θ‖θ_k) = E[D_KL(π_θ ‖ π_θk)], and this specification adopts it (§10); a choice stated in the text is not an ambiguity"),
    Erratum("E10.3", ("S10.4", "S10.5"), "withdrawn", "L ≈ gᵀ(θ − θ_k), D̄_KL ≈ ½(θ − θ_k)ᵀH(θ − θ_k), where H is 'the Hessian matrix'",
            "L(θ_k, θ) ≈ L(θ_k, θ_k) + gᵀ(θ − θ_k) with g = ∇_θ L at θ_k; H = ∇²_θ D̄_KL at θ_k (the Fisher matrix), not the Hessian of the objective",
            "the constraint's Hessian defines the trust region; the constant term does not change the argmax but matters to the acceptance test (E10.5)",
            ("TRPO-TAYLOR",), _demo_e103,
            revision="withdrawn: the source's surrogate uses the exact advantage A^(π_θk), whose mean under π_θk is 0 in every state, so L(θ_k, θ_k) = 0 and L ≈ gᵀ(θ − θ_k) is exact to first order; H is introduced in the expansion of D̄_KL, whose Hessian it is. The old demonstration separated the forms only by feeding advantages that were not centred"),
    Erratum("E10.4", ("S10.8",), "wrong", "θ_(k+1) = θ_k + α^j sqrt(2/Δ) gᵀH⁻¹g",
            "θ_(k+1) = θ_k + α^j sqrt(2δ / gᵀH⁻¹g) H⁻¹g",
            "the written step is a scalar (δ renamed Δ and moved); the step is the natural step of S10.6 shrunk by α^j",
            ("TRPO-STEP", "TRPO-LINESEARCH"), _demo_e104),
    Erratum("E10.5", ("S10.9",), "withdrawn", "j is the smallest integer such that π_θ(k+1) satisfies the KL constraint and produces a positive surrogate advantage",
            "... and improves the surrogate: L(θ_k, θ_(k+1)) > L(θ_k, θ_k) (strict); with the KL bound non-strict, D̄_KL <= δ",
            "L(θ_k, θ_k) = E[A] is 0 only for exact advantages; with estimated advantages a 'positive' surrogate can still be a decrease",
            ("TRPO-LINESEARCH",), _demo_e105,
            revision="withdrawn: with the source's exact advantages L(θ_k, θ_k) = 0, so a positive surrogate advantage is an improvement; the old demonstration shifted the advantages by +1 to separate them"),
    Erratum("E10.6", ("S10.6", "S10.10"), "incomplete", "θ_(k+1) = θ_k + sqrt(2δ / gᵀH⁻¹g) H⁻¹g; conjugate gradient solves Hx = g for x = H⁻¹g",
            "Δ = sqrt(2δ / gᵀH⁺g) H⁺g with H⁺ the pseudo-inverse, which CG started from x_0 = 0 reaches because g lies in the range of H; or H + λI (damping) in place of H",
            "the Fisher matrix of a softmax policy is always singular (a constant added to one state's logits leaves π unchanged), so H⁻¹ does not exist; the maximizer of gᵀΔ s.t. ½ΔᵀHΔ <= δ is unique only up to those directions",
            ("TRPO-STEP", "TRPO-FVP-IS-FISHER"), _demo_e106),
]:
    register_erratum(_e)
