"""The forward driver: adaptive diffrax steps in our own ``lax.while_loop``, through threshold events.

Each pass of the loop attempts one step of a diffrax Runge-Kutta solver for
every trial of the batch (``solver.step``, vmapped over trials) and asks the
PID controller whether to keep it (``adapt_step_size``). Every trial keeps
its own time, step size and solver state, so no trial stops at another's
events; the loop ends when the slowest trial is done. Steps never cross a
sample time of the signals.

Threshold events
----------------
*Translation resets* (``Model.translation``): a neuron past its threshold at
the end of an accepted step is moved back by ``θ - v_r`` there, and its spike
time is found on the step's interpolant. ``f`` and the gate are unchanged by
the translation, so the solver's FSAL stage stays valid and the step is not
cut. A step in which a voltage crosses and comes back, or crosses twice, is
rejected and halved.

*Other resets*: the step is truncated at the earliest crossing of the trial,
the state there is read from the interpolant, the reset is applied and the
solver restarts (``made_jump``).

A step in which a neuron runs through a whole gate zone and crosses its
synaptic threshold is checked for the charge the pulse must deliver to the
neuron's slow synapse (:func:`._events.missed_charge`). If the charge is
missing, every Runge-Kutta stage fell outside the zone and the error estimate
never saw the pulse: the step is rejected and halved.

Per accepted step only scalars are logged (where the step was meant to end
and where it ended, and the event that ended it), plus the full state every
``checkpoint_every`` steps: this is what :mod:`._adjoint` recomputes from.
"""

from __future__ import annotations

from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp

from .. import _dynamics as dyn
from ..models.network import State
from . import _events as ev
from . import _rate
from ._model import Model, forward_field, next_stop, piece_of


class Spikes(NamedTuple):
    """Spike buffer of one trial (``max_spikes`` entries; the first ``count`` are valid)."""

    t: object
    neuron: object
    sign: object
    step: object
    count: object


class StepLog(NamedTuple):
    """Per accepted step: end of the attempted solver step, where it ended, event (``j*N + n``, or -1)."""

    t_attempt: object
    t_end: object
    event: object


class Forward(NamedTuple):
    """Result of the forward driver for one trial."""

    y: object  # (State, cost) at the end
    t: object  # time reached
    spikes: Spikes
    log: StepLog
    checkpoints: object  # (State, cost) with a leading axis of n_checkpoints
    saved: object  # (State, cost) at t_eval
    n_steps: object
    n_rejected: object
    status: object


class _State(NamedTuple):
    """Per-trial loop state (small; the buffers live outside the vmapped step)."""

    t: object
    y: object
    h: object
    solver_state: object
    controller_state: object
    made_jump: object
    n_steps: object
    n_rejected: object
    status: object
    n_spikes: object


class _Attempt(NamedTuple):
    """What one attempted step of one trial hands to the batched buffers."""

    accept: object
    t1: object
    t_next: object
    event: object
    mask: object  # (J, N) spikes in this step
    root: object  # (J, N) their times
    dense: object


def _tree_where(pred, a, b):
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


def make_term(model: Model):
    return diffrax.ODETerm(lambda t, y, args: forward_field(model, t, y, args))


def _init(model, opts, params, trial, x0, t_span) -> _State:
    dtype = x0.v.dtype
    solver = opts.make_solver()
    term = make_term(model)
    t0, t_end = t_span[0], t_span[1]
    y0 = (x0, jnp.zeros((), dtype))
    args0 = (params, trial, piece_of(trial.t_grid, t0))
    t1_first = jnp.minimum(t0 + (t_end - t0) * 0.01, next_stop(trial.t_grid, args0[2], t_end))
    # the PID state as diffrax's init builds it, in the working dtype; the first step is a small
    # fixed guess (dt0, default 1e-3 of the span) that the controller grows by up to 10x per step
    cstate = (jnp.ones((), dtype), jnp.ones((), dtype), jnp.array(False))
    h0 = jnp.asarray(opts.dt0 if opts.dt0 is not None else 1e-3, dtype) * (1.0 if opts.dt0 else (t_end - t0))
    sstate = solver.init(term, t0, t1_first, y0, args0)
    zero = jnp.zeros((), jnp.int32)
    return _State(t0, y0, h0, sstate, cstate, jnp.array(False), zero, zero, zero, zero)


