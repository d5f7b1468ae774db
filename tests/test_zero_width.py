"""Exact gradients at zero gate width (the threshold synapse, gate=None) and spike-time sensitivities.

The adjoint (backward, with the general event jump) and forward sensitivity
(forward, with its own saltation rule) share only the model functions; both
are held against central differences of the cost, and the spike-time
sensitivities ``dt_k/dθ`` against differences of the spike times, in the
same perturbed runs.
"""

import numpy as np
import pytest

import odesnn
from odesnn import _dynamics as dyn
from odesnn._fd import rel_error
from odesnn._gradcheck import gradcheck, random_problem
from odesnn._scipy.adjoint import adjoint
from odesnn._scipy.forward import simulate
from odesnn._scipy.sensitivity import sensitivity_run
from odesnn.models.network import Params, State

TIGHT = dict(rtol=1e-12, atol=1e-12)
GROUPS = ("W", "Wf", "U", "O", "I0")


def random_direction(net, params, seed):
    """A random unit direction in the whole parameter space (masks respected)."""
    rng = np.random.default_rng(seed)
    masks = {"W": net.W_mask_array, "Wf": net.Wf_mask_array}
    d = Params(*(rng.standard_normal(np.shape(p)) * masks.get(name, 1.0) for name, p in zip(GROUPS, params)))
    norm = np.sqrt(sum(np.sum(a**2) for a in d))
    return Params(*(a / norm for a in d))


def dot(grads, d, lead=()):
    """``g·d`` over the parameter axes (keeping a leading spike axis if ``lead``)."""
    return sum(np.tensordot(np.asarray(g), a, axes=a.ndim) for g, a in zip(grads, d))


def check_three_ways(problem, n_dirs=2, steps=(1e-5, 1e-6)):
    """Errors of adjoint vs forward, of both vs FD of the cost, and of dt_k/dθ vs FD of the spike times."""
    sol = simulate(problem, **TIGHT)
    adj = adjoint(sol).grads
    fwd_grad, spikes = sensitivity_run(problem, **TIGHT)
    fwd = fwd_grad.grads
    assert fwd_grad.cost == pytest.approx(sol.cost, rel=1e-9)
    np.testing.assert_array_equal(spikes["neurons"], sol.spike_neurons)
    np.testing.assert_allclose(spikes["times"], sol.spike_times, rtol=0, atol=1e-9)
    err = {"adjoint_vs_forward": max(rel_error(getattr(adj, g), getattr(fwd, g)) for g in GROUPS
                                     if np.size(getattr(adj, g)))}
    dirs = [random_direction(problem.net, problem.params, seed) for seed in range(n_dirs)]
    cost_err, time_err = {}, {}
    for h in steps:
        fd_c, fd_t = [], []
        for d in dirs:
            runs = [simulate(problem.with_params(Params(*(p + sign * h * a for p, a in zip(problem.params, d)))),
                             **TIGHT) for sign in (1, -1)]
            for run in runs:
                assert run.n_spikes == sol.n_spikes and np.array_equal(run.spike_neurons, sol.spike_neurons)
            fd_c.append((runs[0].cost - runs[1].cost) / (2 * h))
            fd_t.append((runs[0].spike_times - runs[1].spike_times) / (2 * h))
        cost_err[h] = max(rel_error([dot(g, d) for d in dirs], fd_c) for g in (adj, fwd))
        time_err[h] = rel_error([dot(spikes["grads"], d) for d in dirs], fd_t)
    err["vs_fd"] = min(cost_err.values())
    err["spike_times_vs_fd"] = min(time_err.values())
    return sol, err


@pytest.mark.parametrize("model,neurons,duration", [("nif", 3, 25.0), ("qif", 4, 40.0), ("lif", 3, 25.0)])
def test_zero_width_gradient_three_ways(model, neurons, duration):
    """Δ = 0, ≥ 20 spikes, float64: adjoint vs forward ≤ 1e-8, both vs FD ≤ 1e-6, dt_k/dθ vs FD ≤ 1e-6."""
    problem = random_problem(model, "none", neurons=neurons, duration=duration, seed=1)
    assert problem.net.gate is None
    sol, err = check_three_ways(problem, n_dirs=1)
    assert sol.n_spikes >= 20
    assert err["adjoint_vs_forward"] <= 1e-8, err
    assert err["vs_fd"] <= 1e-6, err
    assert err["spike_times_vs_fd"] <= 1e-6, err


@pytest.mark.parametrize("model", ["nif", "lif"])
def test_spike_time_sensitivities_at_positive_width(model):
    """dt_k/dθ by forward sensitivity against FD of the spike times with a box gate of width 0.1 (its edges are
    events too); the smooth gates, whose pulses take many more steps, are checked by the slow gradcheck below."""
    problem = random_problem(model, "box", neurons=3, duration=20.0, seed=2, min_spikes=10)
    sol, err = check_three_ways(problem, n_dirs=1)
    assert sol.n_spikes >= 10 and sol.stats["n_edges"] > 0
    assert err["spike_times_vs_fd"] <= 1e-6, err
    assert err["adjoint_vs_forward"] <= 1e-8, err


