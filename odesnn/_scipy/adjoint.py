"""SciPy backend: the adjoint equations (5)-(7) solved backward against the dense forward solution."""

from __future__ import annotations

import numpy as np

from .. import _dynamics as dyn
from .._checks import check_horizon
from .._problem import unpack
from .._solution import Gradient, Solution
from ..models.network import Params, State
from ._integrate import THRESHOLD, DenseSolution, integrate_breakpoints


def _layout(net):
    N, Nf, M, K = net.n_neurons, net.n_fast, net.n_inputs, net.n_outputs
    sizes = [N, N, Nf, N * N, N * Nf, N * M, K * N, N]
    return np.cumsum([0] + sizes)


def adjoint(fwd: Solution, *, method=None, rtol=None, atol=None, horizon=None) -> Gradient:
    """Gradient of ``fwd.cost`` with respect to the parameters, by the adjoint method.

    Tolerances default to those of the forward solve. With a ``horizon`` ``h``
    (ms) the adjoint is discounted, ``dp/dt`` gaining ``+p/h`` (see
    ``adjoint_horizon`` in :func:`odesnn.gradient`): not the exact gradient.

    At a reset with a gate of positive width ``p_v,k`` is scaled by
    :func:`~odesnn._dynamics.reset_factor`; with the zero-width threshold
    synapse (``gate=None``), where ``s``, the currents and the running cost
    jump with each spike, the adjoint takes the general event jump
    :func:`~odesnn._dynamics.event_adjoint_jump`. A cost on spike times
    (:meth:`odesnn.Cost.spike_cost`) adds ``-∂Φ/∂t_k / v̇_k`` to ``p_v,k`` at
    spike ``k`` in both cases (docs/zero-width.md).
    """
    horizon = check_horizon("adjoint_horizon", horizon)
    problem = fwd.extra["problem"]
    net, params = problem.net, problem.params
    if fwd.status != 0:
        raise ValueError(f"cannot differentiate a failed simulation (status {fwd.status}: {fwd.message})")
    opts = fwd.extra["options"]
    method = method or opts["method"]
    rtol = rtol or opts["rtol"]
    atol = atol or opts["atol"]
    dense: DenseSolution = fwd.extra["dense"]
    records, events = fwd.extra["records"], fwd.extra["events"]
    N, Nf = net.n_neurons, net.n_fast
    cut = _layout(net)

    def fun_for(lo, hi):
        piece = dense.restrict(lo, hi)
        zone = dyn.gate_zone(net, unpack(net, piece(lo)).v)

        def fun(t, z):
            x = unpack(net, piece(t))
            p = State(z[cut[0]:cut[1]], z[cut[1]:cut[2]], z[cut[2]:cut[3]])
            i_t, o_d = problem.inputs(t), problem.target(t)
            dp = dyn.adjoint_field(net, params, x, i_t, o_d, p, zone, horizon)
            g = dyn.gradient_density(net, params, x, i_t, o_d, p)
            return np.concatenate([dp.v, dp.s, dp.sf, -g.W.ravel(), -g.Wf.ravel(), -g.U.ravel(), -g.O.ravel(),
                                   -g.I0])

        return fun

    spike_records = [rec for rec in records if events.kind[rec.index] == THRESHOLD]
    _, dphi = dyn.spike_cost(net, fwd.spike_times, fwd.spike_neurons, fwd.spike_signs, (problem.t0, problem.t1))
    dphi_of = {id(rec): float(d) for rec, d in zip(spike_records, dphi)}
    stops = sorted([(rec.t, rec) for rec in records] + [(t, None) for t in problem.tstops()],
                   key=lambda item: item[0], reverse=True)

    def on_break(i, z):
        rec = stops[i][1]
        if rec is None:  # a kink of the inputs: nothing jumps
            return z
        e = rec.index
        if events.kind[e] != THRESHOLD:
            return z  # p_v is continuous at box-gate edges
        th = net.neuron.thresholds[events.threshold[e]]
        k = int(events.neuron[e])
        x_minus, i_t, dphi_k = unpack(net, rec.y_pre), problem.inputs(rec.t), dphi_of[id(rec)]
        if net.gate is None:  # s, I and l jump with the spike: the general jump
            p_plus = State(z[cut[0]:cut[1]], z[cut[1]:cut[2]], z[cut[2]:cut[3]])
            p_minus = dyn.event_adjoint_jump(net, params, x_minus, unpack(net, rec.y_post), i_t,
                                             problem.target(rec.t), p_plus, k, dphi_dt=dphi_k)
            z[:cut[3]] = np.concatenate(p_minus)
        else:
            z[k] *= dyn.reset_factor(net, params, x_minus, i_t, k, th)
            if dphi_k:
                z[k] -= dphi_k / dyn.vector_field(net, params, x_minus, i_t).v[k]
        return z

    z_end, segments = integrate_breakpoints(
        fun_for, problem.t1, problem.t0, np.zeros(cut[-1]), [t for t, _ in stops], on_break,
        method=method, rtol=rtol, atol=atol,
    )
    shapes = net.param_shapes()
    grads = Params(*(z_end[cut[3 + j]:cut[4 + j]].reshape(shape) for j, shape in enumerate(shapes)))
    p0 = State(z_end[:N], z_end[N:2 * N], z_end[2 * N:2 * N + Nf])
    G0 = dyn.synaptic_gate(net, problem.x0.v, dyn.gate_zone(net, problem.x0.v))
    # back from the paper's variables to the costates: λ_v = p_v - G (p_s + p_f), λ_s = τ p_s, λ_f = τ_f p_f
    lam_v = p0.v - G0 * (p0.s + p0.sf) if Nf else p0.v - G0 * p0.s
    x0_grad = State(lam_v, net.tau * p0.s, net.tau_f * p0.sf if Nf else p0.sf)
    adj_dense = DenseSolution(sorted(segments, key=lambda seg: seg.t0))
    def dense_adjoint(t):
        return State(*np.split(np.asarray(adj_dense(t))[..., :cut[3]], cut[1:3], axis=-1))

    return Gradient(fwd.cost, grads, method="adjoint", backend="scipy", x0=x0_grad, sol=dense_adjoint, forward=fwd,
                    stats={"n_spikes": fwd.n_spikes, "horizon": horizon})
