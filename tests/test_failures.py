"""Runaway spiking, Zeno bursts and solver failure: an error that says when and why, never a hang."""

import re
import time
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

import odesnn
from odesnn._problem import make_problem


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
    with pytest.raises(odesnn.SimulationError,
                       match=r"max_events=300 exceeded at t=.* ms \(neuron \d+ had \d+ events\)"):
        odesnn.simulate(net, params, t_span=(0, 1000.0), max_events=300, max_rate=None)  # the cap, not the rate
    assert time.perf_counter() - start < 30


def test_event_cap_throw_false_returns_partial_result():
    net, params = runaway_network()
    sol = odesnn.simulate(net, params, t_span=(0, 1000.0), max_events=300, throw=False, max_rate=None)
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
        odesnn.simulate(net, params, t_span=(0, 10.0), max_events=1000, max_rate=None)
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



def _quiet_problem(extra_drive=0.0, t1=100.0):
    """Two lone NIF neurons on constant drives ``I = (0.05, 0.08) + extra_drive``: ``v = I t`` until the first
    spike, a regular, finite trajectory that still takes many steps (the gate zones)."""
    from odesnn._problem import make_problem

    net = odesnn.Network(2, 1, 1, neuron=odesnn.NIF(), gate=odesnn.Gate("smooth", 0.1), tau=10.0)
    params = odesnn.Params(np.zeros((2, 2)), np.zeros((2, 0)), np.ones((2, 1)), np.ones((1, 2)), np.array([0.05, 0.08]))
    return make_problem(net, params, np.array([extra_drive]), None, (0.0, t1))


def _check_linear_rise(sol, drive):
    before = sol.t < 1.0 / max(drive)  # before the first spike
    assert before.sum() >= 2
    np.testing.assert_allclose(sol.v[before], sol.t[before, None] * np.asarray(drive), rtol=1e-6, atol=1e-9)


def test_jax_throw_false_returns_nothing_past_the_stop():
    from odesnn.jax import simulate as jax_simulate

    sol = jax_simulate(_quiet_problem(), throw=False, max_steps=5)
    t_stop = float(sol.extra["t_final"][0])
    assert sol.status == 2 and not sol.success and 0.0 < t_stop < 100.0
    assert sol.message == f"max_steps=5 reached at t={t_stop:.12g} ms (after 5 steps)"
    # the trajectory ends where the solver stopped, and every value in it is one the solver computed
    assert sol.t[-1] == t_stop and np.all(np.diff(sol.t) > 0)
    for name in ("v", "s", "sf", "o"):
        arr = getattr(sol, name)
        assert arr.shape[0] == sol.t.size and np.all(np.isfinite(arr)), name
    _check_linear_rise(sol, (0.05, 0.08))
    with pytest.raises(odesnn.SimulationError, match=r"max_steps=5 reached at t="):
        jax_simulate(_quiet_problem(), max_steps=5)


def test_jax_batch_throw_false_ends_at_the_earliest_stop():
    from odesnn.jax import simulate as jax_simulate

    sol = jax_simulate([_quiet_problem(), _quiet_problem(0.1)], throw=False, max_steps=5)
    stops = np.asarray(sol.extra["t_final"])
    assert sol.status == 2 and np.all(sol.extra["status"] == 2) and stops[0] != stops[1]
    assert sol.message.startswith("trial 0: max_steps=5 reached") and "extra['t_final']" in sol.message
    assert sol.t[-1] <= stops.min() and sol.t.size >= 2
    for name in ("v", "s", "sf", "o"):
        arr = getattr(sol, name)
        assert arr.shape[:2] == (2, sol.t.size) and np.all(np.isfinite(arr)), name


def test_scipy_throw_false_with_t_eval_returns_nothing_past_the_stop():
    pb = _quiet_problem()
    t_eval = np.linspace(0.0, 100.0, 201)
    kw = dict(t_span=(0.0, 100.0), max_steps=5, throw=False)
    sol = odesnn.simulate(pb.net, pb.params, pb.inputs, t_eval=t_eval, **kw)
    full = odesnn.simulate(pb.net, pb.params, pb.inputs, **kw)
    assert sol.status == 2 and sol.t[-1] == full.t[-1] < 100.0  # the stop, as the default output has it
    assert np.all(np.isin(sol.t[:-1], t_eval)) and np.all(np.diff(sol.t) > 0)
    np.testing.assert_array_equal(sol.v[-1], full.v[-1])
    # the requested times before the stop are read from the dense output, not extrapolated past it
    _check_linear_rise(sol, (0.05, 0.08))