def test_public_entry_points_at_zero_width():
    """odesnn.gradient (adjoint, forward, fd) and odesnn.spike_time_gradients (forward, fd) on gate=None."""
    rng = np.random.default_rng(3)
    net = odesnn.Network(2, 1, 1, neuron=odesnn.LIF(tau_m=3.0), gate=None, tau=5.0, tau_f=2.0)
    params = odesnn.Params(0.4 * rng.standard_normal((2, 2)), np.array([[0.0, 0.3], [-0.2, 0.0]]),
                           np.array([[0.3], [-0.2]]), np.array([[0.8, -0.5]]), np.array([1.4, 1.25]))
    inputs = odesnn.Signal.sampled(np.linspace(0, 12, 13), np.sin(np.linspace(0, 3, 13))[:, None])
    target = odesnn.Signal.sampled(np.linspace(0, 12, 13), 0.2 * np.ones((13, 1)))
    args = (net, params, inputs, target, (0.0, 12.0))
    got = {m: odesnn.gradient(*args, method=m, **TIGHT) for m in ("adjoint", "forward", "fd")}
    assert got["adjoint"].forward.n_spikes >= 4
    for g in GROUPS:
        a, f, d = (np.asarray(getattr(got[m].grads, g)) for m in ("adjoint", "forward", "fd"))
        assert rel_error(a, f) <= 1e-8, g
        assert rel_error(a, d) <= 1e-6, g
    fwd = odesnn.spike_time_gradients(*args, **TIGHT)
    fd = odesnn.spike_time_gradients(*args, method="fd", **TIGHT)
    assert isinstance(fwd, odesnn.SpikeTimeGradients) and fwd.n_spikes == got["adjoint"].forward.n_spikes
    np.testing.assert_array_equal(fwd.neurons, fd.neurons)
    for g in ("W", "Wf", "U", "I0"):
        assert np.shape(getattr(fwd.grads, g)) == (fwd.n_spikes,) + np.shape(getattr(params, g))
        assert rel_error(getattr(fwd.grads, g), getattr(fd.grads, g)) <= 1e-6, g
    assert not np.any(fwd.grads.O) and np.shape(fwd.grads.O) == (fwd.n_spikes, 1, 2)


def test_discounted_gradient_at_zero_width():
    """With an adjoint horizon the adjoint and the decaying forward sensitivity still agree at Δ = 0."""
    problem = random_problem("nif", "none", neurons=3, duration=30.0, seed=4, min_spikes=8)
    a = adjoint(simulate(problem, **TIGHT), horizon=5.0).grads
    f = sensitivity_run(problem, horizon=5.0, **TIGHT)[0].grads
    exact = adjoint(simulate(problem, **TIGHT)).grads
    for g in GROUPS:
        assert rel_error(getattr(a, g), getattr(f, g)) <= 1e-8, g
    assert rel_error(a.W, exact.W) > 1e-3  # the discount does change it


@pytest.mark.parametrize("kind", ["box", "smooth"])
def test_event_jump_reduces_to_the_reset_factor_at_positive_width(kind):
    """The general jump (event_adjoint_jump) gives p_v,k⁻ = p_v,k⁺ f(v_r)/f(θ) and continuous p_s, p_f at a reset
    with a gate of positive width (docs/math.md §4.3), whatever the state and the adjoint."""
    rng = np.random.default_rng(5)
    N = 3
    net = odesnn.Network(N, 1, 1, neuron=odesnn.LIF(), gate=odesnn.Gate(kind, 0.2), tau=5.0, tau_f=2.0,
                         cost=odesnn.QuadraticCost(0.3))
    params = net.init_params(1, i0_mean=1.5)
    th = net.neuron.thresholds[0]
    for k in range(N):
        x_minus = State(rng.uniform(0, 0.5, N), rng.standard_normal(N), rng.standard_normal(N))
        x_minus = x_minus._replace(v=np.where(np.arange(N) == k, th.value, x_minus.v))
        jump = dyn.spike_jump(net, th)
        x_plus = State(x_minus.v + jump.v * (np.arange(N) == k), x_minus.s, x_minus.sf)
        p_plus = State(*(rng.standard_normal(N) for _ in range(3)))
        i_t, o_d = np.array([0.3]), np.array([0.1])
        p_minus = dyn.event_adjoint_jump(net, params, x_minus, x_plus, i_t, o_d, p_plus, k,
                                         dyn.gate_zone(net, x_minus.v), dyn.gate_zone(net, x_plus.v))
        factor = dyn.reset_factor(net, params, x_minus, i_t, k, th)
        expected = p_plus.v.copy()
        expected[k] *= factor
        np.testing.assert_allclose(p_minus.v, expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(p_minus.s, p_plus.s, rtol=1e-14)
        np.testing.assert_allclose(p_minus.sf, p_plus.sf, rtol=1e-14)


@pytest.mark.slow
@pytest.mark.parametrize("gate", ["none", "smooth"])
@pytest.mark.parametrize("model", ["nif", "qif", "lif"])
def test_gradcheck_every_bound(model, gate):
    """`odesnn gradcheck --gate none|smooth` at its defaults (6 neurons, 60 ms) passes every bound, spike times
    included."""
    report = gradcheck(model, gate=gate, neurons=6, duration=60.0, n_directions=1)
    assert report["n_spikes"] >= 20
    assert report["passed"], report["verdict"]
    assert set(report["verdict"]) == {"adjoint_vs_forward", "adjoint_vs_fd", "forward_vs_fd", "spike_times_vs_fd"}
