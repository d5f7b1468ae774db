"""The model math, written once: forward field, adjoint field, tangent field.

Every function here is written for a single trial, with the array namespace
chosen from its inputs (NumPy for the SciPy backend, JAX for the JAX backend,
which vmaps over trials). The backends are thin adapters around these.

Notation (Huh & Sejnowski 2018, eqs. 2-7)::

    dv/dt   = f(v, I, w),  dw/dt = g(v, I, w)     (w: the neuron model's auxiliary variables, if any)
    τ ds/dt = -s + G(v) dv/dt            G = sum of the gates of synaptic thresholds
    τ_f dsf/dt = -sf + G(v) dv/dt
    I = W s + W_f sf + U i(t) + I_o,     o = O s,    C = ∫ l(s, o, o_d) dt

Adjoint in the paper's variables ``p_v = λ_v + G (p_s + p_f)``,
``p_s = λ_s/τ``, ``p_f = λ_f/τ_f`` (λ: costate of ``(v, s, sf)``)::

    -dp_v/dt   = f_v p_v + g_v·p_w - G (dp_s/dt + dp_f/dt)
    -dp_w/dt   = f_w p_v + g_wᵀ p_w
    -τ dp_s/dt = -p_s + Wᵀa + ∂l/∂s + Oᵀ ∂l/∂o,     a = f_I p_v + g_I·p_w
    -τ_f dp_f/dt = -p_f + W_fᵀa

and ``dC/dW = ∫ a sᵀ dt`` etc. (the ``w`` terms vanish for one-variable models). At a reset of neuron k from θ to
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


def state_map(fn, *states) -> State:
    """``State(fn(a, b, ...) per field)``, with an absent field (``w`` of a one-variable model) kept as None."""
    return State(*(None if parts[0] is None else fn(*parts) for parts in zip(*states)))


def state_dot(a: State, b: State):
    """``Σ a·b`` over every present field."""
    xp = namespace(a.v, b.v)
    return sum(xp.sum(x * y) for x, y in zip(a, b) if x is not None)


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
    dv, dw = net.neuron.rhs(x.v, I, x.w)
    if net.gate is None:  # the synapses only decay
        ds = -x.s / net.tau
        dsf = x.sf * 0.0 if net.tau_f is None else -x.sf / net.tau_f
    else:
        drive = synaptic_gate(net, x.v, zone) * dv
        ds = (drive - x.s) / net.tau
        dsf = x.sf * 0.0 if net.tau_f is None else (drive - x.sf) / net.tau_f
    return State(dv, ds, dsf, dw)


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
    return state_map(lambda a, b: a + sign * b / horizon, field, tangent)


def adjoint_field(net: Network, params: Params, x: State, i_t, o_d, p: State, zone=None, horizon=None) -> State:
    """Forward-time derivative ``d(p_v, p_s, p_f)/dt`` of the adjoint, eqs. (5)-(7).

    With a ``horizon`` (ms) the adjoint is discounted (:func:`discounted`, sign +1).
    """
    I = current(net, params, x.s, x.sf, i_t)
    return _adjoint_field(net, params, x, o_d, p, net.neuron.vjp(x.v, I, x.w, p.v, p.w), zone, horizon)


def adjoint_field_and_density(net: Network, params: Params, x: State, i_t, o_d, p: State, zone=None,
                              horizon=None) -> tuple[State, Params]:
    """:func:`adjoint_field` and :func:`gradient_density` at one point, sharing the current and the neuron's VJP
    (the right-hand side of an adjoint that carries its gradient quadrature)."""
    I = current(net, params, x.s, x.sf, i_t)
    vjp = net.neuron.vjp(x.v, I, x.w, p.v, p.w)
    return _adjoint_field(net, params, x, o_d, p, vjp, zone, horizon), _density(net, params, x, i_t, o_d, vjp[1])


def _adjoint_field(net, params, x, o_d, p, vjp, zone, horizon) -> State:
    cv, a, cw = vjp
    dps = (p.s - _masked(net, params.W, "W").T @ a - cost_grad_s(net, params, x, o_d)) / net.tau
    if net.tau_f is None:
        dpf = p.sf * 0.0
        dp_syn = dps
    else:
        dpf = (p.sf - _masked(net, params.Wf, "Wf").T @ a) / net.tau_f
        dp_syn = dps + dpf
    dpv = -cv + synaptic_gate(net, x.v, zone) * dp_syn
    return discounted(State(dpv, dps, dpf, None if cw is None else -cw), p, horizon, +1)


def current_sensitivity(net: Network, x: State, I, p: State):
    """``a = ∂H/∂I = f_I p_v + g_I·p_w`` per neuron: how the cost's Hamiltonian moves with each current."""
    if net.neuron.n_aux == 0:
        return net.neuron.f_I(x.v, I) * p.v
    return net.neuron.vjp(x.v, I, x.w, p.v, p.w)[1]


