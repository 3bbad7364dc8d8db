"""A tiny causal transformer with a policy head, a value head and a reward head (torch).

One class serves every role of the loop: π_ref and the PPO/DPO policies read ``policy_logits``
(and PPO's value head ``values``, a linear layer on the policy's hidden states, S12.7); the reward
model reads ``reward``, a scalar linear head on the hidden state of the last response token (S12.4).
Batches are right-padded (``Task.batch``): causal attention means a response token never
attends to the padding after it, so padding cannot change any output at a response position.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

import reference

from ..registry import Impl
from .task import FloatArray, IntArray, Task

#: Rows per forward pass when every response is enumerated.
EVAL_CHUNK = 8192


class _Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.ln1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x: Tensor) -> Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.n_heads, d // self.n_heads).permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(a)
        out: Tensor = x + self.mlp(self.ln2(x))
        return out


class TinyCausalLM(nn.Module):
    """Token + position embeddings, pre-LayerNorm causal blocks, three linear heads.

    Args:
        n_input_tokens: input vocabulary (padding, prompt tokens, response tokens).
        n_actions: V, the response tokens the policy head chooses among.
        d_model, n_layers, n_heads: width, depth, attention heads.
        max_len: longest sequence (positions).
    """

    def __init__(self, n_input_tokens: int, n_actions: int, d_model: int, n_layers: int, n_heads: int, max_len: int) -> None:
        super().__init__()
        self.tok = nn.Embedding(n_input_tokens, d_model)
        self.pos = nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList([_Block(d_model, n_heads) for _ in range(n_layers)])
        self.ln_f = nn.LayerNorm(d_model)
        self.policy_head = nn.Linear(d_model, n_actions)
        self.value_head = nn.Linear(d_model, 1)
        self.reward_head = nn.Linear(d_model, 1)
        nn.init.normal_(self.tok.weight, std=0.1)
        nn.init.normal_(self.pos.weight, std=0.1)
        nn.init.zeros_(self.value_head.weight)
        nn.init.zeros_(self.value_head.bias)
        nn.init.zeros_(self.reward_head.weight)
        nn.init.zeros_(self.reward_head.bias)

    def hidden(self, ids: Tensor) -> Tensor:
        """[N, T] token ids -> [N, T, d] final hidden states (position t sees tokens 0..t)."""
        pos = torch.arange(ids.shape[1], device=ids.device)
        x = self.tok(ids) + self.pos(pos)[None]
        for blk in self.blocks:
            x = blk(x)
        out: Tensor = self.ln_f(x)
        return out

    @staticmethod
    def _align(x: Tensor) -> Tensor:
        # output at position t−1 belongs to the token at t; position 0 is always a prompt token
        return torch.cat([x[:, :1], x[:, :-1]], dim=1)

    def policy_logits(self, ids: Tensor, h: Tensor | None = None) -> Tensor:
        """[N, T, V]: entry t is the distribution the policy uses to choose the token at t."""
        h = self.hidden(ids) if h is None else h
        return self._align(self.policy_head(h))

    def values(self, ids: Tensor, h: Tensor | None = None) -> Tensor:
        """[N, T]: entry t is V(s) of the state in which the token at t is chosen."""
        h = self.hidden(ids) if h is None else h
        return self._align(self.value_head(h).squeeze(-1))

    def reward(self, ids: Tensor, mask: Tensor, impl: Impl) -> Tensor:
        """[N]: the scalar head on the hidden state of each row's last response token."""
        last = impl.last_token_torch(self.hidden(ids), mask)
        out: Tensor = self.reward_head(last).squeeze(-1)
        return out


def build_model(task: Task, d_model: int, n_layers: int, n_heads: int) -> TinyCausalLM:
    return TinyCausalLM(task.n_input_tokens, task.n_actions, d_model, n_layers, n_heads, task.seq_len)


