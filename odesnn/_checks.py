"""Argument checks shared by the public functions: an error that names the argument and the value."""

from __future__ import annotations

import numpy as np


def check_integer(name, value, minimum):
    """``value`` as an ``int`` if it is an integer (not a bool) ``>= minimum``; otherwise ``ValueError``."""
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum):
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_horizon(name, value):
    """``value`` as a float if it is None or a positive finite number of ms; otherwise ``ValueError``."""
    if value is None:
        return None
    if not (isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
            and np.isfinite(value) and value > 0):
        raise ValueError(f"`{name}` must be None or a positive finite number of ms, got {value!r}")
    return float(value)
