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

import jax
import jax.numpy as jnp

from .. import _dynamics as dyn
from ..models.network import State
from . import _events as ev
from . import _rate
from ._model import Model, forward_field, next_stop, piece_of
from ._rk import Layout, dense_coeffs, dense_eval, method, pid_control, rk_step


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


def _field(model, args):
    return lambda t, y: forward_field(model, t, y, args)


def _fresh_start(model) -> bool:
    """Whether a step can start after a jump of the field (a truncating reset, a held signal's sample time),
    so that the first stage must be evaluated anew rather than taken from the previous step (FSAL)."""
    return (not model.translation) or model.signals_jump


def _init(model, opts, params, trial, x0, t_span) -> _State:
    dtype = x0.v.dtype
    t0, t_end = t_span[0], t_span[1]
    y0 = (x0, jnp.zeros((), dtype))
    f0 = _field(model, (params, trial, piece_of(trial.t_grid, t0)))(t0, y0)
    # the PID state as diffrax's init builds it, in the working dtype; the first step is a small
    # fixed guess (dt0, default 1e-3 of the span) that the controller grows by up to 10x per step
    cstate = (jnp.ones((), dtype), jnp.ones((), dtype))
    h0 = jnp.asarray(opts.dt0 if opts.dt0 is not None else 1e-3, dtype) * (1.0 if opts.dt0 else (t_end - t0))
    zero = jnp.zeros((), jnp.int32)
    return _State(t0, y0, h0, f0, cstate, jnp.array(False), zero, zero, zero, zero)


class _Step(NamedTuple):
    """One trial's attempted step before its crossings are located."""

    t1: object
    stop: object
    y1: object
    dense: object
    f1: object
    ok: object
    h_new: object
    cstate1: object
    vcoef: object  # (D+1, N) voltage polynomial in θ
    need: object  # (J, N) crossings to locate
    a: object  # (J, N) their brackets in θ
    b: object
    end: object  # (J, N) translation resets: past the threshold at the end of the step


def _try_step(model: Model, opts, params, trial, t_end, c: _State, active) -> _Step:
    """Attempt one step of one trial: Runge-Kutta step, error control, and the crossings it holds."""
    net = model.net
    m = method(opts.solver)
    ths = model.thresholds
    k = piece_of(trial.t_grid, c.t)
    stop = next_stop(trial.t_grid, k, t_end)
    t1 = jnp.minimum(c.t + c.h, stop)
    t1 = jnp.where(stop - t1 < 1e-6 * (stop - c.t), stop, t1)  # no sliver steps before a stop
    t1 = jnp.where(active, t1, c.t + jnp.abs(c.h) + 1.0)  # a harmless dummy step for finished trials
    field = _field(model, (params, trial, k))
    f0 = c.solver_state
    if _fresh_start(model) or not m.fsal:
        fresh = field(c.t, c.y)
        f0 = fresh if not m.fsal else _tree_where(c.made_jump, fresh, f0)
    y1, y_err, dense, f1 = rk_step(m, field, c.t, t1, c.y, f0)
    keep, dt, cstate1 = pid_control(m, opts, c.t, t1, c.y, y1, y_err, c.controller_state)
    finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(y1)]))
    h_new = jnp.where(finite & jnp.isfinite(dt), dt, 0.25 * (t1 - c.t))
    ok = keep & finite & active
    vcoef = dense_coeffs(m, dense, Layout(c.y).cols(0))  # leaf 0 of (State(v, s, sf), c) is v
    v0, v1 = c.y[0].v, y1[0].v
    frac, V = ev.sample_voltages(vcoef, v0, v1, opts.n_samples)
    if net.gate is not None:  # a step must not jump over a whole gate pulse: reject and halve
        jumped = jnp.array(False)
        for th in ths:
            if th.synaptic:
                jumped = jumped | jnp.any(ev.missed_charge(V, c.y[0].s, y1[0].s, t1 - c.t, net.tau, th, net.gate))
        h_new = jnp.where(ok & jumped, 0.5 * (t1 - c.t), h_new)
        ok = ok & ~jumped
    crossed, a, b = zip(*(ev.first_crossing(frac, V, th) for th in ths))
    crossed, a, b = jnp.stack(crossed), jnp.stack(a), jnp.stack(b)
    if model.translation:
        end = jnp.stack([ev.post(v1, th) for th in ths])
        shift = jnp.sum(jnp.where(end, jnp.array([th.value - th.reset for th in ths], v1.dtype)[:, None], 0.0), 0)
        bad = jnp.any(crossed & ~end)  # a crossing that returns within the step
        for th in ths:
            bad = bad | jnp.any(ev.post(v1 - shift, th))  # or one that a single wrap does not undo
        h_new = jnp.where(ok & bad, 0.5 * (t1 - c.t), h_new)
        ok = ok & ~bad
        need = end & ok
    else:
        end = crossed
        need = crossed & ok
    return _Step(t1, stop, y1, dense, f1, ok, h_new, cstate1, vcoef, need, a, b, end)


