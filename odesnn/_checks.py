"""Argument checks shared by the public functions: an error that names the argument and the value."""

from __future__ import annotations

import numpy as np


def check_integer(name, value, minimum):
    """``value`` as an ``int`` if it is an integer (not a bool) ``>= minimum``; otherwise ``ValueError``."""
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum):
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return int(value)
