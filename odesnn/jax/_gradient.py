"""``jax.custom_vjp`` around the per-trial cost: ``jax.grad`` of a loss on the costs runs the adjoint."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from ..models.network import State
from ._adjoint import backward
from ._batch import Batch, Trial
from ._run import forward_batch


def _costs(out):
    return jnp.where(out.status == 0, out.y[1], jnp.nan)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0, 1))
def trial_outputs(model, opts, params, batch: Batch):
    """``(costs, spike_counts)`` of each trial, both (B,): the cost ``C = ∫ l dt`` (NaN for a trial whose
    simulation failed) and the number of spikes, from the same forward pass.

    Differentiable in ``params`` and ``batch.x0`` by the adjoint method (the
    spike counts, returned as floats, carry no gradient); the cotangents of
    the signals and times are returned as zeros.
    """
    out = forward_batch(model, opts, params, batch, jnp.zeros(0, batch.t_grid.dtype), False)
    return _costs(out), _counts(out)


def trial_costs(model, opts, params, batch: Batch):
    """Cost ``C = ∫ l dt`` of each trial (B,), differentiable by the adjoint; see :func:`trial_outputs`."""
    return trial_outputs(model, opts, params, batch)[0]


def _counts(out):
    return out.spikes.count.astype(out.y[1].dtype)


def _record(model, opts, params, batch, t_eval):
    """The forward pass that keeps what the adjoint needs (and the states at ``t_eval``, which may be empty)."""
    return forward_batch(model, opts, params, batch, t_eval, True)


def _fwd(model, opts, params, batch):
    out = _record(model, opts, params, batch, jnp.zeros(0, batch.t_grid.dtype))
    return (_costs(out), _counts(out)), (params, batch, out)


def _per_trial_backward(model, opts, params, batch, out, ct):
    """Each trial's adjoint gradient, weighted by its cotangent ``ct`` (B,): ``(grads, grads_x0)``, leading axis B."""

    def one(inputs, targets, fwd, w):
        trial = Trial(batch.t_grid, inputs, targets)
        g, gx0 = backward(model, opts, params, trial, fwd, batch.t_span)
        return jax.tree.map(lambda a: w * a, g), jax.tree.map(lambda a: w * a, gx0)

    ct = jnp.where(jnp.isfinite(ct), ct, 0.0)
    return jax.vmap(one)(batch.inputs, batch.targets, out, ct)


def _bwd(model, opts, res, cts):
    params, batch, out = res
    g, gx0 = _per_trial_backward(model, opts, params, batch, out, cts[0])
    # a failed trial's cost is NaN, so a loss that depends on it has no gradient: NaN, not the adjoint of the
    # part of the trial that was simulated (JAX's cotangent of a mean is 1/B whatever the values)
    poison = jnp.where((out.status != 0) & (cts[0] != 0), jnp.nan, 0.0).astype(out.y[1].dtype)
    gx0 = jax.tree.map(lambda a: a + poison.reshape((-1,) + (1,) * (a.ndim - 1)), gx0)
    g = jax.tree.map(lambda a: jnp.sum(a, axis=0) + jnp.sum(poison), g)
    zero = jax.tree.map(jnp.zeros_like, batch)
    return g, zero._replace(x0=State(*gx0))


trial_outputs.defvjp(_fwd, _bwd)


def per_trial_gradients(model, opts, params, batch: Batch, t_eval=None):
    """``(costs, spike_counts, grads, states)``: every trial's cost and its own adjoint gradient.

    ``grads`` is a :class:`~odesnn.Params` whose arrays lead with the batch axis
    B; their mean over that axis is the gradient of ``jnp.mean(costs)``. The
    cost is that of one batched gradient (the backward pass is already run
    trial by trial; only the sum is left out). A failed trial has cost NaN and
    a zero gradient. ``states`` is the :class:`~odesnn.State` at ``t_eval``
    (arrays ``(B, E, N)``), taken from the same forward pass; empty (E = 0)
    when ``t_eval`` is None.
    """
    t_eval = jnp.zeros(0, batch.t_grid.dtype) if t_eval is None else t_eval
    out = _record(model, opts, params, batch, t_eval)
    costs, counts = _costs(out), _counts(out)
    g, _ = _per_trial_backward(model, opts, params, batch, out, jnp.where(jnp.isfinite(costs), 1.0, 0.0))
    return costs, counts, g, out.saved[0]
