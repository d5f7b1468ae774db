"""Argument checks shared by the public functions: an error that names the argument and the value."""

from __future__ import annotations

import json
import math
import os
import reprlib
from pathlib import Path

import numpy as np

_short = reprlib.Repr()
_short.maxstring, _short.maxother, _short.maxlist, _short.maxtuple = 60, 60, 6, 6


def show(value) -> str:
    """A short ``repr`` of ``value`` for a message (arrays by their shape and dtype)."""
    if isinstance(value, np.ndarray) and value.size > 6:
        return f"array of shape {value.shape} and dtype {value.dtype}"
    return _short.repr(value)


def check_integer(name, value, minimum):
    """``value`` as an ``int`` if it is an integer (not a bool) ``>= minimum``; otherwise ``ValueError``."""
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum):
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {show(value)}")
    return int(value)


def check_optional_integer(name, value, minimum):
    """``None``, or ``value`` as an ``int`` (see :func:`check_integer`)."""
    if value is None:
        return None
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum):
        raise ValueError(f"`{name}` must be None or an integer >= {minimum}, got {show(value)}")
    return int(value)


def is_real(value):
    """Whether ``value`` is a real scalar (a Python or numpy int or float, not a bool)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_real(name, value, lo=-np.inf, hi=np.inf):
    """``value`` as a float if it is a finite real number in ``[lo, hi]``.

    A non-number raises ``TypeError``; a number that is not finite or lies outside the bounds, ``ValueError``.
    """
    if not is_real(value):
        raise TypeError(f"`{name}` must be a real number, got {show(value)}")
    if not (np.isfinite(value) and lo <= value <= hi):
        bounds = "" if (lo, hi) == (-np.inf, np.inf) else f" in [{lo}, {hi}]"
        raise ValueError(f"`{name}` must be a finite number{bounds}, got {show(value)}")
    return float(value)


def check_number(name, value, *, positive=True, optional=False, note=""):
    """Raise ``ValueError``, naming ``name`` and ``value``, unless ``value`` is a finite real number that is
    positive (or, with ``positive=False``, non-negative), or ``None`` where ``optional``. ``note`` follows
    "number" in the message. Returns ``value`` as a float (or None)."""
    if value is None and optional:
        return None
    if not (is_real(value) and math.isfinite(value) and (value > 0 if positive else value >= 0)):
        kind = "positive" if positive else "non-negative"
        raise ValueError(f"`{name}` must be {'None or ' if optional else ''}a {kind} number{note}, got {show(value)}")
    return float(value)


def check_horizon(name, value):
    """``value`` as a float if it is None or a positive finite number of ms; otherwise ``ValueError``."""
    check_number(name, value, optional=True, note=" of ms")
    return None if value is None else float(value)


def check_bool(name, value):
    """``value`` as a ``bool`` if it is one (or a numpy bool); otherwise ``TypeError`` (a string such as ``"no"``
    would read as true)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"`{name}` must be True or False, got {show(value)}")
    return bool(value)


def check_seed(name, value):
    """``value`` if it seeds ``numpy.random.default_rng``: None, an integer >= 0 or a ``Generator``."""
    if value is None or isinstance(value, np.random.Generator):
        return value
    return check_integer(name, value, 0)


def as_float_array(name, value, shape=None, finite=True):
    """``value`` as a float array, with an error naming ``name`` unless it is real, of ``shape`` (if given)
    and finite (if ``finite``)."""
    if isinstance(value, (str, bytes)) or np.iscomplexobj(value):
        raise TypeError(f"`{name}` must be a real array, got {show(value)}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"`{name}` must be a real array, got {show(value)}") from None
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"`{name}` must have shape {tuple(shape)}, got {arr.shape}")
    if finite and not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` contains non-finite values (NaN or inf): {show(value)}")
    return arr


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable`` of ``/proc/meminfo``, else the free
    physical pages), or None where the system does not say."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _bytes(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}" if unit != "bytes" else f"{int(n)} bytes"
        n /= 1024


def check_memory(n_bytes, what, name, value):
    """Raise ``ValueError`` before allocating ``n_bytes`` for ``what`` if that exceeds the memory available,
    naming the argument ``name`` and its ``value`` that ask for that much."""
    free = available_memory()
    if free is not None and n_bytes > free:
        raise ValueError(f"`{name}`={show(value)} asks for {_bytes(n_bytes)} for {what}, more than the "
                         f"{_bytes(free)} of memory available")


def read_json(path, what="file"):
    """The JSON content of ``path``, or an error naming the file: ``FileNotFoundError`` if it is missing,
    ``ValueError`` (with the line and column) if it is not JSON."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} {str(path)!r} does not exist")
    try:
        return json.loads(path.read_text())
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} {str(path)!r} is not text: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} {str(path)!r} is not valid JSON: {exc.msg} at line {exc.lineno} column "
                         f"{exc.colno}") from None
