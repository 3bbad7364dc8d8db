"""``bench``: time a fast form against the literal one and against installed peer libraries.

A benchmark, not a test: it prints medians and ratios, and the agreement of every
implementation with the reference recursion; nothing here is asserted.  Peers are imported
only if they are installed (``stable-baselines3``, ``torchrl``, ``rlax`` with jax, ``tianshou``
with numba); they are not dependencies.  A JIT-compiled peer (rlax's ``jax.jit``'d scan,
tianshou's numba kernel) is compiled on its first call: that call is timed apart and reported
as "compile", the timed runs exclude it.  Two numpy floors show what bounds any numpy form:
the TD residuals δ_t alone, computed in place (every GAE reads these inputs and writes that
much), and the argument validation every reference function performs.
"""

from __future__ import annotations

import argparse
import gc
import os
import importlib
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import reference

from . import bench_diff

NAME = "bench"
HELP = "benchmark a fast form vs the literal form and installed peers, e.g. 'bench gae' (not a test)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", choices=["gae", "diff"], help="what to benchmark: gae, or diff (wall time of `diff` per target)")
    p.add_argument("--repeats", type=int, default=9, help="timed runs per implementation (default 9; slow ones stop at --budget)")
    p.add_argument("--budget", type=float, default=20.0, help="seconds of timed runs per implementation and case (default 20; at least one run)")
    p.add_argument("--quick", action="store_true", help="small sizes (T = 20,000 and 8 × 256), for a smoke test")
    p.add_argument("--seed", type=int, default=0)
    bench_diff.add_arguments(p)


@dataclass(frozen=True)
class Case:
    name: str
    rewards: np.ndarray
    values: np.ndarray
    next_values: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    gamma: float = 0.99
    lam: float = 0.95

    @property
    def args(self) -> tuple[Any, ...]:
        return (self.rewards, self.values, self.next_values, self.terminated, self.truncated, self.gamma, self.lam)


