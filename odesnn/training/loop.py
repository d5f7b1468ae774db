"""The training loop: optax steps on minibatches, validation, snapshots, checkpoints and resume."""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np

from .._checks import check_bool, show
from .._progress import training_bar
from .._solution import SimulationError
from ..models import Params
from .checkpoint import (
    checkpoint_path,
    has_checkpoint,
    previous_checkpoint_path,
    read_checkpoint,
    truncate_metrics,
    write_checkpoint,
)
from .config import (
    TrainConfig,
    batch_for_step,
    build_network,
    initial_voltages,
    lr_factors,
    make_task,
    stepped_groups,
    trial_duration,
)
from .objective import fitted_readout, jax_loss_and_grad, jax_states, readout_weights
from .readout import LstsqReadout
from .runs import (
    best_path,
    config_text,
    initial_params,
    read_out,
    save_network,
    snapshot_path,
    write_run,
)
from .validation import (
    VALIDATE_FIT_SALT,
    VALIDATE_SALT,
    BestValidation,
    validation_scores,
)


class TrainingDiverged(RuntimeError):
    """Raised by :func:`train` when its batches keep being skipped (a failed simulation, a non-finite loss or
    gradient): after ``max_skipped`` in a row, or at the end of a run whose trailing streak of skipped batches
    covers at least half of the steps it took (see ``TrainConfig.max_skipped``). The message names the steps,
    the last cause and the last spike rate measured.

    The checkpoint written just before holds the parameters of the last good
    update, so nothing is lost; change ``lr`` or ``init`` and train again.
    """


def diverged(streak, ran, max_skipped) -> bool:
    """Whether ``streak`` skipped batches in a row, the last of the ``ran`` steps a run has taken so far, stop it:
    ``max_skipped`` of them, or, once the run is over, at least half of its steps (:class:`TrainingDiverged`)."""
    return streak >= max_skipped or (ran > 0 and 2 * streak >= ran)


def _skip_cause(loss, grads):
    """Why a batch whose ``loss`` and ``grads`` came back is skipped: the loss, or the gradient groups that are
    non-finite (the part of a gradient left out by the masks included)."""
    if not np.isfinite(loss):
        return f"the loss was {loss}"
    if grads is None:
        return "no gradient was returned"
    bad = [name for name, g in zip(Params._fields, grads) if not np.all(np.isfinite(g))]
    return f"the gradient of {', '.join(bad)} was non-finite" if bad else "the gradient was non-finite"


def _diverged_message(cfg, out, end, streak, ran, cause, rate):
    """The message of :class:`TrainingDiverged` for a run whose last ``streak`` of its ``ran`` steps (ending
    before step ``end``) were skipped, the latest for ``cause``; ``rate``: the latest spike rate measured."""
    rule = (f"`max_skipped`={cfg.max_skipped} in a row" if streak >= cfg.max_skipped else
            f"the run ended with {streak} of its {ran} steps skipped in a row (at least half)")
    rate_txt = ("no spike rate was measured" if rate is None else
                f"the last spike rate measured was {rate:.0f} spikes/neuron/s")
    return (f"{streak} consecutive batches skipped (steps {end - streak}..{end - 1}): {rule}. The last cause: "
            f"{cause}; {rate_txt}. The parameters of the last good update are in {checkpoint_path(out)}; lower "
            f"`lr` or change `init` (or the cap the cause names) and train again.")


def _show(bar, loss, rate, scores):
    """Put the step's loss, spike rate and (when validated) score beside the training bar."""
    if scores is not None:
        bar.val = (f"val acc {scores['accuracy']:.3f}" if "accuracy" in scores
                   else f"val err {scores['rel_error']:.4g}")
    text = f"loss {loss:.5g}, spikes/neuron/s {'n/a' if rate is None else f'{rate:.1f}'}"
    bar.set_postfix_str(text + (f", {bar.val}" if getattr(bar, "val", "") else ""), refresh=False)
    bar.update(1)


