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

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .._checks import check_horizon, check_integer, check_number
from ..models.cost import QuadraticCost
from ..models.gates import Gate
from .._io import load, save, save_npz
from ..models.network import Network, Params
from .noise_scale import NoiseScale, noise_scale
from .readout import LstsqReadout, check_readout_options
from .._solution import SimulationError
from .validation import VALIDATE_FIT_SALT, VALIDATE_SALT, BestValidation, validation_scores
from ..models.neurons import NIF, QIF
from ..tasks import TASKS

__all__ = ["TrainConfig", "TrainingDiverged", "default_config", "train", "build_network", "gradient_noise_scale",
           "NoiseScale", "gradient_agreement", "GradientAgreement", "load_run", "average_runs"]

NOISE_SALT = 15485863  # the batches of gradient_noise_scale: never training batches, test or fitting trials
AGREEMENT_SALT = 32452843  # the batch of gradient_agreement, kept apart likewise


class TrainingDiverged(RuntimeError):
    """Raised by :func:`train` after ``max_skipped`` consecutive batches failed to simulate or gave NaN.

    The checkpoint written just before holds the parameters of the last good
    update, so nothing is lost; change ``lr`` or ``init`` and train again.
    """


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved as ``train_config.json``).

    :func:`default_config` gives the paper's settings for a task; ``odesnn train TASK --config FILE.json``
    overrides the fields its JSON file names. Times are in ms. "Refused here" marks a check made when the
    config is created (it raises ``ValueError``); the other checks are made when :func:`train` builds the
    network, the task or the JAX options.

    Attributes
    ----------
    task : {"autoencoder", "predictive", "xor"}
        The task of the paper (§3) to train on. Default ``"autoencoder"``. Any other name is refused here.
    n_neurons : int
        Number of neurons ``N``. Default 30. Refused here unless a positive integer.
    neuron : {"nif", "qif"}
        Neuron model: ``"nif"`` (:class:`~odesnn.NIF`) or ``"qif"`` (:class:`~odesnn.QIF` with ``tau_v``).
        Default ``"nif"``. Any other value is refused here.
    tau_v : float
        Membrane time constant of the QIF neuron, ms (unused by NIF). Default 25. Must be positive (checked by
        :class:`~odesnn.QIF`).
    tau : float
        Regular synaptic time constant, ms; for the sinusoid tasks also the target filter's ``τ`` (unless
        ``task_kwargs`` sets ``tau``). Default 10. Refused here unless a positive finite number.
    tau_f : float or None
        Fast synaptic time constant, ms; ``None``: no fast synapses (``Wf`` has shape ``(N, 0)``). Default 1.
        Must be positive and finite (checked by :class:`~odesnn.Network`).
    gate : str
        Profile of the training gate: ``"box"``, ``"smooth"`` (C², the default), ``"poly2"`` or one registered
        with :func:`~odesnn.register_gate_profile`; unknown names are refused by :class:`~odesnn.Gate`.
    width : float
        Gate width Δ, in units of voltage. Default 0.1. Must be positive and finite, with a zone that reaches no
        reset (checked by the gate and the network). The sinusoid tasks are evaluated with Δ = 0.
    lam : float or None
        Regularisation λ of the quadratic cost ``(|o - o_d|² + λ|s|²)/2``; ``None`` (default): ``0.1/N``, as
        in the paper. Must be non-negative and finite (checked by :class:`~odesnn.QuadraticCost`).
    W_mask : {"full", "zero_diag", "lower", "strict_lower", "none"}
        Structural mask of ``W``; ``"none"`` (default) keeps ``W`` at zero (the auto-encoder). Other names are
        refused by :class:`~odesnn.Network`. ``Wf`` keeps the network's default mask, ``"zero_diag"``.
    train : tuple of str
        Parameter groups the optimiser steps, among ``"W"``, ``"Wf"``, ``"U"``, ``"O"``, ``"I0"``; the others
        keep their initial values (but see ``readout``). Default ``("Wf", "U", "O", "I0")``. Unknown names are
        refused here.
    steps : int
        Number of training steps (minibatches). Default 200. ``0`` saves the initial network untrained, a frozen
        control. Refused here unless a non-negative integer.
    batch_size : int
        Trials per step. Default 50. Refused here unless a positive integer.
    lr : float
        Learning rate at the start of the cosine schedule. Default 0.01. Refused here unless a positive finite
        number.
    lr_final : float
        Learning rate at the end of the cosine schedule (``lr_decay_steps``), kept after it. Default 0.001.
        Refused here unless a non-negative finite number.
    clip : float
        The batch gradient (of the trained groups) is clipped to this global norm before the optimiser.
        Default 1. Refused here unless a positive finite number.
    trial_clip : float or None
        Cap on each trial's gradient, in multiples of the batch's median per-trial norm, before the mean;
        ``None`` (default): the plain mean. Refused here unless ``None`` or a positive finite number.
    seed : int
        Seed of the initial parameters and of every batch (a function of ``(seed, step)`` only); validation,
        test and refitting trials are drawn from it too, with salts of their own. Default 0.
    checkpoint_every : int
        Write ``checkpoint.npz`` (parameters, optimiser state, step) every this many steps and after the last.
        Default 10. Refused here unless a positive integer.
    snapshot_every : int or None
        Save the network every this many steps as ``DIR/snapshots/stepNNNNN``, a run directory ``odesnn
        evaluate`` scores; ``None`` (default): no snapshots. Refused here unless ``None`` or an integer >= 1.
    validate_every : int or None
        Score the network every this many steps on ``validate_trials`` held-out trials (XOR accuracy, else the
        readout's relative error) and keep the best one in ``DIR/best``; ``None`` (default): no validation.
        The network a run starts from (``init`` or ``init_from``) is scored first, as step 0, so a run that
        only loses ground keeps its start. Refused here unless ``None`` or an integer >= 1.
    validate_trials : int
        Number of fixed held-out validation trials. Default 64. Refused here unless an integer >= 1.
    validate_refit : int or None
        Refit the readout before each validation by ridge regression (``readout_ridge``) to this many other
        held-out trials; ``None`` (default): the run's own readout. Refused here unless ``None`` or >= 1.
    patience : int or None
        Stop after this many validations in a row without a better score; ``None`` (default): run all
        ``steps``. Refused here unless ``None`` or an integer >= 1, or if set without ``validate_every``.
    lr_decay_steps : int or None
        Length in steps of the cosine schedule from ``lr`` to ``lr_final``; ``None`` (default): ``steps``.
        Refused here unless ``None`` or an integer >= 1.
    log_every : int
        A custom ``loss_and_grad`` of :func:`train` is asked to count spikes every this many steps (the JAX
        adjoint counts them at every step). Default 1. Refused here unless a positive integer.
    max_skipped : int
        Consecutive skipped batches (failed simulation or non-finite loss) that stop the run with
        :class:`TrainingDiverged`. Default 20. Refused here unless a positive integer.
    duration : float
        Length of a trial, ms (unless ``task_kwargs`` sets it); the loss is the batch's mean trial cost divided
        by ``duration`` (a cost per ms). Default 1200. Refused here unless a positive finite number.
    dt : float
        Step of the task's time grid, ms: inputs and targets are sampled on it and interpolated linearly.
        Default 1. Refused here unless a positive finite number.
    solver : {"tsit5", "dopri5", "dopri8"}
        diffrax Runge-Kutta method of the JAX backend. Default ``"tsit5"``. Other names are refused by
        :class:`odesnn.jax.Options`.
    rtol : float
        Relative tolerance of the JAX step-size controller. Default 1e-5. Refused here unless a positive finite
        number.
    atol : float
        Absolute tolerance of the JAX step-size controller. Default 1e-7. Refused here unless a positive finite
        number.
    dtype : {"float64", "float32"}
        Floating type of the JAX backend. Default ``"float64"``, which needs ``jax_enable_x64`` (the command
        line turns it on). Other values are refused by :class:`odesnn.jax.Options`.
    adjoint_horizon : float or None
        ``None`` (default): the exact adjoint gradient; a time ``h`` in ms: the discounted adjoint of
        :class:`odesnn.jax.Options`. Refused here unless ``None`` or a positive finite number.
    max_steps : int
        Cap on the solver's accepted steps per trial (JAX); a trial that reaches it fails. Default 65536. Must
        be a positive integer (checked by :class:`odesnn.jax.Options`).
    max_spikes : int
        Size of the spike buffer per trial (JAX); a trial that exceeds it fails. Default 16384. Must be a
        positive integer (checked by :class:`odesnn.jax.Options`).
    eval_trials : int
        Number of test trials :func:`odesnn.reproduce.evaluate` draws when ``n_trials`` (``--trials``) is not
        given. Default 8. Refused here unless a positive integer.
    init : dict
        Keyword arguments of :meth:`odesnn.Network.init_params` (unknown keys raise ``TypeError``); NIF networks
        start with ``I0 = 0`` whatever it says. Default ``{"w_scale": 0.0, "wf_scale": 0.1, "u_scale": 0.05,
        "o_scale": 1.0, "i0_scale": 0.0}``.
    init_from : str or None
        A run directory (trained, or in progress) whose parameters start this run instead of ``init``; its
        network must match (sizes, neuron model, masks). Default ``None``. Refused here unless ``None`` or a str.
    lr_scale : dict
        Per-group multipliers of the step, e.g. ``{"I0": 0.02}``: a non-negative number, or a nested list
        broadcast against the group's shape. Default ``{}`` (all 1). Unknown groups and negative, non-finite or
        empty factors are refused here; a factor that does not broadcast, when training starts.
    optimizer : {"adam", "sgd"}
        ``"adam"`` (the paper's; default) or ``"sgd"``: plain steps of the learning rate times the clipped
        gradient. Any other value is refused here.
    readout : {"gradient", "lstsq"}
        ``"gradient"`` (default): ``O`` is trained like the other groups; ``"lstsq"``: ``O`` is refitted by
        ridge regression before every step and not stepped. Any other value is refused here.
    readout_decay : float
        With ``readout="lstsq"``: weight of the previous statistics at each update (batch ``k`` steps back
        counts ``readout_decay**k``). Default 0.9. Refused here unless in ``[0, 1)``.
    readout_ridge : float
        Ridge penalty of the least-squares readout (and of ``validate_refit``), relative to the mean eigenvalue
        of ``E[s sᵀ]``. Default 1e-4. Refused here unless a positive finite number.
    readout_window_weight : float
        XOR with ``readout="lstsq"``: weight of the squared error inside each trial's response window in the
        running fit of ``O``. Default 1 (the paper's cost). Refused here unless a positive finite number, and
        unless 1 when the task is not ``"xor"`` or the readout not ``"lstsq"``.
    task_kwargs : dict
        Keyword arguments of the task (:class:`~odesnn.tasks.SinusoidTask` or :class:`~odesnn.tasks.XORTask`);
        ``duration``, ``dt`` (and ``tau``, sinusoid tasks) default to the config's. Default ``{}``.
    """

    task: str = "autoencoder"
    n_neurons: int = 30
    neuron: str = "nif"
    tau_v: float = 25.0
    tau: float = 10.0
    tau_f: float | None = 1.0
    gate: str = "smooth"
    width: float = 0.1
    lam: float | None = None  # default 0.1 / N, as in the paper
    W_mask: str = "none"
    train: tuple = ("Wf", "U", "O", "I0")
    steps: int = 200  # 0 saves the initial network untrained: a frozen control to score beside a run
    batch_size: int = 50
    lr: float = 0.01
    lr_final: float = 0.001
    clip: float = 1.0
    # clip each trial's gradient at this multiple of the batch's median per-trial norm (None: the plain mean)
    trial_clip: float | None = None
    seed: int = 0
    checkpoint_every: int = 10
    # also save the network every this many steps as DIR/snapshots/stepNNNNN, a run directory that
    # `odesnn evaluate` scores: the score on held-out trials can move while the training loss does not,
    # so a run's best step is picked afterwards (None: no snapshots)
    snapshot_every: int | None = None
    # score the network every this many steps on `validate_trials` fixed held-out trials (the task's scores:
    # XOR accuracy, else the readout's relative error; the training gate and readout) and keep the best
    # network in DIR/best (None: no validation)
    validate_every: int | None = None
    validate_trials: int = 64
    # score with a readout refitted by ridge regression to this many other held-out trials (as `odesnn evaluate
    # --refit-readout` does), and keep that readout in DIR/best (None: the run's own readout)
    validate_refit: int | None = None
    # stop after this many validations in a row without a better score (None: run all `steps`)
    patience: int | None = None
    # the learning rate decays from `lr` to `lr_final` over this many steps (None: over `steps`), so a run can
    # stop part-way along a longer schedule
    lr_decay_steps: int | None = None
    log_every: int = 1
    max_skipped: int = 20  # consecutive skipped batches that stop the run (TrainingDiverged)
    duration: float = 1200.0
    dt: float = 1.0
    solver: str = "tsit5"
    rtol: float = 1e-5
    atol: float = 1e-7
    dtype: str = "float64"
    # None: the exact adjoint gradient; a time in ms: the discounted adjoint of odesnn.jax.Options
    adjoint_horizon: float | None = None
    max_steps: int = 65536
    max_spikes: int = 16384
    eval_trials: int = 8
    init: dict = field(default_factory=lambda: {"w_scale": 0.0, "wf_scale": 0.1, "u_scale": 0.05, "o_scale": 1.0,
                                                 "i0_scale": 0.0})
    # a run directory (trained, or in progress) whose parameters start this run instead of `init`:
    # fine-tuning, or one stage of a curriculum over `task_kwargs`
    init_from: str | None = None
    # per-group multipliers of the learning rate, e.g. {"I0": 0.02}: Adam moves every entry by about
    # the learning rate, whatever the scale of its group (groups not named keep 1). A factor may also be a
    # (nested) list broadcast against the group's shape, e.g. {"U": [0, 1]} steps only U's second column
    lr_scale: dict = field(default_factory=dict)
    # "adam" (the paper's) or "sgd": plain gradient steps, lr times the (clipped) gradient
    optimizer: str = "adam"
    # "gradient": O is trained by Adam like the other groups; "lstsq": O is refitted before every step by ridge
    # regression on running state statistics (odesnn.training.readout.LstsqReadout), and Adam trains the rest
    readout: str = "gradient"
    readout_decay: float = 0.9
    readout_ridge: float = 1e-4
    # XOR with the least-squares readout: the running fit of O weights the squared error inside each trial's
    # response window this many times over the rest of the trial (1: the paper's cost; the gradient of the
    # other groups is always that of the paper's cost, taken at this O; validation and evaluation refit O
    # to the paper's cost)
    readout_window_weight: float = 1.0
    task_kwargs: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"`task`={self.task!r} unknown; known: {sorted(TASKS)}")
        # integers: Python or numpy ints (JSON and np.int64 alike), never bools; stored as int
        self.steps = check_integer("steps", self.steps, 0)
        self.seed = check_integer("seed", self.seed, 0)
        if self.neuron not in ("nif", "qif"):
            raise ValueError(f"`neuron` must be 'nif' or 'qif', got {self.neuron!r}")
        for name in ("batch_size", "checkpoint_every", "n_neurons", "log_every", "max_skipped", "eval_trials",
                     "max_steps", "max_spikes"):
            setattr(self, name, check_integer(name, getattr(self, name), 1))
        for name in ("lr", "clip", "duration", "dt", "rtol", "atol", "tau", "tau_v"):
            check_number(name, getattr(self, name))
        check_number("width", self.width, note=" (the training gate's Δ)")
        check_number("tau_f", self.tau_f, optional=True)
        check_number("trial_clip", self.trial_clip, optional=True)
        check_number("lam", self.lam, positive=False, optional=True, note=" (None: 0.1 / n_neurons)")
        check_number("lr_final", self.lr_final, positive=False)
        for name in ("snapshot_every", "validate_every", "validate_refit", "patience", "lr_decay_steps"):
            if getattr(self, name) is not None:
                setattr(self, name, check_integer(name, getattr(self, name), 1))
        self.validate_trials = check_integer("validate_trials", self.validate_trials, 1)
        if self.patience is not None and self.validate_every is None:
            raise ValueError(f"`patience`={self.patience!r} counts validations; set `validate_every` too")
        if self.init_from is not None and not isinstance(self.init_from, str):
            raise ValueError(f"`init_from` must be None or a run directory path, got {self.init_from!r}")
        if not isinstance(self.lr_scale, dict):
            raise ValueError(f"`lr_scale` must be a dict of parameter group to factor, got {self.lr_scale!r}")
        for name, val in self.lr_scale.items():
            if name not in Params._fields:
                raise ValueError(f"`lr_scale` names unknown parameter group {name!r}; known: {Params._fields}")
            try:
                arr = np.asarray(val, dtype=float)
            except (TypeError, ValueError):
                arr = None
            if arr is None or isinstance(val, (str, bool)) or arr.size == 0 or not np.all(np.isfinite(arr)) \
                    or np.any(arr < 0):
                raise ValueError(f"`lr_scale`[{name!r}] must be a non-negative number or a nested list of them, "
                                 f"got {val!r}")
        if self.optimizer not in ("adam", "sgd"):
            raise ValueError(f"`optimizer` must be 'adam' or 'sgd', got {self.optimizer!r}")
        if self.readout not in ("gradient", "lstsq"):
            raise ValueError(f"`readout` must be 'gradient' or 'lstsq', got {self.readout!r}")
        self.adjoint_horizon = check_horizon("adjoint_horizon", self.adjoint_horizon)
        check_readout_options(self.readout_decay, self.readout_ridge, ("readout_decay", "readout_ridge"))
        check_window_weight("readout_window_weight", self.readout_window_weight, self.task)
        if self.readout_window_weight != 1 and self.readout != "lstsq":
            raise ValueError(f"`readout_window_weight`={self.readout_window_weight!r} weights the XOR response "
                             f"window in the least-squares readout; it needs readout 'lstsq', got {self.readout!r}")
        bad = [g for g in self.train if g not in Params._fields]
        if bad:
            raise ValueError(f"`train` has unknown parameter groups {bad}; known: {Params._fields}")
        self.train = tuple(self.train)

    @classmethod
    def from_dict(cls, data):
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; known: {sorted(names)}")
        return cls(**data)


def default_config(task, quick=False, **overrides) -> TrainConfig:
    """The paper's settings for ``task`` (``quick``: a short run for smoke tests)."""
    if task in ("autoencoder", "predictive"):
        cfg = dict(task=task, n_neurons=30, neuron="nif", tau=10.0, tau_f=1.0, width=0.1,
                   W_mask="none" if task == "autoencoder" else "full",
                   train=("Wf", "U", "O", "I0") if task == "autoencoder" else ("W", "Wf", "U", "O", "I0"),
                   duration=1200.0, steps=300, batch_size=50,
                   # W (predictive coding) starts at zero, and Adam's first steps move all its entries at once:
                   # at 0.02 a batch of 24 ran away after 3 steps, at 0.01 batches of 16 trained (docs/reproduce.md)
                   lr=0.02 if task == "autoencoder" else 0.01, lr_final=0.002 if task == "autoencoder" else 0.001,
                   # Readout starts at zero, so its first updates are the input-spike correlation; recurrent
                   # weights start at zero and are learned. Auto-encoder input rows of norm 2 put |U_j||O_j|
                   # closer to the efficient code's value early on; with norm 2 the predictive-coding run
                   # diverged into runaway excitation at step 157, so it keeps norm 1 (docs/reproduce.md).
                   init={"w_scale": 0.0, "wf_scale": 0.0, "u_scale": 2.0 if task == "autoencoder" else 1.0,
                         "o_scale": 0.0, "i0_scale": 0.0, "u_sphere": True})
        if quick:
            cfg.update(steps=3, batch_size=4, duration=200.0, n_neurons=10, eval_trials=2,
                       task_kwargs={"period": 200.0})
    elif task == "xor":
        cfg = dict(task="xor", n_neurons=80, neuron="qif", tau_v=25.0, tau=20.0, tau_f=5.0, width=0.1,
                   W_mask="full", train=("W", "Wf", "U", "O", "I0"), duration=600.0, steps=1500,
                   batch_size=50, lr=0.005, init={"w_scale": 0.5, "wf_scale": 0.2, "u_scale": 1.0, "o_scale": 0.2,
                                                  "i0_scale": 0.005})
        if quick:
            cfg.update(steps=3, batch_size=4, n_neurons=12, eval_trials=4, duration=400.0,
                       task_kwargs={"first_range": (20.0, 60.0), "gap_range": (60.0, 100.0),
                                    "cue_delay_range": (60.0, 100.0)})
    else:
        raise ValueError(f"`task`={task!r} unknown; known: {sorted(TASKS)}")
    cfg.update(overrides)
    return TrainConfig(**cfg)


def build_network(cfg: TrainConfig, gate=True) -> Network:
    """The network of a config; ``gate=False`` gives the zero-width threshold synapse (evaluation)."""
    n_in, n_out = 2, (1 if cfg.task == "xor" else 2)  # XOR: pulse and go-cue channels, one readout
    neuron = NIF() if cfg.neuron == "nif" else QIF(cfg.tau_v)
    lam = 0.1 / cfg.n_neurons if cfg.lam is None else cfg.lam
    return Network(cfg.n_neurons, n_in, n_out, neuron=neuron, gate=Gate(cfg.gate, cfg.width) if gate else None,
                   tau=cfg.tau, tau_f=cfg.tau_f, cost=QuadraticCost(lam), W_mask=cfg.W_mask)


def make_task(cfg: TrainConfig):
    kw = dict(cfg.task_kwargs)
    kw.setdefault("duration", cfg.duration)
    kw.setdefault("dt", cfg.dt)
    if cfg.task != "xor":
        kw.setdefault("tau", cfg.tau)
    return TASKS[cfg.task](**kw)


def batch_for_step(cfg: TrainConfig, task, step, size=None, salt=0):
    """The minibatch of ``step``: a function of ``(seed, step)`` only."""
    rng = np.random.default_rng([cfg.seed, salt, step])
    return task.sample(rng, size or cfg.batch_size), rng


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


def initial_voltages(cfg, rng, size):
    lo, hi = (-0.5, 0.5) if cfg.neuron == "nif" else (0.0, 0.5)
    return rng.uniform(lo, hi, (size, cfg.n_neurons))


class _Progress:
    def __init__(self, total, start, stream=sys.stderr):
        self.total, self.start_step, self.stream = total, start, stream
        self.t0 = time.perf_counter()
        self.val = ""  # the last validation's score, shown until the next one

    def update(self, step, loss, rate, scores=None):
        if scores is not None:
            self.val = (f"  val acc {scores['accuracy']:.3f}" if "accuracy" in scores
                        else f"  val err {scores['rel_error']:.4g}")
        done = step + 1 - self.start_step
        elapsed = time.perf_counter() - self.t0
        sps = done / elapsed if elapsed > 0 else float("nan")
        eta = (self.total - step - 1) / sps if sps > 0 else float("nan")
        rate_txt = "   n/a" if rate is None else f"{rate:6.1f}"
        self.stream.write(f"\rstep {step + 1:>5}/{self.total}  loss {loss:.5g}  spikes/neuron/s {rate_txt}  "
                          f"{sps:.2f} steps/s  ETA {eta:6.0f} s{self.val} ")
        self.stream.flush()

    def close(self):
        self.stream.write("\n")


def _checkpoint_path(out):
    return Path(out) / "checkpoint.npz"


def _write_checkpoint(out, step, params, opt_state, readout=None):
    import jax

    leaves = jax.tree.leaves(opt_state)
    arrays = {f"param_{n}": np.asarray(v) for n, v in zip(Params._fields, params)}
    arrays.update({f"opt_{i}": np.asarray(leaf) for i, leaf in enumerate(leaves)})
    arrays.update(readout.state() if readout is not None else {})
    save_npz(_checkpoint_path(out), step=np.int64(step), **arrays)


def _config_text(cfg: TrainConfig) -> str:
    return json.dumps(dataclasses.asdict(cfg), indent=2) + "\n"


def snapshot_path(out, step) -> Path:
    """The directory of the snapshot a run with ``snapshot_every`` writes after ``step`` steps."""
    return Path(out) / "snapshots" / f"step{step:05d}"


def _read_out(params, readout):
    """``params`` with ``O`` the least-squares readout of every batch seen so far (unchanged without one)."""
    return params._replace(O=readout.solve()) if readout is not None and readout.ready else params


def _save_network(directory, cfg, net, params):
    save(directory, net, params, extra_config={"train_config": dataclasses.asdict(cfg)})


def _write_run(directory, cfg, net, params, readout=None):
    # a trained-run directory of its own (train_config.json, params.npz, config.json), read out as the
    # saved network is: a snapshot, or the best network
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "train_config.json").write_text(_config_text(cfg))
    _save_network(directory, cfg, net, _read_out(params, readout))


def best_path(out) -> Path:
    """The directory where a run with ``validate_every`` keeps its best validated network."""
    return Path(out) / "best"


def validation_batch(cfg: TrainConfig, task, fit=False):
    """The held-out validation trials of a run and their initial voltages: ``(batch, v0)``.

    ``fit=True`` gives the ``validate_refit`` trials a validation readout is fitted to instead.
    """
    size, salt = (cfg.validate_refit, VALIDATE_FIT_SALT) if fit else (cfg.validate_trials, VALIDATE_SALT)
    batch, rng = batch_for_step(cfg, task, 0, size=size, salt=salt)
    return batch, initial_voltages(cfg, rng, batch.size)


def check_window_weight(name, value, task_name):
    """Raise ``ValueError``, naming ``name``, unless ``value`` is a positive finite number, and 1 unless the
    task (``task_name``) is XOR, the only one with a response window."""
    check_number(name, value)
    if value != 1 and task_name != "xor":
        raise ValueError(f"`{name}`={value!r} weights the XOR response window; the {task_name} task has none")


def readout_weights(task, batch, window_weight):
    """Weights ``(B, T)`` of a least-squares readout's fit: ``window_weight`` inside each XOR trial's response
    window, 1 elsewhere (``None``, every point alike, for a weight of 1)."""
    if window_weight == 1:
        return None
    return np.where(task.response_mask(batch.t, batch.info["go"]), float(window_weight), 1.0)


def fitted_readout(cfg: TrainConfig, net: Network, params, batch, v0, ridge, keep=slice(None), chunk=50,
                   weights=None):
    """``params`` with ``O`` the ridge-regression fit of ``batch``'s targets from the network's states.

    The states are those of the batched JAX forward on ``batch.t`` (time points ``keep``); ``ridge`` is
    relative to the mean eigenvalue of ``E[s sᵀ]``, as in :class:`odesnn.training.readout.LstsqReadout`;
    ``weights`` ``(B, T)`` weight the time points' squared errors (default: all alike, the paper's cost).
    """
    states, _ = jax_states(cfg, net, params, batch, v0, chunk)
    fit = LstsqReadout(cfg.n_neurons, batch.targets.shape[2], decay=0.0, ridge=ridge)
    fit.update(states[:, keep], batch.targets[:, keep], None if weights is None else np.asarray(weights)[:, keep])
    return params._replace(O=fit.solve())


def _validate(cfg, net, task, params, readout, trials):
    """``(scores, params)``: the validation scores and the network they are of (its readout refitted with
    ``validate_refit``); ``(None, None)`` where a trial failed to simulate."""
    p = _read_out(params, readout)
    try:
        if cfg.validate_refit is not None:
            p = fitted_readout(cfg, net, p, *trials["fit"], ridge=cfg.readout_ridge)
        batch, v0 = trials["score"]
        states, _ = jax_states(cfg, net, p, batch, v0)
    except (RuntimeError, SimulationError, FloatingPointError) as exc:
        warnings.warn(f"validation failed: {exc}", stacklevel=2)
        return None, None
    return validation_scores(task, batch, states @ np.asarray(p.O, dtype=float).T), p


def _read_checkpoint(out, opt_state_template, readout=None):
    import jax

    with np.load(_checkpoint_path(out)) as data:
        if readout is not None:
            readout.load_state(data)
        step = int(data["step"])
        params = Params(*(data[f"param_{n}"] for n in Params._fields))
        leaves, treedef = jax.tree.flatten(opt_state_template)
        new = [np.asarray(data[f"opt_{i}"]).astype(np.asarray(leaf).dtype) for i, leaf in enumerate(leaves)]
    return step, params, jax.tree.unflatten(treedef, [jax.numpy.asarray(x) for x in new])


def _truncate_metrics(path, step):
    if not path.exists():
        return
    keep = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] < step]
    path.write_text("".join(line + "\n" for line in keep))


