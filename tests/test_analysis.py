"""Analysis numbers against independent expectations (closed forms, hand-written sums, the adjoint)."""

import numpy as np
import pytest

import odesnn
from odesnn import analysis as an
from odesnn._problem import make_problem
from odesnn._scipy.adjoint import adjoint
from odesnn._scipy.forward import simulate


def lone_nifs(currents, duration, gate=odesnn.Gate("box", 0.1)):
    n = len(currents)
    net = odesnn.Network(n, 1, 1, neuron=odesnn.NIF(), gate=gate, tau=10.0)
    params = odesnn.Params(np.zeros((n, n)), np.zeros((n, 0)), np.zeros((n, 1)), np.ones((1, n)),
                           np.asarray(currents, dtype=float))
    return odesnn.simulate(net, params, t_span=(0.0, duration))


@pytest.fixture(scope="module")
def small():
    """A recurrent NIF network with fast synapses, masks and sampled inputs (about 20 spikes)."""
    net = odesnn.Network(4, 2, 2, neuron=odesnn.NIF(), gate=odesnn.Gate("smooth", 0.1), tau=10.0, tau_f=2.0,
                         W_mask="zero_diag", Wf_mask="zero_diag")
    rng = np.random.default_rng(3)
    off = 1 - np.eye(4)  # the masks: a masked entry must be zero
    params = odesnn.Params(0.3 * rng.standard_normal((4, 4)) * off, 0.3 * rng.standard_normal((4, 4)) * off,
                           0.03 * rng.standard_normal((4, 2)), 0.5 * rng.standard_normal((2, 4)), np.full(4, 0.12))
    t = np.arange(0.0, 41.0, 2.0)
    i = np.stack([np.sin(t / 7), np.cos(t / 11)], 1)
    problem = make_problem(net, params, (t, i), (t, 0.1 * i), (0.0, 40.0))
    sol = simulate(problem, rtol=1e-10, atol=1e-12)
    assert sol.n_spikes >= 10
    return problem, sol


def test_lone_nif_rate_is_1000_I_hz_and_isi_regular():
    currents, T = np.array([0.04, 0.0125, 0.0]), 410.0
    sol = lone_nifs(currents, T)
    rates = an.firing_rates(sol)
    np.testing.assert_allclose(rates, 1000 * np.floor(T * currents) / T, rtol=0, atol=1e-12)  # spikes at k/I
    assert np.all(np.abs(rates - 1000 * currents) <= 1000 / T)  # rate -> 1000 I Hz
    stats = an.isi_stats(sol)
    np.testing.assert_allclose(stats.mean[:2], [25.0, 80.0], rtol=1e-10)
    np.testing.assert_allclose(stats.cv[:2], 0.0, atol=1e-9)
    assert np.isnan(stats.mean[2]) and np.isnan(stats.cv[2]) and stats.intervals[2].size == 0


def test_spike_statistics_of_a_jax_solution():
    from odesnn.jax import simulate as jax_simulate

    currents, T = np.array([0.04, 0.0125]), 410.0
    net = odesnn.Network(2, 1, 1, neuron=odesnn.NIF(), gate=odesnn.Gate("box", 0.1), tau=10.0)
    params = odesnn.Params(np.zeros((2, 2)), np.zeros((2, 0)), np.zeros((2, 1)), np.ones((1, 2)), currents)
    problem = make_problem(net, params, None, None, (0.0, T))
    sol = jax_simulate(problem, t_eval=np.linspace(0.0, T, 42))
    assert sol.backend == "jax"
    np.testing.assert_allclose(an.firing_rates(sol), 1000 * np.floor(T * currents) / T)
    np.testing.assert_allclose(an.isi_stats(sol).mean, 1 / currents, rtol=1e-6)
    dec = an.current_decomposition(sol, problem)
    np.testing.assert_allclose(dec.total, np.broadcast_to(currents, (42, 2)))


def test_rates_by_sign_and_window():
    sol = lone_nifs([-0.05, 0.03], 90.0)  # falling crossings at 20, 40, 60, 80 ms; rising at 33.3, 66.7 ms
    np.testing.assert_allclose(an.firing_rates(sol, sign=-1), [4000 / 90, 0.0])
    np.testing.assert_allclose(an.firing_rates(sol, sign=+1), [0.0, 2000 / 90])
    np.testing.assert_allclose(an.firing_rates(sol, t_span=(0.0, 50.0)), [40.0, 20.0])
    with pytest.raises(ValueError, match="sign"):
        an.firing_rates(sol, sign=2)


def test_current_decomposition_sums_to_the_current_of_the_dynamics(small):
    problem, sol = small
    dec = an.current_decomposition(sol)
    p, net = problem.params, problem.net
    W = p.W * (1 - np.eye(4))  # the masks, written out by hand
    Wf = p.Wf * (1 - np.eye(4))
    i = problem.inputs.sample(sol.t)
    np.testing.assert_allclose(dec.external, i @ p.U.T + p.I0, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dec.recurrent, sol.s @ W.T + sol.sf @ Wf.T, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dec.external + dec.recurrent, dec.total, rtol=1e-12, atol=1e-14)
    # for NIF, dv/dt = I: the total is the voltage derivative the dynamics use
    k = len(sol.t) // 3
    x = odesnn.State(sol.v[k], sol.s[k], sol.sf[k])
    dv = odesnn._dynamics.vector_field(net, p, x, problem.inputs(sol.t[k])).v
    np.testing.assert_allclose(dec.total[k], dv, rtol=1e-12)


