"""Threshold crossings inside one step: detection on samples of the step's dense output, location by safeguarded Newton.

The dense output of a step is a polynomial in the fraction ``θ`` of the step
(:mod:`._rk`); detection samples it, location finds a root of it.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np


def sample_voltages(coef, v0, v1, n_samples):
    """Fractions θ (S+2,) of the step and voltages (S+2, N) at its ends and ``n_samples`` interior points.

    ``coef`` (D+1, N) are the coefficients of the step's voltage polynomial in θ
    (:func:`._rk.dense_coeffs`), so the samples cost one small matrix product.
    """
    frac = np.linspace(0.0, 1.0, n_samples + 2)
    if n_samples == 0:
        return jnp.asarray(frac, v0.dtype), jnp.stack([v0, v1])
    powers = jnp.asarray(np.vander(frac[1:-1], coef.shape[0], increasing=True), coef.dtype)
    return jnp.asarray(frac, v0.dtype), jnp.concatenate([v0[None], powers @ coef, v1[None]])


def post(v, threshold):
    """Whether ``v`` is at or beyond ``threshold`` (in its direction)."""
    return (v - threshold.value) * threshold.direction >= 0


def first_crossing(ts, V, threshold):
    """Per neuron: crossed at a sample, and the bracket ``[a, b]`` of the first crossing."""
    P = post(V, threshold)
    crossed = P.any(axis=0)
    idx = jnp.clip(jnp.argmax(P, axis=0), 1, ts.shape[0] - 1)
    return crossed, ts[idx - 1], ts[idx]


def locate(coef, level, a, b, n_iter):
    """Per component: the fraction θ in ``[a, b]`` where the polynomial ``Σ_m coef[m] θ^m`` crosses ``level``.

    Safeguarded Newton (a Newton step that leaves the bracket is replaced by
    the bisection point, and the bracket shrinks), started from the secant of
    the bracket. ``coef`` has a leading axis of polynomial coefficients; every
    other argument broadcasts against the rest. A few elementwise operations
    per iteration: it runs only on the components that crossed
    (:func:`._forward.forward_batch` gathers them).
    """
    def value_and_slope(t):
        p, dp = coef[-1], jnp.zeros_like(coef[-1])
        for m in range(coef.shape[0] - 2, -1, -1):
            dp = dp * t + p
            p = p * t + coef[m]
        return p - level, dp

    ha, _ = value_and_slope(a)
    hb, _ = value_and_slope(b)
    sign = jnp.where(hb >= ha, 1.0, -1.0).astype(a.dtype)  # orient so that h rises through the root
    denom = jnp.where(hb != ha, hb - ha, 1.0)
    t = jnp.clip(a - ha * (b - a) / denom, a, b)
    for _ in range(n_iter):
        h, dh = value_and_slope(t)
        h, dh = h * sign, dh * sign
        a = jnp.where(h <= 0, t, a)
        b = jnp.where(h >= 0, t, b)
        newton = t - h / jnp.where(dh > 0, dh, 1.0)
        ok = (dh > 0) & (newton >= a) & (newton <= b)
        t = jnp.where(ok, newton, 0.5 * (a + b))
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