def task_span(batch) -> tuple:
    """The time span a task batch is simulated over: that of its grid (the gradient and the states agree)."""
    return float(batch.t[0]), float(batch.t[-1])


def jax_options(cfg: TrainConfig):
    """The JAX backend :class:`~odesnn.jax.Options` of a run (solver, tolerances, dtype, caps)."""
    from ..jax import Options

    return Options(solver=cfg.solver, rtol=cfg.rtol, atol=cfg.atol, dtype=cfg.dtype, max_steps=cfg.max_steps,
                   max_spikes=cfg.max_spikes, adjoint_horizon=cfg.adjoint_horizon)


def jax_loss_and_grad(cfg: TrainConfig, net: Network):
    """A function ``(params, TaskBatch, v0) -> (loss, grads, spikes_per_trial[, s])`` using the JAX adjoint.

    The spike counts come from the gradient's own forward pass, so they are
    returned at every step at no extra cost. So, with ``cfg.readout="lstsq"``,
    are the synaptic states ``s`` ``(B, T, N)`` on ``batch.t`` that the
    least-squares readout is fitted to (the fourth output). With ``cfg.trial_clip`` set, each
    trial's gradient (its trained groups together) is first scaled down to at
    most ``trial_clip`` times the batch's median per-trial norm; the loss is
    unchanged. This bounds what one trial near a separatrix of the dynamics,
    where the exact gradient is huge, can do to a step.
    """
    import jax
    import jax.numpy as jnp

    from ..jax import Model, make_batch
    from ..jax._simulate import value_grad_and_spike_counts

    opts = jax_options(cfg)
    opts.real_dtype()  # a configuration error (float64 without jax_enable_x64) stops the run before step 0
    model = Model(net, "linear", "linear")
    scale = 1.0 / cfg.duration
    lstsq = cfg.readout == "lstsq"  # then the states of the forward pass are returned too
    per_trial_fn = jax_trial_gradients(cfg, net)

    def loss(costs):
        return jnp.mean(costs) * scale

    def fn(params, batch, v0, count_spikes=False):
        if cfg.trial_clip is None and not lstsq:
            b = make_batch(net, batch.t, batch.inputs, batch.targets, task_span(batch), v0=v0)
            value, grads, counts = value_grad_and_spike_counts(params, b, model=model, loss=loss, options=opts)
            grads = Params(*(np.asarray(g, dtype=float) for g in jax.tree.leaves(grads)))
            return float(value), grads, np.asarray(counts)
        costs, per_trial, counts, *states = per_trial_fn(params, batch, v0, t_eval=batch.t if lstsq else None)
        grads = Params(*(np.mean(g, axis=0) for g in per_trial))
        return (float(np.mean(costs) * scale), grads, counts) + tuple(states)

    return fn