def to_device(task: Task, prompt_idx: IntArray, response_idx: IntArray, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """``Task.batch`` as tensors on ``device``: ids, actions, mask."""
    ids, actions, mask = task.batch(prompt_idx, response_idx)
    return (torch.from_numpy(ids).to(device), torch.from_numpy(actions).to(device), torch.from_numpy(mask).to(device))


@torch.no_grad()
def exact_logp(model: TinyCausalLM, task: Task, device: torch.device) -> FloatArray:
    """log π(y|x) of every response of every prompt, [P, K], float64, by enumeration.

    The float32 logits are converted to float64 before the log-softmax, so each token
    distribution, and hence the distribution over the K responses, sums to one in float64.
    The judge always uses the reference functions here, never a swapped-in implementation.
    """
    was_training = model.training
    model.eval()
    k = task.n_responses
    p_idx = np.repeat(np.arange(task.n_prompts), k)
    r_idx = np.tile(np.arange(k), task.n_prompts)
    out = np.zeros(p_idx.shape[0])
    for s in range(0, p_idx.shape[0], EVAL_CHUNK):
        ids, actions, mask = to_device(task, p_idx[s : s + EVAL_CHUNK], r_idx[s : s + EVAL_CHUNK], device)
        logits = model.policy_logits(ids).double()
        tok = reference.token_logprobs_torch(logits, actions)
        out[s : s + EVAL_CHUNK] = reference.sequence_logprob_torch(tok, mask).cpu().numpy()
    model.train(was_training)
    return out.reshape(task.n_prompts, k)


@torch.no_grad()
def exact_rewards(model: TinyCausalLM, task: Task, device: torch.device) -> FloatArray:
    """The reward model's score of every response of every prompt, [P, K], float64."""
    was_training = model.training
    model.eval()
    k = task.n_responses
    p_idx = np.repeat(np.arange(task.n_prompts), k)
    r_idx = np.tile(np.arange(k), task.n_prompts)
    out = np.zeros(p_idx.shape[0])
    for s in range(0, p_idx.shape[0], EVAL_CHUNK):
        ids, _, mask = to_device(task, p_idx[s : s + EVAL_CHUNK], r_idx[s : s + EVAL_CHUNK], device)
        out[s : s + EVAL_CHUNK] = model.reward(ids, mask, Impl()).double().cpu().numpy()
    model.train(was_training)
    return out.reshape(task.n_prompts, k)


@torch.no_grad()
def generate(model: TinyCausalLM, task: Task, prompt_idx: IntArray, rng: np.random.Generator, device: torch.device) -> IntArray:
    """Sample one response per row autoregressively (the token-level MDP, S12.1): [N] response indices.

    Token t is drawn from softmax(policy logits at the state prompt + tokens < t) by the inverse
    CDF of a uniform from ``rng`` (numpy), so the random stream does not depend on the device.
    A row that drew EOS is finished: later draws are discarded (every row consumes one uniform
    per position, so the stream does not depend on the lengths either).
    """
    was_training = model.training
    model.eval()
    p_idx = np.asarray(prompt_idx, dtype=np.int64)
    n = p_idx.shape[0]
    ids = np.zeros((n, task.seq_len), dtype=np.int64)
    for p, prompt in enumerate(task.prompts):
        rows_p = np.flatnonzero(p_idx == p)
        ids[rows_p, : len(prompt)] = np.asarray(prompt, dtype=np.int64)
    actions = np.full((n, task.length), -1, dtype=np.int64)
    alive = np.ones(n, dtype=np.bool_)
    starts = np.array([len(task.prompts[p]) for p in p_idx], dtype=np.int64)
    rows = np.arange(n)
    rows_t = torch.from_numpy(rows).to(device)
    for t in range(task.length):
        logits = model.policy_logits(torch.from_numpy(ids).to(device))[rows_t, torch.from_numpy(starts + t).to(device)]
        prob = torch.softmax(logits.double(), dim=-1).cpu().numpy()
        cdf = np.cumsum(prob, axis=1)
        u = np.asarray(rng.random(n), dtype=np.float64)[:, None] * cdf[:, -1:]
        a = np.minimum((u >= cdf).sum(axis=1), task.n_actions - 1)
        actions[alive, t] = a[alive]
        ids[rows[alive], starts[alive] + t] = task.action_id(a[alive])
        alive &= a != task.eos_action
        if not alive.any():
            break
    model.train(was_training)
    return task.response_index(actions)
