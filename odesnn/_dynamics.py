"""The model math, written once: forward field, adjoint field, tangent field.

Every function here is written for a single trial, with the array namespace
chosen from its inputs (NumPy for the SciPy backend, JAX for the JAX backend,
which vmaps over trials). The backends are thin adapters around these.

Notation (Huh & Sejnowski 2018, eqs. 2-7)::

    dv/dt   = f(v, I)
    τ ds/dt = -s + G(v) dv/dt            G = sum of the gates of synaptic thresholds
    τ_f dsf/dt = -sf + G(v) dv/dt
    I = W s + W_f sf + U i(t) + I_o,     o = O s,    C = ∫ l(s, o, o_d) dt

Adjoint in the paper's variables ``p_v = λ_v + G (p_s + p_f)``,
``p_s = λ_s/τ``, ``p_f = λ_f/τ_f`` (λ: costate of ``(v, s, sf)``)::

    -dp_v/dt   = f_v p_v - G (dp_s/dt + dp_f/dt)
    -τ dp_s/dt = -p_s + Wᵀ(f_I p_v) + ∂l/∂s + Oᵀ ∂l/∂o
    -τ_f dp_f/dt = -p_f + W_fᵀ(f_I p_v)

and ``dC/dW = ∫ (f_I p_v) sᵀ dt`` etc. At a reset of neuron k from θ to
``v_r`` the adjoint jumps as ``p_v,k(t⁻) = p_v,k(t⁺) f(v_r, I_k)/f(θ, I_k)``;
``p_v`` is continuous where a box gate switches on or off (docs/math.md).
Both are cases of :func:`event_adjoint_jump`, the jump at any event, which the
zero-width threshold synapse (``gate=None``: ``s``, ``I`` and ``l`` jump with
each spike) needs in full; :func:`event_time_tangent` is the event-time
sensitivity (docs/zero-width.md).
"""

from __future__ import annotations

from ._xp import namespace
from .models.network import Network, Params, State


def _masked(net: Network, W, which):
    kind = net.W_mask if which == "W" else net.Wf_mask
    if kind == "full":
        return W
    mask = net.W_mask_array if which == "W" else net.Wf_mask_array
    return W * namespace(W).asarray(mask, dtype=W.dtype)  # keep float32 JAX arrays in float32


def _synaptic_thresholds(net):
    return [th for th in net.neuron.thresholds if th.synaptic]


def synaptic_gate(net: Network, v, zone=None):
    """``G(v)``: sum of the gates of the thresholds that drive synapses.

    ``zone`` (optional, from :func:`gate_zone`) freezes which neurons are in
    each active zone. The SciPy solvers fix it at the start of each piece of
    integration and update it only at located edge events; within a piece the
    gate is then the profile polynomial, so no step sees the jump (box) or
    kink (smooth profiles) at the zone edge. Without a gate (the zero-width
    threshold synapse) ``G`` is zero between spikes.
    """
    G = 0.0 * v
    if net.gate is None:
        return G
    for j, th in enumerate(_synaptic_thresholds(net)):
        if zone is None:
            G = G + net.gate(v, th)
        else:
            G = G + zone[j] * net.gate.profile(v, th)
    return G


def synaptic_gate_derivative(net: Network, v, zone=None):
    """``dG/dv`` (consistent with :func:`synaptic_gate` for the same ``zone``)."""
    dG = 0.0 * v
    if net.gate is None:
        return dG
    for j, th in enumerate(_synaptic_thresholds(net)):
        if zone is None:
            dG = dG + net.gate.derivative(v, th)
        else:
            dG = dG + zone[j] * net.gate.profile_derivative(v, th)
    return dG


def gate_zone(net: Network, v):
    """Indicator (n_synaptic_thresholds, N) of being in each active zone (None without a gate)."""
    if net.gate is None:
        return None
    xp = namespace(v)
    ths = _synaptic_thresholds(net)
    if not ths:
        return xp.zeros((0,) + v.shape)
    return xp.stack([xp.where(net.gate.in_zone(v, th), 1.0, 0.0) for th in ths])


def current(net: Network, params: Params, s, sf, i_t):
    """Input current ``I = W s + W_f sf + U i + I_o``."""
    I = _masked(net, params.W, "W") @ s + params.U @ i_t + params.I0
    if net.tau_f is not None:
        I = I + _masked(net, params.Wf, "Wf") @ sf
    return I


def output(params: Params, s):
    """Readout ``o = O s``."""
    return params.O @ s


def vector_field(net: Network, params: Params, x: State, i_t, zone=None) -> State:
    """Forward vector field ``d(v, s, sf)/dt``.

    With ``net.gate is None`` (threshold synapse) the synapses only decay
    between spikes; the backends add ``±1/τ`` at each spike.
    """
    I = current(net, params, x.s, x.sf, i_t)
    dv = net.neuron.f(x.v, I)
    if net.gate is None:
        drive = 0.0 * dv
    else:
        drive = synaptic_gate(net, x.v, zone) * dv
    ds = (drive - x.s) / net.tau
    dsf = x.sf * 0.0 if net.tau_f is None else (drive - x.sf) / net.tau_f
    return State(dv, ds, dsf)


