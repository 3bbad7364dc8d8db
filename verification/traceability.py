"""The source's items, numbered in reading order, and the extensions this specification adds.

S<k>.<n> is the n-th displayed equation or stated claim of source section k (the sections are
those of ``shared/source/README.md``).  SPEC.md's traceability table has one row per item;
every claim cites at least one item or extension (tests/test_spec_consistency.py).
"""

from __future__ import annotations

#: id -> short description of what the source displays or states there.
SOURCE_ITEMS: dict[str, str] = {
    # 1. MDP, trajectories, objective
    "S1.1": "MDP components: states, actions, dynamics P(s'|s,a), reward R(τ), start state s_0, discount γ, horizon T",
    "S1.2": "trajectory τ = {s_0, a_0, r_0, s_1, a_1, r_1, ...}",
    "S1.3": "Markov property P(s_{t+1}|s_0,a_0,...,s_t,a_t) = P(s_{t+1}|s_t,a_t)",
    "S1.4": "P(τ) = Π_t P(s_{t+1}|s_t,a_t)",
    "S1.5": "objective max_θ E[Σ_t r(s_t,a_t) | π_θ]",
    # 2. likelihood-ratio policy gradient, temporal decomposition
    "S2.1": "R(τ) = Σ_t r(s_t,a_t)",
    "S2.2": "J(θ) = E[r(s_t,a_t); π_θ] = Σ_τ P(τ;θ) R(τ)",
    "S2.3": "max_θ J(θ) = max_θ Σ_τ P(τ;θ) R(τ)",
    "S2.4": "∇J = Σ_τ ∇P R = Σ_τ P (∇P/P) R = Σ_τ P ∇log P R (likelihood-ratio derivation)",
    "S2.5": "ĝ = (1/m) Σ_i ∇log P(τ^i;θ) R(τ^i)",
    "S2.6": "claim: the reward need not be differentiable (e.g. a 0/1 goal reward)",
    "S2.7": "∇log P(τ;θ) = ∇ Σ_t log P(s_{t+1}|s_t,a_t) + ∇ Σ_t log π_θ(a_t|s_t) = Σ_t ∇log π_θ(a_t|s_t)",
    "S2.8": "REINFORCE ĝ = (1/m) Σ_i Σ_t ∇log π_θ(a_t^i|s_t^i) R(τ^i)",
    "S2.9": "claim: E[ĝ] = ∇J (unbiased), but noisy",
    # 3. variance reduction: rewards-to-go, baselines
    "S3.1": "R(τ) = Σ_t r(s_t,a_t) (restated)",
    "S3.2": "ĝ = (1/m) Σ_i Σ_t ∇log π(a_t^i|s_t^i) Σ_t r(s_t,a_t)",
    "S3.3": "claim: more sampled trajectories lower the estimator's variance",
    "S3.4": "rewards-to-go: ∇J = E[Σ_t ∇log π Σ_{t'=0}^{T-1} r] ≈ (1/m) Σ_i Σ_t ∇log π Σ_{t'=t}^{T-1} r",
    "S3.5": "proof: R(τ) = Σ_{t'<t} r + Σ_{t'>=t} r",
    "S3.6": "∇J = E[Σ_t ∇log π Σ_{t'<t} r] + E[Σ_t ∇log π Σ_{t'>=t} r]",
    "S3.7": "E[Σ_t ∇log π Σ_{t'<t} r] = Σ_t E[∇log π] · E[Σ_{t'=0}^{T-1} r] (independence argument)",
    "S3.8": "E[∇log π(a_t|s_t)] = ∫ π ∇log π = ∫ ∇π = ∇1 = 0",
    "S3.9": "the past-reward term is 0 · E[Σ r] = 0",
    "S3.10": "∇J = E[Σ_t ∇log π Σ_{t'>=t} r] (final rewards-to-go form)",
    "S3.11": "claim: rewards-to-go do not change the bias but reduce the variance",
    "S3.12": "baseline: ĝ = (1/m) Σ_i ∇log P(τ^i;θ) (R(τ^i) − b)",
    "S3.13": "claim: subtracting a baseline reduces the variance of the estimate",
    "S3.14": "proof: E[∇log P(τ;θ)(R(τ) − b)] = ... = ∇(E[R] − E[R]) = ∇(0)",
    "S3.15": "ĝ ≈ (1/m) Σ_i Σ_t ∇log π (Σ_{t'>=t} r − b)",
    "S3.16": "ĝ = (1/m) Σ_i Σ_t ∇log π (Σ_{k<t} r + Σ_{k>=t} r − b(s_t))",
    # 4. choices of baseline
    "S4.1": "constant baseline b = E[R(τ)] ≈ (1/m) Σ_i R(τ^i)",
    "S4.2": "minimum-variance baseline b = Σ_i (∇log P(τ^i))² R(τ^i) / Σ_i (∇log P(τ^i))²",
    "S4.3": "time-dependent baseline b_t = (1/m) Σ_i Σ_{k>=t} r(s_k^i, a_k^i)",
    "S4.4": "state-dependent baseline b(s_t) = E[r_t + ... + r_{T-1}] = V^π(s_t)",
    # 5. value-function estimation
    "S5.1": "ĝ = (1/m) Σ_i Σ_t ∇log π(a_t|s_t) (Σ_{k>=t} r(s_k,a_k) − V^π(s_k))",
    "S5.2": "regression φ ← argmin_φ (1/m) Σ_i Σ_t (V_φ(s_t^i) − Σ_{k>=t} r(s_k^i,a_k^i))²",
    # 6. Q, V, advantage, GAE
    "S6.1": "Q^π(s,a) = E[Σ_{l>=0} r_l | s_0 = s, a_0 = a]",
    "S6.2": "A^π(s_t,a_t) = Q^π(s_t,a_t) − V^π(s_t), with V(s) = E[Q(s,a)]",
    "S6.3": "ĝ = (1/m) Σ_i Σ_t ∇log π(a_t|s_t) A^π(s_t,a_t); claim: A > 0 pushes the action up, A < 0 down",
    "S6.4": "discounted Q^π(s,a) = E[Σ_l γ^l r_{t+l} | s_0=s, a_0=a], V^π(s) = E[Σ_l γ^l r_{t+l} | s_0=s]",
    "S6.5": "k-step estimates Â ≈ r_t + γV(s_{t+1}) − V(s_t); ... + γ²V(s_{t+2}); ... + γ²r_{t+2} + γV(s_{t+3})",
    "S6.6": "TD error δ_t^V = r(s_t,a_t) + γV(s_{t+1}) − V(s_t)",
    "S6.7": "Â^(1) = δ_t, Â^(2) = δ_t + γδ_{t+1}, Â^(3) = δ_t + γδ_{t+1} + γ²δ_{t+2}",
    "S6.8": "Â_t^(k) := Σ_{l=0}^{k-1} γ^l δ_{t+1}",
    "S6.9": "Â^GAE := (1−λ)(Â^(1) + λÂ^(2) + λ²Â^(3) + ...) = Σ_{l>=0} (γλ)^l δ_{t+1}",
    "S6.10": "claim: λ = 0 is TD(0) (high bias); λ = 1 is the policy gradient with a baseline (high variance)",
    # 7. vanilla policy gradient, actor-critic, A2C
    "S7.1": "vanilla policy gradient: pseudocode (figure, not reproduced)",
    "S7.2": "actor step Δθ = α ∇_θ(log π_θ(s_t,a_t) Q_w(s_t,a_t))",
    "S7.3": "critic step Δw = β(r(s_t,a_t) + γQ_w(s_{t+1},a_{t+1}) − Q_w(s_t,a_t))",
    "S7.4": "A_w(s,a) = Q(s,a) − V(s)",
    "S7.5": "Â_w(s,a) = Q_w − V_w ≈ r(s_t,a_t) + γV_w(s_{t+1}) − V_w(s_t)",
    "S7.6": "∇J ≈ (1/m) Σ_i Σ_t ∇log π(a_t|s_t) A_w(s_t,a_t)",
    "S7.7": "∇J ≈ (1/m) Σ_i Σ_t ∇log π(a_t|s_t) (r(s_t,a_t) + γV_w(s_{t+1}) − V_w(s_t))",
    "S7.8": "θ ← θ + α ∇J(θ)",
    "S7.9": "critic loss L_VF = (1/m) Σ_i ½ ||V_θ − (Σ_{t=0}^{T-1} γ^t r_t | s_0 = s)||²",
    "S7.10": "critic step w ← w − β ∇_w L_VF",
    # 8. importance sampling
    "S8.1": "E_{x~p}[f(x)] = ∫ p f = ∫ q (p/q) f = E_{x~q}[(p(x)/q(x)) f(x)], q(x) ≠ 0",
    "S8.2": "∇J(θ, θ') ≈ (1/N) Σ_{i=1}^m Σ_t ∇{log π_θ(a|s) / log π_θ'(a|s)} A^π(s,a)",
    "S8.3": "with θ' = θ_old: ∇J(θ, θ_old) ≈ (1/N) Σ_i Σ_t ∇{log π_θ / log π_θold} A^π(s,a)",
    # 9. PPO
    "S9.1": "PPO-Penalty: a KL penalty whose coefficient adapts during training",
    "S9.2": "PPO-Clip: no KL term; clipping removes the incentive to move far from the old policy",
    "S9.3": "θ_{k+1} = argmax_θ E_{s,a~π_θk}[L(s,a,θ_k,θ)]",
    "S9.4": "L(s,a,θ_k,θ) = min(ρ Â, clip(ρ, 1−ε, 1+ε) Â), ρ = π_θ(a|s)/π_θk(a|s) (garbled in the source)",
    "S9.5": "A >= 0: L = min(ρ, 1+ε) Â",
    "S9.6": "claim: for A > 0 the objective hits a ceiling (1+ε)A once π_θ > (1+ε)π_θk",
    "S9.7": "A < 0: L = max(ρ, 1−ε) Â",
    "S9.8": "claim: for A < 0 the objective hits a ceiling (1−ε)A once π_θ < (1−ε)π_θk",
    "S9.9": "note: Spinning Up's T+1 time steps vs this text's T",
    "S9.10": "PPO actor-critic objective L_policy + c1 L_VF + c2 L_entropy (garbled in the source)",
    # 10. TRPO
    "S10.1": "θ_{k+1} = argmax_{θ ∈ L(θ_k,θ)} surrogate advantage s.t. D̄_KL(θ‖θ_k) <= δ",
    "S10.2": "surrogate L(θ_k,θ) = E_{s,a~π_θk}[π_θ(a|s)/π_θk(a|s) A^{π_θk}(s,a)]",
    "S10.3": "mean KL D̄_KL(θ‖θ_k) = E_{s~π_θk}[D_KL(π_θ(·|s) ‖ π_θk(·|s))]",
    "S10.4": "Taylor: L ≈ gᵀ(θ−θ_k), D̄_KL ≈ ½(θ−θ_k)ᵀH(θ−θ_k)",
    "S10.5": "approximate problem: argmax_θ gᵀ(θ−θ_k) s.t. ½(θ−θ_k)ᵀH(θ−θ_k) <= δ",
    "S10.6": "solution θ_{k+1} = θ_k + sqrt(2δ / gᵀH⁻¹g) H⁻¹g",
    "S10.7": "claim: this step alone is the natural policy gradient",
    "S10.8": "line search θ_{k+1} = θ_k + α^j sqrt(2/Δ) gᵀH⁻¹g",
    "S10.9": "j = the smallest non-negative integer whose step satisfies the KL constraint and improves the surrogate",
    "S10.10": "conjugate gradient solves Hx = g for x = H⁻¹g using only products Hx",
    "S10.11": "Hx = ∇_θ((∇_θ D̄_KL(θ‖θ_k))ᵀ x)",
    "S10.12": "claim: TRPO is not empirically better than PPO (prose)",
    # 11. generic template
    "S11.1": "Ĵ(θ) = (1/m) Σ_i Σ_t ∇log π_θ(a_t^i|s_t^i) Ψ_t^i",
    "S11.2": "REINFORCE: Ψ_t = Σ_{t'=0}^{T-1} r(s_t', a_t')",
    "S11.3": "reward-to-go: Ψ_t = Σ_{t'=t}^{T-1} r(s_t', a_t')",
    "S11.4": "baseline-corrected rewards-to-go: Ψ_t = Σ_{t'=0}^{T-1} r(s_t', a_t') − V_w(s_t)",
    "S11.5": "critic objective J(w) = ½ E||Ψ_t||²",
    "S11.6": "TD policy gradient: Ψ_t = r(s_t,a_t) + V_w(s_{t+1}) − V_w(s_t)",
    "S11.7": "critic objective J(w) = ½ E||r(s_t,a_t) + V_w(s_{t+1}) − V_w(s_t)||²",
    "S11.8": "actor-critic: Ψ_t = r(s_t,a_t) + max_{a_{t+1}} V_w(s_{t+1},a_{t+1}) − Σ_a π_θ(a|s) Q(s,a)",
    # 12. RLHF
    "S12.1": "token-level MDP for fine-tuning an LM with PPO: agent = the LM, state = the prompt (input tokens), action = the next token, reward: good responses rewarded, bad ones not, policy = the LM, a_t ~ π(·|s_t)",
    "S12.2": "s_t = s_{t-1} concatenated with a_{t-1}; the Markov property holds",
    "S12.3": "P(τ) = Π_t P(s_{t+1}|s_t,a_t) (restated for text generation)",
    "S12.4": "reward model: large rewards for good responses, small or none for bad; a separate LM with a one-output linear layer after the last hidden state of prompt+answer",
    "S12.5": "loss = −log σ(r(x,y_w) − r(x,y_l))",
    "S12.6": "claim: r_w > r_l gives σ in (0.5,1) and a small loss; r_w < r_l gives σ in (0,0.5) and a larger loss",
    "S12.7": "value head: a linear layer on the policy LM estimates V^π(s_t)",
    "S12.8": "value regression φ ← argmin (1/m) Σ_i Σ_t (V_φ(s_t) − Σ_{k>=t} r_k)² (restated)",
    "S12.9": "conclusion and limitations: RL is hard to train (pointer to DPO, which needs no sampling during fine-tuning), human preference data is costly (RLAIF), evaluators can be unreliable or malicious, a narrow evaluator pool biases the model",
}

