"""TRPO's solver and step as TRPO code writes them: CG with cg_iters = 10 and damping 0.1 on a
Fisher-vector product, and the natural step from that product."""

from typing import Any

import torch


def conjugate_gradient(Avp: Any, b: Any, cg_iters: Any = 10, damping: Any = 0.1) -> Any:
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rdotr = r @ r
    stop = torch.finfo(b.dtype).eps ** 2 * rdotr
    for _ in range(cg_iters):
        if rdotr <= stop:
            break
        z = Avp(p) + damping * p
        v = rdotr / (p @ z)
        x = x + v * p
        r = r - v * z
        newrdotr = r @ r
        p = r + (newrdotr / rdotr) * p
        rdotr = newrdotr
    return x


def natural_step(g: Any, fvp: Any, max_kl: Any, damping: Any = 0.1, cg_iters: Any = 10) -> Any:
    if not torch.any(g != 0):
        return torch.zeros_like(g)
    x = conjugate_gradient(fvp, g, cg_iters, damping)
    shs = x @ (fvp(x) + damping * x)
    return torch.sqrt(2 * max_kl / shs) * x
