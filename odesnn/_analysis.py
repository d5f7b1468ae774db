"""Quantities computed from a :class:`~odesnn.Solution`."""

from __future__ import annotations

import numpy as np


def synaptic_charge(sol, neuron=0, fast=False, tail=True):
    """``∫ s dt`` of one neuron's synapse over the simulated interval (SciPy backend).

    Each piece of the dense output is a polynomial, integrated exactly by
    Gauss-Legendre quadrature. With ``tail=True`` the exponential decay after
    the end, ``τ s(t1)``, is added (valid when the neuron is outside its
    active zone at ``t1``), giving the total charge delivered.
    """
    segments = sol.extra.get("segments") if sol.extra else None
    if segments is None:
        raise ValueError("`sol` needs the dense output of the SciPy backend")
    net = sol.extra["problem"].net
    N = net.n_neurons
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