#: Extensions: what the specification adds beyond the source, with the primary reference.
EXTENSIONS: dict[str, str] = {
    "X-DISCOUNT": "discounted objective J = E[Σ γ^t r_t] throughout §1-§5, with γ = 1 recovering the source (Sutton and Barto 2018, §3.3)",
    "X-FAST-FORMS": "fast forms (linear filter, vectorized scan) beside each literal recursion, shown equal",
    "X-TERMINATION": "termination vs time-limit truncation in rollouts with several episodes (Pardo et al. 2018, 'Time Limits in Reinforcement Learning')",
    "X-GAE-FINITE": "GAE and λ-returns on finite rollouts: the (1−λ) mix with the finite-horizon tail (Schulman et al. 2016)",
    "X-PPO-ADAPTIVE-KL": "PPO-Penalty's adaptive coefficient rule (Schulman et al. 2017, §4)",
    "X-PPO-ENTROPY": "the combined PPO loss −L_clip + c1 L_VF − c2 H[π] with categorical entropy (Schulman et al. 2017, eq. 9)",
    "X-TRPO-CG": "conjugate gradient (Hestenes and Stiefel 1952) and damping as used in TRPO (Schulman et al. 2015, App. C)",
    "X-KL-SHAPED-REWARD": "per-token KL-shaped rewards −β log(π/π_ref) plus the score at the end (Ziegler et al. 2019; Ouyang et al. 2022)",
    "X-KL-OPTIMUM": "closed-form optimum π* ∝ π_ref exp(r/β) of the KL-regularized objective, value β log Z (Ziegler et al. 2019; Rafailov et al. 2023, App. A.1)",
    "X-DPO": "direct preference optimization and its implicit reward β log π/π_ref (Rafailov et al. 2023)",
    "X-BT": "the Bradley-Terry preference model P(y_w > y_l) = σ(r_w − r_l) (Bradley and Terry 1952; Christiano et al. 2017)",
    "X-CONFORMANCE": "conformance targets: canonical signatures for diffing third-party implementations",
}