def jax_trial_gradients(cfg: TrainConfig, net: Network):
    """A function ``(params, TaskBatch, v0, t_eval=None) -> (costs, grads, spikes_per_trial[, s])``, per trial.

    ``grads`` holds, for every parameter group, each trial's gradient of its
    cost per ms (arrays leading with the batch axis), already scaled by the
    ``trial_clip`` weights (:func:`clip_weights`) when ``cfg.trial_clip`` is
    set: their mean over the batch is the gradient a training step takes.
    With ``t_eval``, the synaptic states ``s`` ``(B, T, N)`` there are
    returned too.
    """
    from ..jax import Model, make_batch, per_trial_value_and_grad

    opts = jax_options(cfg)
    opts.real_dtype()
    model = Model(net, "linear", "linear")

    def fn(params, batch, v0, t_eval=None):
        b = make_batch(net, batch.t, batch.inputs, batch.targets, task_span(batch), v0=v0)
        costs, per_trial, counts, *states = per_trial_value_and_grad(params, b, model=model, options=opts,
                                                                     t_eval=t_eval)
        per_trial = Params(*(np.asarray(g, dtype=float) for g in per_trial))
        weights = (np.ones(b.size) if cfg.trial_clip is None else
                   clip_weights(per_trial, stepped_groups(cfg), cfg.trial_clip))
        grads = Params(*(g * np.reshape(weights, (-1,) + (1,) * (g.ndim - 1)) / cfg.duration for g in per_trial))
        return (np.asarray(costs, dtype=float), grads, np.asarray(counts)) + tuple(
            np.asarray(x.s, dtype=float) for x in states)

    return fn


