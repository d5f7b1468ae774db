"""A validated simulation problem, shared by every backend and gradient method."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .models.network import Network, Params, State
from .models.signals import Signal, as_signal


@dataclass(frozen=True, eq=False)
class Problem:
    """Network, parameters, input and target signals, initial state and time span."""

    net: Network
    params: Params
    inputs: Signal
    target: Signal
    x0: State
    t0: float
    t1: float

    def tstops(self):
        """Sample times of sampled inputs and targets inside ``(t0, t1)``: kinks the solver must not straddle."""
        grids = [sig.t for sig in (self.inputs, self.target) if sig.t is not None and has_grid(sig)]
        if not grids:
            return np.zeros(0)
        ts = np.unique(np.concatenate(grids))
        return ts[(ts > self.t0) & (ts < self.t1)]

    def with_params(self, params) -> Problem:
        return Problem(self.net, self.net.check_params(params), self.inputs, self.target, self.x0, self.t0, self.t1)


def has_grid(sig: Signal) -> bool:
    """Whether a sampled signal changes its form at its sample times (more than one sample, or spike trains)."""
    return sig.t.size > 1 or sig.kind == "exponential"


def check_t_span(t_span) -> tuple[float, float]:
    """``(t0, t1)`` as floats, or ``ValueError`` naming `t_span` unless it is a finite pair with ``t1 > t0``."""
    if t_span is None:
        raise ValueError("`t_span` is required: (t0, t1) in ms")
    try:
        t0, t1 = (float(x) for x in t_span)
    except (TypeError, ValueError):
        raise ValueError(f"`t_span` must be a pair (t0, t1) of numbers, got {t_span!r}") from None
    if not (np.isfinite(t0) and np.isfinite(t1)):
        raise ValueError(f"`t_span` must be finite, got {t_span!r}")
    if t1 <= t0:
        raise ValueError(f"`t_span` must have t1 > t0, got t0={t0!r}, t1={t1!r}")
    return t0, t1


def make_problem(net, params, inputs=None, target=None, t_span=None, v0=None, s0=None, sf0=None, w0=None) -> Problem:
    """Check every argument and return a :class:`Problem` (eager errors name the argument)."""
    if not isinstance(net, Network):
        raise TypeError(f"`net` must be an odesnn.Network, got {type(net).__name__}")
    params = net.check_params(params)
    t0, t1 = check_t_span(t_span)
    inputs = as_signal(inputs, net.n_inputs, "inputs")
    target = as_signal(target, net.n_outputs, "target")
    x0 = net.initial_state(v0, s0, sf0, w0)
    return Problem(net, params, inputs, target, x0, t0, t1)


def pack(x: State, extra=()):
    """The flat vector ``(v, s, sf, w.ravel(), extra)`` (``v`` first: the event functions read ``y[:N]``)."""
    parts = [x.v, x.s, x.sf] if x.w is None else [x.v, x.s, x.sf, np.asarray(x.w).reshape(-1)]
    parts.append(np.asarray(extra, dtype=float).reshape(-1))
    return np.concatenate(parts)


def unpack(net: Network, y) -> State:
    """The :class:`State` in the first :func:`state_size` entries of ``y`` (leading axis; trailing axes kept)."""
    N, Nf, m = net.n_neurons, net.n_fast, net.neuron.n_aux
    w = None if m == 0 else y[2 * N + Nf:(2 + m) * N + Nf].reshape((m, N) + y.shape[1:])
    return State(y[:N], y[N:2 * N], y[2 * N:2 * N + Nf], w)


def state_size(net: Network) -> int:
    return (2 + net.neuron.n_aux) * net.n_neurons + net.n_fast
