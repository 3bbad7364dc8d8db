"""Hypothesis strategies for padded token batches (the RLHF loop's torch twins, SPEC.md §12.L).

A :class:`TwinBatch` holds every array a per-token RLHF function takes, for one padded batch
[N, L] whose ``mask`` marks the response tokens.  Masks come in three layouts: right padding
(prompt, response, padding: the loop's layout), left padding (padding, prompt, response) and
scattered (any non-empty subset per row).  Entries at padding positions are drawn like the
others, so a function that lets padding leak gets a different answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st
from numpy.typing import NDArray

__all__ = ["TwinBatch", "twin_batches", "response_masks"]

FloatArray = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class TwinBatch:
    """One padded batch of N rows and L positions over a vocabulary of V tokens.

    Attributes:
        mask: [N, L] bool, true on response tokens, at least one per row.
        logits: [N, L, V]; tokens: [N, L] ids in [0, V).
        logp, ref_logp: [N, L] token log-probs (≤ 0) under π and π_ref (independent draws).
        logp_old: [N, L]; logp − logp_old lies in [−3, 3].
        scores: [N]; rewards, values: [N, L]; advantages: [N, L] (zeros drawn often).
        r_chosen, r_rejected: [N] scores of a preference pair; margins up to 1e4.
        beta: ≥ 0 (0 drawn often); dpo_beta: > 0; epsilon: > 0; gamma, lam: in [0, 1].
    """

    mask: NDArray[np.bool_]
    logits: FloatArray
    tokens: NDArray[np.int64]
    logp: FloatArray
    ref_logp: FloatArray
    logp_old: FloatArray
    scores: FloatArray
    rewards: FloatArray
    values: FloatArray
    advantages: FloatArray
    r_chosen: FloatArray
    r_rejected: FloatArray
    beta: float
    dpo_beta: float
    epsilon: float
    gamma: float
    lam: float

    @property
    def shape(self) -> tuple[int, int]:
        n, length = self.mask.shape
        return int(n), int(length)

    def __repr__(self) -> str:
        with np.printoptions(precision=17, threshold=200):
            fields = ", ".join(f"{k}=np.{getattr(self, k)!r}" for k in ("mask", "logits", "tokens", "logp", "ref_logp",
                                                                      "logp_old", "scores", "rewards", "values", "advantages",
                                                                      "r_chosen", "r_rejected"))
        return (f"TwinBatch({fields}, beta={self.beta!r}, dpo_beta={self.dpo_beta!r}, epsilon={self.epsilon!r}, "
                f"gamma={self.gamma!r}, lam={self.lam!r})")


@st.composite
def response_masks(draw: st.DrawFn, n: int, length: int) -> NDArray[np.bool_]:
    """[n, length] masks with at least one true entry per row, in one of three layouts."""
    layout = draw(st.sampled_from(["right", "left", "scatter"]), label="layout")
    mask = np.zeros((n, length), dtype=np.bool_)
    for i in range(n):
        if layout == "scatter":
            bits = draw(st.lists(st.booleans(), min_size=length, max_size=length).filter(any))
            mask[i] = bits
            continue
        prompt = draw(st.integers(0, length - 1))
        resp = draw(st.integers(1, length - prompt))
        if layout == "right":
            mask[i, prompt : prompt + resp] = True
        else:
            mask[i, length - resp :] = True
    return mask


@st.composite
def twin_batches(draw: st.DrawFn, max_rows: int = 4, max_len: int = 7, max_vocab: int = 5) -> TwinBatch:
    """A padded batch with every per-token array the twins take (see :class:`TwinBatch`).

    Hypothesis draws the structure (N, L, V, the mask layout, β, ε, γ, λ, the scales); the
    array entries come from a numpy generator seeded by a drawn integer, which keeps a case
    cheap to draw (the entries number in the hundreds) and exactly reproducible from its repr.
    """
    n = draw(st.integers(1, max_rows), label="N")
    length = draw(st.integers(1, max_len), label="L")
    v = draw(st.integers(1, max_vocab), label="V")
    mask = draw(response_masks(n, length))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1), label="entries seed"))
    logit_scale = draw(st.sampled_from([1.0, 5.0, 20.0]), label="logit scale")
    logits = rng.uniform(-logit_scale, logit_scale, (n, length, v))
    tokens = rng.integers(0, v, (n, length))
    logp = rng.uniform(-30.0, 0.0, (n, length))
    ref_logp = rng.uniform(-30.0, 0.0, (n, length))
    logp_old = logp - rng.uniform(-3.0, 3.0, (n, length))
    adv = rng.uniform(-10.0, 10.0, (n, length))
    if draw(st.booleans(), label="some zero advantages"):
        adv = np.where(rng.random((n, length)) < 0.3, 0.0, adv)
    big = draw(st.sampled_from([10.0, 40.0, 1e4]), label="margin scale")
    return TwinBatch(
        mask=mask,
        logits=logits,
        tokens=tokens,
        logp=logp,
        ref_logp=ref_logp,
        logp_old=logp_old,
        scores=rng.uniform(-10.0, 10.0, n),
        rewards=rng.uniform(-10.0, 10.0, (n, length)),
        values=rng.uniform(-10.0, 10.0, (n, length)),
        advantages=adv,
        r_chosen=rng.uniform(-big, big, n),
        r_rejected=rng.uniform(-big, big, n),
        beta=draw(st.one_of(st.sampled_from([0.0, 0.1, 1.0]), st.floats(0.0, 5.0)), label="beta"),
        dpo_beta=draw(st.one_of(st.sampled_from([0.1, 1.0]), st.floats(0.01, 10.0)), label="dpo_beta"),
        epsilon=draw(st.sampled_from([0.1, 0.2, 0.3]), label="epsilon"),
        gamma=draw(st.one_of(st.sampled_from([0.0, 0.9, 1.0]), st.floats(0.0, 1.0)), label="gamma"),
        lam=draw(st.one_of(st.sampled_from([0.0, 0.95, 1.0]), st.floats(0.0, 1.0)), label="lam"),
    )