def _attempt(model: Model, opts, params, trial, t_end, c: _State, active) -> tuple[_State, _Attempt]:
    """Attempt one step of one trial; accept it or not; wrap or truncate at threshold crossings."""
    net = model.net
    solver, controller = opts.make_solver(), opts.make_controller()
    term = make_term(model)
    error_order = solver.error_order(term)
    ths = model.thresholds
    J, N = len(ths), net.n_neurons
    S = opts.max_spikes
    k = piece_of(trial.t_grid, c.t)
    stop = next_stop(trial.t_grid, k, t_end)
    t1 = jnp.minimum(c.t + c.h, stop)
    t1 = jnp.where(stop - t1 < 1e-6 * (stop - c.t), stop, t1)  # no sliver steps before a stop
    t1 = jnp.where(active, t1, c.t + jnp.abs(c.h) + 1.0)  # a harmless dummy step for finished trials
    args = (params, trial, k)
    y1, y_err, dense, sstate1, _ = solver.step(term, c.t, t1, c.y, args, c.solver_state, c.made_jump)
    keep, nt0, nt1, _, cstate1, _ = controller.adapt_step_size(c.t, t1, c.y, y1, args, y_err, error_order,
                                                               c.controller_state)
    finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(y1)]))
    h_new = jnp.where(finite & jnp.isfinite(nt1 - nt0), nt1 - nt0, 0.25 * (t1 - c.t))
    ok = keep & finite & active
    dense_v = ev.voltage_dense(dense)
    v0, v1 = c.y[0].v, y1[0].v
    ts, V = ev.sample_voltages(solver, c.t, t1, dense_v, v0, v1, opts.n_samples)
    roots, masks = [], []
    if net.gate is not None:  # a step must not jump over a whole gate pulse: reject and halve
        jumped = jnp.array(False)
        for th in ths:
            if th.synaptic:
                jumped = jumped | jnp.any(ev.missed_charge(V, c.y[0].s, y1[0].s, t1 - c.t, net.tau, th, net.gate))
        h_new = jnp.where(ok & jumped, 0.5 * (t1 - c.t), h_new)
        ok = ok & ~jumped
    previous = model.input_kind == "previous" or model.target_kind == "previous"
    if model.translation:
        shift = jnp.zeros_like(v1)
        bad = jnp.array(False)
        for th in ths:
            crossed, a, b = ev.first_crossing(ts, V, th)
            end = ev.post(v1, th)
            bad = bad | jnp.any(crossed & ~end)
            roots.append(jnp.where(end, ev.locate(solver, c.t, t1, dense_v, th.value, a, b, opts.root_iters),
                                   jnp.inf))
            masks.append(end)
            shift = shift + jnp.where(end, th.value - th.reset, 0.0)
        v_new = v1 - shift
        for th in ths:
            bad = bad | jnp.any(ev.post(v_new, th))
        h_new = jnp.where(ok & bad, 0.5 * (t1 - c.t), h_new)
        ok = ok & ~bad
        y_next = (State(v_new, y1[0].s, y1[0].sf), y1[1])
        t_next = t1
        made_jump = jnp.array(previous) & (t1 == stop)
        event = jnp.array(-1, jnp.int32)
        mask = jnp.stack(masks)
        root = jnp.stack(roots)
    else:
        for th in ths:
            crossed, a, b = ev.first_crossing(ts, V, th)
            roots.append(jnp.where(crossed, ev.locate(solver, c.t, t1, dense_v, th.value, a, b, opts.root_iters),
                                   jnp.inf))
        flat = jnp.stack(roots).reshape(-1)
        e = jnp.argmin(flat)
        t_e = flat[e]
        hit = jnp.isfinite(t_e)
        t_e = jnp.where(hit, t_e, t1)
        y_pre = ev.interpolant(solver, c.t, t1, dense).evaluate(t_e)
        y_post = _reset(model, y_pre, e // N, e % N)
        y_next = _tree_where(hit, y_post, y1)
        t_next = jnp.where(hit, t_e, t1)
        made_jump = hit | (jnp.array(previous) & (t1 == stop))
        event = jnp.where(hit, e, -1).astype(jnp.int32)
        mask = (jnp.arange(J * N) == e).reshape(J, N) & hit
        root = jnp.where(mask, t_e, jnp.inf)
    count = jnp.sum(mask).astype(jnp.int32)
    overflow = ok & (c.n_spikes + count > S)
    accept = ok & ~overflow
    status = jnp.where(overflow, 1, c.status)
    status = jnp.where(active & (t1 <= c.t), -1, status)
    new = _State(
        t=jnp.where(accept, t_next, c.t), y=_tree_where(accept, y_next, c.y), h=jnp.where(active, h_new, c.h),
        solver_state=_tree_where(accept, sstate1, c.solver_state),
        controller_state=_tree_where(active, cstate1, c.controller_state),
        made_jump=jnp.where(accept, made_jump, c.made_jump), n_steps=c.n_steps + accept.astype(jnp.int32),
        n_rejected=c.n_rejected + (active & ~accept).astype(jnp.int32), status=status,
        n_spikes=c.n_spikes + jnp.where(accept, count, 0),
    )
    return new, _Attempt(accept, t1, t_next, event, mask & accept, root, dense)


def _save_values(model, opts, start_t, att: _Attempt, te):
    """State at ``te`` from one trial's step interpolant, with the wraps of spikes before ``te`` applied."""
    solver = opts.make_solver()
    yi = ev.interpolant(solver, start_t, att.t1, att.dense).evaluate(te)
    if model.translation:
        shifts = jnp.array([th.value - th.reset for th in model.thresholds], yi[0].v.dtype)[:, None]
        back = jnp.sum(jnp.where(att.mask & (att.root <= te), shifts, 0.0), axis=0)
        yi = (State(yi[0].v - back, yi[0].s, yi[0].sf), yi[1])
    return yi


def forward_batch(model: Model, opts, params, batch, t_eval, record: bool) -> Forward:
    """Integrate every trial of ``batch`` (fields of the result carry a leading batch axis).

    The loop is batched by hand: the per-trial step is vmapped, and the
    buffers (spikes, step log, checkpoints, outputs) are written by scatters
    indexed by trial, so no buffer is copied per step (a vmapped
    ``while_loop`` would select the whole carry at every pass). ``t_eval``
    (E,) are the output times (may be empty); ``record`` keeps the step log
    and checkpoints that the gradient needs.
    """
    from ._batch import Trial

    net = model.net
    dtype = batch.x0.v.dtype
    B = batch.inputs.shape[0]
    t0, t_end = batch.t_span[0], batch.t_span[1]
    trials = Trial(jnp.broadcast_to(batch.t_grid, (B,) + batch.t_grid.shape), batch.inputs, batch.targets)
    state = jax.vmap(lambda tr, x0: _init(model, opts, params, tr, x0, batch.t_span))(trials, batch.x0)
    J, N = len(model.thresholds), net.n_neurons
    n_log = opts.max_steps if record else 1
    log = StepLog(jnp.zeros((B, n_log), dtype), jnp.zeros((B, n_log), dtype), jnp.full((B, n_log), -1, jnp.int32))
    K = opts.checkpoint_every
    n_ck = opts.n_checkpoints if record else 1
    ck = jax.tree.map(lambda leaf: jnp.zeros((B, n_ck) + leaf.shape[1:], dtype).at[:, 0].set(leaf), state.y)
    S = opts.max_spikes
    spikes = Spikes(jnp.full((B, S), jnp.inf, dtype), jnp.full((B, S), -1, jnp.int32), jnp.zeros((B, S), jnp.int32),
                    jnp.full((B, S), -1, jnp.int32), jnp.zeros((B,), jnp.int32))
    E = t_eval.shape[0]
    before = (t_eval <= t0)
    saved = jax.tree.map(
        lambda leaf: jnp.where(before.reshape((1, E) + (1,) * (leaf.ndim - 1)), leaf[:, None],
                               jnp.full((B, E) + leaf.shape[1:], jnp.nan, dtype)), state.y)
    i_save = jnp.full((B,), jnp.sum(before), jnp.int32)
    rows = jnp.arange(B)
    signs = jnp.repeat(jnp.array([th.direction for th in model.thresholds], jnp.int32), N)
    neurons = jnp.tile(jnp.arange(N, dtype=jnp.int32), J)

    def running(st):
        return (st.t < t_end) & (st.status == 0) & (st.n_steps < opts.max_steps)

    def cond(carry):
        return jnp.any(running(carry[0]))

    def body(carry):
        st, spikes, log, ck, saved, i_save, recent = carry
        active = running(st)
        new, att = jax.vmap(lambda tr, c, a: _attempt(model, opts, params, tr, t_end, c, a))(trials, st, active)
        if opts.max_rate is not None:  # a neuron firing faster than max_rate stops its trial (status 4)
            recent, too_fast = _rate.record(recent, att.mask, att.root, opts.max_rate)
            new = new._replace(status=jnp.where(too_fast & (new.status == 0), _rate.RATE_STATUS, new.status))
        # spikes
        flat = att.mask.reshape(B, J * N)
        pos = jnp.where(flat, st.n_spikes[:, None] + jnp.cumsum(flat, axis=1) - 1, S)
        r = rows[:, None]
        spikes = Spikes(spikes.t.at[r, pos].set(att.root.reshape(B, J * N), mode="drop"),
                        spikes.neuron.at[r, pos].set(jnp.broadcast_to(neurons, (B, J * N)), mode="drop"),
                        spikes.sign.at[r, pos].set(jnp.broadcast_to(signs, (B, J * N)), mode="drop"),
                        spikes.step.at[r, pos].set(jnp.broadcast_to(st.n_steps[:, None], (B, J * N)), mode="drop"),
                        new.n_spikes)
        # step log and checkpoints
        i_log = jnp.where(att.accept & record, st.n_steps, n_log)
        log = StepLog(log.t_attempt.at[rows, i_log].set(att.t1, mode="drop"),
                      log.t_end.at[rows, i_log].set(att.t_next, mode="drop"),
                      log.event.at[rows, i_log].set(att.event, mode="drop"))
        i_ck = jnp.where(att.accept & record & (new.n_steps % K == 0), new.n_steps // K, n_ck)
        ck = jax.tree.map(lambda buf, val: buf.at[rows, i_ck].set(val, mode="drop"), ck, new.y)
        if E:
            def pending(i):
                return att.accept & (i < E) & (t_eval[jnp.clip(i, 0, E - 1)] <= att.t_next)

            def save_body(sc):
                i, buf = sc
                p = pending(i)
                te = t_eval[jnp.clip(i, 0, E - 1)]
                vals = jax.vmap(lambda t0_, a, t_: _save_values(model, opts, t0_, a, t_))(st.t, att, te)
                idx = jnp.where(p, i, E)
                buf = jax.tree.map(lambda b_, v_: b_.at[rows, idx].set(v_, mode="drop"), buf, vals)
                return i + p.astype(jnp.int32), buf

            i_save, saved = jax.lax.while_loop(lambda sc: jnp.any(pending(sc[0])), save_body, (i_save, saved))
        return new, spikes, log, ck, saved, i_save, recent

    recent = _rate.init(B, N if opts.max_rate is not None else 0, dtype)
    st, spikes, log, ck, saved, _, _ = jax.lax.while_loop(cond, body, (state, spikes, log, ck, saved, i_save, recent))
    status = jnp.where((st.status == 0) & (st.t < t_end), 2, st.status)
    return Forward(st.y, st.t, spikes, log, ck, saved, st.n_steps, st.n_rejected, status)


def _reset(model: Model, y, j, n):
    """Apply the reset of threshold ``j`` (traced index) to neuron ``n``."""
    net = model.net
    ths = model.thresholds
    x, cost = y
    jumps = [dyn.spike_jump(net, th) for th in ths]  # the shared definition, one per threshold
    v = x.v.at[n].add(jnp.array([jp.v for jp in jumps], x.v.dtype)[j])
    s, sf = x.s, x.sf
    if net.gate is None:
        s = s.at[n].add(jnp.array([jp.s for jp in jumps], x.v.dtype)[j])
        if net.tau_f is not None:
            sf = sf.at[n].add(jnp.array([jp.sf for jp in jumps], x.v.dtype)[j])
    return State(v, s, sf), cost
