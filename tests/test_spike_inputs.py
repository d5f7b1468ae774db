"""Spike-train inputs through input synapses (Signal.spike_trains): the signal, and exact gradients on both backends."""

from __future__ import annotations

import numpy as np
import pytest

import odesnn
from odesnn._gradcheck import BOUNDS, gradcheck, random_problem


def test_spike_train_signal_is_the_synapse_driven_by_the_spikes():
    """Against the sum written out: s_c(t) = Σ_{t_k ≤ t} e^{-(t - t_k)/τ}/τ (right-continuous at each spike)."""
    rng = np.random.default_rng(0)
    trains = [np.sort(rng.uniform(0, 100, 30)), np.array([5.0, 5.0, 60.0]), np.array([])]
    sig = odesnn.Signal.spike_trains(trains, tau_in=4.0)
    assert sig.n_channels == 3
    for t in np.concatenate([rng.uniform(-5, 110, 200), trains[0], [5.0, 60.0]]):
        expected = [np.sum(np.exp(-(t - tr[tr <= t]) / 4.0)) / 4.0 for tr in trains]
        np.testing.assert_allclose(sig(t), expected, rtol=1e-12, atol=1e-300)
    assert sig(5.0)[1] == pytest.approx(2 / 4.0)  # two spikes at once: a jump of 2/τ


def test_spike_train_bad_inputs_are_named():
    with pytest.raises(ValueError, match="`tau_in` must be a positive"):
        odesnn.Signal.spike_trains([[1.0]], tau_in=0.0)
    with pytest.raises(TypeError, match="one per input channel"):
        odesnn.Signal.spike_trains(np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"times\[0\]"):
        odesnn.Signal.spike_trains([[1.0, np.nan]])


def test_adjoint_matches_forward_sensitivity_with_spike_inputs(assert_adjoint_matches_forward):
    problem = random_problem("izhikevich", "smooth", neurons=4, duration=60.0, seed=0, inputs="spikes")
    assert problem.inputs.kind == "exponential" and problem.inputs.t.size >= 10
    assert_adjoint_matches_forward(problem)


def test_jax_matches_scipy_with_spike_inputs():
    import jax

    from odesnn._fd import rel_error
    from odesnn._scipy.adjoint import adjoint
    from odesnn._scipy.forward import simulate
    from odesnn.jax import value_and_grad

    jax.config.update("jax_enable_x64", True)
    problem = random_problem("alif", "smooth", neurons=4, duration=60.0, seed=0, inputs="spikes")
    sol = simulate(problem, rtol=1e-12, atol=1e-12)
    adj = adjoint(sol).grads
    value, grads = value_and_grad(problem.params, problem, solver="dopri8", rtol=1e-12, atol=1e-12)
    assert abs(float(value) - sol.cost) <= 1e-9 * abs(sol.cost)
    for name in ("W", "U", "I0"):
        assert rel_error(np.asarray(getattr(grads, name)), getattr(adj, name)) <= BOUNDS["jax_vs_scipy"], name


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["scipy", "jax"])
def test_gradcheck_with_spike_inputs(backend):
    """``odesnn gradcheck --model alif --inputs spikes [--backend jax]``: every bound held, ≥ 20 spikes."""
    report = gradcheck("alif", backend, "smooth", neurons=4, duration=60.0, seed=0, inputs="spikes")
    assert report["n_spikes"] >= 20 and report["inputs"] == "spikes"
    assert report["passed"], report["verdict"]