# -- the rate guard: a runaway or Zeno network stops early, naming the neuron, the time and the rate -------------

RATE_MESSAGE = (r"neuron (\d+) fired 10 spikes in ([0-9.e+-]+) ms up to t=([0-9.e+-]+) ms, a rate of ([0-9.e+-]+) Hz "
                r"above max_rate=100000 Hz")


@dataclass(frozen=True)
class Accelerating(odesnn.NeuronModel):
    """``dv/dt = I² + 0.01``, threshold 1, reset 0. With self-excitation each spike adds about ``w/τ`` to ``I``,
    so the k-th interval ``1/I²`` shrinks as ``1/k²``: their sum converges, a Zeno burst at a finite time."""

    name = "accelerating"

    @property
    def thresholds(self):
        return (odesnn.Threshold(1.0, +1, 0.0),)

    def f(self, v, I):  # noqa: E741
        return I * I + 0.01 + 0.0 * v


def zeno_network():
    net = odesnn.Network(1, 1, 1, neuron=Accelerating(), gate=odesnn.Gate("smooth", 0.1), tau=10.0)
    return net, odesnn.Params(np.array([[20.0]]), np.zeros((1, 0)), np.zeros((1, 1)), np.ones((1, 1)), np.array([0.1]))


def _check_rate_stop(sol, message):
    """The message's neuron, time and rate are those of the spikes returned, and no earlier window of 10
    spikes of any neuron was as fast: the guard stopped at the first one."""
    import re

    n, span, t, rate = re.search(RATE_MESSAGE, message).groups()
    n, span, t, rate = int(n), float(span), float(t), float(rate)
    times = np.sort(sol.spike_times[sol.spike_neurons == n])
    assert times[-1] == pytest.approx(t, abs=1e-9) and sol.t[-1] == pytest.approx(t, abs=1e-9)
    assert times[-1] - times[-10] == pytest.approx(span, rel=1e-2)
    assert rate == pytest.approx(9000.0 / (times[-1] - times[-10]), rel=1e-2) and rate > 1e5
    for k in np.unique(sol.spike_neurons):
        tk = np.sort(sol.spike_times[sol.spike_neurons == k])
        spans = tk[9:] - tk[:-9]
        earlier = spans[:-1] if k == n else spans
        assert np.all(earlier * 1e5 >= 9000.0)  # every earlier window below 100 kHz
    for name in ("v", "s", "sf", "o"):
        assert np.all(np.isfinite(getattr(sol, name))), name


@pytest.mark.parametrize("case", ["runaway", "zeno"])
def test_scipy_rate_guard_stops_runaway_and_zeno_networks_at_the_defaults(case):
    net, params = runaway_network() if case == "runaway" else zeno_network()
    start = time.process_time()
    with pytest.raises(odesnn.SimulationError, match=RATE_MESSAGE):
        odesnn.simulate(net, params, t_span=(0, 1000.0))
    sol = odesnn.simulate(net, params, t_span=(0, 1000.0), throw=False)
    assert time.process_time() - start < 30  # without the guard: the event cap after hours, or a vague failure
    assert sol.status == 4 and sol.message.startswith("neuron ")
    _check_rate_stop(sol, sol.message)


def test_max_rate_is_a_threshold_on_a_steady_rate_and_none_turns_it_off():
    # a lone NIF neuron on I0 = 50 per ms fires every 0.02 ms: 50 kHz, below the default and above 40 kHz
    net = odesnn.Network(1, 1, 1, neuron=odesnn.NIF(), gate=None, tau=10.0)
    params = odesnn.Params(np.zeros((1, 1)), np.zeros((1, 0)), np.zeros((1, 1)), np.ones((1, 1)), np.array([50.0]))
    assert odesnn.simulate(net, params, t_span=(0, 1.99)).n_spikes == 99  # every 0.02 ms up to 1.98 ms
    with pytest.raises(odesnn.SimulationError, match=r"neuron 0 fired 10 spikes in 0.18 ms up to t=0.2 ms, a rate "
                                                     r"of 5e\+04 Hz above max_rate=40000 Hz"):
        odesnn.simulate(net, params, t_span=(0, 2.0), max_rate=4e4)
    assert odesnn.simulate(net, params, t_span=(0, 1.99), max_rate=None).n_spikes == 99
    with pytest.raises(ValueError, match=r"`max_rate` must be None or a positive number of spikes per second, "
                                         r"got -1.0"):
        odesnn.simulate(net, params, t_span=(0, 2.0), max_rate=-1.0)


