"""The currents into each neuron, split into external input, bias and recurrent parts."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .. import _dynamics as dyn
from ._common import _problem, _single


class CurrentDecomposition(NamedTuple):
    """Input current split into its external and recurrent parts, on ``t``.

    Attributes
    ----------
    t : ndarray (T,)
        Times in ms.
    external : ndarray (T, N)
        ``U i(t) + I_o``.
    recurrent : ndarray (T, N)
        ``W s + W_f s_f``.
    total : ndarray (T, N)
        ``I``, the current the dynamics use (``external + recurrent``).
    """

    t: np.ndarray
    external: np.ndarray
    recurrent: np.ndarray
    total: np.ndarray


def current_decomposition(sol, problem=None):
    """Balance of external input against recurrent current for every neuron over time.

    Both parts are computed with :func:`odesnn._dynamics.current` (so the
    structural masks apply): the external part with the synapses set to
    zero, the total with the simulated ``s, s_f``.

    Parameters
    ----------
    sol : Solution
        One trial, on its output times ``sol.t``.
    problem : Problem, optional
        Source of the parameters and of ``i(t)``; default
        ``sol.extra["problem"]`` (required for a JAX solution).

    Returns
    -------
    CurrentDecomposition
    """
    _single(sol)
    problem = _problem(sol, problem)
    net, params = problem.net, problem.params
    zs, zf = np.zeros(net.n_neurons), np.zeros(net.n_fast)
    ext, tot = [], []
    for k, t in enumerate(np.asarray(sol.t, dtype=float)):
        i_t = np.asarray(problem.inputs(t), dtype=float)
        ext.append(dyn.current(net, params, zs, zf, i_t))
        tot.append(dyn.current(net, params, np.asarray(sol.s[k]), np.asarray(sol.sf[k]), i_t))
    ext, tot = np.asarray(ext), np.asarray(tot)
    return CurrentDecomposition(np.asarray(sol.t, dtype=float), ext, tot - ext, tot)