def gradient_noise_scale(cfg: TrainConfig, net: Network, params, n_batches=4, batch_size=None, salt=NOISE_SALT):
    """The gradient noise scale of a run's training steps at ``params``.

    For per-trial gradients ``g`` with mean ``G`` and covariance ``Σ``, the
    mean of ``B`` trials has noise ``E|noise|² = tr Σ / B``, so
    ``B_noise = tr Σ / |G|²`` is the batch size at which a step's signal and
    noise are equal; the cosine of a batch mean with ``G`` is
    ``(1 + B_noise/B)^(-1/2)``. ``|G|²`` is estimated without bias from the
    products of distinct trials' gradients, with a jackknife error over the
    batches.

    Draws ``n_batches`` independent batches of ``batch_size`` trials (default:
    ``cfg.batch_size``) from the run's task, with ``salt`` keeping them apart
    from the training batches, and measures the per-trial gradients of the
    stepped groups as a training step would take them (per ms, with the
    ``trial_clip`` weights of each batch). ``B_noise`` far above
    ``cfg.batch_size`` says a step's direction is mostly noise.

    Returns
    -------
    NoiseScale
        ``signal`` (``|E g|²``), its standard error, ``trace`` (``tr Σ``),
        ``b_noise``, the batch means and their pairwise cosines.
    """
    n_batches = check_integer("n_batches", n_batches, 2)
    size = check_integer("batch_size", cfg.batch_size if batch_size is None else batch_size, 1)
    per_trial_fn = jax_trial_gradients(cfg, net)
    task = make_task(cfg)
    groups = stepped_groups(cfg)
    samples = []
    for k in range(n_batches):
        batch, rng = batch_for_step(cfg, task, k, size=size, salt=salt)
        v0 = initial_voltages(cfg, rng, batch.size)
        _, grads, _ = per_trial_fn(params, batch, v0)
        samples.append(np.concatenate([np.reshape(g, (batch.size, -1)) for name, g in zip(Params._fields, grads)
                                       if name in groups], axis=1))
    return noise_scale(samples)


