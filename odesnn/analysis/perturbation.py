"""How a small perturbation of the initial state grows along a trial (sensitivity to initial conditions)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from .._checks import as_float_array, check_seed
from ..models.network import Network


class PerturbationGrowth(NamedTuple):
    """How a tiny perturbation of the initial voltages or of ``I_o`` grows (:func:`perturbation_growth`).

    Attributes
    ----------
    t : ndarray (T,)
        Times, ms.
    distance : ndarray (T,)
        ``max_n |s_n(t) - s'_n(t)|`` between the two runs, 1/ms. One spike more
        or less changes ``s`` by ``1/τ``.
    eps : float
        Size of the perturbation (largest change of any initial voltage, or
        of any entry of ``I_o``).
    perturbed : str
        What was perturbed: ``"v0"`` or ``"I0"``.
    """

    t: np.ndarray
    distance: np.ndarray
    eps: float
    perturbed: str = "v0"

    def growth(self):
        """``distance / eps`` at each time: the amplification of the perturbation."""
        return self.distance / self.eps

    def rate(self, ceiling=1e-3):
        """Growth rate (1/ms) of a least-squares line through ``log distance``.

        The fit uses the times where ``0 < distance < ceiling``, so that it stops
        before the difference saturates at whole spikes. Positive: perturbations
        grow (``1/rate`` is the e-folding time); negative: they die away. NaN
        when fewer than two times qualify.
        """
        keep = (self.distance > 0) & (self.distance < ceiling)
        if np.count_nonzero(keep) < 2:
            return float("nan")
        return float(np.polyfit(self.t[keep], np.log(self.distance[keep]), 1)[0])


def perturbation_growth(net, params, inputs=None, target=None, t_span=None, *, v0=None, eps=1e-9, seed=0,
                        t_eval=None, perturb="v0", backend="scipy", **options):
    """Simulate twice, the second time with the initial voltages (or ``I_o``) moved by at most ``eps``.

    A test of whether a network is chaotic in the regime of a trial: the
    exact gradient of a cost over that trial carries the same amplification.
    Arguments are those of :func:`odesnn.simulate`, plus ``eps`` (positive; the
    perturbation is ``eps`` times a random direction of unit largest entry,
    drawn from ``seed``), ``t_eval`` (default: 201 points over ``t_span``) and
    ``perturb``: ``"v0"`` moves the initial voltages, ``"I0"`` the tonic
    currents for the whole trial. Prefer ``"I0"`` for excitable networks that
    rest before their first input: resting neurons relax to their fixed points
    and can erase a perturbation of ``v0`` to the last bit before the activity
    that would amplify it starts. Use a tolerance well below ``eps`` (the
    defaults of the SciPy backend are), or the solver's own error drowns the
    perturbation.

    Returns
    -------
    PerturbationGrowth
    """
    from .._api import simulate
    from .._problem import check_t_span

    if not (isinstance(eps, (int, float)) and math.isfinite(eps) and eps > 0):
        raise ValueError(f"`eps` must be a positive number, got {eps!r}")
    if not isinstance(net, Network):
        raise TypeError(f"`net` must be an odesnn.Network, got {type(net).__name__}")
    t0, t1 = check_t_span(t_span)
    t_eval = np.linspace(t0, t1, 201) if t_eval is None else as_float_array("t_eval", t_eval)
    v0 = np.zeros(net.n_neurons) if v0 is None else as_float_array("v0", v0, (net.n_neurons,))
    direction = np.random.default_rng(check_seed("seed", seed)).uniform(-1.0, 1.0, net.n_neurons)
    direction /= np.max(np.abs(direction))
    if perturb == "v0":
        cases = ((params, v0), (params, v0 + eps * direction))
    elif perturb == "I0":
        cases = ((params, v0), (params._replace(I0=np.asarray(params.I0, dtype=float) + eps * direction), v0))
    else:
        raise ValueError(f"`perturb` must be 'v0' or 'I0', got {perturb!r}")
    runs = [simulate(net, p, inputs, target, t_span, v0=v, backend=backend, t_eval=t_eval, **options)
            for p, v in cases]
    distance = np.max(np.abs(np.asarray(runs[0].s) - np.asarray(runs[1].s)), axis=1)
    return PerturbationGrowth(np.asarray(runs[0].t, dtype=float), distance, float(eps), perturb)
