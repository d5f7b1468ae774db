"""Checkpoints: parameters, optimiser state and step, written atomically and read back on resume.

Each write keeps the checkpoint it replaces as ``checkpoint.prev.npz``. A
checkpoint that cannot be read (a truncated or overwritten file) is replaced,
on resume, by that previous one, with a warning that names both files and the
step the run resumes from.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from .._io import save_npz
from ..models import Params


class CheckpointError(ValueError):
    """No checkpoint of a run can be read; the message names the files and what to do."""


def checkpoint_path(out):
    return Path(out) / "checkpoint.npz"


def previous_checkpoint_path(out):
    """The checkpoint that the latest write replaced, kept in case the latest cannot be read."""
    return Path(out) / "checkpoint.prev.npz"


def has_checkpoint(out):
    """Whether a run directory holds a checkpoint to resume from (the latest or the previous one)."""
    return checkpoint_path(out).exists() or previous_checkpoint_path(out).exists()


def _keep_previous(out):
    """Keep the current checkpoint as ``checkpoint.prev.npz`` (a hard link where the file system allows),
    replacing the older one atomically, so that ``checkpoint.npz`` itself is never missing."""
    current, prev = checkpoint_path(out), previous_checkpoint_path(out)
    if not current.exists():
        return
    tmp = prev.with_name(prev.name + ".tmp")
    if tmp.exists():
        tmp.unlink()
    try:
        os.link(current, tmp)
    except OSError:
        shutil.copyfile(current, tmp)
    os.replace(tmp, prev)


def write_checkpoint(out, step, params, opt_state, readout=None):
    import jax

    leaves = jax.tree.leaves(opt_state)
    arrays = {f"param_{n}": np.asarray(v) for n, v in zip(Params._fields, params)}
    arrays.update({f"opt_{i}": np.asarray(leaf) for i, leaf in enumerate(leaves)})
    arrays.update(readout.state() if readout is not None else {})
    _keep_previous(out)
    save_npz(checkpoint_path(out), step=np.int64(step), **arrays)


# what reading a damaged .npz raises: a zip without its directory, a member cut short, not a zip at all
_UNREADABLE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, KeyError)


def _read_arrays(path):
    """Every array of the checkpoint ``path`` (read in full, so that a damaged member fails here)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: np.asarray(data[key]) for key in data.files}
    missing = [key for key in ["step"] + [f"param_{n}" for n in Params._fields] if key not in arrays]
    if missing:
        raise KeyError(f"no {', '.join(missing)}")
    return arrays


def _describe(exc):
    return f"{type(exc).__name__}: {exc}"


def read_checkpoint_arrays(out):
    """``(arrays, path)`` of the newest checkpoint of run ``out`` that can be read.

    Falls back to ``checkpoint.prev.npz`` with a ``UserWarning`` when ``checkpoint.npz`` is missing or
    damaged; raises :class:`CheckpointError`, naming the files and what to do, when neither can be read.
    """
    current, prev = checkpoint_path(out), previous_checkpoint_path(out)
    problems = []
    for path in (current, prev):
        if not path.exists():
            problems.append(f"{path} does not exist")
            continue
        try:
            arrays = _read_arrays(path)
        except _UNREADABLE as exc:
            problems.append(f"{path} cannot be read ({_describe(exc)})")
            continue
        if path == prev:
            warnings.warn(f"{problems[0]}; resuming from the previous checkpoint {prev} at step "
                          f"{int(arrays['step'])} instead", stacklevel=3)
        return arrays, path
    raise CheckpointError(
        f"no checkpoint of run {str(out)!r} can be read: {'; '.join(problems)}. Delete {current} (and {prev}) and "
        f"train again without --resume to start over, or put back a good copy of {current}")


def read_checkpoint(out, opt_state_template, readout=None):
    """``(step, params, opt_state)`` of the newest readable checkpoint of run ``out`` (see
    :func:`read_checkpoint_arrays`)."""
    import jax

    data, path = read_checkpoint_arrays(out)
    leaves, treedef = jax.tree.flatten(opt_state_template)
    missing = [f"opt_{i}" for i in range(len(leaves)) if f"opt_{i}" not in data]
    if missing:
        raise CheckpointError(f"checkpoint {path} holds no {', '.join(missing)}: it was written by another optimiser "
                              f"(see `optimizer` in train_config.json); train again without --resume")
    if readout is not None:
        readout.load_state(data)
    step = int(data["step"])
    params = Params(*(data[f"param_{n}"] for n in Params._fields))
    new = [np.asarray(data[f"opt_{i}"]).astype(np.asarray(leaf).dtype) for i, leaf in enumerate(leaves)]
    return step, params, jax.tree.unflatten(treedef, [jax.numpy.asarray(x) for x in new])


def truncate_metrics(path, step):
    if not path.exists():
        return
    keep = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] < step]
    path.write_text("".join(line + "\n" for line in keep))
