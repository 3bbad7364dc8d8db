"""Hypothesis strategies for the specification's inputs, reusable in users' own test suites.

One module per area (``mdp``: tabular MDPs and policies; ``rollouts``: rollouts with terminations
and truncations; ``importance``/``ppo``: distributions, ratios, advantages, SPD matrices; ``rlhf``:
preference pairs, padded token batches, small token models; ...); the public names of each are
re-exported here.
"""

from __future__ import annotations

from . import importance as _importance
from . import mdp as _mdp
from . import ppo as _ppo
from . import rlhf as _rlhf
from . import rollouts as _rollouts
from . import token_batch as _token_batch
from .importance import *  # noqa: F403
from .mdp import *  # noqa: F403
from .ppo import *  # noqa: F403
from .rlhf import *  # noqa: F403
from .rollouts import *  # noqa: F403
from .token_batch import *  # noqa: F403

__all__ = sorted({*_importance.__all__, *_mdp.__all__, *_ppo.__all__, *_rlhf.__all__, *_rollouts.__all__, *_token_batch.__all__})