def gradient_density(net: Network, params: Params, x: State, i_t, o_d, p: State) -> Params:
    """Integrand of ``dC/dθ = ∫ ∂H/∂θ dt`` for each parameter group."""
    I = current(net, params, x.s, x.sf, i_t)
    return _density(net, params, x, i_t, o_d, current_sensitivity(net, x, I, p))


def _density(net, params, x, i_t, o_d, a) -> Params:
    xp = namespace(x.v, a, i_t)
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


def apply_reset(net: Network, x: State, j, k) -> State:
    """The state just after neuron ``k`` crosses threshold ``j`` (indices, traced under JAX): the model's reset
    map on ``(v_k, w_k)`` and, with the zero-width threshold synapse, the ``±1/τ`` kicks of
    :func:`spike_jump`."""
    xp = namespace(x.v)
    ths = net.neuron.thresholds
    onehot = xp.arange(net.n_neurons) == k
    v_k = x.v[k]
    w_k = None if x.w is None else x.w[:, k]
    outs = [net.neuron.reset(v_k, w_k, th) for th in ths]
    kicks = [spike_jump(net, th) for th in ths]
    v_new, w_new, kick = outs[0][0], outs[0][1], kicks[0]
    for i in range(1, len(ths)):
        pick = j == i
        v_new = xp.where(pick, outs[i][0], v_new)
        w_new = None if w_k is None else xp.where(pick, outs[i][1], w_new)
        kick = State(*(xp.where(pick, b, a) for a, b in zip(kick[:3], kicks[i][:3])))
    v = xp.where(onehot, v_new, x.v)
    w = None if x.w is None else xp.where(onehot[None, :], w_new[:, None], x.w)
    s = x.s + xp.where(onehot, kick.s, 0.0) if net.gate is None else x.s
    sf = x.sf + xp.where(onehot, kick.sf, 0.0) if (net.gate is None and net.tau_f is not None) else x.sf
    return State(v, s, sf, w)


def _reset_block(net: Network, x: State, k, threshold, vec: State, transpose: bool) -> State:
    """``J vec`` (or ``Jᵀ vec``) for the Jacobian ``J`` of the reset of neuron ``k`` by ``threshold``: the identity
    but on ``(v_k, w_k)``. A translation reset (every built-in model) returns ``vec``."""
    if net.neuron.translation or threshold is None:
        return vec
    xp = namespace(x.v, vec.v)
    onehot = xp.arange(net.n_neurons) == k
    apply = net.neuron.reset_vjp if transpose else net.neuron.reset_jvp
    w_k = None if x.w is None else x.w[:, k]
    dv, dw = apply(x.v[k], w_k, threshold, vec.v[k], None if vec.w is None else vec.w[:, k])
    tail = (1,) * (vec.v.ndim - 1)  # a trailing axis of directions (forward sensitivity), if any
    v = xp.where(onehot.reshape(onehot.shape + tail), dv, vec.v)
    w = None if vec.w is None else xp.where(onehot.reshape((1,) + onehot.shape + tail), dw[:, None], vec.w)
    return State(v, vec.s, vec.sf, w)