class GradientAgreement(NamedTuple):
    """One row of :func:`gradient_agreement`: gradients at one tolerance, or at shifted initial voltages.

    Attributes
    ----------
    rtol, atol : float
        The tolerances of the checked gradients.
    v0_shift : float
        Size of the shift of the initial voltages (0 for a tolerance row).
    cosines : ndarray, shape (B,)
        Each trial's cosine with its reference gradient (stepped groups together).
    norm_ratios : ndarray, shape (B,)
        Each trial's gradient norm over its reference's.
    batch_cosine : float
        Cosine of the batch's step direction (the mean gradient, with the
        ``trial_clip`` weights when the run uses them) with the reference's.
    cost_error : float
        Relative difference of the batch's mean cost from the reference's.
    seconds : float
        Seconds for the batch's per-trial gradients, compilation excluded.
    """

    rtol: float
    atol: float
    v0_shift: float
    cosines: np.ndarray
    norm_ratios: np.ndarray
    batch_cosine: float
    cost_error: float
    seconds: float


def gradient_agreement(cfg: TrainConfig, net: Network, params, rtols=(1e-4, 1e-5, 1e-6), reference_rtol=1e-9,
                       batch_size=16, v0_shifts=(), salt=AGREEMENT_SALT):
    """How close a run's gradients at looser tolerances come to those of a tight solve, at ``params``.

    A spiking network can be chaotic: an error in one spike time grows along
    the trial, and a gradient integrated at loose tolerances can point
    elsewhere than the exact one. This draws one batch of ``batch_size`` fresh
    trials from the run's task (``salt`` keeps it apart from the training
    batches), computes each trial's gradient of the stepped groups at every
    ``rtol`` and at ``reference_rtol`` (``atol`` scaled by the run's
    ``atol / rtol``), and compares them.

    Each entry ``eps`` of ``v0_shifts`` adds a row computed at the reference
    tolerance from initial voltages moved by ``eps`` times a fixed standard
    normal draw. The initial voltages of training trials are random, so a
    gradient that changes as much under such a shift as under a loose
    tolerance is as sensitive to the state as to the solver: tightening the
    tolerance then buys a more exact answer to a question the trial's random
    start already blurs. The converse does not hold: neurons that rest before
    the first input can erase such a shift before any activity amplifies it
    (see ``perturb="I0"`` in :func:`odesnn.analysis.perturbation_growth`).

    Returns
    -------
    tuple of GradientAgreement
        One per entry of ``rtols``, then one per entry of ``v0_shifts``, in their order.
    """
    rtols = tuple(np.ravel(np.asarray(rtols, dtype=object)).tolist())
    v0_shifts = tuple(np.ravel(np.asarray(v0_shifts, dtype=object)).tolist())
    check_number("reference_rtol", reference_rtol)
    for name, vals in (("rtols", rtols), ("v0_shifts", v0_shifts)):
        for i, r in enumerate(vals):
            check_number(f"{name}[{i}]", r)
    if not rtols and not v0_shifts:
        raise ValueError("`rtols` must name at least one tolerance (or `v0_shifts` one shift), got none")
    if rtols and reference_rtol >= min(rtols):
        raise ValueError(f"`reference_rtol`={reference_rtol!r} must be tighter than every one of `rtols`={rtols}")
    size = check_integer("batch_size", batch_size, 2)
    task, groups = make_task(cfg), stepped_groups(cfg)
    batch, rng = batch_for_step(cfg, task, 0, size=size, salt=salt)
    v0 = initial_voltages(cfg, rng, batch.size)
    direction = rng.standard_normal(v0.shape)
    ratio = cfg.atol / cfg.rtol

    def run(rtol, v, compile_first):
        # per-trial gradients unclipped (their norms compare), the step weighted by trial_clip as training does
        c = dataclasses.replace(cfg, rtol=rtol, atol=rtol * ratio, trial_clip=None)
        fn = jax_trial_gradients(c, net)
        if compile_first:  # each tolerance compiles its own solver; keep that out of the timing
            fn(params, batch, v)
        t0 = time.perf_counter()
        costs, grads, _ = fn(params, batch, v)
        seconds = time.perf_counter() - t0
        if not np.all(np.isfinite(costs)):
            raise RuntimeError(f"trials {np.flatnonzero(~np.isfinite(costs)).tolist()} failed to simulate at "
                               f"rtol={rtol:g}")
        flat = np.concatenate([np.reshape(g, (size, -1)) for name, g in zip(Params._fields, grads)
                               if name in groups], axis=1)
        weights = np.ones(size) if cfg.trial_clip is None else clip_weights(grads, groups, cfg.trial_clip)
        return float(np.mean(costs)), flat, weights @ flat / size, seconds

    def norm(a):
        return np.linalg.norm(a, axis=-1)

    def cosine(a, b):
        den = norm(a) * norm(b)
        return np.sum(a * b, axis=-1) / np.where(den > 0, den, 1.0)

    # the reference's own call compiles its solver (its time is not reported); the shift rows then reuse it
    ref_cost, ref, ref_step, _ = run(reference_rtol, v0, compile_first=False)
    ref_norms = np.where(norm(ref) > 0, norm(ref), 1.0)
    rows = []
    for rtol, shift in [(r, 0.0) for r in rtols] + [(reference_rtol, e) for e in v0_shifts]:
        cost, flat, step, seconds = run(rtol, v0 + shift * direction, compile_first=not shift)
        rows.append(GradientAgreement(rtol, rtol * ratio, float(shift), cosine(flat, ref), norm(flat) / ref_norms,
                                      float(cosine(step, ref_step)), abs(cost - ref_cost) / abs(ref_cost), seconds))
    return tuple(rows)


