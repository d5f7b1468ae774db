"""Runaway spiking, Zeno bursts and solver failure: an error that says when and why, never a hang."""

import time
import warnings

import numpy as np
import pytest

import odesnn


def runaway_network():
    # strong positive fast recurrence: every spike triggers more spikes
    net = odesnn.Network(4, 1, 1, neuron=odesnn.NIF(negative_synapse=False), gate=odesnn.Gate("box", 0.1),
                         tau=10.0, tau_f=1.0)
    N = 4
    params = odesnn.Params(np.zeros((N, N)), 5.0 * (1 - np.eye(N)), np.zeros((N, 1)), np.ones((1, N)),
                           np.full(N, 0.05))
    return net, params


def test_event_cap_raises_with_time_neuron_and_count():
    net, params = runaway_network()
    start = time.perf_counter()
    with pytest.raises(odesnn.SimulationError, match=r"max_events=300 exceeded at t=.* ms \(neuron \d+ had \d+ events\)"):
        odesnn.simulate(net, params, t_span=(0, 1000.0), max_events=300)
    assert time.perf_counter() - start < 30


def test_event_cap_throw_false_returns_partial_result():
    net, params = runaway_network()
    sol = odesnn.simulate(net, params, t_span=(0, 1000.0), max_events=300, throw=False)
    assert sol.status == 1 and not sol.success
    assert "max_events=300" in sol.message
    assert sol.t[-1] < 1000.0  # the trajectory up to the failure
    assert sol.n_spikes > 0 and np.all(np.isfinite(sol.v))


def test_zeno_burst_is_capped():
    # a huge drive makes spikes ~1e-6 ms apart: the cap stops it quickly
    net = odesnn.Network(1, 1, 1, neuron=odesnn.NIF(), gate=None, tau=10.0)
    params = odesnn.Params(np.zeros((1, 1)), np.zeros((1, 0)), np.zeros((1, 1)), np.ones((1, 1)), np.array([1e6]))
    start = time.perf_counter()
    with pytest.raises(odesnn.SimulationError, match="max_events=1000"):
        odesnn.simulate(net, params, t_span=(0, 10.0), max_events=1000)
    assert time.perf_counter() - start < 30


def test_max_steps_reported():
    net, params = runaway_network()
    sol = odesnn.simulate(net, params._replace(Wf=np.zeros((4, 4))), t_span=(0, 1000.0), max_steps=5, throw=False)
    assert sol.status == 2 and "max_steps=5" in sol.message and "t=" in sol.message


def test_non_finite_input_fails_with_time():
    net, params = runaway_network()
    params = params._replace(Wf=np.zeros((4, 4)), U=np.ones((4, 1)))

    def inputs(t):
        return np.array([np.inf if t > 5.0 else 0.0])

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # the error, not a flood of numpy warnings before it
        with pytest.raises(odesnn.SimulationError, match=r"failed at t=5.*not finite"):
            odesnn.simulate(net, params, inputs, t_span=(0, 20.0))
    sol = odesnn.simulate(net, params, inputs, t_span=(0, 20.0), throw=False)
    assert sol.status != 0 and sol.t[-1] <= 5.0 + 1e-9


def test_ignored_option_warns():
    net, params = runaway_network()
    params = params._replace(Wf=np.zeros((4, 4)))
    with pytest.warns(UserWarning, match="fd_step"):
        odesnn.gradient(net, params, t_span=(0, 5.0), method="adjoint", fd_step=1e-4)
