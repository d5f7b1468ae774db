"""Save and load networks in a plain format readable without odesnn.

A network directory holds

``params.npz``
    arrays ``W`` (N, N), ``Wf`` (N, N or 0), ``U`` (N, M), ``O`` (K, N), ``I0`` (N,);
``config.json``
    the structure: ``format``, sizes, ``neuron`` (name and parameters),
    ``thresholds`` (value, direction, reset, synaptic), ``gate`` (kind, width,
    or null for the threshold synapse), ``tau``, ``tau_f`` (or null), ``cost``
    and ``lam``, masks, and any extra keys the caller adds (for example the
    interpolation of saved inputs).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

from .models.cost import cost_from_config
from .models.gates import Gate
from .models.network import Network, Params
from .models.neurons import neuron_from_config

__all__ = ["save", "load"]


def _atomic_write(path: Path, write):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_npz(path, **arrays):
    """Write ``arrays`` to ``path`` atomically (temporary file, then rename)."""
    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **{k: np.asarray(v) for k, v in arrays.items()})

    _atomic_write(Path(path), write)


def save(directory, net: Network, params: Params, extra_config=None):
    """Write ``params.npz`` and ``config.json`` into ``directory``."""
    params = net.check_params(params)
    directory = Path(directory)
    save_npz(directory / "params.npz", **params._asdict())
    cfg = net.config()
    cfg.update(extra_config or {})
    _atomic_write(directory / "config.json", lambda tmp: Path(tmp).write_text(json.dumps(cfg, indent=2) + "\n"))


def load(directory):
    """Read a network saved by :func:`save`. Returns ``(net, params)``."""
    directory = Path(directory)
    for name in ("config.json", "params.npz"):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"`directory`={str(directory)!r} has no {name}")
    cfg = json.loads((directory / "config.json").read_text())
    cost = cost_from_config(cfg.get("cost", {"name": "quadratic", "lam": cfg.get("lam", 0.0)}))
    net = Network(
        n_neurons=int(cfg["n_neurons"]), n_inputs=int(cfg["n_inputs"]), n_outputs=int(cfg["n_outputs"]),
        neuron=neuron_from_config(cfg["neuron"]),
        gate=None if cfg["gate"] is None else Gate(cfg["gate"]["kind"], float(cfg["gate"]["width"])),
        tau=float(cfg["tau"]), tau_f=None if cfg["tau_f"] is None else float(cfg["tau_f"]),
        cost=cost,
        W_mask=cfg.get("W_mask", "full"), Wf_mask=cfg.get("Wf_mask", "zero_diag"),
    )
    with np.load(directory / "params.npz") as data:
        params = Params(*(data[name] for name in Params._fields))
    return net, net.check_params(params)
