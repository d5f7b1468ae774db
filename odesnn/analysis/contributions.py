"""The gradient, split into the contributions of individual spikes or time windows."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _dynamics as dyn
from ..models.network import State
from ._common import _GAUSS, _dense, _neuron_index, _problem, _state_slices, _windows


class SpikeContributions(NamedTuple):
    """Gradient of one parameter group integrated over a window around each spike.

    Attributes
    ----------
    spike_times, spike_neurons : ndarray (n_spikes,)
        The spikes, as in the :class:`~odesnn.Solution`.
    windows : ndarray (n_spikes, 2)
        Integration window of each spike in ms.
    values : ndarray (n_spikes, ...)
        ``∫_window ∂H/∂θ dt`` for the parameter group (shape of the group after the spike axis).
    total : ndarray
        ``∫ ∂H/∂θ dt`` over the whole interval (equals the adjoint gradient up to quadrature error).
    """

    spike_times: np.ndarray
    spike_neurons: np.ndarray
    windows: np.ndarray
    values: np.ndarray
    total: np.ndarray


def spike_gradient_contributions(sol, adjoint=None, param="I0", window=None, neuron=None):
    """Per-spike contributions to the gradient, from the dense forward and adjoint solutions.

    The gradient of the cost is ``dC/dθ = ∫ ∂H/∂θ dt`` with the density of
    :func:`odesnn._dynamics.gradient_density` (e.g. ``f_I p_v`` for ``I_o``).
    This integrates the density over a window around each spike by
    Gauss-Legendre quadrature on every smooth piece of the solution.

    Parameters
    ----------
    sol : Solution
        SciPy-backend solution (it carries the dense output).
    adjoint : Gradient, optional
        From :func:`odesnn.gradient` with ``method="adjoint"`` (computed if omitted).
    param : {"I0", "W", "Wf", "U", "O"}
        Parameter group.
    window : float or None
        ``None``: the interval is split at the midpoints between consecutive
        spikes (the first window starts at ``t0``, the last ends at ``t1``),
        so the contributions add up to the whole gradient. A number: the half-width in ms of a window centred on each
        spike (windows may overlap or leave gaps).
    neuron : int, optional
        Use only the spikes of this neuron (default: the spikes of all).

    Returns
    -------
    SpikeContributions
    """
    from .._scipy.adjoint import adjoint as run_adjoint
    from ..models.network import Params

    if not isinstance(param, str) or param not in Params._fields:
        raise ValueError(f"`param`={param!r} unknown; known: {Params._fields}")
    segments = _dense(sol)
    problem = _problem(sol, None)
    net, params = problem.net, problem.params
    neuron = _neuron_index("neuron", neuron, net.n_neurons, optional=True)
    _windows(np.zeros(0), problem.t0, problem.t1, window)  # a bad window is refused before the adjoint runs
    adj = run_adjoint(sol) if adjoint is None else adjoint
    times, who = np.asarray(sol.spike_times, dtype=float), np.asarray(sol.spike_neurons, dtype=int)
    if neuron is not None:
        times, who = times[who == neuron], who[who == neuron]
    wins = _windows(times, problem.t0, problem.t1, window)
    cuts = np.unique(np.concatenate([[seg.t0 for seg in segments], [seg.t1 for seg in segments], wins.ravel()]))
    pieces, ints = [], []
    nodes, weights = _GAUSS
    for seg in segments:
        inner = cuts[(cuts > seg.t0) & (cuts < seg.t1)]
        edges = np.concatenate([[seg.t0], inner, [seg.t1]])
        for a, b in zip(edges[:-1], edges[1:]):
            if b <= a:
                continue
            half = 0.5 * (b - a)
            ts = a + half * (nodes + 1)
            X = np.asarray(seg.interp(ts)).T
            P = adj.sol(ts)
            acc = 0.0
            for j, t in enumerate(ts):
                x = State(*(X[j, lo:hi] for lo, hi in _state_slices(net)))
                p = State(P.v[j], P.s[j], P.sf[j])
                g = dyn.gradient_density(net, params, x, problem.inputs(t), problem.target(t), p)
                acc = acc + weights[j] * np.asarray(getattr(g, param))
            pieces.append(0.5 * (a + b))
            ints.append(half * acc)
    mids, ints = np.asarray(pieces), np.asarray(ints)
    values = np.stack([ints[(mids > lo) & (mids < hi)].sum(axis=0) for lo, hi in wins]) if wins.size else \
        np.zeros((0,) + np.shape(getattr(params, param)))
    return SpikeContributions(times, who, wins, values, ints.sum(axis=0))
