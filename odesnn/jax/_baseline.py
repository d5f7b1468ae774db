"""Baseline for cross-checks and benchmarks: ``jax.grad`` through ``diffrax.diffeqsolve`` (RecursiveCheckpointAdjoint).

Events are handled in the simplest exact way for theta (QIF) neurons: the
voltage is never reset; the vector field reads it modulo the reset
translation ``θ - v_r`` (``f`` is periodic and the gate vanishes at both
ends), so the trajectory equals the reset one and the field is smooth.
Other neuron models are refused (their resets are not a period of ``f``).
"""

from __future__ import annotations

import functools

import diffrax
import jax
import jax.numpy as jnp

from .. import _dynamics as dyn
from ..models.network import State
from ..models.neurons import QIF
from ._batch import Batch, Trial
from ._model import Model, as_dtype, piece_of


def _check(model: Model):
    if type(model.net.neuron) is not QIF or not model.translation:
        raise NotImplementedError("the RecursiveCheckpointAdjoint baseline supports QIF (theta) neurons with a "
                                  "smooth gate only")


def _field(model, t, y, args):
    params, trial = args
    x, _ = y
    th = model.thresholds[0]
    period = th.value - th.reset
    v = th.reset + jnp.mod(x.v - th.reset, period)
    k = piece_of(trial.t_grid, t)
    i_t = model.input_at(trial, k, t)
    o_d = model.target_at(trial, k, t)
    xm = State(v, x.s, x.sf)
    out = dyn.vector_field(model.net, params, xm, i_t), dyn.running_cost(model.net, params, xm, o_d)
    return as_dtype(out, x.v.dtype)


def baseline_costs(model: Model, params, batch: Batch, *, solver="tsit5", rtol=1e-6, atol=1e-8, max_steps=16384):
    """Per-trial costs by ``diffeqsolve``; differentiate with ``jax.grad`` (RecursiveCheckpointAdjoint)."""
    _check(model)
    from ._options import SOLVERS

    term = diffrax.ODETerm(lambda t, y, args: _field(model, t, y, args))
    grid = batch.t_grid
    jumps = grid if grid.shape[0] > 1 else None
    controller = diffrax.PIDController(rtol=rtol, atol=atol, jump_ts=jumps)
    dtype = batch.t_grid.dtype

    def one(inputs, targets, x0):
        y0 = (x0, jnp.zeros((), dtype))
        sol = diffrax.diffeqsolve(term, SOLVERS[solver](), batch.t_span[0], batch.t_span[1], None, y0,
                                  args=(params, Trial(grid, inputs, targets)), stepsize_controller=controller,
                                  saveat=diffrax.SaveAt(t1=True), max_steps=max_steps,
                                  adjoint=diffrax.RecursiveCheckpointAdjoint())
        return sol.ys[1][-1]

    return jax.vmap(one)(batch.inputs, batch.targets, batch.x0)


@functools.partial(jax.jit, static_argnums=(0,), static_argnames=("solver", "rtol", "atol", "max_steps"))
def baseline_value_and_grad(model, params, batch, **kw):
    """Compiled batch-mean cost and its gradient through the solver (the benchmark baseline)."""
    return jax.value_and_grad(lambda p: jnp.mean(baseline_costs(model, p, batch, **kw)))(params)
