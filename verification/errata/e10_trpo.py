"""Errata of source section 10 (TRPO), demonstrated on the pinned tabular problem of §10."""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import minimize
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


def _demo_e101() -> Demo:
    th_k, shape = C.logits_old, C.logits_old.shape
    res = minimize(
        lambda t: -_surr(t.reshape(shape)),
        th_k.reshape(-1) + 0.5 * _natural().reshape(-1),
        method="SLSQP",
        constraints=[{"type": "ineq", "fun": lambda t: C.max_kl - _kl(t.reshape(shape))}],
        options={"ftol": 1e-14, "maxiter": 500},
    )
    opt = res.x.reshape(shape)
    step, j = reference.trpo_step(th_k, C.advantages, C.state_dist, C.max_kl)
    base = _surr(th_k)
    return Demo(
        case=CASE_TEXT,
        source_form="θ_(k+1) = argmax_(θ ∈ L(θ_k,θ)) surrogate advantage s.t. D̄_KL <= δ: θ ranges over a number, not a set",
        correct_form=(
            f"θ_(k+1) = argmax_θ L(θ_k, θ) s.t. D̄_KL(θ‖θ_k) <= δ: scipy SLSQP finds L − L(θ_k) = {_surr(opt) - base:.6f} with "
            f"D̄_KL = {_kl(opt):.6f} (the constraint is active); the TRPO step (j = {j}) reaches {_surr(step) - base:.6f} at D̄_KL = {_kl(step):.6f}"
        ),
        separation="the argmax is over the parameters θ, the surrogate L(θ_k, θ) is its objective; the TRPO step approximates this constrained optimum",
        ok=bool(res.success) and abs(_kl(opt) - C.max_kl) < 1e-6 and _surr(opt) >= _surr(step) - 1e-9 and _surr(step) > base,
    )


def _demo_e102() -> Demo:
    step, j = reference.trpo_step(C.logits_old, C.advantages, C.state_dist, C.max_kl)
    fwd = _kl(step)
    rev = reference.mean_kl(C.logits_old, step, C.state_dist)
    _, h_fwd, h_rev = autograd_taylor(C)
    return Demo(
        case=CASE_TEXT + f"; θ = the TRPO step (j = {j})",
        source_form=f"D̄_KL(θ‖θ_k) = E[KL(π_θ ‖ π_θk)] = {fwd:.6f} (the source; sb3-contrib)",
        correct_form=f"D̄_KL(θ_k‖θ) = E[KL(π_θk ‖ π_θ)] = {rev:.6f} (Schulman et al. 2015; tianshou); both have value 0, gradient 0 and Hessian F at θ_k (max |ΔH| = {np.max(np.abs(h_fwd - h_rev)):.1e})",
        separation=f"the directions agree to second order but differ at the step by {abs(fwd - rev):.2e}: the line search may accept a different j; state the direction",
        ok=float(np.max(np.abs(h_fwd - h_rev))) < 1e-12 and abs(fwd - rev) > 1e-7,
    )


def _demo_e103() -> Demo:
    with single_thread():
        d, adv = torch.as_tensor(C.state_dist), torch.as_tensor(C.advantages)
        h_l = _hessian(
            lambda t: (d * (torch.softmax(t, dim=1) * adv).sum(dim=1)).sum(), torch.as_tensor(C.logits_old)
        ).reshape(6, 6).numpy()
    f = local_fisher(C)
    eig = np.linalg.eigvalsh(h_l)
    base = _surr(C.logits_old)
    return Demo(
        case=CASE_TEXT,
        source_form="L ≈ gᵀ(θ − θ_k), D̄_KL ≈ ½(θ − θ_k)ᵀH(θ − θ_k) 'where H is the Hessian matrix'",
        correct_form=(
            f"H = ∇²_θ D̄_KL(θ‖θ_k) at θ_k = the Fisher matrix (PSD); the surrogate's own Hessian has eigenvalues {_v(eig)} "
            f"(indefinite) and is not used; the constant L(θ_k, θ_k) = E[A] = {base:.4f} is dropped (0 only for exact advantages)"
        ),
        separation=f"max |∇²L − F| = {np.max(np.abs(h_l - f)):.4f}",
        ok=float(np.max(np.abs(h_l - f))) > 1e-3 and eig.min() < -1e-6 < 1e-6 < eig.max() and abs(base) > 1e-3,
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
        ok=gain < 1e-12 and _kl(src) < 1e-12 and j is not None and _kl(new) <= C.max_kl and _surr(new) - _surr(th_k) > 1e-3,
    )


