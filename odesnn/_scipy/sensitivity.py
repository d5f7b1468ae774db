"""SciPy backend: the gradient by forward sensitivity (RTRL), with its own event corrections.

It serves every synapse: a gate of positive width, and the zero-width
threshold synapse (``gate=None``), whose spikes make ``s`` jump too; the event
formula below holds for both, since every jump is a translation.

The state ``x = (v, s, sf, w)`` is integrated together with its sensitivity
``S = dx/dθ`` (θ: the flattened ``W, Wf, U, I0``) and the cost sensitivity
``J = dC/dθ``. At an event on neuron ``k`` with fields ``F⁻`` before and
``F⁺`` after, ``S⁺ = R' S⁻ + (F⁺ - R' F⁻) S⁻_{v_k} / F⁻_{v_k}``, with ``R'``
the Jacobian of the reset map (the identity for a translation; the cost,
whose integrand is the last component of ``F``, is never reset). This is the
general formula for a state-dependent event
(:func:`odesnn._dynamics.event_tangent_jump`); it shares nothing with the
adjoint's jump rule, so the two methods check each other.
"""

from __future__ import annotations

import numpy as np

from .. import _dynamics as dyn
from .._checks import check_horizon
from .._problem import Problem, pack, state_size, unpack
from .._solution import Gradient
from ..models.network import Params, State
from ._integrate import THRESHOLD, Events, integrate_events
from .forward import apply_event


def _direct_current_derivative(net, x, i_t):
    """``∂I/∂θ`` (N, P) for θ = (W, Wf, U, I0) flattened row-major."""
    N = net.n_neurons
    eye = np.eye(N)
    blocks = [np.kron(eye, x.s[None, :]) * net.W_mask_array.ravel()[None, :]]
    if net.n_fast:
        blocks.append(np.kron(eye, x.sf[None, :]) * net.Wf_mask_array.ravel()[None, :])
    blocks += [np.kron(eye, np.asarray(i_t, dtype=float)[None, :]), eye]
    return np.hstack(blocks)


def forward_sensitivity(problem: Problem, *, method="DOP853", rtol=1e-10, atol=1e-12, max_steps=1_000_000,
                        max_events=1_000_000, horizon=None):
    """Cost and its gradient by forward sensitivity, as a :class:`~odesnn.Gradient` (``stats["n_spikes"]``).

    With a ``horizon`` ``h`` (ms) the state sensitivities decay as ``dS/dt``
    gains ``-S/h``: the same discounted gradient as :func:`~.adjoint.adjoint`
    with that horizon, computed forward.

    A cost on spike times (:meth:`odesnn.Cost.spike_cost`) is differentiated
    through the spike-time sensitivities, ``dC/dθ += Σ_k ∂Φ/∂t_k dt_k/dθ``.
    """
    return sensitivity_run(problem, method=method, rtol=rtol, atol=atol, max_steps=max_steps,
                           max_events=max_events, horizon=horizon)[0]


