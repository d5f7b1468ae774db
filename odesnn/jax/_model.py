"""The static part of a JAX simulation: network, signal kinds and reset mode.

A :class:`Model` is hashable (a static ``jax.jit`` argument). It wraps the
shared model math of :mod:`odesnn._dynamics` into diffrax terms; it holds no
physics of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax.numpy as jnp

from .. import _dynamics as dyn
from ..models.gates import Gate
from ..models.network import Network
from ..models.neurons import NIF, QIF
from ..models.signals import decay

__all__ = ["Model", "signal_at", "piece_of", "TimeFunction"]

CALLABLE = "callable"
#: interpolation kinds of a sampled signal (:mod:`odesnn.models.signals`), and ``callable``: ``fn(t, args)``
KINDS = ("linear", "previous", "exponential", CALLABLE)


@dataclass(frozen=True)
class TimeFunction:
    """``fn(t)`` as a callable signal ``(t, args) -> fn(t)`` of a :class:`Model` (args unused): how a
    :class:`~odesnn.models.signals.Signal` built from a function reaches the JAX backend. Equal (and hashed) by
    ``fn``, so that the same function compiles once."""

    fn: Callable

    def __call__(self, t, args):
        return self.fn(t)


@dataclass(frozen=True)
class Model:
    """Network plus the interpolation kinds of the input and target signals.

    Parameters
    ----------
    net : Network
    input_kind, target_kind : {"linear", "previous", "exponential", "callable"}
        How a trial's ``inputs`` / ``targets`` of the :class:`Batch` are read:
        samples on the batch's ``t_grid`` (the interpolation kinds of
        :class:`odesnn.Signal`; the solver stops at every sample time, where
        the signal has a kink or a jump), or ``"callable"``: the signal is
        ``input_fn(t, args)`` with ``args`` the trial's ``inputs`` (any shape
        per trial, e.g. a frequency and a phase), written with ``jax.numpy``.
        A callable signal adds no stops: the step size follows the tolerance
        alone. Giving ``input_fn`` / ``target_fn`` implies ``"callable"``.
    resets : {"auto", "truncate"}
    input_tau : float, optional
        The input synapses' time constant of spike-train inputs (``"exponential"``).
    input_fn, target_fn : callable, optional
        ``fn(t, args) -> (M,)`` of a callable signal. The model is a static
        argument of ``jax.jit``: pass the same function object to reuse a
        compilation.

    Attributes
    ----------
    translation : bool
        True when every reset is a translation ``v -> v - (θ - v_r)`` under
        which neither ``f`` nor the gate changes (NIF and QIF with a gate that
        vanishes at the threshold): a crossing is then wrapped at the end of
        the step without stopping the solver. Otherwise (LIF, box gate,
        threshold synapse, custom neurons) the step is truncated at the event.
        ``resets="truncate"`` forces truncation (to test the wrapping against it).

    Box gates: the JAX backend evaluates the gate continuously in time
    (:meth:`odesnn.Gate.__call__`), so the jump of a box gate at the zone
    edges is not located; the step-size controller meets it as a
    discontinuity (rejected steps), and the forward and adjoint are accurate
    only to roughly the tolerance times the jump. Use the SciPy backend (which
    stops at zone edges) or a smooth gate where precision matters.
    """

    net: Network
    input_kind: str = "linear"
    target_kind: str = "linear"
    resets: str = "auto"
    input_tau: float | None = None
    input_fn: Callable | None = None
    target_fn: Callable | None = None

    @property
    def signals_jump(self) -> bool:
        """Whether a signal jumps at its sample times (a held signal, or spike trains): a step that starts there
        evaluates its first stage anew."""
        return self.input_kind in ("previous", "exponential") or self.target_kind == "previous"

    def __post_init__(self):
        for name in ("input", "target"):
            kind, fn = getattr(self, f"{name}_kind"), getattr(self, f"{name}_fn")
            if fn is not None and kind == "linear":  # the default kind: a function given means a callable signal
                object.__setattr__(self, f"{name}_kind", kind := CALLABLE)
            if kind not in KINDS:
                raise ValueError(f"`{name}_kind`={kind!r} unknown; known: {KINDS}")
            if (kind == CALLABLE) != (fn is not None):
                raise ValueError(f"`{name}_kind`={kind!r} and `{name}_fn`={fn!r}: a callable {name} needs "
                                 f"`{name}_fn(t, args)`, and only a callable {name} takes one")
            if fn is not None and not callable(fn):
                raise TypeError(f"`{name}_fn` must be callable as fn(t, args), got {type(fn).__name__}")
        if self.resets not in ("auto", "truncate"):
            raise ValueError(f"`resets`={self.resets!r} unknown; known: 'auto', 'truncate'")
        if self.net.cost.has_spike_terms:
            raise NotImplementedError(
                f"the JAX backend has no costs on spike times ({type(self.net.cost).__name__}); "
                "use the SciPy backend (odesnn.gradient, backend='scipy')")

    @property
    def translation(self) -> bool:
        if self.resets == "truncate":
            return False
        gate = self.net.gate
        smooth_gate = isinstance(gate, Gate) and not gate.discontinuous
        return type(self.net.neuron) in (NIF, QIF) and smooth_gate

    @property
    def thresholds(self):
        return self.net.neuron.thresholds

    def input_at(self, trial, k, t):
        """The trial's input at ``t`` (``k``: the grid piece frozen at the start of the step)."""
        return signal_at(trial.t_grid, trial.inputs, k, t, self.input_kind, self.input_tau, self.input_fn)

    def target_at(self, trial, k, t):
        """The trial's target at ``t`` (``k`` as for :meth:`input_at`)."""
        return signal_at(trial.t_grid, trial.targets, k, t, self.target_kind, None, self.target_fn)


