"""The public entry points give the same spikes, cost and gradient with either backend."""

import jax
import numpy as np

import odesnn

jax.config.update("jax_enable_x64", True)


def test_simulate_and_gradient_jax_vs_scipy():
    net = odesnn.Network(3, 1, 1, neuron=odesnn.QIF(), gate=odesnn.Gate("smooth", 0.1), tau=10.0, tau_f=3.0)
    params = net.init_params(0)._replace(I0=np.full(3, 0.03))
    t = np.linspace(0, 100, 101)
    inputs = (t, 0.01 * np.sin(t / 10)[:, None])
    target = (t, 0.1 * np.cos(t / 15)[:, None])
    kw = dict(rtol=1e-10, atol=1e-12)
    s_jax = odesnn.simulate(net, params, inputs, target, (0, 100.0), backend="jax", **kw)
    s_sp = odesnn.simulate(net, params, inputs, target, (0, 100.0), **kw)
    assert s_jax.n_spikes == s_sp.n_spikes >= 10
    np.testing.assert_allclose(s_jax.spike_times, s_sp.spike_times, atol=1e-6)
    c_jax, g_jax = odesnn.gradient(net, params, inputs, target, (0, 100.0), backend="jax", **kw)
    c_sp, g_sp = odesnn.gradient(net, params, inputs, target, (0, 100.0), **kw)
    assert abs(c_jax - c_sp) <= 1e-8 * abs(c_sp)
    for a, b in zip(g_jax, g_sp):
        assert np.linalg.norm(a - b) <= 1e-6 * np.linalg.norm(b)


def test_threshold_synapse_jax_vs_scipy():
    """Zero-width synapses (eq. 1): both backends apply the same ±1/τ jumps (odesnn._dynamics.spike_jump)."""
    net = odesnn.Network(2, 1, 1, neuron=odesnn.NIF(), gate=None, tau=10.0, tau_f=2.0)
    params = odesnn.Params(np.zeros((2, 2)), np.array([[0, 0.3], [0.2, 0]]), np.zeros((2, 1)), np.ones((1, 2)),
                           np.array([0.05, -0.03]))
    t = np.linspace(0, 100, 11)
    kw = dict(rtol=1e-10, atol=1e-12)
    a = odesnn.simulate(net, params, (t, np.zeros((11, 1))), None, (0, 100.0), backend="jax", **kw)
    b = odesnn.simulate(net, params, (t, np.zeros((11, 1))), None, (0, 100.0), **kw)
    assert a.n_spikes == b.n_spikes >= 4
    np.testing.assert_allclose(a.spike_times, b.spike_times, atol=1e-8)
    assert abs(a.cost - b.cost) <= 1e-9 * abs(b.cost)
