"""JAX backend against closed forms and against the SciPy backend (the precision reference)."""

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402

from odesnn._api import simulate as api_simulate  # noqa: E402
from odesnn._problem import make_problem  # noqa: E402
from odesnn._scipy.adjoint import adjoint  # noqa: E402
from odesnn._scipy.forward import simulate as scipy_simulate  # noqa: E402
from odesnn.jax import (  # noqa: E402
    Model,
    Options,
    baseline_costs,
    batch_from_problems,
    cast,
    cost,
    simulate,
    value_and_grad,  # noqa: E402
)
from odesnn.models.cost import QuadraticCost  # noqa: E402
from odesnn.models.gates import Gate  # noqa: E402
from odesnn.models.network import Network, Params  # noqa: E402
from odesnn.models.neurons import LIF, NIF, QIF  # noqa: E402
from odesnn.models.signals import Signal  # noqa: E402

TIGHT = dict(solver="dopri8", rtol=1e-11, atol=1e-12, max_steps=20000, max_spikes=500, checkpoint_every=16)


def case(kind, seed=0, t1=50.0):
    """A small random network with fast synapses and sampled input and target (a gradcheck network)."""
    neuron = {"nif": NIF(), "qif": QIF(), "lif": LIF()}[kind]
    net = Network(5, 2, 2, neuron=neuron, gate=Gate("smooth", 0.1), tau=5.0, tau_f=2.0, cost=QuadraticCost(0.1))
    params = net.init_params(1, w_scale=1.0, u_scale=0.5 if kind == "nif" else 3.0)
    if kind == "lif":
        params = params._replace(I0=np.full(5, 1.2))
    rng = np.random.default_rng(seed)
    tg = np.linspace(0, t1, 11)
    inp = Signal.sampled(tg, rng.standard_normal((11, 2)) * (0.2 if kind == "nif" else 0.5) + 0.05)
    tgt = Signal.sampled(tg, rng.standard_normal((11, 2)))
    v0 = rng.uniform(-0.5, 0.5, 5) if kind == "nif" else rng.uniform(0, 0.5, 5)
    return make_problem(net, params, inp, tgt, (0, t1), v0=v0)


def rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


def test_lone_nif_closed_form():
    """A lone NIF neuron with constant input I fires at t_k = k θ / I."""
    net = Network(1, 1, 1, neuron=NIF(), gate=Gate("smooth", 0.1), tau=10.0)
    params = Params(np.zeros((1, 1)), np.zeros((1, 0)), np.ones((1, 1)), np.zeros((1, 1)), np.zeros(1))
    pb = make_problem(net, params, np.array([0.3]), None, (0, 19.0))
    sol = simulate(pb, **TIGHT)
    np.testing.assert_allclose(sol.spike_times, np.arange(1, 6) / 0.3, atol=1e-9)
    assert np.all(sol.spike_signs == 1)


@pytest.mark.parametrize("kind", ["nif", "qif", "lif"])
def test_forward_matches_scipy(kind):
    pb = case(kind)
    ref = scipy_simulate(pb, rtol=1e-12, atol=1e-12)
    sol = simulate(pb, t_eval=np.linspace(0, 50, 11), **TIGHT)
    assert sol.success and sol.n_spikes == ref.n_spikes > 0
    np.testing.assert_array_equal(sol.spike_neurons, ref.spike_neurons)
    np.testing.assert_array_equal(sol.spike_signs, ref.spike_signs)
    assert np.max(np.abs(sol.spike_times - ref.spike_times)) < 1e-6
    assert abs(sol.cost - ref.cost) < 1e-8 * abs(ref.cost)
    x = ref.sol(np.linspace(0, 50, 11))
    np.testing.assert_allclose(sol.s, x.s.T, atol=1e-7)


def test_wrapping_equals_stopping_at_each_event():
    """Translation resets wrapped at the end of the step give the trajectory of stopping at each event."""
    pb = case("qif")
    batch, kinds = batch_from_problems([pb])
    a = simulate(batch, params=pb.params, model=Model(pb.net, *kinds), **TIGHT)
    b = simulate(batch, params=pb.params, model=Model(pb.net, *kinds, resets="truncate"), **TIGHT)
    assert np.max(np.abs(a.spike_times[0] - b.spike_times[0])) < 1e-7
    np.testing.assert_allclose(a.v, b.v, atol=1e-7)
    np.testing.assert_allclose(a.cost, b.cost, rtol=1e-9)


