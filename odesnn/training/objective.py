"""A run's loss, gradient and states on the JAX backend: the batch-mean loss and its gradient, per-trial
gradients with their clipping weights, the synaptic states, and readouts fitted to them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._solution import SimulationError
from ..models import Network, Params
from .buffers import BUFFER_RATE_HZ, spike_buffer, step_budget
from .config import TrainConfig, stepped_groups, trial_duration
from .readout import LstsqReadout


def task_span(batch) -> tuple:
    """The time span a task batch is simulated over: that of its grid (the gradient and the states agree)."""
    return float(batch.t[0]), float(batch.t[-1])


def jax_options(cfg: TrainConfig):
    """The JAX backend :class:`~odesnn.jax.Options` of a run (solver, tolerances, dtype, caps: ``max_steps`` and
    ``max_spikes``, or, where they are None, :func:`~.buffers.step_budget` and :func:`~.buffers.spike_buffer`)."""
    from ..jax import Options

    return Options(solver=cfg.solver, rtol=cfg.rtol, atol=cfg.atol, dtype=cfg.dtype, max_steps=step_budget(cfg),
                   max_spikes=spike_buffer(cfg), adjoint_horizon=cfg.adjoint_horizon)


def name_failed_trials(cfg: TrainConfig, model, opts, params, b):
    """Raise :class:`~odesnn.SimulationError` naming why trials of the JAX batch ``b`` failed, if any did.

    The gradient's forward pass gives a failed trial a NaN cost and says no more, so a batch whose loss is
    non-finite is simulated again (forward only) to read each trial's status: the message names how many
    trials failed, the first one's cause as :func:`odesnn.jax.simulate` words it (``spike buffer
    max_spikes=16384 exceeded at t=... ms (neuron 3 had ...)``, ``max_steps=... reached``, a rate above
    ``max_rate``), the config fields to change, and the batch's spike rate up to the stops. Returns
    normally when every trial reaches the end (the NaN came from elsewhere).
    """
    from ..jax import simulate

    sol = simulate(b, params=params, model=model, t_eval=np.asarray(b.t_span[:1], dtype=float), options=opts,
                   throw=False)
    status = np.asarray(sol.extra["status"])
    failed = np.flatnonzero(status != 0)
    if not failed.size:
        return
    counts = np.asarray(sol.stats["n_events"], dtype=float)
    span = np.asarray(sol.extra["t_final"], dtype=float) - float(b.t_span[0])
    rate = 1000.0 * counts.sum() / (cfg.n_neurons * max(span.sum(), 1e-300))
    hint = {1: f"the run's `max_spikes` is {opts.max_spikes}" + ("" if cfg.max_spikes is not None else
                f" (None: sized for {cfg.n_neurons} neurons firing at {BUFFER_RATE_HZ:g} Hz over "
                f"{trial_duration(cfg):g} ms)"),
            2: f"the run's `max_steps` is {opts.max_steps}"}
    causes = "; ".join(hint[k] for k in sorted(set(status[failed].tolist()) & set(hint)))
    first = sol.message.split("; the outputs end at")[0]  # where simulate's outputs end says nothing here
    raise SimulationError(f"{failed.size} of {status.size} trials failed to simulate, so the loss is NaN; "
                          f"{first}" + (f"; {causes}" if causes else "") +
                          f"; the batch fired {rate:.0f} spikes per neuron per second up to the stops")


@dataclass(frozen=True)
class _MeanCostPerMs:
    """The training loss, the batch's mean trial cost times ``scale`` (1 / duration): a value, not a closure, so
    that the compiled gradient is reused by every run of the same network and options in a process."""

    scale: float

    def __call__(self, costs):
        import jax.numpy as jnp

        return jnp.mean(costs) * self.scale


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

    from ..jax import Model, make_batch
    from ..jax._simulate import value_grad_and_spike_counts

    opts = jax_options(cfg)
    opts.real_dtype()  # a configuration error (float64 without jax_enable_x64) stops the run before step 0
    model = Model(net, "linear", "linear")
    scale = 1.0 / cfg.duration
    lstsq = cfg.readout == "lstsq"  # then the states of the forward pass are returned too
    per_trial_fn = jax_trial_gradients(cfg, net)

    loss = _MeanCostPerMs(scale)

    def fn(params, batch, v0, count_spikes=False):
        if cfg.trial_clip is None and not lstsq:
            b = make_batch(net, batch.t, batch.inputs, batch.targets, task_span(batch), v0=v0)
            value, grads, counts = value_grad_and_spike_counts(params, b, model=model, loss=loss, options=opts)
            if not np.isfinite(float(value)):  # a failed trial (a full spike buffer, say): name it, not a NaN
                name_failed_trials(cfg, model, opts, params, b)
            grads = Params(*(np.asarray(g, dtype=float) for g in jax.tree.leaves(grads)))
            return float(value), grads, np.asarray(counts)
        costs, per_trial, counts, *states = per_trial_fn(params, batch, v0, t_eval=batch.t if lstsq else None)
        if not np.all(np.isfinite(costs)):
            name_failed_trials(cfg, model, opts, params,
                               make_batch(net, batch.t, batch.inputs, batch.targets, task_span(batch), v0=v0))
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


def clip_weights(per_trial_grads, groups, factor):
    """Per-trial weights ``min(1, factor · median(norms) / norm)`` of the gradients (arrays leading with B).

    A trial's norm is taken over the parameter groups named in ``groups``.
    """
    sq = sum(np.sum(np.reshape(g, (np.shape(g)[0], -1)) ** 2, axis=1)
             for name, g in zip(Params._fields, per_trial_grads) if name in groups)
    norms = np.sqrt(sq)
    cap = factor * np.median(norms)
    return np.where(norms > cap, cap / np.where(norms > 0, norms, 1.0), 1.0)


def jax_states(cfg: TrainConfig, net: Network, params, batch, v0, chunk=50):
    """Synaptic states ``s`` ``(B, T, N)`` on ``batch.t`` and spike counts ``(B,)`` from the batched JAX forward.

    Trials run in chunks of ``chunk``; a trial whose simulation failed raises ``RuntimeError`` naming it.
    """
    import jax.numpy as jnp

    from .._solution import RESULTS
    from ..jax import Model, cast, make_batch
    from ..jax._run import forward_jit

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
