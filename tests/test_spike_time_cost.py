"""Costs on spike times (odesnn.FirstSpikeCost): the value by hand, exact gradients at Δ > 0 and Δ = 0.

The adjoint (a jump ``-∂Φ/∂t_k / v̇_k`` in ``p_v`` at each scored spike) and
forward sensitivity (``Σ_k ∂Φ/∂t_k dt_k/dθ``) are held against each other and
against central differences of the whole cost.
"""

import dataclasses

import numpy as np
import pytest

import odesnn
from odesnn._fd import rel_error
from odesnn._gradcheck import random_problem
from odesnn._scipy.adjoint import adjoint
from odesnn._scipy.forward import simulate
from odesnn._scipy.sensitivity import sensitivity_run
from odesnn.models.network import Params

TIGHT = dict(rtol=1e-12, atol=1e-12)
GROUPS = ("W", "Wf", "U", "O", "I0")


def test_first_spike_cost_by_hand():
    cost = odesnn.FirstSpikeCost((3.0, np.nan, 5.0, 1.0), weight=2.0)
    times = np.array([1.0, 2.0, 4.0, 6.0, 7.0])
    neurons = np.array([0, 2, 0, 2, 1])
    signs = np.array([1, -1, 1, 1, 1])
    value, grad = cost.spike_cost(times, neurons, signs, (0.0, 10.0), 4)
    # neuron 0 first rises at 1 (target 3); neuron 1 unscored; neuron 2's first rising spike is at 6 (the falling one
    # at 2 does not count); neuron 3 never spikes: counted at t1 = 10, no gradient
    assert value == pytest.approx(0.5 * 2.0 * ((1 - 3) ** 2 + (6 - 5) ** 2 + (10 - 1) ** 2))
    np.testing.assert_allclose(grad, [2.0 * (1 - 3), 0, 0, 2.0 * (6 - 5), 0])
    any_sign = odesnn.FirstSpikeCost((3.0, np.nan, 5.0, 1.0), weight=2.0, direction=None)
    assert any_sign.spike_cost(times, neurons, signs, (0.0, 10.0), 4)[1][1] == pytest.approx(2.0 * (2 - 5))
    with pytest.raises(ValueError, match="4 `targets` for a network of 3"):
        cost.spike_cost(times, neurons, signs, (0.0, 10.0), 3)


@pytest.mark.parametrize("kwargs,match", [({"targets": ()}, "targets"), ({"targets": (1.0, np.inf)}, "targets"),
                                          ({"targets": (1.0,), "weight": 0.0}, "weight"),
                                          ({"targets": (1.0,), "direction": 2}, "direction")])
def test_first_spike_cost_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        odesnn.FirstSpikeCost(**kwargs)


def test_first_spike_cost_round_trips_through_save(tmp_path):
    cost = odesnn.FirstSpikeCost((3.0, np.nan), weight=0.5, direction=-1, running=odesnn.QuadraticCost(0.2))
    net = odesnn.Network(2, 1, 1, gate=None, cost=cost)
    odesnn.save(tmp_path, net, net.init_params(0))
    loaded, _ = odesnn.load(tmp_path)
    assert loaded.cost.config() == cost.config()
    assert loaded.cost.targets[0] == 3.0 and np.isnan(loaded.cost.targets[1])


def test_the_jax_backend_refuses_a_spike_time_cost():
    from odesnn.jax import Model

    net = odesnn.Network(2, 1, 1, gate=None, cost=odesnn.FirstSpikeCost((3.0, 4.0)))
    with pytest.raises(NotImplementedError, match="spike times"):
        Model(net)


@pytest.mark.parametrize("gate", ["none", "box"])
def test_first_spike_cost_gradient(gate):
    """Adjoint vs forward ≤ 1e-8 and both vs FD ≤ 1e-6, Δ = 0 and Δ = 0.1, with a running cost alongside."""
    base = random_problem("lif", gate, neurons=3, duration=25.0, seed=1, min_spikes=10)
    cost = odesnn.FirstSpikeCost((5.0, np.nan, 8.0), weight=0.05, running=odesnn.QuadraticCost(0.1))
    problem = dataclasses.replace(base, net=dataclasses.replace(base.net, cost=cost))
    sol = simulate(problem, **TIGHT)
    running_only = simulate(dataclasses.replace(base, net=dataclasses.replace(base.net, cost=cost.running)), **TIGHT)
    phi = cost.spike_cost(sol.spike_times, sol.spike_neurons, sol.spike_signs, (base.t0, base.t1), 3)[0]
    assert phi > 0.01 and sol.cost == pytest.approx(running_only.cost + phi, rel=1e-12)
    adj = adjoint(sol)
    fwd = sensitivity_run(problem, **TIGHT)[0]
    assert adj.cost == sol.cost and fwd.cost == pytest.approx(sol.cost, rel=1e-10)
    for g in GROUPS:
        assert rel_error(getattr(adj.grads, g), getattr(fwd.grads, g)) <= 1e-8, g
    # the spike-time term moves the gradient: it is not the running cost's alone
    assert rel_error(adjoint(running_only).grads.I0, adj.grads.I0) > 1e-2
    rng = np.random.default_rng(0)
    d = Params(*(rng.standard_normal(np.shape(p)) for p in problem.params))
    d = d._replace(Wf=d.Wf * problem.net.Wf_mask_array)
    errs = []
    for h in (1e-5, 1e-6):
        c = [simulate(problem.with_params(Params(*(p + s * h * a for p, a in zip(problem.params, d)))), **TIGHT).cost
             for s in (1, -1)]
        fd = (c[0] - c[1]) / (2 * h)
        errs.append(abs(sum(np.sum(g * a) for g, a in zip(adj.grads, d)) - fd) / abs(fd))
    assert min(errs) <= 1e-6, errs
