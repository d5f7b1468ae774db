"""SciPy backend: the gradient by forward sensitivity (RTRL), with its own event corrections.

The state ``x = (v, s, sf)`` is integrated together with its sensitivity
``S = dx/dθ`` (θ: the flattened ``W, Wf, U, I0``) and the cost sensitivity
``J = dC/dθ``. At an event on neuron ``k`` with fields ``F⁻`` before and
``F⁺`` after, ``S⁺ = S⁻ + (F⁺ - F⁻) S⁻_{v_k} / F⁻_{v_k}`` (and the same for
the cost, whose integrand is the last component of ``F``). This is the
general formula for a state-dependent event; it shares nothing with the
adjoint's jump rule, so the two methods check each other.
"""

from __future__ import annotations

import numpy as np

from .. import _dynamics as dyn
from .._checks import check_horizon
from .._problem import Problem, pack, unpack
from ..models.network import Params, State
from .._solution import Gradient
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
    """
    horizon = check_horizon("adjoint_horizon", horizon)
    net, params = problem.net, problem.params
    if net.gate is None:
        raise NotImplementedError("the gradient is not defined for the zero-width threshold synapse (gate=None)")
    N, Nf, M, K = net.n_neurons, net.n_fast, net.n_inputs, net.n_outputs
    P = N * N + N * Nf + N * M + N
    nx = 2 * N + Nf
    base = nx + 1  # x and the cost c

    def split(y):
        x = unpack(net, y)
        S = y[base:base + nx * P].reshape(nx, P)
        return x, State(S[:N], S[N:2 * N], S[2 * N:]), y[base + nx * P: base + nx * P + P]

    def rhs_from(y_start):
        zone = dyn.gate_zone(net, unpack(net, y_start).v)

        def fun(t, y):
            x, S, _ = split(y)
            i_t, o_d = problem.inputs(t), problem.target(t)
            dx = dyn.vector_field(net, params, x, i_t, zone)
            dc = dyn.running_cost(net, params, x, o_d)
            dS = dyn.tangent_field(net, params, x, i_t, S, _direct_current_derivative(net, x, i_t), zone, horizon)
            dJ = dyn.cost_grad_s(net, params, x, o_d) @ S.s
            o = dyn.output(params, x.s)
            dJO = np.outer(net.cost.dl_do(x.s, o, o_d), x.s)
            return np.concatenate([dx.v, dx.s, dx.sf, [dc], dS.v.ravel(), dS.s.ravel(), dS.sf.ravel(), dJ,
                                   dJO.ravel()])

        return fun

    events = Events.for_network(net)
    synaptic_row = np.cumsum([th.synaptic for th in net.neuron.thresholds]) - 1

    def full_field(t, y, zone):
        x = unpack(net, y)
        dx = dyn.vector_field(net, params, x, problem.inputs(t), zone)
        return np.concatenate([dx.v, dx.s, dx.sf, [dyn.running_cost(net, params, x, problem.target(t))]])

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
        F_minus = full_field(t, pre, zone_minus)
        F_plus = full_field(t, post, zone_plus)
        S = pre[base:base + nx * P].reshape(nx, P)
        J = pre[base + nx * P: base + nx * P + P]
        rate = F_minus[k]
        dF = F_plus - F_minus
        S_new = S + np.outer(dF[:nx], S[k]) / rate
        J_new = J + dF[nx] * S[k] / rate
        post[base:base + nx * P] = S_new.ravel()
        post[base + nx * P: base + nx * P + P] = J_new
        return post

    y0 = np.concatenate([pack(problem.x0, [0.0]), np.zeros(nx * P + P + K * N)])
    segments, records, stats, status, message = integrate_events(
        rhs_from, problem.t0, problem.t1, y0, events, on_event, method=method, rtol=rtol, atol=atol,
        max_steps=max_steps, max_events=max_events, throw=True, tstops=problem.tstops(),
    )
    y_end = records[-1].y_post if records and records[-1].t >= segments[-1].t1 else segments[-1](segments[-1].t1)
    J = y_end[base + nx * P: base + nx * P + P]
    JO = y_end[base + nx * P + P:].reshape(K, N)
    sizes = np.cumsum([0, N * N, N * Nf, N * M, N])
    grads = Params(J[sizes[0]:sizes[1]].reshape(N, N), J[sizes[1]:sizes[2]].reshape(N, Nf),
                   J[sizes[2]:sizes[3]].reshape(N, M), JO, J[sizes[3]:sizes[4]])
    n_spikes = sum(1 for rec in records if events.kind[rec.index] == THRESHOLD)
    return Gradient(float(y_end[nx]), grads, method="forward", backend="scipy",
                    stats={"n_spikes": n_spikes, "horizon": horizon})
