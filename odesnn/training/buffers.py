"""The JAX buffers of a training run (spikes and accepted steps per trial), sized to the run unless the
configuration fixes them: a fixed buffer that a busy network's trial overflows fails that trial."""

from __future__ import annotations

import numpy as np

from .config import TrainConfig, trial_duration

#: Mean rate per neuron (Hz) over a whole trial that the default spike buffer holds (:func:`spike_buffer`). The
#: auto-encoder's default network fires at up to 2433 Hz at the start (its input-only rate, see
#: :func:`default_config`); a trial beyond this is a runaway, which stops with a message naming ``max_spikes``.
BUFFER_RATE_HZ = 3000.0


def spike_buffer(cfg: TrainConfig) -> int:
    """The JAX spike buffer per trial: ``cfg.max_spikes``, or (``None``) room for every neuron firing at
    :data:`BUFFER_RATE_HZ` over the whole trial, ``ceil(3000 Hz * n_neurons * duration)``."""
    if cfg.max_spikes is not None:
        return cfg.max_spikes
    return max(1, int(np.ceil(BUFFER_RATE_HZ * cfg.n_neurons * trial_duration(cfg) / 1000.0)))


def step_budget(cfg: TrainConfig) -> int:
    """The JAX cap on accepted steps per trial: ``cfg.max_steps``, or (``None``) ``max(65536, 2 * spike_buffer)``.

    A step of the JAX driver holds at most one spike per neuron and must resolve each spike's gate pulse: the
    default auto-encoder took 1.6 steps per spike in its busiest trials at the start (105545 steps for 65153
    spikes) and 2.4 in its quietest (34751 for 14450).
    """
    if cfg.max_steps is not None:
        return cfg.max_steps
    return max(65536, 2 * spike_buffer(cfg))
