"""Spike-time sensitivities ``dt_k/dθ``: forward sensitivity through the events, or finite differences.

At a threshold event of neuron ``n`` at time ``t_k`` the event function is
``h(x) = v_n - θ``; by the implicit function theorem
``dt_k/dθ = -(∂h/∂x · S⁻)/ḣ⁻ = -(dv_n/dθ)/(dv_n/dt)`` just before the event,
with ``S = dx/dθ`` the state sensitivity carried by forward sensitivity
(:mod:`odesnn._scipy.sensitivity`). It holds for a gate of positive width and
for the zero-width threshold synapse alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._problem import make_problem
from .models.network import Params

__all__ = ["SpikeTimeGradients", "spike_time_gradients", "spike_times_fd"]


@dataclass
class SpikeTimeGradients:
    """Result of :func:`spike_time_gradients`.

    Attributes
    ----------
    times, neurons, signs : ndarray (K,)
        The spikes in time order: time (ms), neuron and threshold direction
        (as :class:`~odesnn.Solution` has them).
    grads : Params
        ``dt_k/dθ`` for every spike ``k`` and parameter group, each array with
        a leading spike axis: ``W`` (K, N, N), ``Wf`` (K, N, N_f), ``U``
        (K, N, M), ``O`` (K, K_out, N; zero, the readout does not move
        spikes), ``I0`` (K, N). In ms per unit of the parameter.
    method : {"forward", "fd"}
        Forward sensitivity through the events, or central differences.
    stats : dict
        ``n_spikes``, and ``fd_step`` for finite differences.
    """

    times: np.ndarray
    neurons: np.ndarray
    signs: np.ndarray
    grads: Params
    method: str = "forward"
    backend: str = "scipy"
    stats: dict = field(default_factory=dict)

    @property
    def n_spikes(self) -> int:
        return int(np.size(self.times))

    def __repr__(self):
        return f"SpikeTimeGradients(method={self.method!r}, n_spikes={self.n_spikes}, stats={self.stats})"


def spike_time_gradients(net, params, inputs=None, target=None, t_span=None, *, v0=None, s0=None, sf0=None,
                         method="forward", fd_step=None, **options) -> SpikeTimeGradients:
    """``dt_k/dθ``: the sensitivity of every spike time to every parameter (SciPy backend).

    Parameters
    ----------
    net, params, inputs, target, t_span, v0, s0, sf0
        As for :func:`odesnn.simulate`; ``net.gate`` may be a :class:`~odesnn.Gate`
        or ``None`` (the zero-width threshold synapse).
    method : {"forward", "fd"}
        ``"forward"``: forward sensitivity, ``dt_k/dθ = -(dv_n/dθ)/(dv_n/dt)``
        at each event; ``"fd"``: central differences of the spike times along
        every coordinate with step ``fd_step`` (default 1e-6), which needs the
        same spikes (count and neurons) on both sides of every step and
        raises ``ValueError`` otherwise.
    **options
        Solver options: ``solver`` (SciPy method, default ``"DOP853"``),
        ``rtol``, ``atol``, ``max_steps``, ``max_events``.

    Returns
    -------
    SpikeTimeGradients
    """
    from ._api import _scipy_options

    if method not in ("forward", "fd"):
        raise ValueError(f"`method`={method!r} unknown; known: ('forward', 'fd')")
    problem = make_problem(net, params, inputs, target, t_span, v0, s0, sf0)
    opts = dict(options)
    if "solver" in opts:
        opts["method"] = opts.pop("solver")
    opts = _scipy_options(opts, ("method", "rtol", "atol", "max_steps", "max_events"))
    if method == "forward":
        from ._scipy.sensitivity import sensitivity_run

        grad, spikes = sensitivity_run(problem, **opts)
        return SpikeTimeGradients(spikes["times"], spikes["neurons"], spikes["signs"], spikes["grads"], "forward",
                                  stats={"n_spikes": grad.stats["n_spikes"]})
    from ._fd import fd_directions
    from ._scipy.forward import simulate

    fd_step = 1e-6 if fd_step is None else float(fd_step)
    if not fd_step > 0:
        raise ValueError(f"`fd_step` must be positive, got {fd_step!r}")
    sol = simulate(problem, **opts)
    dirs = fd_directions(net, problem.params, full=True)
    fd = spike_times_fd(problem, dirs, (fd_step,), opts, strict=True)[fd_step]
    K = sol.n_spikes
    out = []
    for name, value in zip(Params._fields, problem.params):
        g = np.zeros((K,) + np.shape(value))
        for d, val in zip(dirs.get(name, []), fd.get(name, [])):
            g[(slice(None),) + tuple(np.nonzero(d))] = val[:, None]
        out.append(g)
    return SpikeTimeGradients(sol.spike_times, sol.spike_neurons, sol.spike_signs, Params(*out), "fd",
                              stats={"n_spikes": K, "fd_step": fd_step})


def spike_times_fd(problem, directions, steps, options, strict=False, reference=None, evaluate=None):
    """Central differences of the spike times along ``directions``: ``{h: {name: array (n_dir, K)}}``.

    A perturbed run whose spikes differ from the unperturbed ones in count or
    neurons gives NaN (or, with ``strict``, a ``ValueError``). ``reference``
    is the unperturbed :class:`~odesnn.Solution` (simulated if omitted);
    ``evaluate(params) -> Solution`` replaces the plain simulation (the
    gradient check shares its runs with the cost's differences this way).
    """
    from ._fd import finite_differences
    from ._scipy.forward import simulate

    evaluate = evaluate or (lambda p: simulate(problem.with_params(p), **options))
    ref = reference if reference is not None else simulate(problem, **options)

    def times(p):
        sol = evaluate(p)
        if sol.n_spikes != ref.n_spikes or np.any(sol.spike_neurons != ref.spike_neurons):
            if strict:
                raise ValueError(f"a step of the finite differences changed the spikes ({ref.n_spikes} -> "
                                 f"{sol.n_spikes}); use a smaller `fd_step`")
            return np.full(ref.n_spikes, np.nan)
        return np.asarray(sol.spike_times, dtype=float)

    return finite_differences(times, problem.params, directions, steps)


def project_spike_times(grads: Params, directions):
    """Projections ``{name: array (n_dir, K)}`` of spike-time gradients onto FD directions."""
    out = {}
    for name, dirs in directions.items():
        g = np.asarray(getattr(grads, name))
        out[name] = np.array([np.tensordot(g, d, axes=d.ndim) for d in dirs]).reshape(len(dirs), g.shape[0])
    return out
