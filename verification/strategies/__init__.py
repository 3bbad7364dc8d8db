"""Hypothesis strategies for the specification's inputs, reusable in users' own test suites.

One module per area (``mdp``: tabular MDPs and policies, ...); the public ones are re-exported here.
"""

from __future__ import annotations

from .mdp import MDPCase, distributions, gammas, logit_tables, mdp_cases, mdps

__all__ = ["MDPCase", "distributions", "gammas", "logit_tables", "mdp_cases", "mdps"]