def _demo_e105() -> Demo:
    c = TrustRegionCase(C.logits_old, C.advantages + 1.0, C.state_dist, C.max_kl)
    th_k = c.logits_old
    bad = -0.3 * _natural(c)  # a step against the natural direction: lowers the surrogate
    base = _surr(th_k, c)
    source_rule = [j for j in range(10) if _kl(th_k + 0.8**j * bad, c) <= c.max_kl and _surr(th_k + 0.8**j * bad, c) > 0]
    _, j = reference.backtracking_line_search(lambda t: _surr(t, c), lambda t: _kl(t, c), th_k, bad, c.max_kl)
    return Demo(
        case=CASE_TEXT + ", advantages shifted by +1 (not centred, as estimated advantages often are), a step −0.3Δ",
        source_form=f"accept when the surrogate advantage is positive: L(θ_k, θ_k + Δ') = {_surr(th_k + bad, c):.4f} > 0, accepted at j = {source_rule[0] if source_rule else None}",
        correct_form=f"accept when the surrogate improves, L(θ_k, θ) > L(θ_k, θ_k) = {base:.4f}: rejected for every j (j = {j})",
        separation=f"the step lowers the surrogate by {base - _surr(th_k + bad, c):.4f}; 'positive' equals 'improved' only when L(θ_k, θ_k) = E[A] = 0",
        ok=bool(source_rule) and source_rule[0] == 0 and j is None,
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
    Erratum("E10.1", ("S10.1",), "typo", "θ_(k+1) = argmax_(θ ∈ L(θ_k,θ)) surrogate advantage s.t. D̄_KL(θ‖θ_k) <= δ",
            "θ_(k+1) = argmax_θ L(θ_k, θ) s.t. D̄_KL(θ‖θ_k) <= δ",
            "the maximization is over the parameters θ; L(θ_k, θ) is the objective, not a set",
            ("TRPO-STEP", "TRPO-LINESEARCH"), _demo_e101),
    Erratum("E10.2", ("S10.3",), "ambiguous", "D̄_KL(θ‖θ_k) = E_(s~π_θk)[D_KL(π_θ(·|s) ‖ π_θk(·|s))]",
            "either direction is usable (same value, gradient and Hessian at θ_k); this specification uses the source's, and says so (§10, §14.3)",
            "Schulman et al. (2015) constrain KL(π_θk ‖ π_θ); the two differ from third order on, so the accepted step can differ",
            ("TRPO-TAYLOR", "TRPO-FVP-IS-FISHER"), _demo_e102),
    Erratum("E10.3", ("S10.4", "S10.5"), "ambiguous", "L ≈ gᵀ(θ − θ_k), D̄_KL ≈ ½(θ − θ_k)ᵀH(θ − θ_k), where H is 'the Hessian matrix'",
            "L(θ_k, θ) ≈ L(θ_k, θ_k) + gᵀ(θ − θ_k) with g = ∇_θ L at θ_k; H = ∇²_θ D̄_KL at θ_k (the Fisher matrix), not the Hessian of the objective",
            "the constraint's Hessian defines the trust region; the constant term does not change the argmax but matters to the acceptance test (E10.5)",
            ("TRPO-TAYLOR",), _demo_e103),
    Erratum("E10.4", ("S10.8",), "wrong", "θ_(k+1) = θ_k + α^j sqrt(2/Δ) gᵀH⁻¹g",
            "θ_(k+1) = θ_k + α^j sqrt(2δ / gᵀH⁻¹g) H⁻¹g",
            "the written step is a scalar (δ renamed Δ and moved); the step is the natural step of S10.6 shrunk by α^j",
            ("TRPO-STEP", "TRPO-LINESEARCH"), _demo_e104),
    Erratum("E10.5", ("S10.9",), "ambiguous", "j is the smallest integer such that π_θ(k+1) satisfies the KL constraint and produces a positive surrogate advantage",
            "... and improves the surrogate: L(θ_k, θ_(k+1)) > L(θ_k, θ_k) (strict); with the KL bound non-strict, D̄_KL <= δ",
            "L(θ_k, θ_k) = E[A] is 0 only for exact advantages; with estimated advantages a 'positive' surrogate can still be a decrease",
            ("TRPO-LINESEARCH",), _demo_e105),
    Erratum("E10.6", ("S10.6", "S10.10"), "incomplete", "θ_(k+1) = θ_k + sqrt(2δ / gᵀH⁻¹g) H⁻¹g; conjugate gradient solves Hx = g for x = H⁻¹g",
            "Δ = sqrt(2δ / gᵀH⁺g) H⁺g with H⁺ the pseudo-inverse, which CG started from x_0 = 0 reaches because g lies in the range of H; or H + λI (damping) in place of H",
            "the Fisher matrix of a softmax policy is always singular (a constant added to one state's logits leaves π unchanged), so H⁻¹ does not exist; the maximizer of gᵀΔ s.t. ½ΔᵀHΔ <= δ is unique only up to those directions",
            ("TRPO-STEP", "TRPO-FVP-IS-FISHER"), _demo_e106),
]:
    register_erratum(_e)
