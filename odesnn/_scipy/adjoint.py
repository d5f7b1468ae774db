"""SciPy backend: the adjoint equations (5)-(7) solved backward against the dense forward solution."""

from __future__ import annotations

import numpy as np

from .. import _dynamics as dyn
from .._checks import check_horizon
from .._problem import pack, unpack
from .._solution import Gradient, Solution
from ..models.network import Params, State
from ._integrate import THRESHOLD, DenseSolution, integrate_breakpoints


def _layout(net):
    """Offsets of ``z = (p_v, p_s, p_f, p_w, dC/dW, dC/dWf, dC/dU, dC/dO, dC/dI0)``; ``cut[4]`` is the state size."""
    N, Nf, M, K, m = net.n_neurons, net.n_fast, net.n_inputs, net.n_outputs, net.neuron.n_aux
    sizes = [N, N, Nf, m * N, N * N, N * Nf, N * M, K * N, N]
    return np.cumsum([0] + sizes)


def adjoint(fwd: Solution, *, method=None, rtol=None, atol=None, horizon=None) -> Gradient:
    """Gradient of ``fwd.cost`` with respect to the parameters, by the adjoint method.

    Tolerances default to those of the forward solve, the absolute one
    divided by the largest ``|v|`` of the trajectory where that exceeds 1
    (costates scale as ``1/v``). With a ``horizon`` ``h``
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
    if not atol:
        # costates carry the units of 1/x: for a voltage in mV (|v| ~ 65, Izhikevich, AdEx) they are that much
        # smaller than for the dimensionless models, and so is the absolute tolerance that resolves them
        atol = opts["atol"] / max(1.0, float(np.max(np.abs(fwd.v))) if np.size(fwd.v) else 1.0)
    dense: DenseSolution = fwd.extra["dense"]
    records, events = fwd.extra["records"], fwd.extra["events"]
    cut = _layout(net)

    def fun_for(lo, hi):
        piece = dense.restrict(lo, hi)
        zone = dyn.gate_zone(net, unpack(net, piece(lo)).v)
        inputs = problem.inputs.frozen(lo)

        def fun(t, z):
            x = unpack(net, piece(t))
            p = unpack(net, z)
            i_t, o_d = inputs(t), problem.target(t)
            dp, g = dyn.adjoint_field_and_density(net, params, x, i_t, o_d, p, zone, horizon)
            return np.concatenate([pack(dp), -g.W.ravel(), -g.Wf.ravel(), -g.U.ravel(), -g.O.ravel(), -g.I0])

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
        if net.gate is None or net.neuron.n_aux:  # s, I and l jump with the spike, or w does: the general jump
            x_plus = unpack(net, rec.y_post)
            zones = {} if net.gate is None else dict(zone_minus=dyn.gate_zone(net, x_minus.v),
                                                     zone_plus=dyn.gate_zone(net, x_plus.v))
            p_minus = dyn.event_adjoint_jump(net, params, x_minus, x_plus, i_t, problem.target(rec.t),
                                             unpack(net, z), k, dphi_dt=dphi_k, threshold=th, **zones)
            z[:cut[4]] = pack(p_minus)
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
    grads = Params(*(z_end[cut[4 + j]:cut[5 + j]].reshape(shape) for j, shape in enumerate(shapes)))
    p0 = unpack(net, z_end)
    # back from the paper's variables to the costates: λ_v = p_v - G (p_s + p_f), λ_s = τ p_s, λ_f = τ_f p_f
    x0_grad = dyn.costate(net, problem.x0, p0, dyn.gate_zone(net, problem.x0.v))
    adj_dense = DenseSolution(sorted(segments, key=lambda seg: seg.t0))

    def dense_adjoint(t):
        y = np.asarray(adj_dense(t))[..., :cut[4]]
        if y.ndim == 1:
            return unpack(net, y)
        p = unpack(net, y.T)  # times last; back to times first, w as (T, m, N)
        return State(p.v.T, p.s.T, p.sf.T, None if p.w is None else np.moveaxis(p.w, -1, 0))

    return Gradient(fwd.cost, grads, method="adjoint", backend="scipy", x0=x0_grad, sol=dense_adjoint, forward=fwd,
                    stats={"n_spikes": fwd.n_spikes, "horizon": horizon})
