"""Public functions of the JAX backend: :func:`simulate`, :func:`cost`, :func:`value_and_grad`."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .._checks import as_float_array, check_bool, show
from .._problem import Problem
from .._solution import RESULTS, SimulationError, Solution
from . import _rate
from ._batch import Batch, batch_from_problems
from ._gradient import per_trial_gradients, trial_costs, trial_outputs
from ._model import CALLABLE, Model, TimeFunction
from ._options import make_options
from ._run import cast, forward_jit

__all__ = ["simulate", "cost", "value_and_grad", "loss_and_grad", "per_trial_value_and_grad"]


def _as_batch(problem_or_batch, model=None):
    if isinstance(problem_or_batch, Batch):
        if not isinstance(model, Model):
            raise TypeError(f"a Batch needs `model=Model(net, input_kind, target_kind)`, got {show(model)}")
        return problem_or_batch, model
    problems = [problem_or_batch] if isinstance(problem_or_batch, Problem) else problem_or_batch
    if not (isinstance(problems, (list, tuple)) and problems and all(isinstance(p, Problem) for p in problems)):
        raise TypeError(f"`problem_or_batch` must be an odesnn.Problem (odesnn.make_problem), a non-empty list of "
                        f"them, or an odesnn.jax.Batch, got {show(problem_or_batch)}")
    batch, kinds = batch_from_problems(problems)
    first = problems[0]
    fns = [None if kind != CALLABLE else TimeFunction(sig.fn) for kind, sig in zip(kinds, (first.inputs, first.target))]
    return batch, Model(first.net, *kinds, input_tau=first.inputs.tau, input_fn=fns[0], target_fn=fns[1])


def simulate(problem_or_batch, *, params=None, model=None, t_eval=None, throw=True, options=None, **kw) -> Solution:
    """Simulate a Problem, a list of Problems or a :class:`Batch` with the JAX backend.

    Parameters
    ----------
    problem_or_batch : Problem, sequence of Problem, or Batch
        A batch needs ``params`` and ``model``.
    t_eval : array, optional
        Output times (default: 201 points over ``t_span``).
    throw : bool
        Raise :class:`~odesnn.SimulationError` if any trial fails. With
        ``throw=False`` a failed simulation returns what was computed before
        it stopped, with ``status`` and ``message`` as the SciPy backend sets
        them, and nothing past the stop: for one trial, the output times up to
        the stop and then the stop time itself with the state there; for a
        batch, the output times up to the earliest stop of any trial (each
        trial's own stop time is ``extra["t_final"]``, its status
        ``extra["status"]``).
    options : Options, or keyword options (``solver``, ``rtol``, ``atol``, ``max_steps``, ...)

    Returns
    -------
    Solution
        Arrays carry a leading batch axis ``B`` when more than one trial is
        given (``spike_times`` etc. are then lists of arrays per trial).
    """
    opts = make_options(options, **kw)
    throw = check_bool("throw", throw)
    batch, model = _as_batch(problem_or_batch, model)
    if params is None:
        if not isinstance(problem_or_batch, (Problem, list, tuple)):
            raise TypeError("`params` is required with a Batch")
        first = problem_or_batch if isinstance(problem_or_batch, Problem) else problem_or_batch[0]
        params = first.params
    params = model.net.check_params(params)
    dtype = opts.real_dtype()
    t_eval = _check_t_eval(np.linspace(*(float(x) for x in batch.t_span), 201) if t_eval is None else t_eval,
                           batch.t_span)
    p, b = cast(params, batch, dtype)
    out = forward_jit(model, opts, p, b, jnp.asarray(t_eval, dtype))
    return _solution(model, params, out, t_eval, throw, single=isinstance(problem_or_batch, Problem), opts=opts)


def _check_t_eval(t_eval, t_span):
    """``t_eval`` as a float array, or a ValueError naming it: 1-D, sorted and inside ``t_span``."""
    t0, t1 = (float(x) for x in t_span)
    te = as_float_array("t_eval", t_eval)
    if te.ndim != 1 or np.any(te < t0) or np.any(te > t1) or np.any(np.diff(te) < 0):
        span = f"[{te.min():.6g}, {te.max():.6g}]" if te.size and te.ndim == 1 else "none"
        raise ValueError(f"`t_eval` must be 1-D, sorted and inside t_span=({t0}, {t1}); "
                         f"got shape {te.shape}, range {span}")
    return te


def _failure(out, b, opts):
    """What stopped trial ``b``, worded as the SciPy backend words it: the cause, the time and the cap."""
    status, t = int(out.status[b]), float(out.t[b])
    if status == 1:  # name the busiest neuron and its count, as the SciPy backend does
        message = f"spike buffer max_spikes={opts.max_spikes} exceeded at t={t:.12g} ms"
        n_rec = min(int(out.spikes.count[b]), out.spikes.neuron.shape[1])
        neurons = np.asarray(out.spikes.neuron[b, :n_rec]).astype(int)
        if neurons.size:
            busiest = int(np.bincount(neurons).argmax())
            message += (f" (neuron {busiest} had {int(np.sum(neurons == busiest))} of the {n_rec} recorded "
                        f"spikes); raise `max_spikes` or check for runaway excitation")
        return message
    if status == 2:
        return f"max_steps={opts.max_steps} reached at t={t:.12g} ms (after {int(out.n_steps[b])} steps)"
    if status == -1:
        return f"integration step failed at t={t:.12g} ms: the step size fell to zero"
    if status == _rate.RATE_STATUS:
        n = min(int(out.spikes.count[b]), out.spikes.t.shape[1])
        order = np.argsort(out.spikes.t[b, :n], kind="stable")
        text = _rate.message(out.spikes.t[b, :n][order], out.spikes.neuron[b, :n][order], out.saved[0].v.shape[-1],
                             opts.max_rate)
        if text is not None:
            return text
    return f"{RESULTS.get(status, 'failure')} (stopped at t={t:.12g} ms after {int(out.n_steps[b])} steps)"


def _solution(model, params, out, t_eval, throw, single, opts):
    out = jax.tree.map(np.asarray, out)
    status = out.status
    bad = np.flatnonzero(status != 0)
    message = RESULTS[0]
    t_out = np.asarray(t_eval, dtype=float)
    x = out.saved[0]
    if bad.size:
        b = int(bad[0])
        message = _failure(out, b, opts) if single else f"trial {b}: {_failure(out, b, opts)}"
        if throw:
            raise SimulationError(message)
        # nothing past the stop: the outputs end where the (earliest) failed trial stopped
        t_stop = float(np.min(out.t[bad]))
        keep = t_out <= t_stop
        t_out = t_out[keep]
        x = jax.tree.map(lambda a: a[:, keep], x)
        if single and (t_out.size == 0 or t_out[-1] < t_stop):  # and the state where it stopped
            t_out = np.append(t_out, t_stop)
            x = jax.tree.map(lambda a, end: np.concatenate([a, end[:, None]], axis=1), x, out.y[0])
        if not single:
            message += (f"; the outputs end at t={t_out[-1] if t_out.size else t_stop:.12g} ms, before the earliest "
                        f"stop of a failed trial (each trial's stop: extra['t_final'])")
    o = np.einsum("kn,ben->bek", np.asarray(params.O), x.s)
    sp_t, sp_n, sp_s = [], [], []
    for b in range(status.shape[0]):
        n = int(out.spikes.count[b])
        order = np.argsort(out.spikes.t[b, :n], kind="stable")
        sp_t.append(out.spikes.t[b, :n][order])
        sp_n.append(out.spikes.neuron[b, :n][order].astype(int))
        sp_s.append(out.spikes.sign[b, :n][order].astype(int))
    stats = dict(n_steps=out.n_steps, n_rejected=out.n_rejected, n_events=out.spikes.count)
    pick = (lambda a: a[0]) if single else (lambda a: a)
    return Solution(
        t=t_out, v=pick(x.v), s=pick(x.s), sf=pick(x.sf), o=pick(o),
        w=None if x.w is None else pick(x.w),
        spike_times=pick(sp_t) if single else sp_t, spike_neurons=pick(sp_n) if single else sp_n,
        spike_signs=pick(sp_s) if single else sp_s,
        cost=float(out.y[1][0]) if single else out.y[1],
        stats={k: (int(v[0]) if single else v) for k, v in stats.items()},
        status=int(status[bad[0]]) if bad.size else 0, message=message, sol=None, backend="jax",
        extra={"status": status, "t_final": out.t},
    )


def cost(params, batch: Batch, model: Model, options=None, **kw):
    """Per-trial costs ``C = ∫ l dt`` (B,), differentiable by the adjoint (``jax.grad``-able, jit-able).

    ``params`` and ``batch`` must already be JAX arrays of one floating dtype
    (see :func:`odesnn.jax._run.cast`). A failed trial's cost is NaN.
    """
    return trial_costs(model, make_options(options, **kw), params, batch)


def value_and_grad(params, problem_or_batch, *, model=None, loss=jnp.mean, options=None, **kw):
    """``loss(costs)`` and its gradient with respect to ``params`` (adjoint method), compiled.

    ``loss`` maps the per-trial costs (B,) to a scalar (default: the batch mean).
    Returns ``(value, grads)`` with ``grads`` a :class:`~odesnn.Params` of arrays.
    """
    if not callable(loss):
        raise TypeError(f"`loss` must be a function of the per-trial costs (B,), got {show(loss)}")
    value, grads, _ = value_grad_and_spike_counts(params, problem_or_batch, model=model, loss=loss,
                                                  options=options, **kw)
    return value, grads


loss_and_grad = value_and_grad


def _prepare(params, problem_or_batch, model, options, kw):
    opts = make_options(options, **kw)
    batch, model = _as_batch(problem_or_batch, model)
    params = model.net.check_params(params)
    p, b = cast(params, batch, opts.real_dtype())
    return model, opts, p, b


def value_grad_and_spike_counts(params, problem_or_batch, *, model=None, loss=jnp.mean, options=None, **kw):
    """``(value, grads, spike_counts)``: :func:`value_and_grad` plus the spikes of each trial (B,),
    counted in the gradient's own forward pass (no second simulation)."""
    model, opts, p, b = _prepare(params, problem_or_batch, model, options, kw)
    (value, counts), grads = _value_and_grad_jit(model, opts, loss, p, b)
    return value, grads, counts