def piece_of(t_grid, t):
    """Index ``k`` of the grid interval ``[t_k, t_{k+1})`` holding ``t`` (-1 before the grid)."""
    return jnp.searchsorted(t_grid, t, side="right") - 1


def next_stop(t_grid, k, t_end):
    """The first grid time after piece ``k``, or ``t_end``."""
    T = t_grid.shape[0]
    nxt = jnp.where(k + 1 < T, t_grid[jnp.clip(k + 1, 0, T - 1)], t_end)
    return jnp.minimum(nxt, t_end)


def signal_at(t_grid, values, k, t, kind, tau=None, fn=None):
    """Samples ``values`` (T, M) interpolated at ``t`` within the frozen grid piece ``k``.

    Freezing the piece (from the start of the step) means a step's trial
    stages never see the kink or jump at the next sample time, which the step
    does not cross. A ``callable`` signal is ``fn(t, values)``: ``values`` are
    then the trial's arguments of the function, of any shape.
    """
    if kind == CALLABLE:
        return fn(t, values)
    T = t_grid.shape[0]
    if kind == "exponential":  # spike trains: the sample at or before t, decayed exactly
        return decay(t_grid, values, k, t, tau)
    if T == 1:
        return values[0]
    if kind == "previous":
        return values[jnp.clip(k, 0, T - 1)]
    kc = jnp.clip(k, 0, T - 2)
    w = (t - t_grid[kc]) / (t_grid[kc + 1] - t_grid[kc])
    lin = values[kc] * (1 - w) + values[kc + 1] * w
    return jnp.where(k < 0, values[0], jnp.where(k >= T - 1, values[T - 1], lin))


def forward_field(model: Model, t, y, args):
    """diffrax vector field of ``y = (State, c)`` with ``dc/dt = l``; ``args = (params, trial, k)``."""
    x, _ = y
    params, trial, k = args
    net = model.net
    i_t = model.input_at(trial, k, t)
    o_d = model.target_at(trial, k, t)
    dx = dyn.vector_field(net, params, x, i_t)
    dc = dyn.running_cost(net, params, x, o_d)
    return as_dtype((dx, dc), x.v.dtype)


def as_dtype(tree, dtype):
    """Cast back to the working dtype (the shared masks are NumPy float64 and promote float32 under x64)."""
    import jax

    return jax.tree.map(lambda a: jnp.asarray(a).astype(dtype), tree)
