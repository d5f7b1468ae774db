"""Data parallelism over devices: the batch axis sharded with ``jax.sharding``.

The forward and the adjoint are vmapped over trials with shared parameters,
so sharding the trial axis of the batch across devices is all it takes: jit
propagates the sharding and the parameter gradient is summed across devices.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from ._batch import Batch


def shard_batch(batch: Batch, devices=None) -> Batch:
    """Place ``batch`` with its trial axis split over ``devices`` (default: all); the batch size must divide evenly."""
    devices = jax.devices() if devices is None else list(devices)
    if len(devices) == 1:
        return batch
    if batch.size % len(devices):
        raise ValueError(f"batch size {batch.size} is not divisible by the number of devices {len(devices)}")
    mesh = Mesh(np.array(devices), ("trials",))
    split = NamedSharding(mesh, PartitionSpec("trials"))
    whole = NamedSharding(mesh, PartitionSpec())
    put = jax.device_put
    return Batch(put(batch.t_grid, whole), put(batch.inputs, split), put(batch.targets, split),
                 jax.tree.map(lambda a: put(a, split), batch.x0), put(batch.t_span, whole))
