"""Time-dependent inputs ``i(t)`` and targets ``o_d(t)``.

A :class:`Signal` is either a callable ``t -> array (M,)`` or samples on a
time grid with a stated interpolation:

``linear``
    piecewise-linear between samples (default). The vector field is then
    continuous with kinks at the sample times.
``previous``
    zero-order hold: the value of the last sample at or before ``t``.

Outside the grid the end values are held. The interpolation is written with
the array namespace of ``t`` so that the same code runs in NumPy and JAX.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .._checks import as_float_array, check_integer, show
from .._xp import namespace

__all__ = ["Signal"]

INTERPOLATIONS = ("linear", "previous")


def interpolate(t_grid, values, t, kind="linear"):
    """Interpolate samples ``values`` (T, M) on ``t_grid`` (T,) at scalar ``t``."""
    xp = namespace(t_grid, values, t)
    if xp is np and np.ndim(t) == 0:
        return _interpolate_scalar(t_grid, values, float(t), kind)
    n = t_grid.shape[0]
    if n == 1:
        return values[0]
    tc = xp.clip(t, t_grid[0], t_grid[-1])
    k = xp.clip(xp.searchsorted(t_grid, tc, side="right") - 1, 0, n - 2)
    if kind == "previous":
        k = xp.where(tc >= t_grid[-1], n - 1, k)
        return values[k]
    t0, t1 = t_grid[k], t_grid[k + 1]
    w = (tc - t0) / (t1 - t0)
    return values[k] * (1 - w) + values[k + 1] * w


def _interpolate_scalar(t_grid, values, t, kind):
    """Fast NumPy path for a scalar time (the SciPy backend calls it at every stage)."""
    n = t_grid.shape[0]
    if n == 1 or t <= t_grid[0]:
        return values[0]
    if t >= t_grid[-1]:
        return values[-1]
    k = int(np.searchsorted(t_grid, t, side="right")) - 1
    if kind == "previous":
        return values[k]
    w = (t - t_grid[k]) / (t_grid[k + 1] - t_grid[k])
    return values[k] + w * (values[k + 1] - values[k])


@dataclass(frozen=True, eq=False)
class Signal:
    """An input or target signal.

    Use :meth:`sampled`, :meth:`from_callable` or :meth:`zeros` to build one.
    """

    n_channels: int
    t: np.ndarray | None = None
    values: np.ndarray | None = None
    kind: str = "linear"
    fn: Callable | None = field(default=None, repr=False)

    @classmethod
    def sampled(cls, t, values, kind="linear"):
        """Samples ``values`` (T, M) at strictly increasing times ``t`` (T,)."""
        t = as_float_array("t", t, finite=False)
        values = as_float_array("values", values, finite=False)
        if values.ndim == 1:
            values = values[:, None]
        if t.ndim != 1 or t.size < 1:
            raise ValueError(f"signal time grid `t` must be 1-D and non-empty, got shape {t.shape}")
        if values.ndim != 2 or values.shape[0] != t.size:
            raise ValueError(f"signal `values` must have shape (len(t)={t.size}, M), got {values.shape}")
        if not np.all(np.isfinite(t)) or not np.all(np.isfinite(values)):
            raise ValueError("signal `t` and `values` must be finite (found NaN or inf)")
        if t.size > 1 and np.any(np.diff(t) <= 0):
            raise ValueError("signal time grid `t` must be strictly increasing")
        if not isinstance(kind, str) or kind not in INTERPOLATIONS:
            raise ValueError(f"signal interpolation `kind`={show(kind)} unknown; known: {INTERPOLATIONS}")
        return cls(values.shape[1], t, values, kind)

    @classmethod
    def from_callable(cls, fn, n_channels):
        """Wrap ``fn(t) -> array (n_channels,)``."""
        if not callable(fn):
            raise TypeError(f"`fn` must be callable, got {type(fn).__name__}")
        return cls(check_integer("n_channels", n_channels, 0), fn=fn)

    @classmethod
    def zeros(cls, n_channels):
        return cls.sampled(np.zeros(1), np.zeros((1, check_integer("n_channels", n_channels, 0))))

    def __call__(self, t):
        if self.fn is not None:
            return self.fn(t)
        return interpolate(self.t, self.values, t, self.kind)

    def sample(self, t_grid):
        """Values on ``t_grid`` as an array (T, M)."""
        return np.stack([np.asarray(self(float(t)), dtype=float).reshape(self.n_channels) for t in t_grid])


def as_signal(x, n_channels, name):
    """Coerce ``None``, a Signal, a callable or an array to a :class:`Signal`."""
    if x is None:
        return Signal.zeros(n_channels)
    if isinstance(x, Signal):
        sig = x
    elif callable(x):
        sig = Signal.from_callable(x, n_channels)
        try:
            val = as_float_array(f"{name}(0.0)", sig(0.0), finite=False)
        except (TypeError, ValueError):
            raise
        except Exception as exc:  # noqa: BLE001 - the user's callable failed: say which argument it was
            raise TypeError(f"`{name}` callable fails at t=0.0: {type(exc).__name__}: {exc}") from exc
        if val.shape != (n_channels,):
            raise ValueError(f"`{name}` callable must return shape ({n_channels},), got {val.shape}")
        return sig
    elif isinstance(x, tuple) and len(x) == 2:
        try:
            sig = Signal.sampled(*x)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"`{name}` as (t, values): {exc}") from None
    else:
        arr = as_float_array(name, x, finite=False) if not isinstance(x, (str, bytes)) else None
        if arr is None:
            raise TypeError(f"`{name}` must be None, a Signal, a callable, a (t, values) tuple or a constant of "
                            f"shape ({n_channels},); got {show(x)}")
        if arr.ndim == 1 and arr.size == n_channels:
            sig = Signal.sampled(np.zeros(1), arr[None, :])
        else:
            raise TypeError(
                f"`{name}` must be None, a Signal, a callable, a (t, values) tuple or a constant of "
                f"shape ({n_channels},); got {type(x).__name__} with shape {np.shape(x)}"
            )
    if sig.n_channels != n_channels:
        raise ValueError(f"`{name}` has {sig.n_channels} channels, the network expects {n_channels}")
    return sig
