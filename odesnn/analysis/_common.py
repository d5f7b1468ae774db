"""Quantities computed from a :class:`~odesnn.Solution`.

Spike statistics (:func:`firing_rates`, :func:`isi_stats`) need only the
spike times and so work on the result of either backend. The current
decomposition needs the parameters and the input signal: they are taken from
``sol.extra["problem"]`` (SciPy backend) or passed as ``problem=``. The
quadratures (:func:`synaptic_charge`, :func:`spike_gradient_contributions`)
need the piecewise dense output of the SciPy backend.

Times are in ms and rates in Hz throughout.
"""

from __future__ import annotations

import numpy as np

_GAUSS = np.polynomial.legendre.leggauss(8)


# -- helpers -----------------------------------------------------------------------------------------------------


def _solution(sol, name="sol"):
    from .._solution import Solution

    if not isinstance(sol, Solution):
        raise TypeError(f"`{name}` must be an odesnn.Solution (from odesnn.simulate), got {type(sol).__name__}")
    return sol


def _neuron_index(name, value, n_neurons, optional=False):
    """``value`` as a neuron index in ``[0, n_neurons)``, or an error naming ``name``."""
    if value is None and optional:
        return None
    if not (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and 0 <= value < n_neurons):
        raise ValueError(f"`{name}` must be a neuron index in [0, {n_neurons}), got {value!r}")
    return int(value)


def _single(sol, name="sol"):
    _solution(sol, name)
    if np.ndim(sol.v) != 2:
        raise ValueError(f"`{name}` must hold one trial (v of shape (T, N)), got v of shape {np.shape(sol.v)}; "
                         "index a batched JAX solution trial by trial")
    return sol


def _problem(sol, problem):
    if problem is not None:
        from .._problem import Problem

        if not isinstance(problem, Problem):
            raise TypeError(f"`problem` must be an odesnn.Problem (odesnn.make_problem), got {type(problem).__name__}")
        return problem
    problem = (sol.extra or {}).get("problem")
    if problem is None:
        raise ValueError("`sol` carries no problem (JAX backend): pass `problem=` (an odesnn Problem)")
    return problem


def _dense(sol):
    _solution(sol)
    if not sol.extra or sol.extra.get("segments") is None:
        raise ValueError("`sol` needs the dense output of the SciPy backend (sol.extra['segments'])")
    return sol.extra["segments"]


def _spike_mask(sol, sign):
    if sign is None:
        return np.ones(sol.n_spikes, dtype=bool)
    if isinstance(sign, bool) or sign not in (1, -1):
        raise ValueError(f"`sign` must be None, +1 or -1, got {sign!r}")
    return np.asarray(sol.spike_signs) == sign


def _trains(sol, sign=None):
    """Spike times of each neuron, a list of sorted arrays."""
    _single(sol)
    mask = _spike_mask(sol, sign)
    times, neurons = np.asarray(sol.spike_times)[mask], np.asarray(sol.spike_neurons)[mask]
    return [np.sort(times[neurons == n]) for n in range(sol.v.shape[-1])]


# -- spike statistics --------------------------------------------------------------------------------------------


# -- input against recurrent current ------------------------------------------------------------------------------


# -- spike-time precision against solver tolerance ----------------------------------------------------------------


# -- per-spike contributions to the gradient ----------------------------------------------------------------------


def _windows(times, t0, t1, width):
    if width is None:  # split the interval at the midpoints between consecutive spikes
        mids = 0.5 * (times[1:] + times[:-1])
        lo = np.concatenate([[t0], mids])
        hi = np.concatenate([mids, [t1]])
    else:
        if not (np.isscalar(width) and width > 0):
            raise ValueError(f"`window` must be None or a positive half-width in ms, got {width!r}")
        lo, hi = np.maximum(times - width, t0), np.minimum(times + width, t1)
    return np.stack([lo, hi], axis=1) if times.size else np.zeros((0, 2))


def _state_slices(net):
    N, Nf = net.n_neurons, net.n_fast
    return ((0, N), (N, 2 * N), (2 * N, 2 * N + Nf))


# -- weight structure ---------------------------------------------------------------------------------------------


# -- sensitivity to the initial state -------------------------------------------------------------------------------