def _episode_flags(rng: np.random.Generator, n_t: int, mean_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Episode ends every mean_len/2 .. 3·mean_len/2 steps, alternately terminations and truncations."""
    term = np.zeros(n_t, dtype=bool)
    trunc = np.zeros(n_t, dtype=bool)
    t, k = -1, 0
    while True:
        t += int(rng.integers(mean_len // 2, 3 * mean_len // 2 + 1))
        if t >= n_t:
            break
        (term if k % 2 == 0 else trunc)[t] = True
        k += 1
    return term, trunc


def make_case(name: str, n_t: int, n_env: int | None, seed: int, mean_len: int = 1000) -> Case:
    """A consistent rollout (next_values[t] = values[t+1] inside episodes), float64."""
    rng = np.random.default_rng(seed)
    cols = []
    for _ in range(n_env or 1):
        r = rng.normal(size=n_t)
        v = rng.normal(size=n_t) * 5
        term, trunc = _episode_flags(rng, n_t, mean_len)
        nv = np.empty(n_t)
        nv[:-1] = v[1:]
        ends = term | trunc
        nv[ends] = rng.normal(size=int(ends.sum())) * 5  # V of the true final observation
        nv[-1] = rng.normal() * 5
        cols.append((r, v, nv, term, trunc))
    if n_env is None:
        return Case(name, *cols[0])
    r, v, nv, term, trunc = (np.ascontiguousarray(np.stack([c[k] for c in cols], axis=1)) for k in range(5))
    return Case(name, r, v, nv, term, trunc)


Runner = Callable[[], np.ndarray]


def _ours_fast(c: Case) -> Runner:
    return lambda: reference.gae_fast(*c.args)


def _ours_rec(c: Case) -> Runner:
    return lambda: reference.gae(*c.args)


def _sb3(c: Case) -> Runner:
    import torch

    # imported by name: optional peers, not dependencies (and without type stubs)
    spaces = importlib.import_module("gymnasium.spaces")
    RolloutBuffer = importlib.import_module("stable_baselines3.common.buffers").RolloutBuffer

    r2 = c.rewards if c.rewards.ndim == 2 else c.rewards[:, None]
    v2, nv2, te2, tr2 = (x if x.ndim == 2 else x[:, None] for x in (c.values, c.next_values, c.terminated, c.truncated))
    n_t, n_env = r2.shape
    buf = RolloutBuffer(n_t, spaces.Box(-1.0, 1.0, (1,)), spaces.Discrete(2), device="cpu", gamma=c.gamma, gae_lambda=c.lam, n_envs=n_env)
    # SB3's convention: a truncation is folded into the reward as γ V(final obs); episode_starts[t+1] marks an end after t
    buf.rewards[:] = r2 + c.gamma * np.where(tr2 & ~te2, nv2, 0.0)
    buf.values[:] = v2
    buf.episode_starts[:] = 0.0
    buf.episode_starts[1:] = (te2 | tr2)[:-1]
    last_values = torch.as_tensor(nv2[-1], dtype=torch.float32)
    dones = (te2 | tr2)[-1].astype(np.float32)

    def run() -> np.ndarray:
        buf.compute_returns_and_advantage(last_values, dones)
        out = np.asarray(buf.advantages, dtype=np.float64)
        return out if c.rewards.ndim == 2 else out[:, 0]

    return run


def _torchrl(c: Case, vectorized: bool) -> Runner:
    import torch

    functional = importlib.import_module("torchrl.objectives.value.functional")
    fn = functional.vec_generalized_advantage_estimate if vectorized else functional.generalized_advantage_estimate

    def tens(x: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        x2 = x if x.ndim == 2 else x[:, None]
        return torch.as_tensor(np.ascontiguousarray(x2.T))[..., None].to(dtype)  # [N, T, 1]

    v, nv, r = (tens(x, torch.float32) for x in (c.values, c.next_values, c.rewards))
    done = tens(c.terminated | c.truncated, torch.bool)
    term = tens(c.terminated, torch.bool)

    def run() -> np.ndarray:
        adv, _ = fn(c.gamma, c.lam, v, nv, r, done=done, terminated=term, time_dim=-2)
        out: np.ndarray = adv[..., 0].numpy().astype(np.float64).T
        return out if c.rewards.ndim == 2 else out[:, 0]

    return run


def _rlax(c: Case) -> Runner:
    jax = importlib.import_module("jax")
    jnp = importlib.import_module("jax.numpy")
    rlax = importlib.import_module("rlax")
    from verification.adapters._rollout import fold_truncation

    cols = [tuple(x[:, j] if x.ndim == 2 else x for x in (c.rewards, c.next_values, c.terminated, c.truncated))
            for j in range(c.rewards.shape[1] if c.rewards.ndim == 2 else 1)]
    fold = [fold_truncation(r_j, nv_j, te_j, tr_j, c.gamma) for r_j, nv_j, te_j, tr_j in cols]
    r = np.stack([f[0] for f in fold], axis=1)
    done = np.stack([f[1] for f in fold], axis=1)
    v2 = c.values if c.values.ndim == 2 else c.values[:, None]
    nv2 = c.next_values if c.next_values.ndim == 2 else c.next_values[:, None]
    vals = np.concatenate([v2, nv2[-1:]], axis=0)  # [T + 1, N]: V(s_{t+1}) read from the next row, the cut's bootstrap last
    disc = c.gamma * (~done).astype(np.float64)
    fn = jax.jit(jax.vmap(rlax.truncated_generalized_advantage_estimation, in_axes=(1, 1, None, 1), out_axes=1))
    args = (jnp.asarray(r, jnp.float32), jnp.asarray(disc, jnp.float32), jnp.float32(c.lam), jnp.asarray(vals, jnp.float32))
    jax.block_until_ready(args)

    def run() -> np.ndarray:
        out = fn(*args).block_until_ready()
        res = np.asarray(out, dtype=np.float64)
        return res if c.rewards.ndim == 2 else res[:, 0]

    return run


def _tianshou(c: Case) -> Runner:
    base = importlib.import_module("tianshou.algorithm.algorithm_base")
    kernel = base._gae  # the numba kernel behind Algorithm.compute_episodic_return
    r2, v2, nv2, te2, tr2 = (x if x.ndim == 2 else x[:, None] for x in (c.rewards, c.values, c.next_values, c.terminated, c.truncated))
    # tianshou's flat buffer: each env's steps contiguous (column-major); the cut at the end of a column is an episode end
    # whose bootstrap is v_s_ (= V(final obs) · (1 - terminated))
    flat = [np.ascontiguousarray(x.T).reshape(-1) for x in (r2, v2, nv2, te2, tr2)]
    rew, v_s, nv, te, tr = flat
    end = te | tr
    end.reshape(r2.shape[1], r2.shape[0])[:, -1] = True
    v_s_ = nv * (~te)
    n_t, n_env = r2.shape

    def run() -> np.ndarray:
        out = kernel(v_s, v_s_, rew, end, c.gamma, c.lam)
        res = np.asarray(out, dtype=np.float64).reshape(n_env, n_t).T
        return res if c.rewards.ndim == 2 else res[:, 0]

    return run


def _floor_pass(c: Case) -> Runner:
    """δ_t alone, in place (four inputs read, one output written): the least memory traffic of any GAE."""
    r, v, nv, te = c.rewards, c.values, c.next_values, c.terminated
    out = np.empty(r.shape)

    def run() -> np.ndarray:
        np.multiply(nv, c.gamma, out=out)
        np.putmask(out, te, 0.0)
        np.add(out, r, out=out)
        np.subtract(out, v, out=out)
        return out

    return run


def _floor_validate(c: Case) -> Runner:
    """The argument validation of every reference rollout function (dtype checks, copies, NaN scan)."""
    adv = importlib.import_module("reference.advantage")

    def run() -> np.ndarray:
        adv._rollout(*c.args[:5])
        return np.zeros(c.rewards.shape)

    return run


@dataclass
class Row:
    label: str
    dtype: str
    times: list[float]
    error: float | None
    note: str = ""
    cpu: list[float] = field(default_factory=list)
    compile_s: float | None = None
    compare: bool = True


def _time(make: Callable[[], Runner], repeats: int, budget: float, jit: bool = False) -> tuple[list[float], list[float], np.ndarray, float]:
    """Wall-clock and CPU (this process) seconds of each timed run, the first run's output, and
    the first run's wall time (for a JIT-compiled peer: compilation plus one run, never timed)."""
    run = make()
    t0, c0 = time.perf_counter(), time.process_time()
    out = run()  # warm-up (imports, allocations, JIT compilation); counted only if it is slow and not a JIT
    first, first_cpu = time.perf_counter() - t0, time.process_time() - c0
    times, cpu = ([first], [first_cpu]) if first > 1.0 and not jit else ([], [])
    spent = first
    gc.disable()
    try:
        while len(times) < repeats and (spent < budget or not times):
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            dt = time.perf_counter() - t0
            cpu.append(time.process_time() - c0)
            times.append(dt)
            spent += dt
    finally:
        gc.enable()
    return times, cpu, out, first


def _version(module: str) -> str | None:
    try:
        mod = importlib.import_module(module)
    except Exception:
        return None
    return str(getattr(mod, "__version__", "?"))


def _bench_case(c: Case, repeats: int, budget: float) -> list[Row]:
    ref = reference.gae(*c.args)
    scale = max(1.0, float(np.max(np.abs(ref))))
    rows: list[Row] = []
    impls: list[tuple[str, str, str | None, Callable[[], Runner]]] = [
        ("ours: gae_fast (blocked scan)", "float64", "numpy", lambda: _ours_fast(c)),
        ("ours: gae (backward recursion)", "float64", "numpy", lambda: _ours_rec(c)),
        ("floor: δ_t only (one numpy pass)", "float64", "numpy", lambda: _floor_pass(c)),
        ("floor: argument validation only", "float64", "numpy", lambda: _floor_validate(c)),
    ]
    sb3 = _version("stable_baselines3")
    trl = _version("torchrl")
    impls.append((f"stable-baselines3 {sb3 or ''} RolloutBuffer".replace("  ", " "), "float32", sb3, lambda: _sb3(c)))
    impls.append((f"torchrl {trl or ''} generalized_advantage_estimate".replace("  ", " "), "float32", trl, lambda: _torchrl(c, False)))
    impls.append((f"torchrl {trl or ''} vec_generalized_advantage_estimate".replace("  ", " "), "float32", trl, lambda: _torchrl(c, True)))
    rl = _version("rlax")
    ts = _version("tianshou")
    impls.append((f"rlax {rl or ''} truncated_gae (jax.jit, vmap)".replace("  ", " "), "float32", rl, lambda: _rlax(c)))
    impls.append((f"tianshou {ts or ''} _gae (numba)".replace("  ", " "), "float64", ts, lambda: _tianshou(c)))
    jitted = ("rlax", "tianshou")
    for label, dtype, available, make in impls:
        if available is None:
            rows.append(Row(label, dtype, [], None, "not installed"))
            continue
        jit = label.startswith(jitted)
        try:
            times, cpu, out, first = _time(make, repeats, budget, jit=jit)
        except Exception as exc:  # a peer that fails to run is reported, not fatal
            rows.append(Row(label, dtype, [], None, f"failed: {type(exc).__name__}: {exc}"[:120]))
            continue
        floor = label.startswith("floor")
        err = None if floor else float(np.max(np.abs(np.asarray(out, dtype=np.float64) - ref))) / scale
        rows.append(Row(label, dtype, times, err, cpu=cpu, compile_s=first if jit else None, compare=not floor))
    return rows


def _print(c: Case, rows: list[Row]) -> None:
    n_ends = int((c.terminated | c.truncated).sum())
    print(f"\n{c.name}: shape {c.rewards.shape}, {int(c.terminated.sum())} terminations + {int(c.truncated.sum())} truncations "
          f"({n_ends} episode ends), γ = {c.gamma}, λ = {c.lam}")
    base = next((statistics.median(r.times) for r in rows if r.times and r.label.startswith("ours: gae_fast")), None)
    print(f"  {'implementation':<52} {'dtype':<8} {'runs':>4} {'median ms':>11} {'min ms':>10} {'cpu ms':>10} {'× fast':>9}  {'max|err| vs gae':>16}")
    for r in rows:
        if not r.times:
            print(f"  {r.label:<52} {r.dtype:<8} {'':>4} {r.note}")
            continue
        med = statistics.median(r.times) * 1e3
        ratio = f"{med / (base * 1e3):.2f}" if base else "-"
        err = f"{r.error:.1e}" if r.error is not None else "-"
        cpu = statistics.median(r.cpu) * 1e3
        extra = ""
        if r.compile_s is not None:
            # a JIT cache filled by the first case makes the second case's first call an ordinary one
            extra = f"  (first call, compile included: {r.compile_s * 1e3:.0f} ms; not timed)"
        print(f"  {r.label:<52} {r.dtype:<8} {len(r.times):>4} {med:>11.2f} {min(r.times) * 1e3:>10.2f} {cpu:>10.2f} {ratio:>9}  {err:>16}{extra}")


def run(args: argparse.Namespace) -> int:
    if args.target == "diff":
        return bench_diff.run_diff(args)
    if args.repeats < 1 or args.budget <= 0:
        print("--repeats must be >= 1 and --budget > 0")
        return 2
    if args.quick:
        cases = [make_case("1 rollout, T = 20,000", 20_000, None, args.seed, 1000), make_case("8 envs × 256 steps", 256, 8, args.seed + 1, 100)]
    else:
        cases = [
            make_case("1 rollout, T = 1,000,000, episode ends every ~1000 steps", 1_000_000, None, args.seed, 1000),
            make_case("64 envs × 2048 steps, episode ends every ~1000 steps", 2048, 64, args.seed + 1, 1000),
        ]
    print("GAE benchmark (a measurement, not a test): median of timed runs; '× fast' = median / median of ours: gae_fast;")
    print("'cpu ms' = median CPU time of this process (less sensitive to other load on the machine than wall time);")
    print("errors are max |A − A_gae| / max(1, max |A_gae|) against the float64 recursion (peers compute in float32).")
    print(f"machine: {os.cpu_count()} CPU(s), load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, numpy {np.__version__}")
    for c in cases:
        _print(c, _bench_case(c, args.repeats, args.budget))
    return 0