@pytest.mark.parametrize("kind", ["nif", "qif", "lif"])
def test_adjoint_gradient_matches_scipy(kind):
    pb = case(kind)
    ref = adjoint(scipy_simulate(pb, rtol=1e-12, atol=1e-12))
    value, grads = value_and_grad(pb.params, [pb], **TIGHT)
    for name, g, r in zip(Params._fields, grads, ref.grads):
        assert rel(g, r) < 1e-5, name


def test_float32_gradient():
    pb = case("qif")
    ref = adjoint(scipy_simulate(pb, rtol=1e-12, atol=1e-12))
    value, grads = value_and_grad(pb.params, [pb], solver="tsit5", rtol=1e-5, atol=1e-6, dtype="float32",
                                  max_steps=20000, max_spikes=500)
    assert grads.W.dtype == jnp.float32
    for name, g, r in zip(Params._fields, grads, ref.grads):
        assert rel(g, r) < 1e-3, name


def test_float32_by_default_without_x64_says_so():
    """With jax_enable_x64 off, the default dtype is float32 and a warning says so; asking for it is silent."""
    import warnings

    import jax

    from odesnn.jax import Options

    with jax.enable_x64(False):
        with pytest.warns(UserWarning, match=r"float32 because jax_enable_x64 is off \(rtol=1e-06"):
            assert Options().real_dtype() == jnp.float32
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert Options(dtype="float32").real_dtype() == jnp.float32
        with pytest.raises(ValueError, match="float64.*jax_enable_x64"):
            Options(dtype="float64").real_dtype()
    assert Options().real_dtype() == jnp.float64


def test_jax_grad_of_loss_is_the_adjoint_and_matches_autodiff_through_solver():
    """jax.grad through the custom_vjp equals autodiff through diffeqsolve (RecursiveCheckpointAdjoint)."""
    pbs = [case("qif", seed=s) for s in (0, 1, 2)]
    batch, kinds = batch_from_problems(pbs)
    model = Model(pbs[0].net, *kinds)
    p, b = cast(pbs[0].params, batch, jnp.float64)
    weights = jnp.array([1.0, -2.0, 0.5])

    def loss(p):
        return jnp.sum(weights * cost(p, b, model, **TIGHT) ** 2)

    def loss_base(p):
        return jnp.sum(weights * baseline_costs(model, p, b, solver="dopri8", rtol=1e-11, atol=1e-12) ** 2)

    g = jax.jit(jax.grad(loss))(p)
    gb = jax.jit(jax.grad(loss_base))(p)
    for name, a, r in zip(Params._fields, g, gb):
        assert rel(a, r) < 1e-5, name


def test_vmap_batch_equals_single_trials_and_initial_state_gradient():
    pbs = [case("nif", seed=s) for s in (0, 3)]
    batch, kinds = batch_from_problems(pbs)
    model = Model(pbs[0].net, *kinds)
    p, b = cast(pbs[0].params, batch, jnp.float64)
    both = jax.jit(lambda p, b: cost(p, b, model, **TIGHT))(p, b)
    for j, pb in enumerate(pbs):
        ref = scipy_simulate(pb, rtol=1e-12, atol=1e-12)
        assert abs(float(both[j]) - ref.cost) < 1e-8 * abs(ref.cost)
    gx0 = jax.grad(lambda b: jnp.sum(cost(p, b, model, **TIGHT)))(b).x0
    ref = adjoint(scipy_simulate(pbs[1], rtol=1e-12, atol=1e-12))
    assert rel(gx0.v[1], ref.x0.v) < 1e-5 and rel(gx0.s[1], ref.x0.s) < 1e-5


def test_event_cap_reports_status():
    pb = case("qif")
    sol = simulate(pb, throw=False, **{**TIGHT, "max_spikes": 3})
    assert sol.status == 1 and not sol.success
    assert "t=" in sol.message and "neuron" in sol.message and "of the 3 recorded spikes" in sol.message
    sol = simulate(pb, throw=False, **{**TIGHT, "max_steps": 5})
    assert sol.status == 2


