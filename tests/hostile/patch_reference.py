"""At import, replaces the reference's ``bt_loss`` (everywhere it can find it) with a wrong one,
then returns that wrong value: conforms only if the harness trusts a reference the implementation
could reach."""

from __future__ import annotations

from typing import Any

import numpy as np

import reference
import reference.rlhf


def _wrong(r_chosen: Any, r_rejected: Any, *args: Any, **kwargs: Any) -> Any:
    return np.asarray(r_chosen, dtype=np.float64) * 0.0 + 0.5


for _mod in (reference, reference.rlhf):
    setattr(_mod, "bt_loss", _wrong)  # the harness's targets look the reference up here


def bt(r_chosen: Any, r_rejected: Any) -> Any:
    return _wrong(r_chosen, r_rejected)
