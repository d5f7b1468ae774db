"""The configuration of a training run: :class:`TrainConfig`, the paper's settings per task, and what
a config builds (the network, the task, each step's batch and initial voltages)."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field

import numpy as np

from .._checks import check_bool, check_horizon, check_integer, check_number, show
from ..models import NIF, QIF, Gate, Network, Params, QuadraticCost
from ..models.network import MASKS
from .readout import check_readout_options


def _tasks():
    """The task generators by name (:data:`odesnn.tasks.TASKS`), imported when first needed: the tasks package
    holds the reproduction floor, which imports this one."""
    from ..tasks import TASKS

    return TASKS


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
        A batch is skipped (parameters unchanged, with a warning naming the cause) when its simulation fails or
        its loss or gradient is non-finite. The run stops with :class:`TrainingDiverged`, which names the last
        cause and spike rate, after writing its checkpoint (the last good parameters): as soon as
        ``max_skipped`` batches in a row were skipped, and at the end of the run if the trailing streak of
        skipped batches covers at least half of the steps this call of :func:`train` took (a run of 3 steps
        that skipped all 3, or the last 2 after one good step; a resumed run counts from where it resumed). A
        run that ends on a few skipped batches after many good ones returns normally. Default 20. Refused
        here unless a positive integer.
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
    max_steps : int or None
        Cap on the solver's accepted steps per trial (JAX); a trial that reaches it fails, and a training batch
        with such a trial is skipped with a message naming ``max_steps``. ``None`` (default; ``"xor"``: 65536):
        :func:`~.buffers.step_budget`, ``max(65536, 2 * max_spikes)`` (the auto-encoder takes 1.6-2.4 steps per
        spike). Refused here unless ``None`` or a positive integer.
    max_spikes : int or None
        Size of the spike buffer per trial (JAX); a trial that exceeds it fails, and a training batch with such
        a trial is skipped with a message naming ``max_spikes``. ``None`` (default; ``"xor"``: 16384):
        :func:`~.buffers.spike_buffer`, room for every neuron firing at :data:`~.buffers.BUFFER_RATE_HZ`
        (3000 Hz) over the whole trial. Refused here unless ``None`` or a positive integer.
    eval_trials : int
        Number of test trials :func:`odesnn.tasks.evaluate` draws when ``n_trials`` (``--trials``) is not
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
    # skipped batches that stop the run (TrainingDiverged): this many in a row, or, at the end of the run, a
    # trailing streak that covers at least half of the steps the run took
    max_skipped: int = 20
    duration: float = 1200.0
    dt: float = 1.0
    solver: str = "tsit5"
    rtol: float = 1e-5
    atol: float = 1e-7
    dtype: str = "float64"
    # None: the exact adjoint gradient; a time in ms: the discounted adjoint of odesnn.jax.Options
    adjoint_horizon: float | None = None
    # JAX buffers per trial; None: sized to the run (step_budget, spike_buffer: n_neurons x duration at
    # BUFFER_RATE_HZ), so that a long trial of a busy network does not overflow a fixed buffer
    max_steps: int | None = None
    max_spikes: int | None = None
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
        if not isinstance(self.task, str) or self.task not in _tasks():
            raise ValueError(f"`task`={show(self.task)} unknown; known: {sorted(_tasks())}")
        # integers: Python or numpy ints (JSON and np.int64 alike), never bools; stored as int
        self.steps = check_integer("steps", self.steps, 0)
        self.seed = check_integer("seed", self.seed, 0)
        if self.neuron not in ("nif", "qif"):
            raise ValueError(f"`neuron` must be 'nif' or 'qif', got {self.neuron!r}")
        for name in ("batch_size", "checkpoint_every", "n_neurons", "log_every", "max_skipped", "eval_trials"):
            setattr(self, name, check_integer(name, getattr(self, name), 1))
        for name in ("max_steps", "max_spikes"):  # None: sized to the run (step_budget, spike_buffer)
            if getattr(self, name) is not None:
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
        if not isinstance(self.train, (list, tuple)):
            raise ValueError(f"`train` must be a list of parameter groups (e.g. ['Wf', 'U']), got {show(self.train)}")
        bad = [g for g in self.train if g not in Params._fields]
        if bad:
            raise ValueError(f"`train` has unknown parameter groups {bad}; known: {Params._fields}")
        self.train = tuple(self.train)
        for name in ("gate", "solver", "dtype"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"`{name}` must be a name (a string), got {show(getattr(self, name))}")
        if not isinstance(self.W_mask, str) or self.W_mask not in MASKS:
            raise ValueError(f"`W_mask`={show(self.W_mask)} unknown; known: {MASKS}")
        _check_init(self.init)
        if not isinstance(self.task_kwargs, dict):
            raise ValueError(f"`task_kwargs` must be a dict of the task's arguments, got {show(self.task_kwargs)}")
        try:
            make_task(self)  # the task's own checks, now rather than when training starts
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"the {self.task} task (`task_kwargs`, and the config's duration, dt and tau): "
                            f"{exc}") from None

    @classmethod
    def from_dict(cls, data):
        if not isinstance(data, dict):
            raise ValueError(f"a training config must be a JSON object (dict) of TrainConfig fields, got {show(data)}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown config keys {unknown}; known: {sorted(names)}")
        return cls(**data)


def _check_init(init):
    """Refuse, by name, ``init`` options that :meth:`odesnn.Network.init_params` would refuse (tried on a
    network of two neurons, so that a bad value fails when the config is made, not when training starts)."""
    if not isinstance(init, dict):
        raise ValueError(f"`init` must be a dict of Network.init_params arguments, got {show(init)}")
    known = [p for p in inspect.signature(Network.init_params).parameters if p not in ("self", "seed")]
    unknown = sorted(set(init) - set(known))
    if unknown:
        raise ValueError(f"`init` has unknown keys {unknown}; known: {known}")
    try:
        Network(2, 1, 1).init_params(0, **init)
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"`init`: {exc}") from None


def default_config(task, quick=False, **overrides) -> TrainConfig:
    """The paper's settings for ``task`` (``quick``: a short run for smoke tests)."""
    quick = check_bool("quick", quick)
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
                   # The rate this starts at: with W = W_f = 0 each NIF neuron integrates its input alone and
                   # fires |U_j i(t)| times per ms. With rows of norm 2 that is 1100 Hz on average over a 1200 ms
                   # trial (39589 spikes per trial in step 0's batch of 50), and up to 2433 Hz over the 15000
                   # trials of a 300-step run (seed 0). That is the input-only rate of this network, not a
                   # runaway: learning W_f ≈ -U O removes most of those spikes (the trained reproduction fires
                   # at 266 Hz, 0.24 of its input-only trace). Rows small enough to start at tens of Hz
                   # (norm ~0.05) need a readout |O_j| ≈ 1/|U_j| ≈ 20, while Adam moves each entry of O by about
                   # lr per step, some 3.3 in all over 300 steps of this schedule; norm 1 already misses the
                   # spike-ratio target (docs/reproduce.md). So the input keeps norm 2, and the JAX buffers
                   # (max_spikes, max_steps: None) are sized to the run instead: the fixed buffer of 16384 spikes
                   # of before was exceeded by 49 of the 50 trials of step 0 (and 65536 steps by 34), and every
                   # loss came out NaN.
                   init={"w_scale": 0.0, "wf_scale": 0.0, "u_scale": 2.0 if task == "autoencoder" else 1.0,
                         "o_scale": 0.0, "i0_scale": 0.0, "u_sphere": True})
        if quick:
            cfg.update(steps=3, batch_size=4, duration=200.0, n_neurons=10, eval_trials=2,
                       task_kwargs={"period": 200.0})
    elif task == "xor":
        cfg = dict(task="xor", n_neurons=80, neuron="qif", tau_v=25.0, tau=20.0, tau_f=5.0, width=0.1,
                   W_mask="full", train=("W", "Wf", "U", "O", "I0"), duration=600.0, steps=1500,
                   batch_size=50, lr=0.005, init={"w_scale": 0.5, "wf_scale": 0.2, "u_scale": 1.0, "o_scale": 0.2,
                                                  "i0_scale": 0.005},
                   # the buffers the XOR recipe was measured with: 16384 spikes is 341 Hz over 80 neurons and
                   # 600 ms, and its trained networks fire at 23-105 Hz (docs/data)
                   max_steps=65536, max_spikes=16384)
        if quick:
            cfg.update(steps=3, batch_size=4, n_neurons=12, eval_trials=4, duration=400.0,
                       task_kwargs={"first_range": (20.0, 60.0), "gap_range": (60.0, 100.0),
                                    "cue_delay_range": (60.0, 100.0)})
    else:
        raise ValueError(f"`task`={task!r} unknown; known: {sorted(_tasks())}")
    cfg.update(overrides)
    return TrainConfig(**cfg)


def trial_duration(cfg: TrainConfig) -> float:
    """The length of a trial in ms: the task's ``duration`` (``task_kwargs``), else ``cfg.duration``."""
    return float(cfg.task_kwargs.get("duration", cfg.duration))


def check_window_weight(name, value, task_name):
    """Raise ``ValueError``, naming ``name``, unless ``value`` is a positive finite number, and 1 unless the
    task (``task_name``) is XOR, the only one with a response window."""
    check_number(name, value)
    if value != 1 and task_name != "xor":
        raise ValueError(f"`{name}`={value!r} weights the XOR response window; the {task_name} task has none")


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
    return _tasks()[cfg.task](**kw)


def batch_for_step(cfg: TrainConfig, task, step, size=None, salt=0):
    """The minibatch of ``step``: a function of ``(seed, step)`` only."""
    rng = np.random.default_rng([cfg.seed, salt, step])
    return task.sample(rng, size or cfg.batch_size), rng


def initial_voltages(cfg, rng, size):
    lo, hi = (-0.5, 0.5) if cfg.neuron == "nif" else (0.0, 0.5)
    return rng.uniform(lo, hi, (size, cfg.n_neurons))
