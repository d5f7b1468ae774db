"""Batched, compiled entry to the forward driver (vmap over trials, shared parameters)."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp

from ..models.network import Params, State
from ._batch import Batch
from ._forward import Forward
from ._forward import forward_batch as forward


def cast(params, batch: Batch, dtype):
    """Parameters and batch arrays as JAX arrays of ``dtype``."""
    params = Params(*(jnp.asarray(p, dtype) for p in params))
    batch = Batch(jnp.asarray(batch.t_grid, dtype), jnp.asarray(batch.inputs, dtype),
                  jnp.asarray(batch.targets, dtype), State(*(jnp.asarray(a, dtype) for a in batch.x0)),
                  jnp.asarray(batch.t_span, dtype))
    return params, batch


def forward_batch(model, opts, params, batch: Batch, t_eval, record=False) -> Forward:
    """The batched forward driver :func:`._forward.forward_batch` (not jitted)."""

    return forward(model, opts, params, batch, t_eval, record)


@functools.partial(jax.jit, static_argnums=(0, 1, 5))
def forward_jit(model, opts, params, batch, t_eval, record=False) -> Forward:
    """Compiled :func:`forward_batch`; ``model``, ``opts`` and ``record`` are static."""
    return forward_batch(model, opts, params, batch, t_eval, record)
