"""Threshold crossings inside one step: detection on samples of the step's interpolant, location by safeguarded Newton.

All functions work on one trial and all neurons at once; they are vmapped
over trials by the driver.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def voltage_dense(dense_info):
    """The voltage part of diffrax dense info of ``y = (State, c)``."""
    return {key: val[0].v for key, val in dense_info.items()}


def interpolant(solver, t0, t1, dense_info):
    return solver.interpolation_cls(t0=t0, t1=t1, **dense_info)


def sample_voltages(solver, t0, t1, dense_v, v0, v1, n_samples):
    """Times (S+2,) and voltages (S+2, N) at the ends and ``n_samples`` interior points of the step."""
    frac = jnp.linspace(0.0, 1.0, n_samples + 2, dtype=v0.dtype)
    ts = t0 + (t1 - t0) * frac
    if n_samples == 0:
        return ts, jnp.stack([v0, v1])
    interp = interpolant(solver, t0, t1, dense_v)
    inner = jax.vmap(interp.evaluate)(ts[1:-1])
    return ts, jnp.concatenate([v0[None], inner, v1[None]])


def post(v, threshold):
    """Whether ``v`` is at or beyond ``threshold`` (in its direction)."""
    return (v - threshold.value) * threshold.direction >= 0


def first_crossing(ts, V, threshold):
    """Per neuron: crossed at a sample, and the bracket ``[a, b]`` of the first crossing."""
    P = post(V, threshold)
    crossed = P.any(axis=0)
    idx = jnp.clip(jnp.argmax(P, axis=0), 1, ts.shape[0] - 1)
    return crossed, ts[idx - 1], ts[idx]


def locate(solver, t0, t1, dense_v, level, a, b, n_iter):
    """Per neuron ``n``: the time in ``[a_n, b_n]`` where ``v_n`` crosses ``level``.

    Safeguarded Newton on the step's interpolant, evaluated per neuron on its
    own component (cost O(N) per iteration): a Newton step that leaves the
    bracket is replaced by the bisection point, and the bracket shrinks.
    """
    interp_cls = solver.interpolation_cls

    def v_of(tn, dn):
        return interp_cls(t0=t0, t1=t1, **dn).evaluate(tn)

    def h_and_dh(tn):
        return jax.vmap(lambda tt, dn: jax.jvp(lambda s: v_of(s, dn), (tt,), (jnp.ones_like(tt),)),
                        in_axes=(0, -1))(tn, dense_v)

    ha = jax.vmap(v_of, in_axes=(0, -1))(a, dense_v) - level
    hb = jax.vmap(v_of, in_axes=(0, -1))(b, dense_v) - level
    sign = jnp.where(hb >= ha, 1.0, -1.0).astype(a.dtype)  # orient so that h rises through the root
    denom = jnp.where(hb != ha, hb - ha, 1.0)
    t = jnp.clip(a - ha * (b - a) / denom, a, b)

    def body(_, carry):
        t, a, b = carry
        h, dh = h_and_dh(t)
        h, dh = (h - level) * sign, dh * sign
        a = jnp.where(h <= 0, t, a)
        b = jnp.where(h >= 0, t, b)
        newton = t - h / jnp.where(dh > 0, dh, 1.0)
        ok = (dh > 0) & (newton >= a) & (newton <= b)
        t = jnp.where(ok, newton, 0.5 * (a + b))
        return t, a, b

    t, a, b = jax.lax.fori_loop(0, n_iter, body, (t, a, b), unroll=True)
    return jnp.clip(t, a, b)


def missed_charge(V, s0, s1, h, tau, threshold, gate, margin=0.25):
    """Per neuron: a whole crossing of the gate zone whose synaptic charge the step did not deliver.

    Between the ends of a step the slow synapse obeys ``τ ds/dt = -s + q(t)``
    with ``q = g(v) dv/dt`` (:func:`odesnn._dynamics.vector_field`), so
    ``τ (s₁ - s₀ e^{-h/τ}) = ∫ e^{-(t₁-t)/τ} q dt``. A neuron that starts the
    step outside the zone and crosses the threshold within it carries charge
    ``±1`` (the gate's unit integral, signed by the threshold's direction),
    so that integral lies in ``[e^{-h/τ}, 1]``. A step whose Runge-Kutta
    stages all fell outside the zone delivers about 0 instead, and its error
    estimate cannot tell; it is flagged here when the delivered charge is
    more than ``margin`` short of the lower bound. A step so long that the
    bound itself falls below ``2 margin`` (``h > τ ln(1/(2 margin))``) cannot
    tell the two apart and is flagged too.
    """
    outside = (V[0] - gate.edge(threshold)) * threshold.direction < 0
    crossed = post(V, threshold).any(axis=0)
    decay = jnp.exp(-h / tau)
    charge = tau * (s1 - s0 * decay) * threshold.direction
    return outside & crossed & ((charge < decay - margin) | (decay < 2 * margin))