def costate(net: Network, x: State, p: State, zone=None) -> State:
    """The costate ``λ = ∂C/∂x`` from the paper's variables: ``λ_v = p_v - G (p_s + p_f)``, ``λ_s = τ p_s``,
    ``λ_f = τ_f p_f`` (``G = 0`` without a gate)."""
    q = p.s + p.sf if net.tau_f is not None else p.s
    lam_f = net.tau_f * p.sf if net.tau_f is not None else p.sf
    return State(p.v - synaptic_gate(net, x.v, zone) * q, net.tau * p.s, lam_f, p.w)


def from_costate(net: Network, x: State, lam: State, zone=None) -> State:
    """The paper's variables from the costate ``λ`` (the inverse of :func:`costate`)."""
    p_s = lam.s / net.tau
    p_f = lam.sf / net.tau_f if net.tau_f is not None else lam.sf
    q = p_s + p_f if net.tau_f is not None else p_s
    return State(lam.v + synaptic_gate(net, x.v, zone) * q, p_s, p_f, lam.w)


def event_adjoint_jump(net: Network, params: Params, x_minus: State, x_plus: State, i_t, o_d, p_plus: State, k,
                       zone_minus=None, zone_plus=None, dphi_dt=0.0, threshold=None) -> State:
    """The adjoint just before an event of neuron ``k``, from the adjoint just after it (docs/zero-width.md).

    The event is a crossing of ``h(x) = v_k - level`` at which the state jumps
    by a map ``x⁺ = R(x⁻)`` with Jacobian ``J`` (the reset of ``threshold``
    with the kicks of :func:`spike_jump`; the identity at a gate edge, where
    ``threshold`` is None, and for every translation reset). With ``F^∓`` the
    :func:`vector_field` and ``l^∓`` the :func:`running_cost` on either side::

        λ⁻ = Jᵀλ⁺ + e_k (λ⁺·(F⁺ - J F⁻) + l⁺ - l⁻ - ∂Φ/∂t_e) / F⁻_v,k

    For a translation (``J = I``) only ``λ_v,k`` jumps.

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
    if net.neuron.translation or threshold is None:
        work = sum(xp.sum(a * (b - c)) for a, b, c in zip(lam, F_plus, F_minus) if a is not None)
        lam_t = lam
    else:
        work = state_dot(lam, F_plus) - state_dot(lam, _reset_block(net, x_minus, k, threshold, F_minus, False))
        lam_t = _reset_block(net, x_minus, k, threshold, lam, True)
    onehot = xp.where(xp.arange(net.n_neurons) == k, 1.0, 0.0)
    lam_minus = State(lam_t.v + onehot * (work + dl - dphi_dt) / F_minus.v[k], lam_t.s, lam_t.sf, lam_t.w)
    return from_costate(net, x_minus, lam_minus, zone_minus)


def event_tangent_jump(net: Network, x_minus: State, F_minus: State, F_plus: State, S: State, k,
                       threshold=None) -> State:
    """Tangents just after an event of neuron ``k`` from those just before (forward sensitivity)::

        S⁺ = J S⁻ + (F⁺ - J F⁻) S⁻_v,k / F⁻_v,k

    ``S`` fields carry a trailing axis of directions; ``J`` is the reset's
    Jacobian as in :func:`event_adjoint_jump` (the identity for a translation
    or a gate edge, ``threshold=None``).
    """
    rate = F_minus.v[k]
    JS = _reset_block(net, x_minus, k, threshold, S, False)
    JF = _reset_block(net, x_minus, k, threshold, F_minus, False)
    return state_map(lambda js, fp, jf: js + (fp - jf)[..., None] * S.v[k] / rate, JS, F_plus, JF)


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
    f = net.neuron.rhs(x.v, I, x.w)[0]
    ddv, ddw = net.neuron.jvp(x.v, I, x.w, dx.v, dI, dx.w)
    G = synaptic_gate(net, x.v, zone)[:, None]
    ddrive = synaptic_gate_derivative(net, x.v, zone)[:, None] * f[:, None] * dx.v + G * ddv
    dds = (ddrive - dx.s) / net.tau
    ddsf = dx.sf * 0.0 if net.tau_f is None else (ddrive - dx.sf) / net.tau_f
    return discounted(State(ddv, dds, ddsf, ddw), dx, horizon, -1)
