"""Gates: unit integral, non-negative, support inside the active zone; refusals."""

import numpy as np
import pytest
from scipy.integrate import quad

import odesnn
from odesnn import NIF, Gate, Threshold
from odesnn.models.gates import register_gate_profile

KINDS = ["box", "smooth", "poly2"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("threshold", [Threshold(1.0, +1, 0.0), Threshold(-1.0, -1, 0.0)])
def test_unit_integral_and_support(kind, threshold):
    gate = Gate(kind, 0.2)
    lo, hi = sorted((gate.edge(threshold), threshold.value))
    integral, _ = quad(lambda v: float(gate(np.array(v), threshold)), lo, hi, epsabs=1e-13, epsrel=1e-13)
    assert integral == pytest.approx(1.0, abs=1e-10)
    v = np.linspace(-3, 3, 60001)
    g = gate(v, threshold)
    assert np.all(g >= 0)
    # zero on the sub-threshold side of the zone
    below = (v - gate.edge(threshold)) * threshold.direction < -1e-12
    assert np.all(g[below] == 0)


@pytest.mark.parametrize("kind", ["smooth", "poly2"])
def test_smooth_gates_vanish_at_edges_and_have_matching_derivative(kind):
    gate = Gate(kind, 0.1)
    th = Threshold(1.0, +1, 0.0)
    assert abs(float(gate(np.array(0.9), th))) < 1e-25  # rounding of u = 0 only
    v = np.linspace(0.905, 0.995, 19)
    h = 1e-7
    fd = (gate(v + h, th) - gate(v - h, th)) / (2 * h)
    np.testing.assert_allclose(gate.derivative(v, th), fd, rtol=1e-6, atol=1e-6)


def test_bad_gates_are_refused():
    with pytest.raises(ValueError, match="width"):
        Gate("box", 0.0)
    with pytest.raises(ValueError, match="width"):
        Gate("box", -0.1)
    with pytest.raises(ValueError, match="kind"):
        Gate("triangle", 0.1)
    with pytest.raises(ValueError, match="reset"):
        odesnn.Network(3, neuron=NIF(), gate=Gate("box", 1.5))
    with pytest.raises(ValueError, match="integrates to"):
        register_gate_profile("half", lambda u: 0.5 + 0.0 * u, lambda u: 0.0 * u)
    with pytest.raises(ValueError, match="non-negative"):
        register_gate_profile("neg", lambda u: 6 * u - 2, lambda u: 6.0 + 0 * u)


def test_registered_profile_is_usable():
    register_gate_profile("tri_test", lambda u: 2 * u, lambda u: 2.0 + 0 * u)
    gate = Gate("tri_test", 0.1)
    th = Threshold(1.0, +1, 0.0)
    integral, _ = quad(lambda v: float(gate(np.array(v), th)), 0.9, 1.0)
    assert integral == pytest.approx(1.0, abs=1e-12)
