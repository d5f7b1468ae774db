"""Gradient entry point: adjoint, forward sensitivity or finite differences."""

from __future__ import annotations

import warnings

import numpy as np

from ._api import _check_backend, _scipy_options
from ._checks import check_horizon, check_memory, check_number, show
from ._problem import make_problem
from ._solution import Gradient
from .models.network import Params


def gradient(net, params, inputs=None, target=None, t_span=None, *, v0=None, s0=None, sf0=None, w0=None,
             method="adjoint", backend="scipy", fd_step=None, adjoint_horizon=None, **options):
    """Cost ``C = ∫ l dt`` and its gradient with respect to the parameters.

    Parameters
    ----------
    net, params, inputs, target, t_span, v0, s0, sf0, w0
        As for :func:`odesnn.simulate`.
    method : {"adjoint", "forward", "fd"}
        ``"adjoint"``: the paper's backward equations (5)-(7) with the reset
        jump conditions; ``"forward"``: forward sensitivity (RTRL);
        ``"fd"``: central differences along every coordinate with step
        ``fd_step`` (default 1e-5; slow; for verification). All three serve
        the zero-width threshold synapse (``net.gate`` None) too, where the
        adjoint jumps at each spike by the event-time sensitivity
        (docs/zero-width.md), and a cost on spike times such as
        :class:`~odesnn.FirstSpikeCost` (SciPy backend).
    backend : {"scipy", "jax"}
        ``"jax"`` supports ``method="adjoint"`` (the same equations, compiled,
        at any gate width including zero; no costs on spike times).
    adjoint_horizon : float or None
        None (default): the exact gradient. A time ``h`` in ms: the
        discounted gradient, in which a cost at time ``t'`` credits the
        dynamics at ``t < t'`` with weight ``e^{-(t'-t)/h}`` (the adjoint
        gains ``+p/h`` in ``dp/dt``; forward sensitivities decay alike). It is
        the continuous-time analogue of truncated backpropagation through time:
        biased, but bounded where a chaotic network makes the exact gradient of
        a long trial grow with its Lyapunov exponent. Not available with
        ``method="fd"``.
    **options
        Solver options as for :func:`odesnn.simulate` (``method`` of the
        solver is passed as ``solver``).

    Returns
    -------
    Gradient
        ``cost``, ``grads`` (a :class:`Params` shaped like ``params``), the
        ``method`` and ``backend``, and where the method gives them the
        gradient with respect to the initial state (``x0``), the dense adjoint
        (``sol``) and the forward solution. It unpacks as
        ``cost, grads = odesnn.gradient(...)``.
    """
    _check_backend(backend)
    if not isinstance(method, str) or method not in ("adjoint", "forward", "fd"):
        raise ValueError(f"`method`={show(method)} unknown; known: ('adjoint', 'forward', 'fd')")
    if fd_step is not None and method != "fd":
        warnings.warn(f"`fd_step`={fd_step!r} is ignored with method={method!r}", stacklevel=2)
    adjoint_horizon = check_horizon("adjoint_horizon", adjoint_horizon)
    if adjoint_horizon is not None and method == "fd":
        raise ValueError(f"`adjoint_horizon`={adjoint_horizon!r} has no finite-difference counterpart; "
                         "use method='adjoint' or 'forward'")
    fd_step = 1e-5 if fd_step is None else check_number("fd_step", fd_step)
    problem = make_problem(net, params, inputs, target, t_span, v0, s0, sf0, w0)
    if backend == "jax":
        if method != "adjoint":
            raise ValueError(f"`method`={method!r} is not available with backend='jax'; use 'adjoint' (or the "
                             "SciPy backend for forward sensitivity and finite differences)")
        from .jax import value_and_grad

        if adjoint_horizon is not None:
            options = {**options, "adjoint_horizon": adjoint_horizon}
        value, grads = value_and_grad(problem.params, problem, **options)
        return Gradient(float(value), Params(*(np.asarray(g) for g in grads)), method="adjoint", backend="jax",
                        stats={"horizon": adjoint_horizon})
    opts = dict(options)
    if "solver" in opts:
        opts["method"] = opts.pop("solver")
    # max_rate: the forward simulation's rate guard (forward sensitivity keeps the default, 1e5 Hz)
    opts = _scipy_options(opts, ("method", "rtol", "atol", "max_steps", "max_events")
                          + (("max_rate",) if method != "forward" else ()))
    if method == "adjoint":
        from ._scipy.adjoint import adjoint
        from ._scipy.forward import simulate

        return adjoint(simulate(problem, **opts), horizon=adjoint_horizon)
    if method == "forward":
        from ._scipy.sensitivity import forward_sensitivity

        # the tangent: every state component (and the cost) against every parameter, several copies per step
        n_params = sum(int(np.size(p)) for p in problem.params)
        check_memory(8 * 8 * (2 * net.n_neurons + net.n_fast + 1) * n_params, "the forward sensitivity's tangent "
                     f"({2 * net.n_neurons + net.n_fast + 1} state components x {n_params} parameters, float64, "
                     "the solver's copies of it)", "n_neurons", net.n_neurons)

        return forward_sensitivity(problem, horizon=adjoint_horizon, **opts)
    from ._fd import fd_directions, finite_differences
    from ._scipy.forward import simulate

    def cost_fn(p):
        return simulate(problem.with_params(p), **opts).cost

    dirs = fd_directions(net, problem.params, full=True)
    fd = finite_differences(cost_fn, problem.params, dirs, steps=(fd_step,))[fd_step]
    out = []
    for name, value in zip(Params._fields, problem.params):
        g = np.zeros(np.shape(value))
        for d, val in zip(dirs.get(name, []), fd.get(name, [])):
            g[d != 0] = val
        out.append(g)
    sol = simulate(problem, **opts)
    return Gradient(sol.cost, Params(*out), method="fd", backend="scipy", forward=sol,
                    stats={"n_spikes": sol.n_spikes, "fd_step": fd_step})