def validation_batch(cfg: TrainConfig, task, fit=False):
    """The held-out validation trials of a run and their initial voltages: ``(batch, v0)``.

    ``fit=True`` gives the ``validate_refit`` trials a validation readout is fitted to instead.
    """
    size, salt = (cfg.validate_refit, VALIDATE_FIT_SALT) if fit else (cfg.validate_trials, VALIDATE_SALT)
    batch, rng = batch_for_step(cfg, task, 0, size=size, salt=salt)
    return batch, initial_voltages(cfg, rng, batch.size)


def _validate(cfg, net, task, params, readout, trials):
    """``(scores, params)``: the validation scores and the network they are of (its readout refitted with
    ``validate_refit``); ``(None, None)`` where a trial failed to simulate."""
    p = read_out(params, readout)
    try:
        if cfg.validate_refit is not None:
            p = fitted_readout(cfg, net, p, *trials["fit"], ridge=cfg.readout_ridge)
        batch, v0 = trials["score"]
        states, _ = jax_states(cfg, net, p, batch, v0)
    except (RuntimeError, SimulationError, FloatingPointError) as exc:
        warnings.warn(f"validation failed: {exc}", stacklevel=2)
        return None, None
    return validation_scores(task, batch, states @ np.asarray(p.O, dtype=float).T), p


