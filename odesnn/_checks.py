"""Argument checks shared by the public functions: an error that names the argument and the value."""

from __future__ import annotations

import math

import numpy as np


def check_integer(name, value, minimum):
    """``value`` as an ``int`` if it is an integer (not a bool) ``>= minimum``; otherwise ``ValueError``."""
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum):
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")
    return int(value)


def is_real(value):
    """Whether ``value`` is a real scalar (a Python or numpy int or float, not a bool)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def check_real(name, value, lo=-np.inf, hi=np.inf):
    """``value`` as a float if it is a finite real number in ``[lo, hi]``.

    A non-number raises ``TypeError``; a number that is not finite or lies outside the bounds, ``ValueError``.
    """
    if not is_real(value):
        raise TypeError(f"`{name}` must be a real number, got {value!r}")
    if not (np.isfinite(value) and lo <= value <= hi):
        bounds = "" if (lo, hi) == (-np.inf, np.inf) else f" in [{lo}, {hi}]"
        raise ValueError(f"`{name}` must be a finite number{bounds}, got {value!r}")
    return float(value)


def check_number(name, value, *, positive=True, optional=False, note=""):
    """Raise ``ValueError``, naming ``name`` and ``value``, unless ``value`` is a finite real number that is
    positive (or, with ``positive=False``, non-negative), or ``None`` where ``optional``. ``note`` follows
    "number" in the message."""
    if value is None and optional:
        return
    if not (is_real(value) and math.isfinite(value) and (value > 0 if positive else value >= 0)):
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"`{name}` must be {'None or ' if optional else ''}a {kind} number{note}, got {value!r}")


def check_horizon(name, value):
    """``value`` as a float if it is None or a positive finite number of ms; otherwise ``ValueError``."""
    check_number(name, value, optional=True, note=" of ms")
    return None if value is None else float(value)