def test_bad_options_raise():
    with pytest.raises(ValueError, match="solver"):
        Options(solver="euler")
    with pytest.raises(TypeError, match="unknown option"):
        simulate(case("nif"), tolerance=1e-3)


def test_public_dispatch_and_solution():
    """``odesnn._api.simulate(..., backend="jax")`` returns the shared Solution type."""
    from odesnn._solution import Solution

    pb = case("nif")
    sol = api_simulate(pb.net, pb.params, pb.inputs, pb.target, (0, 50), v0=pb.x0.v, backend="jax", **TIGHT)
    ref = scipy_simulate(pb, rtol=1e-12, atol=1e-12)
    assert isinstance(sol, Solution) and sol.backend == "jax" and sol.success
    assert sol.v.shape == (201, 5) and sol.o.shape == (201, 2)
    assert np.max(np.abs(sol.spike_times - ref.spike_times)) < 1e-6


def test_quadrature_gradient_is_the_shared_gradient_density():
    """The vjp form of the gradient integrand equals odesnn._dynamics.gradient_density summed over points."""
    from odesnn import _dynamics as dyn
    from odesnn.jax._adjoint import quadrature_gradient
    from odesnn.models.network import State

    pb = case("qif")
    net, params = pb.net, Params(*(jnp.asarray(a) for a in pb.params))
    rng = np.random.default_rng(1)
    Q, N = 4, net.n_neurons
    x = State(*(jnp.asarray(rng.uniform(0, 1, (Q, N))) for _ in range(3)))
    p_v = jnp.asarray(rng.standard_normal((Q, N)))
    i_t, o_d = jnp.asarray(rng.standard_normal((Q, 2))), jnp.asarray(rng.standard_normal((Q, 2)))
    w = jnp.asarray(rng.uniform(size=Q))
    got = quadrature_gradient(Model(net), params, x, p_v, i_t, o_d, w)
    for name, g in zip(Params._fields, got):
        ref = sum(w[q] * getattr(dyn.gradient_density(net, params, State(x.v[q], x.s[q], x.sf[q]), i_t[q], o_d[q],
                                                       State(p_v[q], p_v[q] * 0, p_v[q] * 0)), name)
                  for q in range(Q))
        np.testing.assert_allclose(g, ref, rtol=1e-12, atol=1e-14, err_msg=name)


@pytest.mark.slow  # 10-60 s on a 2-core CPU; the default suite stays under 10 minutes
def test_spike_counts_come_with_the_gradient():
    """Training reads spike counts from the gradient's own forward pass: same value, gradient and spikes."""
    from odesnn.jax._simulate import value_grad_and_spike_counts

    pbs = [case("nif", seed=s) for s in (0, 1)]
    batch, kinds = batch_from_problems(pbs)
    model = Model(pbs[0].net, *kinds)
    value, grads = value_and_grad(pbs[0].params, batch, model=model, **TIGHT)
    v2, g2, counts = value_grad_and_spike_counts(pbs[0].params, batch, model=model, **TIGHT)
    assert float(v2) == float(value)
    for a, b in zip(g2, grads):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    sol = simulate(batch, params=pbs[0].params, model=model, **TIGHT)
    np.testing.assert_array_equal(np.asarray(counts), [len(t) for t in sol.spike_times])
    assert sum(counts) > 0


