"""Entry points: :func:`simulate` and :func:`gradient`, dispatching to a backend."""

from __future__ import annotations

import warnings

from ._checks import as_float_array, check_bool, check_integer, check_number, is_real, show
from ._problem import make_problem
from ._scipy._integrate import METHODS

BACKENDS = ("scipy", "jax")
GRADIENT_METHODS = ("adjoint", "forward", "fd")


def _check_backend(backend):
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"`backend`={backend!r} unknown; known: {BACKENDS}")


def simulate(net, params, inputs=None, target=None, t_span=None, *, v0=None, s0=None, sf0=None, w0=None,
             backend="scipy", **options):
    """Simulate a spiking network through its threshold events.

    Parameters
    ----------
    net : Network
        Structure of the network.
    params : Params
        Weights ``W, Wf, U, O, I0``.
    inputs : Signal, callable, (t, values) or array, optional
        Input ``i(t)`` with ``n_inputs`` channels (zero if omitted).
    target : Signal, callable, (t, values) or array, optional
        Desired output ``o_d(t)`` for the cost (zero if omitted).
    t_span : (float, float)
        Integration interval ``(t0, t1)`` in ms.
    v0, s0, sf0 : array, optional
        Initial state (``v0``: the neuron model's ``v_rest``, 0 for the
        dimensionless models; ``s0``, ``sf0``: zeros).
    w0 : array (m, N), optional
        Initial auxiliary variables of a neuron model that has them
        (``NeuronModel.aux``); default the model's ``aux_rest(v0)``.
    backend : {"scipy", "jax"}
        ``"scipy"``: adaptive ``OdeSolver`` stepping with root-found events
        (the precision reference).
    **options
        Backend options. SciPy: ``method`` (default ``"DOP853"``), ``rtol``
        (1e-10), ``atol`` (1e-12), ``t_eval``, ``max_steps``, ``max_events``,
        ``max_step``, ``max_rate`` (Hz, default 1e5: stop, with status 4,
        when a neuron's rate over its last 10 spikes exceeds it, so that a
        runaway or Zeno network stops early; ``None``: no such check),
        ``throw`` (raise :class:`SimulationError` on failure, default True;
        with False, a failed simulation returns its trajectory up to the time
        it stopped, with ``status`` and ``message``). JAX: see
        :class:`odesnn.jax.Options`.

    Returns
    -------
    Solution
    """
    _check_backend(backend)
    problem = make_problem(net, params, inputs, target, t_span, v0, s0, sf0, w0)
    if backend == "scipy":
        from ._scipy.forward import simulate as run

        return run(problem, **_scipy_options(options))
    from .jax import simulate as jsim  # pragma: no cover - exercised in JAX tests

    return jsim(problem, **options)


_SCIPY_OPTIONS = ("method", "rtol", "atol", "t_eval", "max_steps", "max_events", "throw", "max_step", "max_rate")


def _scipy_options(options, allowed=_SCIPY_OPTIONS):
    for key in options:
        if key not in allowed:
            raise TypeError(f"unknown option {key!r} for the scipy backend; known: {allowed}")
    for key in ("rtol", "atol"):
        if key in options:
            check_number(key, options[key])
    if "method" in options and (not isinstance(options["method"], str) or options["method"] not in METHODS):
        raise ValueError(f"`method`={show(options['method'])} unknown; known: {sorted(METHODS)}")
    for key in ("max_steps", "max_events"):
        if key in options:
            check_integer(key, options[key], 1)
    if "max_step" in options and not (is_real(options["max_step"]) and options["max_step"] > 0):
        raise ValueError(f"`max_step` must be a positive number of ms (inf: no limit), got {show(options['max_step'])}")
    if "max_rate" in options:
        check_number("max_rate", options["max_rate"], optional=True, note=" of spikes per second")
    if "throw" in options:
        check_bool("throw", options["throw"])
    if options.get("t_eval") is not None:
        as_float_array("t_eval", options["t_eval"])
    if options.get("rtol", 1e-10) < 1e-13:
        warnings.warn(f"`rtol`={options['rtol']!r} is below what float64 supports; SciPy raises it to ~2.2e-14",
                      stacklevel=3)
    return options