def sensitivity_run(problem: Problem, *, method="DOP853", rtol=1e-10, atol=1e-12, max_steps=1_000_000,
                    max_events=1_000_000, horizon=None):
    """``(Gradient, spikes)``: :func:`forward_sensitivity` and the spike-time sensitivities it passes through.

    ``spikes`` is a dict of ``times``, ``neurons``, ``signs`` (K,) and
    ``grads``, a :class:`~odesnn.Params` of ``dt_k/dθ`` with a leading spike
    axis K (zero for ``O``, which does not enter the dynamics): at each
    threshold event ``dt_k/dθ = -(dv_k/dθ)/(dv_k/dt)`` just before it
    (:func:`odesnn._dynamics.event_time_tangent`).
    """
    horizon = check_horizon("adjoint_horizon", horizon)
    net, params = problem.net, problem.params
    N, Nf, M, K = net.n_neurons, net.n_fast, net.n_inputs, net.n_outputs
    P = N * N + N * Nf + N * M + N
    nx = state_size(net)
    base = nx + 1  # x and the cost c

    def split(y):
        x = unpack(net, y)
        S = y[base:base + nx * P].reshape(nx, P)
        return x, unpack(net, S), y[base + nx * P: base + nx * P + P]

    def flat_tangent(S: State):
        parts = [S.v, S.s, S.sf] + ([] if S.w is None else [S.w.reshape(-1, P)])
        return np.concatenate(parts).ravel()

    def rhs_from(y_start, t_start):
        zone = dyn.gate_zone(net, unpack(net, y_start).v)
        inputs = problem.inputs.frozen(t_start)

        def fun(t, y):
            x, S, _ = split(y)
            i_t, o_d = inputs(t), problem.target(t)
            dx = dyn.vector_field(net, params, x, i_t, zone)
            dc = dyn.running_cost(net, params, x, o_d)
            dS = dyn.tangent_field(net, params, x, i_t, S, _direct_current_derivative(net, x, i_t), zone, horizon)
            dJ = dyn.cost_grad_s(net, params, x, o_d) @ S.s
            o = dyn.output(params, x.s)
            dJO = np.outer(net.cost.dl_do(x.s, o, o_d), x.s)
            return np.concatenate([pack(dx, [dc]), flat_tangent(dS), dJ, dJO.ravel()])

        return fun

    events = Events.for_network(net)
    synaptic_row = np.cumsum([th.synaptic for th in net.neuron.thresholds]) - 1

    def full_field(t, y, zone):
        x = unpack(net, y)
        dx = dyn.vector_field(net, params, x, problem.inputs(t), zone)
        return dx, dyn.running_cost(net, params, x, problem.target(t))

    spike_rows = []  # (t, neuron, sign, dt/dθ) of each threshold event

    def on_event(t, e, y):
        pre = y.copy()
        post = y.copy()
        post[:base] = apply_event(net, events, e, post[:base].copy())
        k = int(events.neuron[e])
        zone_plus = dyn.gate_zone(net, unpack(net, post).v)
        if events.kind[e] == THRESHOLD:
            zone_minus = dyn.gate_zone(net, unpack(net, pre).v)
        else:  # an edge flips the membership of neuron k in this threshold's zone
            zone_minus = zone_plus.copy()
            row = synaptic_row[events.threshold[e]]
            zone_minus[row, k] = 1.0 - zone_minus[row, k]
        (F_minus, l_minus), (F_plus, l_plus) = full_field(t, pre, zone_minus), full_field(t, post, zone_plus)
        x_minus, S, J = split(pre)
        rate = F_minus.v[k]
        threshold = None
        if events.kind[e] == THRESHOLD:
            threshold = net.neuron.thresholds[events.threshold[e]]
            dt = dyn.event_time_tangent(net, params, x_minus, problem.inputs(t), k, S.v[k], zone_minus)
            spike_rows.append((t, k, threshold.direction, dt))
        S_new = dyn.event_tangent_jump(net, x_minus, F_minus, F_plus, S, k, threshold)
        J_new = J + (l_plus - l_minus) * S.v[k] / rate
        post[base:base + nx * P] = flat_tangent(S_new)
        post[base + nx * P: base + nx * P + P] = J_new
        return post

    y0 = np.concatenate([pack(problem.x0, [0.0]), np.zeros(nx * P + P + K * N)])
    segments, records, stats, status, message = integrate_events(
        rhs_from, problem.t0, problem.t1, y0, events, on_event, method=method, rtol=rtol, atol=atol,
        max_steps=max_steps, max_events=max_events, throw=True, tstops=problem.tstops(),
    )
    y_end = records[-1].y_post if records and records[-1].t >= segments[-1].t1 else segments[-1](segments[-1].t1)
    J = y_end[base + nx * P: base + nx * P + P].copy()
    JO = y_end[base + nx * P + P:].reshape(K, N)
    sizes = np.cumsum([0, N * N, N * Nf, N * M, N])
    times = np.array([row[0] for row in spike_rows])
    neurons = np.array([row[1] for row in spike_rows], dtype=int)
    signs = np.array([row[2] for row in spike_rows], dtype=int)
    dt = np.array([row[3] for row in spike_rows]).reshape(len(spike_rows), P)
    phi, dphi = dyn.spike_cost(net, times, neurons, signs, (problem.t0, problem.t1))
    J += dphi @ dt

    def as_params(flat, O):
        lead = flat.shape[:-1]
        return Params(flat[..., sizes[0]:sizes[1]].reshape(lead + (N, N)),
                      flat[..., sizes[1]:sizes[2]].reshape(lead + (N, Nf)),
                      flat[..., sizes[2]:sizes[3]].reshape(lead + (N, M)), O, flat[..., sizes[3]:sizes[4]])

    grads = as_params(J, JO)
    spikes = {"times": times, "neurons": neurons, "signs": signs,
              "grads": as_params(dt, np.zeros((len(spike_rows), K, N)))}
    return Gradient(float(y_end[nx]) + phi, grads, method="forward", backend="scipy",
                    stats={"n_spikes": len(spike_rows), "horizon": horizon}), spikes