def check_train_arguments(cfg, out, resume, loss_and_grad, progress, log, states_fn):
    """Refuse, by name, arguments of :func:`train` of the wrong kind (a string ``resume="no"`` would read as
    true)."""
    if not isinstance(cfg, TrainConfig):
        raise TypeError(f"`cfg` must be a TrainConfig (odesnn.training.default_config), got {type(cfg).__name__}")
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"`out` must be a path (a str or pathlib.Path), got {show(out)}")
    check_bool("resume", resume)
    check_bool("progress", progress)
    for name, fn in (("loss_and_grad", loss_and_grad), ("states_fn", states_fn), ("log", log)):
        if not (callable(fn) or (fn is None and name != "log")):
            raise TypeError(f"`{name}` must be {'a function' if name == 'log' else 'None or a function'}, "
                            f"got {show(fn)}")


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

    check_train_arguments(cfg, out, resume, loss_and_grad, progress, log, states_fn)
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
    resuming = resume and has_checkpoint(out)
    # a resumed run reads its parameters from the checkpoint (`init_from` may be gone by then)
    params = net.init_params(cfg.seed, **cfg.init) if resuming else initial_params(cfg, net)
    opt_state = optimizer.init(params)
    start = 0
    metrics_path = out / "metrics.jsonl"
    if resuming:
        start, params, opt_state = read_checkpoint(out, opt_state, readout)
        truncate_metrics(metrics_path, start)
        log(f"resuming {out} at step {start}")
    else:
        for stale in (metrics_path, checkpoint_path(out), previous_checkpoint_path(out)):
            stale.unlink(missing_ok=True)  # an earlier run's in this directory: never this run's to resume
        shutil.rmtree(best_path(out), ignore_errors=True)  # a best network of an earlier run is not this run's
        (out / "train_config.json").write_text(config_text(cfg))
    best = None
    if cfg.validate_every is not None:
        trials = {"score": validation_batch(cfg, task)}
        if cfg.validate_refit is not None:
            trials["fit"] = validation_batch(cfg, task, fit=True)
        best = BestValidation(best_path(out))
        if not resuming:  # the start is the first candidate: a run keeps it unless a step validates better
            scores, scored = _validate(cfg, net, task, params, readout, trials)
            if scores is not None:
                write_run(best_path(out), cfg, net, scored)
                best.record(0, scores, cfg.validate_trials)
                log("validation of the start: " + ", ".join(f"{k} {v:.4g}" for k, v in scores.items()))
    trained = stepped_groups(cfg)  # with the least-squares readout, O is set by `readout`, not stepped
    # a step moves the trained groups only, and never an entry that the network's masks (W_mask, Wf_mask) hold
    # at zero: a gradient there (a custom loss_and_grad's) would make parameters that the network refuses
    structural = {"W": net.W_mask_array, "Wf": net.Wf_mask_array}
    mask = Params(*(structural.get(name, 1.0) if name in trained else 0.0 for name in Params._fields))
    bar = training_bar(cfg.steps, start, enabled=progress)
    rate = None
    skipped_in_a_row = 0
    ran = 0  # steps this call has taken (a resumed run counts from where it resumed)
    cause = None  # why the latest batch was skipped
    for step in range(start, cfg.steps):
        if cfg.patience is not None and best.validations_since(step, cfg.validate_every) >= cfg.patience:
            write_checkpoint(out, step, params, opt_state, readout)  # a resumed run stops here again
            log(f"stopped early at step {step}: {cfg.patience} validations without a better score than "
                f"that of step {best.steps}")
            break
        batch, rng = batch_for_step(cfg, task, step)
        v0 = initial_voltages(cfg, rng, batch.size)
        count = step % cfg.log_every == 0
        t_step = time.perf_counter()
        params = read_out(params, readout)
        failure = None
        try:
            loss, grads, spikes, *states = fn(params, batch, v0, count)
        except (SimulationError, FloatingPointError) as exc:  # a failed simulation (runaway) skips the batch
            loss, grads, spikes, states = float("nan"), None, None, []
            failure = f"{type(exc).__name__}: {exc}"
            warnings.warn(f"step {step}: batch skipped: {exc}", stacklevel=2)
        finite = grads is not None and np.isfinite(loss) and all(np.all(np.isfinite(g)) for g in grads)
        ran += 1
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
            cause = failure or _skip_cause(loss, grads)
            if failure is None:
                warnings.warn(f"step {step}: {cause}; batch skipped, parameters unchanged", stacklevel=2)
        if spikes is not None:
            rate = float(np.mean(spikes) / cfg.n_neurons / (trial_duration(cfg) / 1000.0))
            record["spikes_per_neuron_per_s"] = rate
        scores = None
        if best is not None and (step + 1) % cfg.validate_every == 0:
            scores, scored = _validate(cfg, net, task, params, readout, trials)
            if scores is not None:
                record.update({f"val_{k}": v for k, v in scores.items()})
                if best.improves(scores):
                    write_run(best_path(out), cfg, net, scored)
                    best.record(step + 1, scores, cfg.validate_trials)
        with open(metrics_path, "a") as fh:
            fh.write(json.dumps(record) + "\n")
        _show(bar, loss, rate, scores)
        skipped_in_a_row = 0 if finite else skipped_in_a_row + 1
        if skipped_in_a_row >= cfg.max_skipped:
            write_checkpoint(out, step + 1, params, opt_state, readout)
            bar.close()
            raise TrainingDiverged(_diverged_message(cfg, out, step + 1, skipped_in_a_row, ran, cause, rate))
        if cfg.snapshot_every is not None and (step + 1) % cfg.snapshot_every == 0:
            write_run(snapshot_path(out, step + 1), cfg, net, params, readout)
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps:
            write_checkpoint(out, step + 1, params, opt_state, readout)
    bar.close()
    if diverged(skipped_in_a_row, ran, cfg.max_skipped):  # a run that ended on skipped batches has not trained:
        # no network is saved; the checkpoint of its last step (or of the patience stop) holds the last good update
        raise TrainingDiverged(_diverged_message(cfg, out, start + ran, skipped_in_a_row, ran, cause, rate))
    if best is not None and best.scores is not None:
        log(f"best validation: after step {best.steps}, " + ", ".join(f"{k} {v:.4g}" for k, v in
                                                                       best.scores.items()) + f" ({best.directory})")
    params = read_out(params, readout)  # the saved network reads out with every batch seen
    save_network(out, cfg, net, params)
    del jax
    return net, params
