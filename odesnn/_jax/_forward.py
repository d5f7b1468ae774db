"""The forward driver: adaptive diffrax steps in our own ``lax.while_loop``, through threshold events.

One trial at a time (the public functions vmap it over a batch, so each
trial steps on its own and no trial waits at another's events). Each pass
of the loop attempts one step of a diffrax Runge-Kutta solver with
``solver.step`` and asks the PID controller whether to keep it
(``adapt_step_size``). Steps never cross a sample time of the signals.

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

Per accepted step only scalars are logged (where the step was meant to end
and where it ended, and the event that ended it), plus the full state every
``checkpoint_every`` steps: this is what :mod:`._adjoint` recomputes from.
"""

from __future__ import annotations

from typing import NamedTuple

import diffrax
import jax
import jax.numpy as jnp

from .._network import State
from . import _events as ev
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


class _Carry(NamedTuple):
    t: object
    y: object
    h: object
    solver_state: object
    controller_state: object
    made_jump: object
    n_steps: object
    n_rejected: object
    status: object
    spikes: Spikes
    log: StepLog
    checkpoints: object
    saved: object
    i_save: object


def _tree_where(pred, a, b):
    return jax.tree.map(lambda x, y: jnp.where(pred, x, y), a, b)


def _set(buf, idx, val):
    return jax.tree.map(lambda b, v: b.at[idx].set(v, mode="drop"), buf, val)


def make_term(model: Model):
    return diffrax.ODETerm(lambda t, y, args: forward_field(model, t, y, args))


