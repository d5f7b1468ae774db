"""A batch of task trials: the shared time grid, inputs, targets and per-trial information."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


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
