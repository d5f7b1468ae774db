"""Run directories: the files a training run writes, reading a run back, and starting from or averaging runs."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from .._checks import read_json, show
from .._io import load, save
from ..models import Network, Params
from .checkpoint import has_checkpoint, read_checkpoint_arrays
from .config import TrainConfig, build_network


def config_text(cfg: TrainConfig) -> str:
    return json.dumps(dataclasses.asdict(cfg), indent=2) + "\n"


def snapshot_path(out, step) -> Path:
    """The directory of the snapshot a run with ``snapshot_every`` writes after ``step`` steps."""
    return Path(out) / "snapshots" / f"step{step:05d}"


def best_path(out) -> Path:
    """The directory where a run with ``validate_every`` keeps its best validated network."""
    return Path(out) / "best"


def read_out(params, readout):
    """``params`` with ``O`` the least-squares readout of every batch seen so far (unchanged without one)."""
    return params._replace(O=readout.solve()) if readout is not None and readout.ready else params


def save_network(directory, cfg, net, params):
    save(directory, net, params, extra_config={"train_config": dataclasses.asdict(cfg)})


def write_run(directory, cfg, net, params, readout=None):
    # a trained-run directory of its own (train_config.json, params.npz, config.json), read out as the
    # saved network is: a snapshot, or the best network
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "train_config.json").write_text(config_text(cfg))
    save_network(directory, cfg, net, read_out(params, readout))


def network_differences(net: Network, other: Network) -> list:
    """The entries of ``net.config()`` that fix the parameters' meaning and shapes (neuron count, inputs,
    outputs, neuron model, masks) and in which ``other`` differs; the gate, time constants and cost may
    differ between runs whose parameters are exchanged."""
    mine, theirs = net.config(), other.config()
    return [k for k in ("n_neurons", "n_inputs", "n_outputs", "neuron", "W_mask", "Wf_mask")
            if mine.get(k) != theirs.get(k)]


def initial_params(cfg: TrainConfig, net: Network) -> Params:
    """The parameters a run starts from: ``cfg.init_from``'s, or drawn from ``cfg.init``."""
    if cfg.init_from is None:
        params = net.init_params(cfg.seed, **cfg.init)
        return params._replace(I0=np.zeros(cfg.n_neurons)) if cfg.neuron == "nif" else params
    try:
        _, src_net, params = load_run(cfg.init_from)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"`init_from`={cfg.init_from!r}: {exc}") from None
    differ = network_differences(net, src_net)
    if differ:
        raise ValueError(f"`init_from`={cfg.init_from!r} holds a different network (differs in {differ}) "
                         f"from the one this config builds")
    return net.check_params(Params(*(np.array(p, dtype=float) for p in params)))


def load_run(out):
    """``(cfg, net, params)`` of a run directory: the trained network, or the last checkpoint of a run in progress."""
    out = _path("out", out)
    if not (out / "train_config.json").is_file():
        raise FileNotFoundError(f"`out`={str(out)!r} is not a training run (no train_config.json)")
    try:
        cfg = TrainConfig.from_dict(read_json(out / "train_config.json", "training config"))
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"{out / 'train_config.json'}: {exc}") from None
    if (out / "params.npz").is_file():
        net, params = load(out)
        return cfg, net, params
    if not has_checkpoint(out):
        raise FileNotFoundError(f"`out`={str(out)!r} has neither params.npz nor checkpoint.npz")
    net = build_network(cfg)
    data, _ = read_checkpoint_arrays(out)
    return cfg, net, net.check_params(Params(*(data[f"param_{n}"] for n in Params._fields)))


def _path(name, value) -> Path:
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"`{name}` must be a path (a str or pathlib.Path), got {show(value)}")
    return Path(value)


def run_list(name, runs) -> list:
    """``runs`` as a non-empty list of paths, or an error naming ``name``: a single path (whose characters
    would otherwise be read as run directories) or something that is not a sequence of paths."""
    if isinstance(runs, (str, os.PathLike)):
        raise TypeError(f"`{name}` must be a list of run directories, got the single path {show(str(runs))}; "
                        f"pass [{str(runs)!r}]")
    try:
        runs = list(runs)
    except TypeError:
        raise TypeError(f"`{name}` must be a list of run directories, got {show(runs)}") from None
    if not runs:
        raise ValueError(f"`{name}` must name at least one run directory, got none")
    return [_path(f"{name}[{i}]", r) for i, r in enumerate(runs)]


def load_listed_run(run, name="runs"):
    """:func:`load_run` of one of a list of runs, passed as argument ``name``: a missing run's error names it."""
    try:
        return load_run(run)
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"`{name}`: {exc}") from None


def average_runs(runs, out=None):
    """The parameter average of several runs of one network: ``(cfg, net, params)``, saved to ``out`` if given.

    Each of ``runs`` is a run directory (a trained run, a snapshot ``DIR/snapshots/stepNNNNN``, a
    best network ``DIR/best``, or a run in progress: its last checkpoint), as :func:`load_run` reads
    it. Runs that started from one network (``init_from``) on different batches (``seed``) move it
    by a shared drift plus noise of their own; the average keeps the drift and shrinks the noise,
    much as one stage on larger batches would, while the runs need not share a process. Every
    parameter group is averaged, so a group that no run trains stays as it was. The result keeps
    the first run's training configuration, so ``odesnn evaluate`` scores it on that run's task, and
    ``out/average.json`` lists the runs.

    Raises
    ------
    ValueError
        If no run is given, or a run holds a network (neuron count, inputs, outputs, neuron model,
        masks, task) other than the first run's, naming both directories.
    FileNotFoundError
        If a run directory holds no run, naming it.
    """
    runs = run_list("runs", runs)
    cfg, net, first = load_listed_run(runs[0])
    total = [np.array(p, dtype=float) for p in first]
    for run in runs[1:]:
        other_cfg, other_net, params = load_listed_run(run)
        differ = network_differences(net, other_net) + (["task"] if other_cfg.task != cfg.task else [])
        if differ:
            raise ValueError(f"`runs`: {str(run)!r} holds a different network from {str(runs[0])!r} "
                             f"(differs in {differ})")
        total = [t + np.asarray(p, dtype=float) for t, p in zip(total, params)]
    params = net.check_params(Params(*(t / len(runs) for t in total)))
    if out is not None:
        write_run(out, cfg, net, params)
        (Path(out) / "average.json").write_text(json.dumps({"runs": [str(r) for r in runs]}, indent=1) + "\n")
    return cfg, net, params
