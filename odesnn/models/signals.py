"""Time-dependent inputs ``i(t)`` and targets ``o_d(t)``.

A :class:`Signal` is either a callable ``t -> array (M,)`` or samples on a
time grid with a stated interpolation:

``linear``
    piecewise-linear between samples (default). The vector field is then
    continuous with kinks at the sample times.
``previous``
    zero-order hold: the value of the last sample at or before ``t``.
``exponential``
    spike trains through input synapses (:meth:`Signal.spike_trains`): each
    sample decays as ``e^{-(t - t_k)/τ_in}`` until the next, exactly.

Outside the grid the end values are held. The interpolation is written with
the array namespace of ``t`` so that the same code runs in NumPy and JAX.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .._checks import as_float_array, check_integer, show
from .._xp import namespace

__all__ = ["Signal"]

INTERPOLATIONS = ("linear", "previous")


def interpolate(t_grid, values, t, kind="linear", tau=None):
    """Interpolate samples ``values`` (T, M) on ``t_grid`` (T,) at scalar ``t``."""
    xp = namespace(t_grid, values, t)
    if kind == "exponential":
        k = xp.searchsorted(t_grid, t, side="right") - 1
        return decay(t_grid, values, k, t, tau)
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


def decay(t_grid, values, k, t, tau):
    """``values[k] e^{-(t - t_k)/τ}`` for the sample ``k`` at or before ``t`` (zero before the first sample): the
    ``exponential`` kind, written with the namespace of its inputs (``k`` may be traced)."""
    xp = namespace(t_grid, values, t)
    kc = xp.clip(k, 0, t_grid.shape[0] - 1)
    return xp.where(k >= 0, values[kc] * xp.exp(-(t - t_grid[kc]) / tau), 0.0 * values[0])


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
    tau: float | None = None

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
    def spike_trains(cls, times, tau_in=5.0):
        """Input spike trains through input synapses, ``τ_in ds_in/dt = -s_in + Σ_k δ(t - t_k)``, per channel.

        ``times`` is a sequence of M arrays of spike times (ms), one per input
        channel. The signal is ``s_in(t)`` (M,), which jumps by ``1/τ_in`` at
        each of the channel's spikes and decays between them; the network
        sees ``U s_in(t)`` in its current, so the gradient for ``U`` is exact.
        It is held as its values just after each spike time (the union of
        every channel's), with the kind ``exponential``; the solvers stop at
        every spike time (a jump of the field) and integrate the exact
        exponential in between.
        """
        tau_in = float(tau_in)
        if not (np.isfinite(tau_in) and tau_in > 0):
            raise ValueError(f"`tau_in` must be a positive time constant in ms, got {tau_in!r}")
        if isinstance(times, np.ndarray) and times.ndim == 1 and times.dtype != object:
            raise TypeError("`times` must be a sequence of arrays of spike times, one per input channel "
                            "(e.g. [t_channel0, t_channel1]), got one 1-D array")
        trains = [np.sort(as_float_array(f"times[{c}]", np.atleast_1d(np.asarray(ts, dtype=float)).reshape(-1)))
                  for c, ts in enumerate(times)]
        M = len(trains)
        grid = np.unique(np.concatenate(trains)) if M and any(tr.size for tr in trains) else np.zeros(0)
        if grid.size == 0:
            return cls(M, np.zeros(1), np.zeros((1, M)), "exponential", tau=tau_in)
        values = np.zeros((grid.size, M))
        for c, tr in enumerate(trains):
            # s_c(t_k) = Σ_{t_j ≤ t_k} e^{-(t_k - t_j)/τ}/τ, accumulated along the grid
            count = np.searchsorted(tr, grid, side="right") - np.searchsorted(tr, grid, side="left")
            acc = 0.0
            for k, t in enumerate(grid):
                acc = acc * (np.exp(-(t - grid[k - 1]) / tau_in) if k else 0.0) + count[k] / tau_in
                values[k, c] = acc
        return cls(M, grid, values, "exponential", tau=tau_in)

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
        if self.kind != "exponential" and isinstance(t, (float, int, np.floating)):
            return self._at(float(t))
        return interpolate(self.t, self.values, t, self.kind, self.tau)

    @functools.cached_property
    def _at(self):
        """The interpolant at a scalar NumPy time, with the grid searched as a list (the SciPy backend calls it at
        every stage, where ``np.searchsorted``'s overhead is most of the cost); same values as :func:`interpolate`."""
        grid, values, n, previous = self.t.tolist(), self.values, self.t.size, self.kind == "previous"
        steps = np.diff(values, axis=0)

        def at(t):
            if n == 1 or t <= grid[0]:
                return values[0]
            if t >= grid[-1]:
                return values[-1]
            k = bisect.bisect_right(grid, t) - 1
            if previous:
                return values[k]
            return values[k] + ((t - grid[k]) / (grid[k + 1] - grid[k])) * steps[k]

        return at

    def frozen(self, t_start):
        """The signal on the piece of its grid that starts at or before ``t_start``, continued past the piece's end:
        what a solver stepping from ``t_start`` to the next sample time must see, so that no stage reads the jump
        at that time. Only ``exponential`` signals jump (returned as they are otherwise)."""
        if self.kind != "exponential" or self.t.size == 0:
            return self
        k = int(np.searchsorted(self.t, t_start, side="right")) - 1
        return lambda t: decay(self.t, self.values, k, t, self.tau)

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