def forward(model: Model, opts, params, trial, x0, t_span, t_eval, record: bool) -> Forward:
    """Integrate one trial from ``t_span[0]`` to ``t_span[1]``.

    ``t_eval`` (E,) are the output times (may be empty); ``record`` keeps the
    step log and checkpoints that the gradient needs.
    """
    net = model.net
    dtype = x0.v.dtype
    solver, controller = opts.make_solver(), opts.make_controller()
    term = make_term(model)
    t0, t_end = t_span[0], t_span[1]
    y0 = (x0, jnp.zeros((), dtype))
    ths = model.thresholds
    J, N = len(ths), net.n_neurons
    error_order = solver.error_order(term)
    args0 = (params, trial, piece_of(trial.t_grid, t0))
    t1_first = jnp.minimum(t0 + (t_end - t0) * 0.01, next_stop(trial.t_grid, args0[2], t_end))
    # the PID state as diffrax's init builds it, in the working dtype; the first step is a small
    # fixed guess (dt0, default 1e-3 of the span) that the controller grows by up to 10x per step
    cstate = (jnp.ones((), dtype), jnp.ones((), dtype), jnp.array(False))
    h0 = jnp.asarray(opts.dt0 if opts.dt0 is not None else 1e-3, dtype) * (1.0 if opts.dt0 else (t_end - t0))
    sstate = solver.init(term, t0, t1_first, y0, args0)

    n_log = opts.max_steps if record else 1
    log = StepLog(jnp.zeros(n_log, dtype), jnp.zeros(n_log, dtype), jnp.full(n_log, -1, jnp.int32))
    K = opts.checkpoint_every
    n_ck = opts.n_checkpoints if record else 1
    ck = jax.tree.map(lambda leaf: jnp.zeros((n_ck,) + leaf.shape, dtype).at[0].set(leaf), y0)
    S = opts.max_spikes
    spikes = Spikes(jnp.full(S, jnp.inf, dtype), jnp.full(S, -1, jnp.int32), jnp.zeros(S, jnp.int32),
                    jnp.full(S, -1, jnp.int32), jnp.zeros((), jnp.int32))
    E = t_eval.shape[0]
    saved = jax.tree.map(lambda leaf: jnp.full((E,) + leaf.shape, jnp.nan, dtype), y0)
    n_before = jnp.sum(t_eval <= t0).astype(jnp.int32)
    saved = jax.tree.map(lambda buf, leaf: jnp.where((t_eval <= t0).reshape((E,) + (1,) * leaf.ndim), leaf, buf),
                         saved, y0)

    carry = _Carry(t0, y0, h0, sstate, cstate, jnp.array(False), jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32),
                   jnp.zeros((), jnp.int32), spikes, log, ck, saved, n_before)

    def cond(c):
        return (c.t < t_end) & (c.status == 0) & (c.n_steps < opts.max_steps)

    def body(c: _Carry) -> _Carry:
        k = piece_of(trial.t_grid, c.t)
        stop = next_stop(trial.t_grid, k, t_end)
        t1 = jnp.minimum(c.t + c.h, stop)
        t1 = jnp.where(stop - t1 < 1e-6 * (stop - c.t), stop, t1)  # no sliver steps before a stop
        args = (params, trial, k)
        y1, y_err, dense, sstate1, _ = solver.step(term, c.t, t1, c.y, args, c.solver_state, c.made_jump)
        keep, nt0, nt1, _, cstate1, _ = controller.adapt_step_size(c.t, t1, c.y, y1, args, y_err, error_order,
                                                                   c.controller_state)
        finite = jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(y1)]))
        h_new = jnp.where(finite & jnp.isfinite(nt1 - nt0), nt1 - nt0, 0.25 * (t1 - c.t))
        ok = keep & finite
        dense_v = ev.voltage_dense(dense)
        v0, v1 = c.y[0].v, y1[0].v
        ts, V = ev.sample_voltages(solver, c.t, t1, dense_v, v0, v1, opts.n_samples)
        roots, masks = [], []
        if net.gate is not None:  # a step must not jump over a whole gate pulse: reject and halve
            jumped = jnp.array(False)
            for th in ths:
                if th.synaptic:
                    jumped = jumped | jnp.any(ev.skipped_zone(V, th, net.gate))
            h_new = jnp.where(ok & jumped, 0.5 * (t1 - c.t), h_new)
            ok = ok & ~jumped
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
            made_jump = jnp.array(model.input_kind == "previous" or model.target_kind == "previous") & (t1 == stop)
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
            made_jump = hit | (jnp.array(model.input_kind == "previous" or model.target_kind == "previous")
                               & (t1 == stop))
            event = jnp.where(hit, e, -1).astype(jnp.int32)
            mask = (jnp.arange(J * N) == e).reshape(J, N) & hit
            root = jnp.where(mask, t_e, jnp.inf)

        # spikes
        count = jnp.sum(mask).astype(jnp.int32)
        overflow = ok & (c.spikes.count + count > S)
        accept = ok & ~overflow
        flat_mask = mask.reshape(-1) & accept
        pos = jnp.where(flat_mask, c.spikes.count + jnp.cumsum(flat_mask) - 1, S)
        signs = jnp.repeat(jnp.array([th.direction for th in ths], jnp.int32), N)
        neurons = jnp.tile(jnp.arange(N, dtype=jnp.int32), J)
        spikes = Spikes(c.spikes.t.at[pos].set(root.reshape(-1), mode="drop"),
                        c.spikes.neuron.at[pos].set(neurons, mode="drop"),
                        c.spikes.sign.at[pos].set(signs, mode="drop"),
                        c.spikes.step.at[pos].set(c.n_steps, mode="drop"),
                        c.spikes.count + jnp.where(accept, count, 0))
        # step log and checkpoints
        i_log = jnp.where(accept & record, c.n_steps, n_log)
        log = StepLog(c.log.t_attempt.at[i_log].set(t1, mode="drop"), c.log.t_end.at[i_log].set(t_next, mode="drop"),
                      c.log.event.at[i_log].set(event, mode="drop"))
        n_steps = c.n_steps + accept.astype(jnp.int32)
        i_ck = jnp.where(accept & record & (n_steps % K == 0), n_steps // K, n_ck)
        ck = _set(c.checkpoints, i_ck, y_next)
        # outputs at t_eval inside (t, t_next]
        interp = ev.interpolant(solver, c.t, t1, dense)

        def save_cond(sc):
            i, _ = sc
            return accept & (i < E) & (t_eval[jnp.clip(i, 0, E - 1)] <= t_next)

        def save_body(sc):
            i, buf = sc
            te = t_eval[i]
            yi = interp.evaluate(te)
            if model.translation:
                back = jnp.sum(jnp.where(mask & (root <= te), jnp.array([th.value - th.reset for th in ths])[:, None],
                                         0.0), axis=0)
                yi = (State(yi[0].v - back, yi[0].s, yi[0].sf), yi[1])
            return i + 1, _set(buf, i, yi)

        if E:
            i_save, saved = jax.lax.while_loop(save_cond, save_body, (c.i_save, c.saved))
        else:
            i_save, saved = c.i_save, c.saved
        status = jnp.where(overflow, 1, c.status)
        status = jnp.where(t1 <= c.t, -1, status)
        return _Carry(
            t=jnp.where(accept, t_next, c.t), y=_tree_where(accept, y_next, c.y), h=h_new,
            solver_state=_tree_where(accept, sstate1, c.solver_state), controller_state=cstate1,
            made_jump=jnp.where(accept, made_jump, c.made_jump), n_steps=n_steps,
            n_rejected=c.n_rejected + (~accept).astype(jnp.int32), status=status, spikes=spikes, log=log,
            checkpoints=ck, saved=saved, i_save=i_save,
        )

    c = jax.lax.while_loop(cond, body, carry)
    status = jnp.where((c.status == 0) & (c.t < t_end), 2, c.status)
    return Forward(c.y, c.t, c.spikes, c.log, c.checkpoints, c.saved, c.n_steps, c.n_rejected, status)


def _reset(model: Model, y, j, n):
    """Apply the reset of threshold ``j`` (traced index) to neuron ``n``."""
    net = model.net
    ths = model.thresholds
    x, cost = y
    jump = jnp.array([th.reset - th.value for th in ths], x.v.dtype)[j]
    v = x.v.at[n].add(jump)
    s, sf = x.s, x.sf
    if net.gate is None:
        kick = jnp.array([th.direction if th.synaptic else 0 for th in ths], x.v.dtype)[j]
        s = s.at[n].add(kick / net.tau)
        if net.tau_f is not None:
            sf = sf.at[n].add(kick / net.tau_f)
    return State(v, s, sf), cost