def jax_states(cfg: TrainConfig, net: Network, params, batch, v0, chunk=50):
    """Synaptic states ``s`` ``(B, T, N)`` on ``batch.t`` and spike counts ``(B,)`` from the batched JAX forward.

    Trials run in chunks of ``chunk``; a trial whose simulation failed raises ``RuntimeError`` naming it.
    """
    import jax.numpy as jnp

    from ..jax import Model, cast, make_batch
    from ..jax._run import forward_jit
    from .._solution import RESULTS

    opts = jax_options(cfg)
    model = Model(net, "linear", "linear")
    states, counts = [], []
    for lo in range(0, batch.size, chunk):
        sl = slice(lo, lo + chunk)
        b = make_batch(net, batch.t, batch.inputs[sl], batch.targets[sl], task_span(batch), v0=v0[sl])
        p, bb = cast(params, b, opts.real_dtype())
        fwd = forward_jit(model, opts, p, bb, jnp.asarray(batch.t, opts.real_dtype()))
        status = np.asarray(fwd.status)
        if np.any(status != 0):
            k = int(np.flatnonzero(status)[0])
            raise RuntimeError(f"trial {lo + k}: {RESULTS.get(int(status[k]), 'failure')} "
                               f"(stopped at t={float(fwd.t[k]):.6g} ms)")
        states.append(np.asarray(fwd.saved[0].s, dtype=float))
        counts.append(np.asarray(fwd.spikes.count))
    return np.concatenate(states), np.concatenate(counts)