def _finish_step(model: Model, opts, c: _State, st: _Step, theta, active) -> tuple[_State, _Attempt]:
    """Apply the located crossings (``theta`` (J, N), fractions of the step; inf where none) and move on."""
    net = model.net
    m = method(opts.solver)
    ths = model.thresholds
    J, N = len(ths), net.n_neurons
    S = opts.max_spikes
    h = st.t1 - c.t
    root = jnp.where(st.need, c.t + theta * h, jnp.inf)
    previous = model.signals_jump
    if model.translation:
        v1 = st.y1[0].v
        shift = jnp.sum(jnp.where(st.end, jnp.array([th.value - th.reset for th in ths], v1.dtype)[:, None], 0.0), 0)
        y_next = (State(v1 - shift, st.y1[0].s, st.y1[0].sf), st.y1[1])
        t_next = st.t1
        made_jump = jnp.array(previous) & (st.t1 == st.stop)
        event = jnp.array(-1, jnp.int32)
        mask = st.end
    else:
        flat = root.reshape(-1)
        e = jnp.argmin(flat)
        t_e = flat[e]
        hit = jnp.isfinite(t_e)
        t_e = jnp.where(hit, t_e, st.t1)
        y_pre = dense_eval(m, c.t, st.t1, st.dense, t_e, Layout(c.y))
        y_post = _reset(model, y_pre, e // N, e % N)
        y_next = _tree_where(hit, y_post, st.y1)
        t_next = jnp.where(hit, t_e, st.t1)
        made_jump = hit | (jnp.array(previous) & (st.t1 == st.stop))
        event = jnp.where(hit, e, -1).astype(jnp.int32)
        mask = (jnp.arange(J * N) == e).reshape(J, N) & hit
        root = jnp.where(mask, t_e, jnp.inf)
    ok = st.ok
    count = jnp.sum(mask).astype(jnp.int32)
    overflow = ok & (c.n_spikes + count > S)
    accept = ok & ~overflow
    status = jnp.where(overflow, 1, c.status)
    status = jnp.where(active & (st.t1 <= c.t), -1, status)
    new = _State(
        t=jnp.where(accept, t_next, c.t), y=_tree_where(accept, y_next, c.y), h=jnp.where(active, st.h_new, c.h),
        solver_state=_tree_where(accept, st.f1, c.solver_state) if st.f1 is not None else c.solver_state,
        controller_state=_tree_where(active, st.cstate1, c.controller_state),
        made_jump=jnp.where(accept, made_jump, c.made_jump), n_steps=c.n_steps + accept.astype(jnp.int32),
        n_rejected=c.n_rejected + (active & ~accept).astype(jnp.int32), status=status,
        n_spikes=c.n_spikes + jnp.where(accept, count, 0),
    )
    return new, _Attempt(accept, st.t1, t_next, event, mask & accept, root, st.dense)


def locate_batch(opts, levels, steps: _Step):
    """Fractions θ (B, J, N) of the crossings ``steps.need`` of a batch of steps (inf elsewhere).

    Each crossing is a root of the step's voltage polynomial, so one Newton
    iteration is a few fused elementwise operations. ``root_finding="all"``
    (default) runs them on every component, masked: one fused kernel over
    ``B × J × N``, cheaper on the CPU (XOR, batch 20) and on a GPU than
    gathering the crossings. ``"compact"`` gathers the first ``max(8, B)``
    crossings of the pass into a short vector, locates them there and
    scatters them back, so that its cost follows the spikes (a pass with more
    crossings locates all components instead; the result is the same).
    """
    need, a, b, coef = steps.need, steps.a, steps.b, steps.vcoef  # coef (B, D+1, N)
    B, J, N = need.shape
    lv = jnp.broadcast_to(jnp.asarray(levels, a.dtype)[None, :, None], need.shape)

    def every():
        th = ev.locate(coef[:, :, None, :].transpose(1, 0, 2, 3), lv, a, b, opts.root_iters)
        return jnp.where(need, th, jnp.inf)

    if opts.root_finding != "compact":
        return every()
    cap = min(B * J * N, max(8, B))
    flat = need.reshape(-1)
    count = jnp.sum(flat)

    def compact():
        (idx,) = jnp.nonzero(flat, size=cap, fill_value=0)
        bi, ni = idx // (J * N), idx % N
        th = ev.locate(coef[bi, :, ni].T, lv.reshape(-1)[idx], a.reshape(-1)[idx], b.reshape(-1)[idx],
                       opts.root_iters)
        valid = jnp.arange(cap) < count
        out = jnp.full((B * J * N,), jnp.inf, a.dtype).at[jnp.where(valid, idx, B * J * N)].set(th, mode="drop")
        return out.reshape(B, J, N)

    return jax.lax.cond(count <= cap, compact, every)


def _save_values(model, opts, start_t, y, att: _Attempt, te):
    """State at ``te`` from one trial's step dense output, with the wraps of spikes before ``te`` applied
    (``y`` is the state at the start of the step, a template of the layout)."""
    yi = dense_eval(method(opts.solver), start_t, att.t1, att.dense, te, Layout(y))
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
    levels = [th.value for th in model.thresholds]

    def running(st):
        return (st.t < t_end) & (st.status == 0) & (st.n_steps < opts.max_steps)

    def cond(carry):
        return jnp.any(running(carry[0]))

    def body(carry):
        st, spikes, log, ck, saved, i_save, recent = carry
        active = running(st)
        steps = jax.vmap(lambda tr, c, a: _try_step(model, opts, params, tr, t_end, c, a))(trials, st, active)
        theta = locate_batch(opts, levels, steps)
        new, att = jax.vmap(lambda c, s_, th, a: _finish_step(model, opts, c, s_, th, a))(st, steps, theta, active)
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
                vals = jax.vmap(lambda t0_, y_, a, t_: _save_values(model, opts, t0_, y_, a, t_))(st.t, st.y, att, te)
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
    """Apply the reset of threshold ``j`` (traced index) to neuron ``n``: the shared
    :func:`odesnn._dynamics.apply_reset`, in the working dtype."""
    x, cost = y
    x_new = dyn.apply_reset(model.net, x, j, n)
    return jax.tree.map(lambda a, b: a.astype(b.dtype), x_new, x), cost
