"""SciPy backend: forward simulation (the precision reference)."""

from __future__ import annotations

import numpy as np

from .. import _dynamics as dyn
from .._checks import check_number
from .._problem import Problem, pack, state_size, unpack
from .._solution import RESULTS, Solution
from ._integrate import DEFAULT_MAX_RATE, THRESHOLD, DenseSolution, Events, integrate_events

DEFAULTS = dict(method="DOP853", rtol=1e-10, atol=1e-12)


def forward_rhs(problem: Problem, y_start, t_start=None):
    """``fun(t, y)`` for ``y = (v, s, sf, w, c)`` with ``dc/dt = l``, box-gate zones frozen at ``y_start`` and a
    jumping input (spike trains) on its piece at ``t_start``."""
    net, params = problem.net, problem.params
    zone = dyn.gate_zone(net, unpack(net, y_start).v)
    inputs = problem.inputs if t_start is None else problem.inputs.frozen(t_start)

    def fun(t, y):
        x = unpack(net, y)
        dx = dyn.vector_field(net, params, x, inputs(t), zone)
        dc = dyn.running_cost(net, params, x, problem.target(t))
        return pack(dx, dc)

    return fun


def apply_event(net, events, e, y):
    """Apply the jump of event row ``e`` to the packed state ``y`` (in place)."""
    if events.kind[e] != THRESHOLD:
        return y
    n_x = state_size(net)
    y[:n_x] = pack(dyn.apply_reset(net, unpack(net, y), int(events.threshold[e]), int(events.neuron[e])))
    return y


def _end_state(segments, records, y0):
    """The state where the integration ended (after the last event's jump, if it ended on one)."""
    if records and (not segments or records[-1].t >= segments[-1].t1):
        return records[-1].y_post
    return segments[-1](segments[-1].t1) if segments else y0


def simulate(problem: Problem, *, method="DOP853", rtol=1e-10, atol=1e-12, t_eval=None, max_steps=1_000_000,
             max_events=1_000_000, throw=True, max_step=np.inf, max_rate=DEFAULT_MAX_RATE) -> Solution:
    """Simulate ``problem`` with a SciPy ``OdeSolver``; see :func:`odesnn.simulate`."""
    check_number("max_rate", max_rate, optional=True, note=" of spikes per second")
    net = problem.net
    events = Events.for_network(net)
    y0 = pack(problem.x0, [0.0])
    segments, records, stats, status, message = integrate_events(
        lambda y, t: forward_rhs(problem, y, t), problem.t0, problem.t1, y0, events,
        lambda t, e, y: apply_event(net, events, e, y),
        method=method, rtol=rtol, atol=atol, max_steps=max_steps, max_events=max_events, throw=throw,
        max_step=max_step, tstops=problem.tstops(), max_rate=max_rate,
    )
    dense = DenseSolution(segments) if segments else None
    if t_eval is None:
        ts, ys = [problem.t0], [y0]
        r = 0
        for seg in segments:
            if r < len(records) and seg.t1 == records[r].t:
                ts += [seg.t1, seg.t1]
                ys += [records[r].y_pre, records[r].y_post]
                r += 1
            else:
                ts.append(seg.t1)
                ys.append(seg(seg.t1))
        t_out, Y = np.asarray(ts), np.asarray(ys)
    else:
        t_out = np.asarray(t_eval, dtype=float)
        if t_out.ndim != 1 or np.any(t_out < problem.t0) or np.any(t_out > problem.t1):
            raise ValueError(f"`t_eval` must be 1-D and inside t_span=({problem.t0}, {problem.t1})")
        if status != 0:  # nothing past the stop: the requested times before it, then the stop and its state
            t_stop = max(segments[-1].t1 if segments else problem.t0, records[-1].t if records else problem.t0)
            t_out = t_out[t_out < t_stop]
        Y = dense(t_out) if dense is not None and t_out.size else np.tile(y0, (t_out.size, 1))
        if status != 0:
            t_out, Y = np.append(t_out, t_stop), np.vstack([Y.reshape(-1, y0.size), _end_state(segments, records, y0)])
    n = state_size(net)
    xs = unpack(net, Y.T)
    spikes = [rec for rec in records if events.kind[rec.index] == THRESHOLD]
    spike_times = np.array([rec.t for rec in spikes])
    spike_neurons = np.array([events.neuron[rec.index] for rec in spikes], dtype=int)
    spike_signs = np.array([net.neuron.thresholds[events.threshold[rec.index]].direction for rec in spikes], dtype=int)
    phi = dyn.spike_cost(net, spike_times, spike_neurons, spike_signs, (problem.t0, problem.t1))[0]
    y_end = _end_state(segments, records, y0)
    return Solution(
        t=t_out, v=xs.v.T, s=xs.s.T, sf=xs.sf.T, w=None if xs.w is None else np.moveaxis(xs.w, -1, 0),
        o=(problem.params.O @ xs.s).T,
        spike_times=spike_times, spike_neurons=spike_neurons, spike_signs=spike_signs,
        cost=float(y_end[n]) + phi,
        stats=stats.as_dict(), status=status, message=message if status else RESULTS[0],
        sol=None if dense is None else (lambda t, _d=dense: unpack(net, np.asarray(_d(t)).T)),
        backend="scipy",
        extra={"problem": problem, "segments": segments, "records": records, "events": events, "dense": dense,
               "options": dict(method=method, rtol=rtol, atol=atol, max_step=max_step)},
    )