def lr_factors(cfg: TrainConfig, net) -> Params:
    """``cfg.lr_scale`` as one factor array per parameter group, broadcast to the group's shape.

    Raises
    ------
    ValueError
        If a factor's shape does not broadcast against its group's, naming both.
    """
    shapes = net.param_shapes()
    factors = []
    for name, shape in zip(Params._fields, shapes):
        factor = np.asarray(cfg.lr_scale.get(name, 1.0), dtype=float)
        try:
            factors.append(np.broadcast_to(factor, shape).copy())
        except ValueError:
            raise ValueError(f"`lr_scale`[{name!r}] has shape {factor.shape}, which does not broadcast against "
                             f"the shape {tuple(shape)} of {name}") from None
    return Params(*factors)


def stepped_groups(cfg: TrainConfig) -> tuple:
    """The parameter groups the optimiser steps: ``cfg.train``, less ``O`` when the readout is least squares."""
    return tuple(g for g in cfg.train if not (cfg.readout == "lstsq" and g == "O"))


def clip_weights(per_trial_grads, groups, factor):
    """Per-trial weights ``min(1, factor · median(norms) / norm)`` of the gradients (arrays leading with B).

    A trial's norm is taken over the parameter groups named in ``groups``.
    """
    sq = sum(np.sum(np.reshape(g, (np.shape(g)[0], -1)) ** 2, axis=1)
             for name, g in zip(Params._fields, per_trial_grads) if name in groups)
    norms = np.sqrt(sq)
    cap = factor * np.median(norms)
    return np.where(norms > cap, cap / np.where(norms > 0, norms, 1.0), 1.0)