def test_current_decomposition_needs_a_problem_without_one(small):
    problem, sol = small
    bare = odesnn.Solution(sol.t, sol.v, sol.s, sol.sf, sol.o, sol.spike_times, sol.spike_neurons, sol.spike_signs,
                           sol.cost, backend="jax")
    with pytest.raises(ValueError, match="problem"):
        an.current_decomposition(bare)
    np.testing.assert_allclose(an.current_decomposition(bare, problem).total, an.current_decomposition(sol).total)
    batched = odesnn.Solution(sol.t, sol.v[None], sol.s[None], sol.sf[None], sol.o[None], [sol.spike_times],
                              [sol.spike_neurons], [sol.spike_signs], sol.cost, backend="jax")
    with pytest.raises(ValueError, match="one trial"):
        an.current_decomposition(batched, problem)


def test_spike_time_error_decreases_with_rtol(small):
    problem, sol = small
    table = an.spike_time_precision(problem, (1e-3, 1e-5, 1e-7), reference=sol, reference_rtol=1e-10)
    assert np.all(table.n_unmatched == 0) and np.all(table.n_spikes == sol.n_spikes)
    assert np.all(np.diff(table.max_error) < 0), table
    assert table.max_error[-1] < 1e-3 * table.max_error[0]
    assert np.all(table.mean_error <= table.max_error)
    assert np.all(np.diff(table.nfev) > 0)
    assert len(table.rows()) == 3 and "rtol" in str(table)
    errs, unmatched = an.spike_time_errors(sol, sol)
    assert unmatched == 0 and errs.size == sol.n_spikes and errs.max() == 0.0


def test_spike_contributions_add_up_to_the_adjoint_gradient(small):
    problem, sol = small
    adj = adjoint(sol)
    for param in ("I0", "W"):
        c = an.spike_gradient_contributions(sol, adj, param)
        ref = getattr(adj.grads, param)
        assert c.values.shape == (sol.n_spikes,) + ref.shape
        np.testing.assert_allclose(c.values.sum(axis=0), ref, rtol=1e-7, atol=1e-9 * np.abs(ref).max())
        np.testing.assert_allclose(c.total, ref, rtol=1e-7, atol=1e-9 * np.abs(ref).max())
    own = an.spike_gradient_contributions(sol, adj, "I0", neuron=1)
    assert np.all(own.spike_neurons == 1) and own.values.shape[0] == sol.spikes_of(1).size
    np.testing.assert_allclose(own.values.sum(axis=0), adj.grads.I0, rtol=1e-7)
    narrow = an.spike_gradient_contributions(sol, adj, "I0", window=0.5)
    assert np.all(narrow.windows[:, 1] - narrow.windows[:, 0] <= 1.0 + 1e-12)
    with pytest.raises(ValueError, match="param"):
        an.spike_gradient_contributions(sol, adj, "V")


def test_weight_comparison():
    rng = np.random.default_rng(0)
    U, O = rng.standard_normal((5, 2)), rng.standard_normal((2, 5))
    params = odesnn.Params(np.zeros((5, 5)), np.zeros((5, 5)), U, O, np.zeros(5))
    pred = an.predicted_fast_weights(params)
    assert np.all(np.diag(pred) == 0)
    off = ~np.eye(5, dtype=bool)
    np.testing.assert_allclose(pred[off], (-U @ O)[off])
    trained = 0.1 * pred + np.diag(np.full(5, 7.0))  # the diagonal is left out
    cmp = an.compare_weights(trained, pred)
    assert cmp.correlation == pytest.approx(1.0) and cmp.slope == pytest.approx(0.1)
    assert cmp.relative_error < 1e-12 and cmp.trained.size == 20
    noisy = an.compare_weights(pred + rng.standard_normal((5, 5)), pred)
    assert 0 < noisy.correlation < 1
    with pytest.raises(ValueError, match="shape"):
        an.compare_weights(pred, pred[:4])


