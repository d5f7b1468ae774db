"""A batch of task trials: the shared time grid, inputs, targets and per-trial information."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import check_integer, show


@dataclass(frozen=True)
class TaskBatch:
    """A batch of trials on a shared time grid (linear interpolation between samples)."""

    t: np.ndarray
    inputs: np.ndarray
    targets: np.ndarray
    info: dict = field(default_factory=dict)

    @property
    def size(self):
        return self.inputs.shape[0]


def check_rng_and_size(rng, batch_size):
    """Refuse, by name, a ``rng`` that is not a ``numpy.random.Generator`` or a ``batch_size`` that is not an
    integer >= 1 (the arguments of a task's ``sample``)."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"`rng` must be a numpy.random.Generator (numpy.random.default_rng(seed)), got {show(rng)}")
    return check_integer("batch_size", batch_size, 1)