def train(cfg: TrainConfig, out, resume=False, loss_and_grad=None, progress=True, log=print, states_fn=None):
    """Train ``cfg`` into directory ``out``; returns the trained ``(net, params)``.

    With ``cfg.steps == 0`` nothing is trained: the initial network (from ``init`` or ``init_from``) is saved
    as the run's network, so ``odesnn evaluate`` scores it like any run (a frozen control, or a reservoir
    with ``--refit-readout``).

    ``loss_and_grad(params, batch, v0, count_spikes)`` defaults to the JAX adjoint (which counts spikes at
    every step; ``count_spikes``, true every ``cfg.log_every`` steps, asks other functions to). It returns
    ``(loss, grads, spikes)``, or ``(loss, grads, spikes, s)`` with the synaptic states ``s`` ``(B, T, N)`` of
    its forward pass on ``batch.t``. With ``cfg.readout="lstsq"``, those states are what the readout is fitted
    to; a function that does not return them is paired with ``states_fn(params, batch, v0) -> s`` (default:
    a second forward pass, :func:`jax_states`).
    """
    import jax
    import optax

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    net = build_network(cfg)
    task = make_task(cfg)
    fn = loss_and_grad or jax_loss_and_grad(cfg, net)
    schedule = optax.cosine_decay_schedule(cfg.lr, cfg.lr_decay_steps or max(cfg.steps, 1),
                                           alpha=cfg.lr_final / cfg.lr)
    step_scale = lr_factors(cfg, net)
    descent = optax.adam(schedule) if cfg.optimizer == "adam" else optax.sgd(schedule)
    optimizer = optax.chain(optax.clip_by_global_norm(cfg.clip), descent,
                            optax.stateless(lambda updates, params=None: Params(*(u * k for u, k in
                                                                                  zip(updates, step_scale)))))
    readout = None
    if cfg.readout == "lstsq":
        readout = LstsqReadout(net.n_neurons, net.n_outputs, cfg.readout_decay, cfg.readout_ridge)
        states_of = states_fn or (lambda p, b, v: jax_states(cfg, net, p, b, v)[0])
    resuming = resume and _checkpoint_path(out).exists()
    # a resumed run reads its parameters from the checkpoint (`init_from` may be gone by then)
    params = net.init_params(cfg.seed, **cfg.init) if resuming else initial_params(cfg, net)
    opt_state = optimizer.init(params)
    start = 0
    metrics_path = out / "metrics.jsonl"
    if resuming:
        start, params, opt_state = _read_checkpoint(out, opt_state, readout)
        _truncate_metrics(metrics_path, start)
        log(f"resuming {out} at step {start}")
    else:
        if metrics_path.exists():
            metrics_path.unlink()
        shutil.rmtree(best_path(out), ignore_errors=True)  # a best network of an earlier run is not this run's
        (out / "train_config.json").write_text(_config_text(cfg))
    best = None
    if cfg.validate_every is not None:
        trials = {"score": validation_batch(cfg, task)}
        if cfg.validate_refit is not None:
            trials["fit"] = validation_batch(cfg, task, fit=True)
        best = BestValidation(best_path(out))
        if not resuming:  # the start is the first candidate: a run keeps it unless a step validates better
            scores, scored = _validate(cfg, net, task, params, readout, trials)
            if scores is not None:
                _write_run(best_path(out), cfg, net, scored)
                best.record(0, scores, cfg.validate_trials)
                log("validation of the start: " + ", ".join(f"{k} {v:.4g}" for k, v in scores.items()))
    trained = stepped_groups(cfg)  # with the least-squares readout, O is set by `readout`, not stepped
    mask = Params(*(1.0 if name in trained else 0.0 for name in Params._fields))
    bar = _Progress(cfg.steps, start) if progress else None
    rate = None
    skipped_in_a_row = 0
    for step in range(start, cfg.steps):
        if cfg.patience is not None and best.validations_since(step, cfg.validate_every) >= cfg.patience:
            _write_checkpoint(out, step, params, opt_state, readout)  # a resumed run stops here again
            log(f"stopped early at step {step}: {cfg.patience} validations without a better score than "
                f"that of step {best.steps}")
            break
        batch, rng = batch_for_step(cfg, task, step)
        v0 = initial_voltages(cfg, rng, batch.size)
        count = step % cfg.log_every == 0
        t_step = time.perf_counter()
        params = _read_out(params, readout)
        try:
            loss, grads, spikes, *states = fn(params, batch, v0, count)
        except (SimulationError, FloatingPointError) as exc:  # a failed simulation (runaway) skips the batch
            loss, grads, spikes, states = float("nan"), None, None, []
            warnings.warn(f"step {step}: batch skipped: {exc}", stacklevel=2)
        finite = grads is not None and np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads)
        record = {"step": step, "loss": loss if np.isfinite(loss) else None, "skipped": not finite,
                  "step_s": time.perf_counter() - t_step}
        if finite:
            grads = Params(*(g * m for g, m in zip(grads, mask)))
            record["grad_norms"] = {name: float(np.linalg.norm(g)) for name, g in zip(Params._fields, grads)
                                    if name in trained}
            if readout is not None:  # the states the loss was measured at, before the update
                readout.update(states[0] if states else states_of(params, batch, v0), batch.targets,
                               readout_weights(task, batch, cfg.readout_window_weight))
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = Params(*(np.asarray(p, dtype=float) for p in optax.apply_updates(params, updates)))
            record["grad_norm"] = float(np.sqrt(sum(n**2 for n in record["grad_norms"].values())))
        else:
            warnings.warn(f"step {step}: non-finite loss or gradient; batch skipped, parameters unchanged",
                          stacklevel=2)
        if spikes is not None:
            rate = float(np.mean(spikes) / cfg.n_neurons / (cfg.duration / 1000.0))
            record["spikes_per_neuron_per_s"] = rate
        scores = None
        if best is not None and (step + 1) % cfg.validate_every == 0:
            scores, scored = _validate(cfg, net, task, params, readout, trials)
            if scores is not None:
                record.update({f"val_{k}": v for k, v in scores.items()})
                if best.improves(scores):
                    _write_run(best_path(out), cfg, net, scored)
                    best.record(step + 1, scores, cfg.validate_trials)
        with open(metrics_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        if bar:
            bar.update(step, loss, rate, scores)
        skipped_in_a_row = 0 if finite else skipped_in_a_row + 1
        if skipped_in_a_row >= cfg.max_skipped:
            _write_checkpoint(out, step + 1, params, opt_state, readout)
            if bar:
                bar.close()
            rate_txt = "" if rate is None else f"; last rate {rate:.0f} spikes/neuron/s"
            raise TrainingDiverged(
                f"{skipped_in_a_row} consecutive batches skipped (steps {step + 1 - skipped_in_a_row}..{step}): "
                f"every simulation failed or gave a non-finite loss{rate_txt} (`max_skipped`={cfg.max_skipped}). "
                f"The parameters of the last good update are in {_checkpoint_path(out)}; lower `lr` or change "
                f"`init` and train again.")
        if cfg.snapshot_every is not None and (step + 1) % cfg.snapshot_every == 0:
            _write_run(snapshot_path(out, step + 1), cfg, net, params, readout)
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps:
            _write_checkpoint(out, step + 1, params, opt_state, readout)
    if bar:
        bar.close()
    if best is not None and best.scores is not None:
        log(f"best validation: after step {best.steps}, " + ", ".join(f"{k} {v:.4g}" for k, v in
                                                                       best.scores.items()) + f" ({best.directory})")
    params = _read_out(params, readout)  # the saved network reads out with every batch seen
    _save_network(out, cfg, net, params)
    del jax
    return net, params


def load_run(out):
    """``(cfg, net, params)`` of a run directory: the trained network, or the last checkpoint of a run in progress."""
    out = Path(out)
    if not (out / "train_config.json").is_file():
        raise FileNotFoundError(f"`out`={str(out)!r} is not a training run (no train_config.json)")
    cfg = TrainConfig.from_dict(json.loads((out / "train_config.json").read_text()))
    if (out / "params.npz").is_file():
        net, params = load(out)
        return cfg, net, params
    if not _checkpoint_path(out).is_file():
        raise FileNotFoundError(f"`out`={str(out)!r} has neither params.npz nor checkpoint.npz")
    net = build_network(cfg)
    with np.load(_checkpoint_path(out)) as data:
        params = Params(*(data[f"param_{n}"] for n in Params._fields))
    return cfg, net, net.check_params(params)


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
    much as one stage on larger batches would, while the runs need not share a process
    (docs/xor-log.md, eighteenth session). Every parameter group is averaged, so a group
    that no run trains stays as it was. The result keeps the first run's training configuration,
    so ``odesnn evaluate`` scores it on that run's task, and ``out/average.json`` lists the runs.

    Raises
    ------
    ValueError
        If no run is given, or a run holds a network (neuron count, inputs, outputs, neuron model,
        masks, task) other than the first run's, naming both directories.
    FileNotFoundError
        If a run directory holds no run, naming it.
    """
    runs = [Path(r) for r in runs]
    if not runs:
        raise ValueError("`runs` must name at least one run directory, got none")
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
        _write_run(out, cfg, net, params)
        (Path(out) / "average.json").write_text(json.dumps({"runs": [str(r) for r in runs]}, indent=1) + "\n")
    return cfg, net, params