def test_perturbation_of_a_lone_nif_only_shifts_its_spikes():
    """Closed form: v0 + ε shifts every spike of a lone NIF neuron (constant I) by ε/I, so the trace moves by at
    most (ε/I)·max|ds/dt| = ε (g_max + s_max/I)/τ, and never grows."""
    I, tau = 0.05, 10.0
    net = odesnn.Network(1, 1, 1, neuron=odesnn.NIF(), gate=odesnn.Gate("smooth", 0.1), tau=tau)
    params = odesnn.Params(np.zeros((1, 1)), np.zeros((1, 0)), np.zeros((1, 1)), np.ones((1, 1)), np.array([I]))
    g = an.perturbation_growth(net, params, t_span=(0.0, 200.0), v0=np.array([0.2]), eps=1e-7,
                               t_eval=np.linspace(0.0, 200.0, 4001))
    g_max = 140 / 64 / 0.1  # the smooth profile's peak over the gate width
    s_max = 1 / tau / (1 - np.exp(-1 / (I * tau)))  # periodic firing at rate I: the trace's peak
    bound = (g_max + s_max / I) / tau
    assert g.growth().max() <= 1.01 * bound
    assert g.growth().max() > 0.2 * bound  # the sampling does catch the pulses
    with pytest.raises(ValueError, match=r"`eps` must be a positive number, got -1"):
        an.perturbation_growth(net, params, t_span=(0.0, 1.0), eps=-1)
    for bad, message in ((None, "`t_span` is required"), ((5.0, 1.0), "t1 > t0"), ((0.0, np.inf), "finite")):
        with pytest.raises(ValueError, match=message):  # the same checks as simulate's, before any simulation
            an.perturbation_growth(net, params, t_span=bad)


def test_perturbing_the_tonic_current_of_a_lone_nif_has_the_closed_form():
    """Closed form: with I_o + ε the k-th spike moves by dt_k = -ε (k - v0)/I², so between spikes
    |Δs(t)| = ε Σ_k (k - v0) e^{-(t - t_k)/τ} / (τ² I²): the shifts accumulate, unlike those of a v0 perturbation.
    The gate's width spreads each spike's charge over Δ/I ms, an error of order Δ/(Iτ) + Δ/k, under 1 % here."""
    I, tau, v0 = 0.3, 10.0, 0.2
    net = odesnn.Network(1, 1, 1, neuron=odesnn.NIF(), gate=odesnn.Gate("smooth", 0.02), tau=tau)
    params = odesnn.Params(np.zeros((1, 1)), np.zeros((1, 0)), np.zeros((1, 1)), np.ones((1, 1)), np.array([I]))
    k = np.arange(1, 18)
    t_k = (k - v0) / I
    t_mid = t_k[4:] + 0.5 / I  # halfway between spikes 5..17 and the next
    g = an.perturbation_growth(net, params, t_span=(0.0, 60.0), v0=np.array([v0]), eps=1e-6, t_eval=t_mid,
                               perturb="I0")
    expected = [np.sum(((k - v0) * np.exp(-(t - t_k) / tau))[t_k < t]) / (tau * I) ** 2 for t in t_mid]
    assert g.perturbed == "I0"
    np.testing.assert_allclose(g.growth(), expected, rtol=1e-2)
    with pytest.raises(ValueError, match=r"`perturb` must be 'v0' or 'I0', got 'W'"):
        an.perturbation_growth(net, params, t_span=(0.0, 1.0), perturb="W")


def test_growth_rate_of_an_exponential():
    t = np.linspace(0.0, 100.0, 51)
    g = an.PerturbationGrowth(t, 1e-9 * np.exp(0.05 * t), 1e-9)
    assert abs(g.rate() - 0.05) < 1e-12  # fitted below the ceiling 1e-3 (t < 138 ms)
    assert abs(an.PerturbationGrowth(t, 1e-9 * np.exp(-0.02 * t), 1e-9).rate() + 0.02) < 1e-12
    assert np.isnan(an.PerturbationGrowth(t, np.zeros_like(t), 1e-9).rate())


@pytest.mark.slow
def test_the_xor_initialisation_is_chaotic_at_the_bifurcation_and_stable_below_it():
    """With I_o ~ N(0, 0.005²) each theta neuron sits at its saddle-node and
    perturbations grow; 0.03 below it they die away. Below it a perturbation of v0 is erased before the first
    input (the two runs end identical), so the claim is checked with a perturbation of I_o too, which lasts the
    whole trial."""
    from odesnn.training.config import (
        batch_for_step,
        build_network,
        default_config,
        initial_voltages,
        make_task,
    )

    cfg = default_config("xor", duration=300.0)
    net = build_network(cfg)
    batch, rng = batch_for_step(cfg, make_task(cfg), 0, size=1)
    v0 = initial_voltages(cfg, rng, 1)[0]
    growth = {}
    for mean in (0.0, -0.03):
        params = net.init_params(0, **{**cfg.init, "i0_mean": mean})
        for perturb in ("v0", "I0"):
            growth[mean, perturb] = an.perturbation_growth(net, params, (batch.t, batch.inputs[0]), None,
                                                           (0.0, 300.0), v0=v0, perturb=perturb)
    for perturb in ("v0", "I0"):
        assert growth[0.0, perturb].rate() > 0.005 and growth[0.0, perturb].growth()[-1] > 1
    stable = growth[-0.03, "v0"]
    assert stable.growth()[-1] < 1e-6
    # NaN: the two runs became identical, the perturbation having died out below double precision
    assert np.isnan(stable.rate()) or stable.rate() < -0.01
    assert growth[-0.03, "I0"].rate() < -0.005 and growth[-0.03, "I0"].growth()[-1] < 1
