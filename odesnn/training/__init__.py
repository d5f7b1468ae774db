"""Training with optax Adam on the JAX adjoint: minibatches, clipping, schedule, checkpoints, resume.

A run writes into its directory ``DIR``:

``train_config.json``  the resolved :class:`TrainConfig`;
``metrics.jsonl``      one JSON line per step: ``loss``, ``skipped``, ``step_s`` (seconds for the batch's
                       loss and gradient), ``grad_norm`` and ``grad_norms`` (the norm of the batch
                       gradient, in all and per trained parameter group, before the global-norm clip;
                       with ``trial_clip``, after the per-trial caps) and
                       ``spikes_per_neuron_per_s``; with ``validate_every``, the records of validated
                       steps add ``val_rel_error`` (and ``val_accuracy`` for XOR) of the network after
                       the step;
``checkpoint.npz``     parameters, Adam state and step, written atomically every ``checkpoint_every`` steps;
``snapshots/stepNNNNN``  with ``snapshot_every``: the network after that many steps, itself a run
                       directory (``train_config.json``, ``params.npz``, ``config.json``) that
                       ``odesnn evaluate`` scores;
``best/``              with ``validate_every``: the network that scored best on the held-out
                       validation trials, a run directory likewise, and ``validation.json``
                       (its step count and scores, and under ``start`` those of the network the
                       run started from, which is validated first and kept unless a step beats it);
``params.npz`` + ``config.json``  the trained network in the plain format of :func:`odesnn.save`.

Batches depend only on ``(seed, step)``, so a run killed at any moment and
resumed with ``resume=True`` produces the same metrics as an uninterrupted run.
"""

from .config import TrainConfig as TrainConfig
from .config import build_network as build_network
from .config import default_config as default_config
from .diagnostics import GradientAgreement as GradientAgreement
from .diagnostics import gradient_agreement as gradient_agreement
from .diagnostics import gradient_noise_scale as gradient_noise_scale
from .loop import TrainingDiverged as TrainingDiverged
from .loop import train as train
from .noise_scale import NoiseScale as NoiseScale
from .readout import LstsqReadout as LstsqReadout
from .runs import average_runs as average_runs
from .runs import best_path as best_path
from .runs import load_run as load_run
from .runs import snapshot_path as snapshot_path
from .workers import map_jobs as map_jobs

__all__ = ["TrainConfig", "TrainingDiverged", "default_config", "train", "build_network", "gradient_noise_scale",
           "NoiseScale", "gradient_agreement", "GradientAgreement", "load_run", "average_runs", "best_path",
           "snapshot_path", "LstsqReadout", "map_jobs"]
