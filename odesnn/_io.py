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
import zipfile
import zlib
from pathlib import Path

import numpy as np

from ._checks import check_integer, read_json, show
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
    if not isinstance(net, Network):
        raise TypeError(f"`net` must be an odesnn.Network, got {type(net).__name__}")
    if extra_config is not None and not isinstance(extra_config, dict):
        raise TypeError(f"`extra_config` must be None or a dict of JSON values, got {show(extra_config)}")
    params = net.check_params(params)
    directory = Path(directory)
    save_npz(directory / "params.npz", **params._asdict())
    cfg = net.config()
    cfg.update(extra_config or {})
    _atomic_write(directory / "config.json", lambda tmp: Path(tmp).write_text(json.dumps(cfg, indent=2) + "\n"))


def _config_error(path, exc):
    return type(exc)(f"{path}: {exc}") if isinstance(exc, (TypeError, ValueError)) else exc


def network_from_config(cfg, path="config.json") -> Network:
    """The :class:`Network` of a ``config.json`` (``cfg``, read from ``path``), or an error naming the file and
    the key: a missing key, a value of the wrong type (a size that is not an integer, such as 4.7, a time
    constant that is not a number) or a value that the network refuses."""
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: expected a JSON object of the network's structure, got {show(cfg)}")
    missing = [k for k in ("n_neurons", "n_inputs", "n_outputs", "neuron", "gate", "tau", "tau_f") if k not in cfg]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(f'`{k}`' for k in missing)}: not a network saved by odesnn.save")
    try:
        sizes = {k: check_integer(k, cfg[k], 1 if k == "n_neurons" else 0)
                 for k in ("n_neurons", "n_inputs", "n_outputs")}
        cost = cost_from_config(cfg.get("cost", {"name": "quadratic", "lam": cfg.get("lam", 0.0)}))
        gate = cfg["gate"]
        if gate is not None:
            if not isinstance(gate, dict) or set(gate) - {"kind", "width"} or "kind" not in gate or "width" not in gate:
                raise ValueError(f"`gate` must be null or an object with `kind` and `width`, got {show(gate)}")
            gate = Gate(gate["kind"], gate["width"])
        return Network(**sizes, neuron=neuron_from_config(cfg["neuron"]), gate=gate, tau=cfg["tau"],
                       tau_f=cfg["tau_f"], cost=cost, W_mask=cfg.get("W_mask", "full"),
                       Wf_mask=cfg.get("Wf_mask", "zero_diag"))
    except (TypeError, ValueError) as exc:
        raise _config_error(path, exc) from None


def read_arrays(path, names):
    """The arrays ``names`` of the ``.npz`` file ``path``, read in full, or a ``ValueError`` naming the file
    (not an npz archive, a damaged one, or one without those arrays)."""
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not named arrays")
        with data:
            missing = [n for n in names if n not in data.files]
            if missing:
                raise ValueError(f"it has no arrays {missing} (it has {sorted(data.files)})")
            return {n: np.asarray(data[n]) for n in names}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise ValueError(f"{str(path)!r} cannot be read as the arrays {list(names)} of an .npz file: "
                         f"{type(exc).__name__}: {exc}") from None


def load(directory):
    """Read a network saved by :func:`save`. Returns ``(net, params)``.

    Raises ``FileNotFoundError`` if ``directory`` lacks ``config.json`` or ``params.npz``, and ``ValueError``
    naming the file and the key if one is not what :func:`save` writes (not JSON, a missing key, a value of the
    wrong type, not an npz archive, an array missing or of the wrong shape).
    """
    directory = Path(directory)
    for name in ("config.json", "params.npz"):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"`directory`={str(directory)!r} has no {name}")
    cfg_path = directory / "config.json"
    net = network_from_config(read_json(cfg_path, "network config"), cfg_path)
    arrays = read_arrays(directory / "params.npz", Params._fields)
    try:
        return net, net.check_params(Params(**arrays))
    except (TypeError, ValueError) as exc:
        raise _config_error(directory / "params.npz", exc) from None