def running_cost(net: Network, params: Params, x: State, o_d):
    """``l(s, O s, o_d)``."""
    return net.cost.l(x.s, output(params, x.s), o_d)


def spike_cost(net: Network, times, neurons, signs, t_span):
    """``Φ`` and ``∂Φ/∂t_k``: the spike-time part of the cost (``0`` and zeros without one)."""
    if not net.cost.has_spike_terms:
        return 0.0, namespace(times).zeros(len(times))
    return net.cost.spike_cost(times, neurons, signs, t_span, net.n_neurons)


def cost_grad_s(net: Network, params: Params, x: State, o_d):
    """Total ``∂l/∂s`` including the readout: ``∂l/∂s + Oᵀ ∂l/∂o``."""
    o = output(params, x.s)
    return net.cost.dl_ds(x.s, o, o_d) + params.O.T @ net.cost.dl_do(x.s, o, o_d)


def discounted(field: State, tangent: State, horizon, sign) -> State:
    """``field + sign·tangent/horizon``: the discount of docs/math.md §7 (``field`` itself when ``horizon`` is None).

    The adjoint gains ``+p/h`` (``sign=+1``), the forward sensitivity ``-S/h`` (``sign=-1``).
    """
    if horizon is None:
        return field
    return State(*(a + sign * b / horizon for a, b in zip(field, tangent)))


def adjoint_field(net: Network, params: Params, x: State, i_t, o_d, p: State, zone=None, horizon=None) -> State:
    """Forward-time derivative ``d(p_v, p_s, p_f)/dt`` of the adjoint, eqs. (5)-(7).

    With a ``horizon`` (ms) the adjoint is discounted (:func:`discounted`, sign +1).
    """
    I = current(net, params, x.s, x.sf, i_t)
    a = net.neuron.f_I(x.v, I) * p.v
    dps = (p.s - _masked(net, params.W, "W").T @ a - cost_grad_s(net, params, x, o_d)) / net.tau
    if net.tau_f is None:
        dpf = p.sf * 0.0
        dp_syn = dps
    else:
        dpf = (p.sf - _masked(net, params.Wf, "Wf").T @ a) / net.tau_f
        dp_syn = dps + dpf
    dpv = -net.neuron.f_v(x.v, I) * p.v + synaptic_gate(net, x.v, zone) * dp_syn
    return discounted(State(dpv, dps, dpf), p, horizon, +1)


def gradient_density(net: Network, params: Params, x: State, i_t, o_d, p: State) -> Params:
    """Integrand of ``dC/dθ = ∫ ∂H/∂θ dt`` for each parameter group."""
    xp = namespace(x.v, p.v, i_t)
    I = current(net, params, x.s, x.sf, i_t)
    a = net.neuron.f_I(x.v, I) * p.v
    o = output(params, x.s)
    dW = xp.outer(a, x.s)
    if net.W_mask != "full":
        dW = dW * net.W_mask_array
    dWf = xp.outer(a, x.sf)
    if net.tau_f is not None and net.Wf_mask != "full":
        dWf = dWf * net.Wf_mask_array
    dU = xp.outer(a, i_t)
    dO = xp.outer(net.cost.dl_do(x.s, o, o_d), x.s)
    return Params(dW, dWf, dU, dO, a)


def spike_jump(net: Network, threshold) -> State:
    """Jump of a spiking neuron's own ``(v, s, sf)`` at a crossing of ``threshold``.

    The reset translates ``v`` by ``v_r - θ``. With the zero-width threshold
    synapse (``net.gate is None``, eq. 1) a synaptic threshold also adds
    ``±1/τ`` to ``s`` and ``±1/τ_f`` to ``sf`` (the sign is the crossing
    direction); with a gate the synapses are continuous.
    """
    kick = threshold.direction if (net.gate is None and threshold.synaptic) else 0.0
    return State(threshold.reset - threshold.value, kick / net.tau,
                 kick / net.tau_f if net.tau_f is not None else 0.0)


def reset_factor(net: Network, params: Params, x_minus: State, i_t, k, threshold):
    """``f(v_r, I_k)/f(θ, I_k)``: factor of the reset jump of ``p_v,k`` (and of ``dv_k/dθ``)."""
    I = current(net, params, x_minus.s, x_minus.sf, i_t)[k]
    return net.neuron.f(threshold.reset, I) / net.neuron.f(threshold.value, I)