@dataclass(frozen=True)
class Singular(odesnn.NeuronModel):
    """``dv/dt = I + 0.01/(1 - v)``: the voltage reaches its threshold, 1, with unbounded speed."""

    name = "singular"

    @property
    def thresholds(self):
        return (odesnn.Threshold(1.0, +1, 0.0),)

    def f(self, v, I):  # noqa: E741
        return I + 0.01 / (1.0 - v)


def test_a_step_failure_names_the_fastest_neuron_and_its_speed():
    net = odesnn.Network(2, 1, 1, neuron=Singular(), gate=None, tau=10.0)
    params = odesnn.Params(np.zeros((2, 2)), np.zeros((2, 0)), np.zeros((2, 1)), np.ones((1, 2)), np.array([0.01, 0.0]))
    sol = odesnn.simulate(net, params, t_span=(0, 100.0), throw=False)
    assert sol.status == -1
    assert re.search(r"integration step failed at t=[0-9.]+ ms: .* Neuron 0 has the fastest voltage there, "
                     r"dv/dt=[0-9.e+]+ per ms at v=0\.99[0-9]*, [0-9.e-]+ from its threshold 1",
                     sol.message), sol.message


def test_jax_rate_guard_stops_a_runaway_network_at_the_defaults():
    from odesnn.jax import simulate as jax_simulate

    net, params = runaway_network()
    start = time.process_time()
    sol = jax_simulate(make_problem(net, params, None, None, (0.0, 1000.0)), throw=False)
    assert time.process_time() - start < 60  # compiling included; without the guard the spike buffer fills first
    assert sol.status == 4
    _check_rate_stop(sol, sol.message)
    ref = odesnn.simulate(net, params, t_span=(0, 1000.0), throw=False)  # the same neuron, the same spike
    assert sol.message.split(" fired")[0] == ref.message.split(" fired")[0]
    assert float(re.search(RATE_MESSAGE, sol.message).group(3)) == pytest.approx(
        float(re.search(RATE_MESSAGE, ref.message).group(3)), abs=1e-4)


def test_jax_rate_guard_stops_a_zeno_neuron_at_the_defaults():
    from odesnn.jax import simulate as jax_simulate

    net, params = zeno_network()
    start = time.process_time()
    sol = jax_simulate(make_problem(net, params, None, None, (0.0, 1000.0)), throw=False)
    assert time.process_time() - start < 60  # compiling included; without the guard no result in 300 s
    assert sol.status == 4
    _check_rate_stop(sol, sol.message)
    with pytest.raises(odesnn.SimulationError, match=RATE_MESSAGE):
        jax_simulate(make_problem(net, params, None, None, (0.0, 1000.0)))


def test_jax_gradient_of_a_loss_on_a_failed_trial_is_nan_not_the_simulated_parts():
    """A trial that fails (here its spike buffer fills) has cost NaN; a loss that depends on it gets a NaN
    gradient, while a loss on the other trials keeps their exact gradient (the SciPy adjoint of the good trial
    alone)."""
    import jax
    import jax.numpy as jnp

    from odesnn.jax import Model, cast, make_batch
    from odesnn.jax import cost as jax_cost

    net = odesnn.Network(2, 1, 1, neuron=odesnn.NIF(), gate=odesnn.Gate("smooth", 0.1), tau=5.0, tau_f=None)
    params = net.init_params(0)
    t = np.linspace(0.0, 50.0, 3)
    inputs = np.stack([np.full((3, 1), 0.1), np.full((3, 1), 4.0)])  # about 5 and 200 spikes per neuron
    targets = np.zeros((2, 3, 1))
    model = Model(net)
    opts = dict(rtol=1e-8, atol=1e-10, max_spikes=40)

    p, b = cast(params, make_batch(net, t, inputs, targets, (0.0, 50.0)), np.float64)

    @jax.jit
    def costs_and_grad(w):  # the gradient of the weighted sum of the trials' costs
        return jax_cost(p, b, model, **opts), jax.grad(lambda q: jnp.sum(w * jax_cost(q, b, model, **opts)))(p)

    costs, g_mean = costs_and_grad(jnp.array([0.5, 0.5]))
    assert np.isfinite(costs[0]) and np.isnan(costs[1])
    assert all(np.all(np.isnan(np.asarray(g))) for g in g_mean)
    _, g_first = costs_and_grad(jnp.array([1.0, 0.0]))
    ref = odesnn.gradient(net, params, (t, inputs[0]), (t, targets[0]), t_span=(0.0, 50.0))
    for a, r in zip(g_first, ref.grads):
        np.testing.assert_allclose(np.asarray(a), r, rtol=1e-6, atol=1e-9 * np.max(np.abs(r), initial=0.0))
