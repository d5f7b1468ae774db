"""Checkpoints: parameters, optimiser state and step, written atomically and read back on resume."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._io import save_npz
from ..models import Params


def checkpoint_path(out):
    return Path(out) / "checkpoint.npz"


def write_checkpoint(out, step, params, opt_state, readout=None):
    import jax

    leaves = jax.tree.leaves(opt_state)
    arrays = {f"param_{n}": np.asarray(v) for n, v in zip(Params._fields, params)}
    arrays.update({f"opt_{i}": np.asarray(leaf) for i, leaf in enumerate(leaves)})
    arrays.update(readout.state() if readout is not None else {})
    save_npz(checkpoint_path(out), step=np.int64(step), **arrays)


def read_checkpoint(out, opt_state_template, readout=None):
    import jax

    with np.load(checkpoint_path(out)) as data:
        if readout is not None:
            readout.load_state(data)
        step = int(data["step"])
        params = Params(*(data[f"param_{n}"] for n in Params._fields))
        leaves, treedef = jax.tree.flatten(opt_state_template)
        new = [np.asarray(data[f"opt_{i}"]).astype(np.asarray(leaf).dtype) for i, leaf in enumerate(leaves)]
    return step, params, jax.tree.unflatten(treedef, [jax.numpy.asarray(x) for x in new])


def truncate_metrics(path, step):
    if not path.exists():
        return
    keep = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] < step]
    path.write_text("".join(line + "\n" for line in keep))
