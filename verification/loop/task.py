"""The synthetic task: prompts, an enumerable response space, a base distribution, a hidden reward.

Every quantity here is numpy float64 and exact; nothing is learned.  Sampling uses the
``numpy.random.Generator`` handed in, so the task is a deterministic function of the seed.

Token ids (the model's input vocabulary): 0 is padding, 1..n_prompt_tokens are prompt tokens,
and response token a (an *action*) has input id 1 + n_prompt_tokens + a.  Without an end of
sequence (``eos=False``) the actions are 0..V−1 and a response is a fixed-length sequence of L
actions: K = V^L responses.  With ``eos=True`` action V is EOS and a response is n ∈ 1..L actions:
n − 1 content tokens then EOS (n < L), or L − 1 content tokens then any action (n = L, the length
limit truncates); K = Σ_{n<L} V^{n−1} + V^{L−1}(V + 1).  ``responses[k]`` holds the actions of
response k (−1 after its end), ``lengths[k]`` its length n; responses are ordered by length,
then lexicographically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .config import LoopConfig

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

PAD = 0


def _log_softmax(z: FloatArray) -> FloatArray:
    m = z.max(axis=-1, keepdims=True)
    out: FloatArray = z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))
    return out


@dataclass(frozen=True, eq=False)
class Task:
    """A fixed synthetic RLHF task.

    Attributes:
        prompts: list of P prompt token-id sequences (ids in 1..n_prompt_tokens), lengths vary.
        responses: [K, L] every response, as action indices (−1 after the response's end).
        lengths: [K] the number of actions (tokens, EOS included) of each response, 1..L.
        base_logp: [P, K] log-probabilities of the base distribution (what SFT imitates).
        reward: [P, K] the hidden true reward r(x, y).
        vocab, length, n_prompt_tokens: V (content tokens), L (the longest response) and the
            number of prompt tokens.
        eos: whether action V ends a response.
    """

    prompts: tuple[tuple[int, ...], ...]
    responses: IntArray
    lengths: IntArray
    base_logp: FloatArray
    reward: FloatArray
    vocab: int
    length: int
    n_prompt_tokens: int
    eos: bool = False

    @property
    def n_actions(self) -> int:
        """Actions the policy head chooses among: V, plus EOS when ``eos``."""
        return self.vocab + int(self.eos)

    @property
    def eos_action(self) -> int:
        """The action index of EOS (V); −1 when the task has none."""
        return self.vocab if self.eos else -1

    @property
    def n_prompts(self) -> int:
        return len(self.prompts)

    @property
    def n_responses(self) -> int:
        return int(self.responses.shape[0])

    @property
    def max_prompt_len(self) -> int:
        return max(len(p) for p in self.prompts)

    @property
    def seq_len(self) -> int:
        """Columns of a padded batch: the longest prompt plus the response length."""
        return self.max_prompt_len + self.length

    @property
    def n_input_tokens(self) -> int:
        return 1 + self.n_prompt_tokens + self.n_actions

    def action_id(self, actions: IntArray) -> IntArray:
        """Input token ids of response actions."""
        out: IntArray = 1 + self.n_prompt_tokens + np.asarray(actions, dtype=np.int64)
        return out

    def batch(self, prompt_idx: IntArray, response_idx: IntArray) -> tuple[IntArray, IntArray, NDArray[np.bool_]]:
        """A right-padded batch [prompt, response, padding] of (prompt, response) index pairs.

        Returns:
            ids: [N, T] input token ids (T = ``seq_len``), padding 0 after the response.
            actions: [N, T] the action index at response positions, 0 elsewhere.
            mask: [N, T] true exactly on the response positions of each row (its length n).
        """
        p_idx = np.asarray(prompt_idx, dtype=np.int64)
        r_idx = np.asarray(response_idx, dtype=np.int64)
        n, t = p_idx.shape[0], self.seq_len
        ids = np.full((n, t), PAD, dtype=np.int64)
        actions = np.zeros((n, t), dtype=np.int64)
        mask = np.zeros((n, t), dtype=np.bool_)
        resp = self.responses[r_idx]
        inside = np.arange(self.length)[None, :] < self.lengths[r_idx][:, None]
        for p, prompt in enumerate(self.prompts):
            rows = np.flatnonzero(p_idx == p)
            if rows.size == 0:
                continue
            lp = len(prompt)
            ins = inside[rows]
            ids[rows, :lp] = np.asarray(prompt, dtype=np.int64)
            ids[rows, lp : lp + self.length] = np.where(ins, self.action_id(np.maximum(resp[rows], 0)), PAD)
            actions[rows, lp : lp + self.length] = np.where(ins, resp[rows], 0)
            mask[rows, lp : lp + self.length] = ins
        return ids, actions, mask

    def _codes(self, actions: IntArray) -> IntArray:
        a = np.asarray(actions, dtype=np.int64)
        base = self.n_actions + 1
        weights = base ** np.arange(self.length - 1, -1, -1, dtype=np.int64)
        out: IntArray = (np.maximum(a, -1) + 1) @ weights
        return out

    def response_index(self, actions: IntArray) -> IntArray:
        """Index k of each response given as [N, L] actions, −1 after its end (inverse of ``responses``)."""
        codes = self._codes(actions)
        table = self._codes(self.responses)
        order = np.argsort(table)
        pos = np.searchsorted(table[order], codes)
        pos = np.minimum(pos, table.shape[0] - 1)
        out: IntArray = order[pos]
        if not np.array_equal(table[out], codes):
            raise ValueError("actions: a row is not a response of this task")
        return out


def enumerate_task_responses(vocab: int, length: int, eos: bool) -> tuple[IntArray, IntArray]:
    """Every response as [K, L] actions (−1 after its end) and its length [K] (see the module doc)."""
    if not eos:
        grids = np.meshgrid(*[np.arange(vocab)] * length, indexing="ij")
        resp = np.stack([g.reshape(-1) for g in grids], axis=1).astype(np.int64)
        return resp, np.full(resp.shape[0], length, dtype=np.int64)
    rows: list[IntArray] = []
    lens: list[IntArray] = []
    for n in range(1, length + 1):
        last = vocab + 1 if n == length else 1  # below L the n-th action is EOS; at L anything
        grids = np.meshgrid(*([np.arange(vocab)] * (n - 1) + [np.arange(last)]), indexing="ij")
        block = np.full((grids[0].size, length), -1, dtype=np.int64)
        for t in range(n - 1):
            block[:, t] = grids[t].reshape(-1)
        block[:, n - 1] = grids[n - 1].reshape(-1) if n == length else vocab
        rows.append(block)
        lens.append(np.full(block.shape[0], n, dtype=np.int64))
    return np.concatenate(rows), np.concatenate(lens)


def count_responses(vocab: int, length: int, eos: bool) -> int:
    """K without building the responses (exact integer arithmetic; inputs already validated)."""
    if not eos:
        return int(vocab**length)
    return int(sum(vocab ** (n - 1) for n in range(1, length)) + vocab ** (length - 1) * (vocab + 1))


def make_task(cfg: LoopConfig, rng: np.random.Generator) -> Task:
    """Draw the prompts, the base distribution and the hidden reward (SPEC.md §12.L, the task).

    The base distribution is a prompt-dependent first-order Markov chain over the actions
    (logits ~ N(0, base_logit_scale²), EOS's shifted by ``base_eos_logit``): skewed, far from
    uniform, and learnable by a small model.  The true reward is additive over positions plus a
    pairwise term on adjacent tokens plus ``reward_length_scale`` times the length n (so that a
    length bias has something to act on), standardized under the base distribution and scaled
    to ``reward_scale``.
    """
    v, length = cfg.vocab, cfg.length
    na = v + int(cfg.eos)
    prompts: list[tuple[int, ...]] = []
    while len(prompts) < cfg.n_prompts:
        n = cfg.prompt_lengths[len(prompts)]
        cand = tuple(int(x) for x in 1 + rng.integers(0, cfg.n_prompt_tokens, size=n))
        if cand not in prompts:
            prompts.append(cand)
    responses, lengths = enumerate_task_responses(v, length, cfg.eos)
    k = responses.shape[0]
    a = np.maximum(responses, 0)
    inside = np.arange(length)[None, :] < lengths[:, None]
    pair_inside = inside[:, 1:]
    shift = np.zeros(na)
    if cfg.eos:
        shift[v] = cfg.base_eos_logit
    base_logp = np.zeros((cfg.n_prompts, k))
    reward = np.zeros((cfg.n_prompts, k))
    for p in range(cfg.n_prompts):
        first = _log_softmax(cfg.base_logit_scale * rng.standard_normal(na) + shift)
        trans = _log_softmax(cfg.base_logit_scale * rng.standard_normal((na, na)) + shift)
        lp = first[a[:, 0]]
        for t in range(1, length):
            lp = lp + np.where(inside[:, t], trans[a[:, t - 1], a[:, t]], 0.0)
        base_logp[p] = lp
        w = rng.standard_normal((length, na))
        u = rng.standard_normal((na, na))
        r = np.where(inside, w[np.arange(length)[None, :], a], 0.0).sum(axis=1)
        r = r + cfg.reward_pair_scale * np.where(pair_inside, u[a[:, :-1], a[:, 1:]], 0.0).sum(axis=1)
        if cfg.eos:
            r = r + cfg.reward_length_scale * lengths
        prob = np.exp(lp)
        mean = float(prob @ r)
        std = float(np.sqrt(prob @ (r - mean) ** 2))
        reward[p] = cfg.reward_scale * (r - mean) / std
    return Task(tuple(prompts), responses, lengths, base_logp, reward, v, length, cfg.n_prompt_tokens, cfg.eos)


def sample_responses(logp: FloatArray, n: int, rng: np.random.Generator) -> IntArray:
    """n response indices per prompt drawn from exp(logp[p]) (exact categorical), [P, n]."""
    out = np.zeros((logp.shape[0], n), dtype=np.int64)
    for p in range(logp.shape[0]):
        prob = np.exp(logp[p] - logp[p].max())
        out[p] = rng.choice(logp.shape[1], size=n, p=prob / prob.sum())
    return out


@dataclass(frozen=True, eq=False)
class Preferences:
    """Preference pairs: prompt, chosen and rejected response indices, [N] each."""

    prompt: IntArray
    chosen: IntArray
    rejected: IntArray

    @property
    def n(self) -> int:
        return int(self.prompt.shape[0])


def sample_preferences(task: Task, ref_logp: FloatArray, n_per_prompt: int, rng: np.random.Generator) -> Preferences:
    """Pairs y1 ≠ y2 drawn i.i.d. from π_ref, labelled by Bradley–Terry sampling from the true reward.

    y1 is preferred with probability σ(r(x, y1) − r(x, y2)) (X-BT).  Pairs with y1 = y2 carry
    no preference and are redrawn, so the pair distribution is π_ref ⊗ π_ref conditioned on y1 ≠ y2.
    """
    prompts, chosen, rejected = [], [], []
    for p in range(task.n_prompts):
        y1 = np.zeros(0, dtype=np.int64)
        y2 = np.zeros(0, dtype=np.int64)
        while y1.size < n_per_prompt:
            a = sample_responses(ref_logp[p : p + 1], 2 * n_per_prompt, rng)[0]
            b = sample_responses(ref_logp[p : p + 1], 2 * n_per_prompt, rng)[0]
            keep = a != b
            y1 = np.concatenate([y1, a[keep]])
            y2 = np.concatenate([y2, b[keep]])
        y1, y2 = y1[:n_per_prompt], y2[:n_per_prompt]
        margin = task.reward[p, y1] - task.reward[p, y2]
        first_wins = rng.random(n_per_prompt) < 1.0 / (1.0 + np.exp(-margin))
        chosen.append(np.where(first_wins, y1, y2))
        rejected.append(np.where(first_wins, y2, y1))
        prompts.append(np.full(n_per_prompt, p, dtype=np.int64))
    return Preferences(np.concatenate(prompts), np.concatenate(chosen), np.concatenate(rejected))
