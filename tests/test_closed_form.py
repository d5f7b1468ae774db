"""Closed forms: a lone NIF neuron with constant input; charge per spike; threshold synapse."""

import numpy as np
import pytest

import odesnn
from odesnn.analysis import synaptic_charge
from odesnn.tasks.figures import FIG1_CASES, gate_response


def lone_nif(gate, current=0.037, tau_f=None):
    net = odesnn.Network(1, 1, 1, neuron=odesnn.NIF(), gate=gate, tau=10.0, tau_f=tau_f)
    params = odesnn.Params(np.zeros((1, 1)), np.zeros((1, net.n_fast)), np.zeros((1, 1)), np.ones((1, 1)),
                           np.array([current]))
    return net, params


@pytest.mark.parametrize("gate", [odesnn.Gate("box", 0.1), odesnn.Gate("smooth", 0.1), None])
@pytest.mark.parametrize("method", ["DOP853", "RK45"])
def test_lone_nif_spikes_at_k_over_I(gate, method):
    current = 0.0371
    net, params = lone_nif(gate, current)
    sol = odesnn.simulate(net, params, t_span=(0, 1000.0), method=method)
    k = np.arange(1, sol.n_spikes + 1)
    assert sol.n_spikes == np.floor(1000 * current)
    np.testing.assert_allclose(sol.spike_times, k / current, rtol=0, atol=1e-10)
    assert np.all(sol.spike_neurons == 0) and np.all(sol.spike_signs == 1)


def test_negative_threshold_spikes_with_negative_charge():
    net, params = lone_nif(odesnn.Gate("box", 0.1), current=-0.05)
    sol = odesnn.simulate(net, params, t_span=(0, 100.0))
    np.testing.assert_allclose(sol.spike_times, np.arange(1, 6) / 0.05, atol=1e-10)
    assert np.all(sol.spike_signs == -1)
    # 5 spikes of charge -1 each, plus the partial zone entry of the 6th... none: v ends at 0
    assert synaptic_charge(sol) == pytest.approx(-5.0, abs=1e-8)


@pytest.mark.parametrize("panel,plateau,rise", FIG1_CASES)
@pytest.mark.parametrize("kind", ["box", "smooth"])
def test_charge_per_depolarization(panel, plateau, rise, kind):
    gate = odesnn.Gate(kind, 0.1)
    sol, q = gate_response(plateau, rise, gate)
    if plateau >= 1.0:
        assert sol.n_spikes == 1
        assert q == pytest.approx(1.0, abs=1e-8)
    elif plateau <= 0.9:
        assert q == 0.0
    else:  # graded: the fraction of the gate's integral below the plateau
        u = (plateau - 0.9) / 0.1
        expected = u if kind == "box" else 35 * u**4 - 84 * u**5 + 70 * u**6 - 20 * u**7
        assert q == pytest.approx(expected, abs=1e-8)


def test_charge_independent_of_rate():
    charges = [gate_response(1.5, rise, odesnn.Gate("smooth", 0.05))[1] for rise in (0.5, 3.0, 30.0)]
    np.testing.assert_allclose(charges, 1.0, atol=1e-8)


def test_threshold_synapse_jumps_by_one_over_tau():
    net, params = lone_nif(None, current=0.05, tau_f=1.0)
    sol = odesnn.simulate(net, params, t_span=(0, 30.0))
    t_spike = sol.spike_times[0]
    i = np.flatnonzero(sol.t == t_spike)
    assert i.size == 2  # before and after the reset
    assert sol.s[i[1], 0] - sol.s[i[0], 0] == pytest.approx(1 / net.tau, abs=1e-14)
    assert sol.sf[i[1], 0] - sol.sf[i[0], 0] == pytest.approx(1 / net.tau_f, abs=1e-14)
    assert sol.v[i[1], 0] == pytest.approx(0.0, abs=1e-12)
    assert synaptic_charge(sol) == pytest.approx(1.0, abs=1e-9)


def _lone_nif_cost(current, tau, T, n):
    """``C = ½∫₀ᵀ s² dt`` for a lone NIF neuron on the threshold synapse, written out by hand (spikes at ``k/I``,
    ``s`` a sum of exponentials that jump by ``1/τ``): an expression in ``I`` that JAX differentiates."""
    import jax.numpy as jnp

    t_k = jnp.arange(1, n + 1) / current
    ends = jnp.concatenate([t_k[1:], jnp.array([T])])
    amp, cost = 0.0, 0.0
    for k in range(n):
        amp = amp * (jnp.exp(-(t_k[k] - t_k[k - 1]) / tau) if k else 0.0) + 1.0 / tau
        cost = cost + amp**2 * tau / 4 * (1 - jnp.exp(-2 * (ends[k] - t_k[k]) / tau))
    return cost


@pytest.mark.parametrize("method", ["adjoint", "forward"])
def test_threshold_synapse_gradient_matches_the_closed_form(method):
    """Zero width (gate=None): dC/dI0 of a lone NIF neuron against JAX's derivative of the cost written by hand,
    and the spike-time sensitivities against dt_k/dI = -k/I²."""
    import jax

    current, T = 0.037, 100.0
    net, params = lone_nif(None, current)
    cost, grads = odesnn.gradient(net, params, t_span=(0, T), method=method, rtol=1e-12, atol=1e-12)
    n = int(np.floor(T * current))  # spikes in (0, T], fixed near `current`
    value, slope = jax.value_and_grad(_lone_nif_cost)(current, net.tau, T, n)
    assert cost == pytest.approx(float(value), rel=1e-10)
    assert grads.I0[0] == pytest.approx(float(slope), rel=1e-8)
    st = odesnn.spike_time_gradients(net, params, t_span=(0, T), rtol=1e-12, atol=1e-12)
    k = np.arange(1, st.n_spikes + 1)
    np.testing.assert_allclose(st.grads.I0[:, 0], -k / current**2, rtol=1e-9)


@pytest.mark.parametrize("gate", [odesnn.Gate("box", 0.1), odesnn.Gate("smooth", 0.1), None])
def test_simultaneous_crossings_are_all_applied(gate):
    """Two neurons that cross their thresholds at the same instant both spike and reset."""
    net = odesnn.Network(2, 1, 1, neuron=odesnn.NIF(), gate=gate, tau=10.0)
    params = odesnn.Params(np.zeros((2, 2)), np.zeros((2, 0)), np.zeros((2, 1)), np.ones((1, 2)),
                           np.array([0.05, -0.05]))
    sol = odesnn.simulate(net, params, t_span=(0, 101.0))
    for n, sign in ((0, 1), (1, -1)):
        np.testing.assert_allclose(sol.spikes_of(n), 20.0 * np.arange(1, 6), atol=1e-10)
        assert np.all(sol.spike_signs[sol.spike_neurons == n] == sign)
    assert np.all(np.abs(sol.v) < 1.0 + 1e-9)
