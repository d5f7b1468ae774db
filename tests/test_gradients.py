"""The exact gradient three ways: adjoint, forward sensitivity, finite differences."""

import numpy as np
import pytest

import odesnn
from odesnn._gradcheck import gradcheck, random_problem
from odesnn._scipy.adjoint import adjoint
from odesnn._scipy.forward import simulate

# LIF with the smooth gate is the slowest case (about 20 s); LIF keeps the box gate and the reset-jump test below
CASES = [(m, g) for g in ("box", "smooth") for m in ("nif", "qif")] + [
    ("lif", "box"), pytest.param("lif", "smooth", marks=pytest.mark.slow)]


@pytest.mark.parametrize(("model", "gate"), CASES)
def test_three_gradients_agree(model, gate):
    # central differences at two steps; the best is 1e-5 (LIF) or 1e-6 (NIF, QIF), and 1e-7 never was
    # (its error is 3-10x larger, from round-off), so it is not tried: a third of the suite's time here
    report = gradcheck(model, gate=gate, neurons=6, duration=60.0, seed=1, n_directions=1, steps=(1e-5, 1e-6))
    assert report["n_spikes"] >= 20
    assert report["adjoint_vs_forward"] <= 1e-8, report["adjoint_vs_forward_by_group"]
    assert report["adjoint_vs_fd"] <= 1e-6, report["fd_error_by_step"]
    assert report["forward_vs_fd"] <= 1e-6


def test_lif_reset_jump_is_needed():
    """Dropping the LIF jump condition gives a wrong gradient; the adjoint with it matches RTRL."""
    problem = random_problem("lif", "smooth", 5, 60.0, seed=2)
    sol = simulate(problem, rtol=1e-11, atol=1e-12)
    good = adjoint(sol).grads
    from odesnn import _dynamics

    original = _dynamics.reset_factor
    try:
        _dynamics.reset_factor = lambda *a, **k: 1.0
        bad = adjoint(sol).grads
    finally:
        _dynamics.reset_factor = original
    _, fwd = odesnn.gradient(problem.net, problem.params, problem.inputs, problem.target,
                             (problem.t0, problem.t1), v0=problem.x0.v, method="forward", rtol=1e-11, atol=1e-12)
    rel = np.linalg.norm(good.I0 - fwd.I0) / np.linalg.norm(fwd.I0)
    rel_bad = np.linalg.norm(bad.I0 - fwd.I0) / np.linalg.norm(fwd.I0)
    assert rel < 1e-7
    assert rel_bad > 1e-2


def test_gradient_of_masked_entries_is_zero():
    problem = random_problem("nif", "smooth", 5, 40.0, seed=3, min_spikes=5)
    sol = simulate(problem, rtol=1e-10, atol=1e-12)
    grads = adjoint(sol).grads
    assert np.all(np.diag(grads.Wf) == 0)


def test_adjoint_dense_output_and_initial_state_gradient():
    problem = random_problem("qif", "smooth", 4, 40.0, seed=4, min_spikes=5)
    sol = simulate(problem, rtol=1e-11, atol=1e-12)
    res = adjoint(sol)
    # terminal condition p(T) = 0
    pT = res.sol(problem.t1)
    np.testing.assert_allclose(np.concatenate(pT), 0.0, atol=1e-14)
    # dC/dv0 by central differences
    h = 1e-6
    v0 = problem.x0.v
    fd = []
    for k in range(2):
        e = np.zeros_like(v0)
        e[k] = h
        cp = odesnn.simulate(problem.net, problem.params, problem.inputs, problem.target, (problem.t0, problem.t1),
                             v0=v0 + e, rtol=1e-12, atol=1e-13).cost
        cm = odesnn.simulate(problem.net, problem.params, problem.inputs, problem.target, (problem.t0, problem.t1),
                             v0=v0 - e, rtol=1e-12, atol=1e-13).cost
        fd.append((cp - cm) / (2 * h))
    np.testing.assert_allclose(res.x0.v[:2], fd, rtol=1e-5)


def test_gradient_entry_point_methods_agree():
    net = odesnn.Network(3, 1, 1, neuron=odesnn.NIF(), gate=odesnn.Gate("smooth", 0.2), tau=5.0)
    params = net.init_params(0)._replace(I0=np.array([0.08, 0.06, 0.07]))
    kw = dict(inputs=lambda t: np.array([0.02 * np.sin(t / 5)]), target=np.array([0.1]), t_span=(0, 50.0),
              rtol=1e-12, atol=1e-12)
    c1, g_adj = odesnn.gradient(net, params, method="adjoint", **kw)
    c2, g_fwd = odesnn.gradient(net, params, method="forward", **kw)
    c3, g_fd = odesnn.gradient(net, params, method="fd", fd_step=1e-5, **kw)
    assert c1 == pytest.approx(c2, rel=1e-10) and c1 == pytest.approx(c3, rel=1e-10)
    for name in ("W", "U", "O", "I0"):
        a, b, c = getattr(g_adj, name), getattr(g_fwd, name), getattr(g_fd, name)
        assert np.linalg.norm(a - b) <= 1e-8 * np.linalg.norm(b)
        assert np.linalg.norm(a - c) <= 1e-5 * np.linalg.norm(c)
