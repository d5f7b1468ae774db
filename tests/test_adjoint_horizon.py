"""The discounted gradient (``adjoint_horizon``): a closed form, and three computations that must agree."""

import numpy as np
import pytest

import odesnn
from odesnn import NIF, Gate, Network, Params, QuadraticCost
from odesnn._gradcheck import random_problem
from odesnn._problem import make_problem
from odesnn._scipy.adjoint import adjoint
from odesnn._scipy.forward import simulate
from odesnn.training import default_config


def _silent_problem(tau=10.0, lam=0.5, T=30.0, s0=(0.3, 0.5, 0.7)):
    """Three NIF neurons at rest far from the gate, no drive: only ``s`` decays, ``l = λ|s|²/2``."""
    net = Network(3, 1, 1, neuron=NIF(), gate=Gate("smooth", 0.2), tau=tau, tau_f=None, cost=QuadraticCost(lam))
    params = Params(np.zeros((3, 3)), np.zeros((3, 0)), np.zeros((3, 1)), np.zeros((1, 3)), np.zeros(3))
    return make_problem(net, params, np.zeros(1), None, (0.0, T), v0=np.zeros(3), s0=np.array(s0))


@pytest.mark.parametrize("horizon", [None, 5.0, 40.0])
def test_initial_state_gradient_has_the_closed_form(horizon):
    """With ``s(t) = s0 e^{-t/τ}`` the discounted ``dC/ds0`` is ``λ s0 (1 - e^{-aT})/a``, ``a = 2/τ + 1/h``."""
    tau, lam, T = 10.0, 0.5, 30.0
    pb = _silent_problem(tau, lam, T)
    res = adjoint(simulate(pb, rtol=1e-11, atol=1e-13), horizon=horizon)
    a = 2 / tau + (0.0 if horizon is None else 1 / horizon)
    expected = lam * pb.x0.s * (1 - np.exp(-a * T)) / a
    np.testing.assert_allclose(res.x0.s, expected, rtol=1e-8)


@pytest.mark.slow  # 10-60 s on a 2-core CPU; the default suite stays under 10 minutes
def test_discounted_gradient_three_ways():
    """SciPy adjoint, SciPy forward sensitivity (``dS/dt - S/h``) and the JAX adjoint give one gradient."""
    pb = random_problem("qif", "smooth", 5, 60.0, seed=1)
    h = 8.0
    kw = dict(inputs=pb.inputs, target=pb.target, t_span=(pb.t0, pb.t1), v0=pb.x0.v)
    _, exact = odesnn.gradient(pb.net, pb.params, **kw, rtol=1e-11, atol=1e-12)
    _, adj = odesnn.gradient(pb.net, pb.params, **kw, adjoint_horizon=h, rtol=1e-11, atol=1e-12)
    _, fwd = odesnn.gradient(pb.net, pb.params, **kw, method="forward", adjoint_horizon=h, rtol=1e-11, atol=1e-12)
    _, jx = odesnn.gradient(pb.net, pb.params, **kw, backend="jax", adjoint_horizon=h, solver="dopri8",
                            rtol=1e-11, atol=1e-12, max_steps=20000, max_spikes=500, checkpoint_every=16)
    flat = {name: np.concatenate([np.ravel(g) for g in grads]) for name, grads in
            (("exact", exact), ("adjoint", adj), ("forward", fwd), ("jax", jx))}
    scale = np.max(np.abs(flat["adjoint"]))
    assert np.max(np.abs(flat["forward"] - flat["adjoint"])) < 1e-8 * scale
    assert np.max(np.abs(flat["jax"] - flat["adjoint"])) < 1e-7 * scale
    # the readout's gradient is a direct term, untouched by the discount; the others change
    np.testing.assert_allclose(adj.O, exact.O, rtol=1e-9)
    assert np.linalg.norm(adj.W - exact.W) > 0.3 * np.linalg.norm(exact.W)


def test_a_long_horizon_gives_the_exact_gradient():
    pb = random_problem("qif", "smooth", 5, 60.0, seed=1)
    sol = simulate(pb, rtol=1e-11, atol=1e-12)
    exact, far = adjoint(sol).grads, adjoint(sol, horizon=1e9).grads
    for name, a, b in zip(Params._fields, far, exact):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12 * np.max(np.abs(b)), err_msg=name)


@pytest.mark.parametrize("bad", [0.0, -5.0, float("inf"), float("nan"), True, "10"])
def test_bad_horizon_is_named(bad):
    pb = _silent_problem()
    with pytest.raises(ValueError, match="adjoint_horizon"):
        odesnn.gradient(pb.net, pb.params, np.zeros(1), None, (0.0, 10.0), adjoint_horizon=bad)
    with pytest.raises(ValueError, match="adjoint_horizon"):
        default_config("xor", adjoint_horizon=bad)
    from odesnn.jax import Options

    with pytest.raises(ValueError, match="adjoint_horizon"):
        Options(adjoint_horizon=bad)


def test_finite_differences_refuse_a_horizon():
    pb = _silent_problem()
    with pytest.raises(ValueError, match="adjoint_horizon.*finite-difference"):
        odesnn.gradient(pb.net, pb.params, np.zeros(1), None, (0.0, 10.0), method="fd", adjoint_horizon=10.0)