def costate(net: Network, x: State, p: State, zone=None) -> State:
    """The costate ``λ = ∂C/∂x`` from the paper's variables: ``λ_v = p_v - G (p_s + p_f)``, ``λ_s = τ p_s``,
    ``λ_f = τ_f p_f`` (``G = 0`` without a gate)."""
    q = p.s + p.sf if net.tau_f is not None else p.s
    lam_f = net.tau_f * p.sf if net.tau_f is not None else p.sf
    return State(p.v - synaptic_gate(net, x.v, zone) * q, net.tau * p.s, lam_f)


def from_costate(net: Network, x: State, lam: State, zone=None) -> State:
    """The paper's variables from the costate ``λ`` (the inverse of :func:`costate`)."""
    p_s = lam.s / net.tau
    p_f = lam.sf / net.tau_f if net.tau_f is not None else lam.sf
    q = p_s + p_f if net.tau_f is not None else p_s
    return State(lam.v + synaptic_gate(net, x.v, zone) * q, p_s, p_f)


def event_adjoint_jump(net: Network, params: Params, x_minus: State, x_plus: State, i_t, o_d, p_plus: State, k,
                       zone_minus=None, zone_plus=None, dphi_dt=0.0) -> State:
    """The adjoint just before an event of neuron ``k``, from the adjoint just after it (docs/zero-width.md).

    The event is a crossing of ``h(x) = v_k - level`` at which the state jumps
    by a translation ``x⁺ = x⁻ + J`` (a reset with its :func:`spike_jump`, or
    nothing at a gate edge). With ``F^∓`` the :func:`vector_field` and
    ``l^∓`` the :func:`running_cost` on either side, the costate jumps only in
    ``λ_v,k``::

        λ⁻ = λ⁺ + e_k (λ⁺·(F⁺ - F⁻) + l⁺ - l⁻ - ∂Φ/∂t_e) / F⁻_v,k

    where ``∂Φ/∂t_e`` (``dphi_dt``) is the derivative of a spike-time cost
    term with respect to this event's time. With a gate of positive width
    this reduces to :func:`reset_factor` at a reset and to continuity of
    ``p_v`` at an edge; at zero width (``gate=None``) ``s``, ``I`` and ``l``
    jump with the spike and every term counts. ``p`` are the paper's
    variables on both sides; ``k`` may be a traced index (JAX).
    """
    xp = namespace(x_minus.v, p_plus.v)
    F_minus = vector_field(net, params, x_minus, i_t, zone_minus)
    F_plus = vector_field(net, params, x_plus, i_t, zone_plus)
    lam = costate(net, x_plus, p_plus, zone_plus)
    dl = running_cost(net, params, x_plus, o_d) - running_cost(net, params, x_minus, o_d)
    work = sum(xp.sum(a * (b - c)) for a, b, c in zip(lam, F_plus, F_minus))
    onehot = xp.where(xp.arange(net.n_neurons) == k, 1.0, 0.0)
    lam_minus = State(lam.v + onehot * (work + dl - dphi_dt) / F_minus.v[k], lam.s, lam.sf)
    return from_costate(net, x_minus, lam_minus, zone_minus)


def event_time_tangent(net: Network, params: Params, x_minus: State, i_t, k, dv_minus, zone=None):
    """``dt_e/dθ = -(dv_k/dθ)/(dv_k/dt)``: the implicit-function derivative of the time of an event of neuron ``k``.

    ``dv_minus`` holds ``dv_k/dθ`` just before the event (any trailing shape).
    """
    return -dv_minus / vector_field(net, params, x_minus, i_t, zone).v[k]


def tangent_field(net: Network, params: Params, x: State, i_t, dx: State, dI_direct, zone=None,
                  horizon=None) -> State:
    """Linearisation of :func:`vector_field` (forward sensitivity, RTRL).

    ``dx`` holds tangents with a trailing axis of directions (N, P);
    ``dI_direct`` (N, P) is the explicit derivative of ``I`` along them.
    With a ``horizon`` (ms) the tangents decay (:func:`discounted`, sign -1).
    """
    I = current(net, params, x.s, x.sf, i_t)
    dI = _masked(net, params.W, "W") @ dx.s + dI_direct
    if net.tau_f is not None:
        dI = dI + _masked(net, params.Wf, "Wf") @ dx.sf
    f = net.neuron.f(x.v, I)
    ddv = net.neuron.f_v(x.v, I)[:, None] * dx.v + net.neuron.f_I(x.v, I)[:, None] * dI
    G = synaptic_gate(net, x.v, zone)[:, None]
    ddrive = synaptic_gate_derivative(net, x.v, zone)[:, None] * f[:, None] * dx.v + G * ddv
    dds = (ddrive - dx.s) / net.tau
    ddsf = dx.sf * 0.0 if net.tau_f is None else (ddrive - dx.sf) / net.tau_f
    return discounted(State(ddv, dds, ddsf), dx, horizon, -1)
