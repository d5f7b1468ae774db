"""Property-based checks (hypothesis): charge conservation, adjoint = FD, save/load round trip."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import odesnn
from odesnn._gradcheck import random_problem
from odesnn._scipy.adjoint import adjoint
from odesnn._scipy.forward import simulate
from odesnn.analysis import synaptic_charge

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=12, **SETTINGS)
@given(
    amplitudes=st.lists(st.floats(0.0, 0.08), min_size=3, max_size=8),
    kind=st.sampled_from(["box", "smooth", "poly2"]),
    width=st.floats(0.02, 0.3),
)
def test_charge_is_one_per_spike_for_any_profile(amplitudes, kind, width):
    """Any non-negative drive: total charge = number of spikes + gate integral up to the final voltage."""
    amplitudes = list(amplitudes) + [0.0]  # the drive ends, then the voltage stays constant
    t = np.linspace(0, 10 * len(amplitudes), len(amplitudes))
    net = odesnn.Network(1, 1, 1, neuron=odesnn.NIF(negative_synapse=False), gate=odesnn.Gate(kind, width), tau=5.0)
    params = odesnn.Params(np.zeros((1, 1)), np.zeros((1, 0)), np.ones((1, 1)), np.ones((1, 1)), np.zeros(1))
    sol = odesnn.simulate(net, params, (t, np.array(amplitudes)[:, None]), None, (0.0, t[-1] + 150.0),
                          rtol=1e-12, atol=1e-14)
    th = net.neuron.thresholds[0]
    v_end = sol.v[-1, 0]
    from scipy.integrate import quad

    partial = quad(lambda v: float(net.gate(np.array(v), th)), th.value - width, v_end)[0] if v_end > 1 - width else 0
    # the remaining s decays without drive once the voltage is constant
    assert synaptic_charge(sol) == pytest.approx(sol.n_spikes + partial, abs=1e-8)


@settings(max_examples=4, **SETTINGS)
@given(seed=st.integers(0, 10_000), model=st.sampled_from(["nif", "qif", "lif"]),
       gate=st.sampled_from(["box", "smooth"]))
def test_adjoint_matches_finite_differences(seed, model, gate):
    problem = random_problem(model, gate, neurons=3, duration=30.0, seed=seed, min_spikes=3)
    sol = simulate(problem, rtol=1e-12, atol=1e-12)
    grads = adjoint(sol).grads
    rng = np.random.default_rng(seed)
    d = rng.standard_normal(problem.params.I0.shape)
    errs = []
    for h in (1e-5, 1e-6, 1e-7):
        cp = simulate(problem.with_params(problem.params._replace(I0=problem.params.I0 + h * d)),
                      rtol=1e-12, atol=1e-12).cost
        cm = simulate(problem.with_params(problem.params._replace(I0=problem.params.I0 - h * d)),
                      rtol=1e-12, atol=1e-12).cost
        fd = (cp - cm) / (2 * h)
        errs.append(abs(fd - grads.I0 @ d) / max(abs(fd), 1e-12))
    assert min(errs) < 1e-5


@settings(max_examples=15, **SETTINGS)
@given(
    n=st.integers(1, 6), m=st.integers(0, 3), k=st.integers(0, 3), seed=st.integers(0, 2**31 - 1),
    fast=st.booleans(), kind=st.sampled_from(["box", "smooth", "poly2", None]),
    neuron=st.sampled_from(["nif", "qif", "lif"]),
)
def test_save_load_round_trip(tmp_path_factory, n, m, k, seed, fast, kind, neuron):
    model = {"nif": odesnn.NIF(), "qif": odesnn.QIF(), "lif": odesnn.LIF()}[neuron]
    gate = None if kind is None else odesnn.Gate(kind, 0.1)
    net = odesnn.Network(n, m, k, neuron=model, gate=gate, tau=3.0, tau_f=1.0 if fast else None)
    params = net.init_params(seed)
    path = tmp_path_factory.mktemp("net")
    odesnn.save(path, net, params)
    net2, params2 = odesnn.load(path)
    assert net2 == net
    for a, b in zip(params, params2):
        assert a.shape == b.shape and np.array_equal(a, b)
