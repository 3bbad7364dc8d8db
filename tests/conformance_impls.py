"""Implementations that misbehave in every way the harness must survive (used by test_conformance_*)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import numpy as np

import reference


def bt_ok(r_chosen: Any, r_rejected: Any) -> Any:
    return reference.bt_loss(r_chosen, r_rejected)


def bt_raises(r_chosen: Any, r_rejected: Any) -> Any:
    raise RuntimeError("boom from the implementation")


def bt_nan(r_chosen: Any, r_rejected: Any) -> Any:
    out = reference.bt_loss(r_chosen, r_rejected)
    out[0] = np.nan
    return out


def bt_wrong_shape(r_chosen: Any, r_rejected: Any) -> Any:
    return reference.bt_loss(r_chosen, r_rejected)[:, None]


def bt_hangs(r_chosen: Any, r_rejected: Any) -> Any:
    while True:
        time.sleep(0.01)


def bt_exits(r_chosen: Any, r_rejected: Any) -> Any:
    sys.exit(3)


def bt_kills_process(r_chosen: Any, r_rejected: Any) -> Any:
    os._exit(7)


def bt_returns_text(r_chosen: Any, r_rejected: Any) -> Any:
    return "not an array"


def bt_prints(r_chosen: Any, r_rejected: Any) -> Any:
    print("chatty implementation writes to stdout")
    return reference.bt_loss(r_chosen, r_rejected)


def bt_mutates(r_chosen: Any, r_rejected: Any) -> Any:
    out = reference.bt_loss(r_chosen, r_rejected)
    r_chosen[...] = 0.0
    return out


def bt_slow_then_fine(r_chosen: Any, r_rejected: Any) -> Any:
    return reference.bt_loss(r_chosen, r_rejected)


class Losses:
    @staticmethod
    def bt(r_chosen: Any, r_rejected: Any) -> Any:
        return reference.bt_loss(r_chosen, r_rejected)


NOT_CALLABLE = 3
