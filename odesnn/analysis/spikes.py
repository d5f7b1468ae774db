"""Spike statistics: firing rates, inter-spike intervals, and the charge a gated synapse delivers."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._checks import check_bool
from ._common import _dense, _neuron_index, _single, _trains


def synaptic_charge(sol, neuron=0, fast=False, tail=True):
    """``∫ s dt`` of one neuron's synapse over the simulated interval (SciPy backend).

    Each piece of the dense output is a polynomial, integrated exactly by
    Gauss-Legendre quadrature. With ``tail=True`` the exponential decay after
    the end, ``τ s(t1)``, is added (valid when the neuron is outside its
    active zone at ``t1``), giving the total charge delivered.
    """
    segments = _dense(sol)
    net = sol.extra["problem"].net
    N = net.n_neurons
    neuron = _neuron_index("neuron", neuron, N)
    if check_bool("fast", fast) and net.n_fast == 0:
        raise ValueError("`fast`=True: the network has no fast synapses (tau_f is None)")
    check_bool("tail", tail)
    col = (2 * N if fast else N) + neuron
    nodes, weights = np.polynomial.legendre.leggauss(12)
    total = 0.0
    for seg in segments:
        if seg.t1 <= seg.t0:
            continue
        half = 0.5 * (seg.t1 - seg.t0)
        ts = seg.t0 + half * (nodes + 1)
        total += half * float(weights @ np.asarray(seg.interp(ts))[col])
    if tail:
        tau = net.tau_f if fast else net.tau
        end = sol.s[-1, neuron] if not fast else sol.sf[-1, neuron]
        total += tau * float(end)
    return total


def firing_rates(sol, sign=None, t_span=None):
    """Firing rate of each neuron in Hz.

    Parameters
    ----------
    sol : Solution
        One trial of either backend.
    sign : {None, +1, -1}
        Count only the crossings of rising (+1) or falling (-1) thresholds;
        ``None`` counts all.
    t_span : (float, float), optional
        Window in ms (default: the simulated interval ``sol.t[0], sol.t[-1]``).

    Returns
    -------
    ndarray (N,)
        ``1000 * count / duration`` (spikes per second).
    """
    _single(sol)
    if t_span is None:
        t0, t1 = float(sol.t[0]), float(sol.t[-1])
    else:
        from .._problem import check_t_span

        t0, t1 = check_t_span(t_span)
    if not t1 > t0:
        raise ValueError(f"`t_span` must have t1 > t0, got {(t0, t1)!r}")
    counts = [np.count_nonzero((tr >= t0) & (tr <= t1)) for tr in _trains(sol, sign)]
    return 1000.0 * np.asarray(counts, dtype=float) / (t1 - t0)


class ISIStats(NamedTuple):
    """Inter-spike interval statistics per neuron (NaN where undefined).

    Attributes
    ----------
    mean : ndarray (N,)
        Mean interval in ms (needs 2 spikes).
    cv : ndarray (N,)
        Coefficient of variation, std/mean (needs 3 spikes).
    intervals : list of ndarray
        The intervals of each neuron in ms.
    """

    mean: np.ndarray
    cv: np.ndarray
    intervals: list


def isi_stats(sol, sign=None):
    """Mean and coefficient of variation of the inter-spike intervals of each neuron.

    Parameters
    ----------
    sol : Solution
        One trial of either backend.
    sign : {None, +1, -1}
        Use only the crossings of rising (+1) or falling (-1) thresholds.

    Returns
    -------
    ISIStats
        ``mean`` (ms), ``cv`` (dimensionless, population std over mean) and
        the ``intervals`` of each neuron.
    """
    intervals = [np.diff(tr) for tr in _trains(sol, sign)]
    mean = np.array([isi.mean() if isi.size >= 1 else np.nan for isi in intervals])
    cv = np.array([isi.std() / isi.mean() if isi.size >= 2 else np.nan for isi in intervals])
    return ISIStats(mean, cv, intervals)