@pytest.mark.slow  # 10-60 s on a 2-core CPU; the default suite stays under 10 minutes
def test_per_trial_gradients_are_each_trials_own_gradient():
    """Per-trial gradients: their mean is the batch gradient, and each equals that trial's gradient alone.
    The states they return at ``t_eval`` are those of the forward simulation."""
    from odesnn.jax import per_trial_value_and_grad

    pbs = [case("nif", seed=s) for s in (0, 2, 4)]
    batch, kinds = batch_from_problems(pbs)
    model = Model(pbs[0].net, *kinds)
    t_eval = np.linspace(0.0, float(batch.t_span[1]), 37)
    costs, grads, counts, states = per_trial_value_and_grad(pbs[0].params, batch, model=model, t_eval=t_eval,
                                                            **TIGHT)
    sol = simulate(batch, params=pbs[0].params, model=model, t_eval=t_eval, **TIGHT)
    for name, a, b in zip(("v", "s", "sf"), states, (sol.v, sol.s, sol.sf)):
        assert np.shape(a) == (3, 37, 5), name
        np.testing.assert_allclose(np.asarray(a), b, rtol=0, atol=1e-12, err_msg=name)
    np.testing.assert_array_equal(np.asarray(counts), [len(t) for t in sol.spike_times])
    with pytest.raises(ValueError, match=r"`t_eval` must be 1-D, sorted and inside t_span"):
        per_trial_value_and_grad(pbs[0].params, batch, model=model, t_eval=t_eval[::-1], **TIGHT)
    value, mean_grads = value_and_grad(pbs[0].params, batch, model=model, **TIGHT)
    np.testing.assert_allclose(float(np.mean(costs)), float(value), rtol=1e-14)
    for a, b in zip(grads, mean_grads):
        assert np.shape(a) == (3,) + np.shape(b)
        np.testing.assert_allclose(np.mean(np.asarray(a), axis=0), np.asarray(b), rtol=1e-12, atol=1e-15)
    for k, pb in enumerate(pbs):  # trial k simulated alone, and on the SciPy backend's adjoint
        cost_k, g_k = value_and_grad(pb.params, [pb], **TIGHT)
        ref = adjoint(scipy_simulate(pb, rtol=1e-12, atol=1e-12))
        np.testing.assert_allclose(float(costs[k]), float(cost_k), rtol=1e-10)
        assert counts[k] > 0
        for name, a, b, r in zip(Params._fields, grads, g_k, ref.grads):
            # alone, the trial is stepped on its own signal grid, not the batch's union grid
            assert rel(np.asarray(a)[k], np.asarray(b)) < 1e-7, name
            assert rel(np.asarray(a)[k], r) < 1e-5, name


def _fast_crossing_case():
    """Six coupled NIF neurons driven hard (about 900 spikes per neuron per second, τ_f = 1 ms): a voltage
    crosses the whole gate zone in about 0.03 ms, while the first solver steps are far longer."""
    from odesnn.training.config import (
        batch_for_step,
        build_network,
        default_config,
        initial_voltages,
        make_task,
    )

    cfg = default_config("autoencoder", quick=True, n_neurons=6, duration=100.0, batch_size=2,
                         task_kwargs={"period": 100.0})
    net = build_network(cfg)
    params = net.init_params(2, w_scale=0.0, wf_scale=0.3, u_scale=2.0, o_scale=0.5)
    batch, rng = batch_for_step(cfg, make_task(cfg), 0)
    v0 = initial_voltages(cfg, rng, batch.size)
    args = (net, params, (batch.t, batch.inputs[1]), (batch.t, batch.targets[1]), (0.0, cfg.duration))
    ref = api_simulate(*args, v0=v0[1], rtol=1e-10, atol=1e-12)
    return args, v0[1], ref


# slow (about 15 s): `dtmax` is the manual workaround; the default path (the charge check) is the test below
@pytest.mark.slow
def test_steps_no_longer_than_the_gate_traversal_match_the_reference():
    """With `dtmax` below the gate-zone traversal time the JAX forward agrees with SciPy spike by spike."""
    args, v0, ref = _fast_crossing_case()
    sol = api_simulate(*args, v0=v0, backend="jax", rtol=1e-9, atol=1e-11, dtmax=0.05)
    np.testing.assert_allclose(sol.spike_times[:100], ref.spike_times[:100], atol=1e-6)
    np.testing.assert_array_equal(sol.spike_neurons[:100], ref.spike_neurons[:100])


def test_long_steps_over_a_whole_gate_zone_match_the_reference():
    """Without `dtmax`, steps that would run through a whole gate zone with no stage inside it are caught by
    the charge check (`_events.missed_charge`) and shortened, so no pre-spike charge is lost."""
    args, v0, ref = _fast_crossing_case()
    sol = api_simulate(*args, v0=v0, backend="jax", rtol=1e-9, atol=1e-11)
    np.testing.assert_allclose(sol.spike_times[:10], ref.spike_times[:10], atol=1e-6)
    assert sol.spike_times.size == ref.spike_times.size
    np.testing.assert_array_equal(sol.spike_neurons, ref.spike_neurons)
    assert abs(sol.cost - ref.cost) < 1e-6 * abs(ref.cost)
