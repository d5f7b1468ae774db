"""The rate guard of the JAX driver: each neuron's latest spike times, and a stop when one fires too fast.

A runaway network (strong positive feedback) or a Zeno one (a neuron that
reaches its threshold ever faster after each reset) would otherwise fill the
spike buffer or the step budget only after a long time, or never. Each trial
keeps, per neuron, its latest :data:`~odesnn._scipy._integrate.RATE_WINDOW`
spike times in a small ring buffer ``(B, N, K)``; when a neuron's latest ``K``
spikes span less than ``(K - 1) / max_rate``, its trial stops with status 4,
as the SciPy backend does.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .._scipy._integrate import RATE_WINDOW, RateGuard

RATE_STATUS = 4


def init(batch_size, n_neurons, dtype):
    """An empty ring buffer: times ``(B, N, K)`` (-inf) and spike counts ``(B, N)``."""
    return (jnp.full((batch_size, n_neurons, RATE_WINDOW), -jnp.inf, dtype),
            jnp.zeros((batch_size, n_neurons), jnp.int32))


def record(buffer, mask, root, max_rate):
    """Add the spikes of one step of each trial and check their rates.

    ``mask`` (B, J, N): the accepted spikes of the step (at most one per neuron), ``root`` (B, J, N) their
    times. Returns the new buffer and, per trial (B,), whether a neuron's rate over its latest ``K`` spikes
    now exceeds ``max_rate`` (Hz).
    """
    times, count = buffer
    K = RATE_WINDOW
    spiked = jnp.any(mask, axis=1)  # (B, N)
    t = jnp.min(jnp.where(mask, root, jnp.inf), axis=1)
    slot = (jnp.arange(K) == (count % K)[..., None]) & spiked[..., None]
    times = jnp.where(slot, t[..., None], times)
    count = count + spiked.astype(jnp.int32)
    oldest = jnp.take_along_axis(times, (count % K)[..., None], axis=-1)[..., 0]
    too_fast = spiked & (count >= K) & ((t - oldest) * max_rate < 1000.0 * (K - 1))
    return (times, count), jnp.any(too_fast, axis=1)


def message(times, neurons, n_neurons, max_rate):
    """The SciPy backend's message for the first spike of a trial (``times`` in time order) at which a neuron's
    rate exceeds ``max_rate``; None if none does."""
    guard = RateGuard(n_neurons, max_rate)
    for t, n in zip(np.asarray(times, dtype=float), np.asarray(neurons, dtype=int)):
        text = guard.spike(int(n), float(t))
        if text is not None:
            return text
    return None