def per_trial_value_and_grad(params, problem_or_batch, *, model=None, t_eval=None, options=None, **kw):
    """``(costs, grads, spike_counts)`` with every trial's own adjoint gradient, compiled.

    ``costs`` and ``spike_counts`` are (B,); ``grads`` is a :class:`~odesnn.Params`
    whose arrays lead with the batch axis B. Their mean over that axis equals
    the gradient of :func:`value_and_grad` with the default (mean) loss, at
    the cost of one batched gradient. Use it for gradient statistics (noise,
    outliers) or for per-trial clipping; a failed trial has cost NaN and a
    zero gradient.

    With ``t_eval`` (1-D, sorted, inside ``t_span``) a fourth output is
    returned: the :class:`~odesnn.State` of every trial at those times (arrays
    ``(B, E, N)``), taken from the gradient's own forward pass, so no second
    simulation is needed (for a readout fitted to the states, say).
    """
    model, opts, p, b = _prepare(params, problem_or_batch, model, options, kw)
    te = None if t_eval is None else jnp.asarray(_check_t_eval(t_eval, b.t_span), opts.real_dtype())
    costs, counts, grads, states = _per_trial_compiled(model, opts)(p, b, te)
    return (costs, grads, counts) if t_eval is None else (costs, grads, counts, states)


def _per_trial_compiled(model, opts):
    key = ("per_trial", model, opts)
    if key not in _CACHE:
        _CACHE[key] = jax.jit(lambda p, b, te: per_trial_gradients(model, opts, p, b, te))
    return _CACHE[key]


def _value_and_grad_jit(model, opts, loss, p, b):
    """``((loss, spike_counts), grads)`` of the compiled adjoint gradient."""
    return _compiled(model, opts, loss)(p, b)


_CACHE: dict = {}


def _compiled(model, opts, loss):
    key = (model, opts, loss)
    if key not in _CACHE:
        def fn(p, b):
            costs, counts = trial_outputs(model, opts, p, b)
            return loss(costs), counts
        _CACHE[key] = jax.jit(jax.value_and_grad(fn, has_aux=True))
    return _CACHE[key]
