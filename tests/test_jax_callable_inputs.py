"""Callable (jax.numpy) inputs and targets on the JAX backend: the same spikes, cost and gradient as the SciPy
backend given the same function, and no stops at sample times."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import odesnn
from odesnn.jax import Model, Options, batch_from_problems, make_batch, value_and_grad

jax.config.update("jax_enable_x64", True)

KW = dict(rtol=1e-10, atol=1e-12)


def _net():
    net = odesnn.Network(3, 2, 1, neuron=odesnn.QIF(), gate=odesnn.Gate("smooth", 0.1), tau=10.0, tau_f=3.0)
    return net, net.init_params(0)._replace(I0=np.full(3, 0.03))


def _drive(xp):
    return lambda t: xp.stack([0.02 * xp.sin(t / 7.0), 0.01 * xp.cos(t / 3.0)])


def _target(xp):
    return lambda t: xp.stack([0.1 * xp.cos(t / 15.0)])


def test_callable_signals_jax_vs_scipy():
    net, params = _net()
    span = (0.0, 120.0)
    sp = odesnn.simulate(net, params, _drive(np), _target(np), span, **KW)
    jx = odesnn.simulate(net, params, _drive(jnp), _target(jnp), span, backend="jax", **KW)
    assert jx.n_spikes == sp.n_spikes >= 10
    np.testing.assert_allclose(jx.spike_times, sp.spike_times, atol=1e-7)
    assert abs(jx.cost - sp.cost) <= 1e-8 * abs(sp.cost)
    c_sp, g_sp = odesnn.gradient(net, params, _drive(np), _target(np), span, **KW)
    c_jx, g_jx = odesnn.gradient(net, params, _drive(jnp), _target(jnp), span, backend="jax", **KW)
    assert abs(c_jx - c_sp) <= 1e-8 * abs(c_sp)
    for name, a, b in zip(params._fields, g_jx, g_sp):
        assert np.linalg.norm(a - b) <= 1e-6 * np.linalg.norm(b), name


def test_batch_of_callable_arguments_matches_each_trial_on_scipy():
    """``Model(input_fn=f)`` with per-trial arguments: each trial's gradient is the SciPy gradient of its own
    function of time."""
    net, params = _net()
    args = np.array([[0.02, 7.0], [0.03, 5.0]])  # amplitude and time scale per trial

    def fn(t, a):
        return jnp.stack([a[0] * jnp.sin(t / a[1]), 0.5 * a[0] * jnp.cos(t / 3.0)])

    model = Model(net, input_fn=fn)
    assert model.input_kind == "callable"
    tg = np.linspace(0.0, 100.0, 11)
    batch = make_batch(net, tg, targets=np.tile(0.1 * np.cos(tg / 15.0)[None, :, None], (2, 1, 1)),
                       t_span=(0.0, 100.0), input_args=args)
    opts = Options(**KW)
    p = jax.tree.map(jnp.asarray, params)
    for b in range(2):
        one = batch._replace(inputs=batch.inputs[b:b + 1], targets=batch.targets[b:b + 1],
                             x0=odesnn.State(*(z[b:b + 1] for z in batch.x0)))
        c_jx, g_jx = value_and_grad(p, one, model=model, options=opts)
        a = args[b]
        drive = lambda t, a=a: np.array([a[0] * np.sin(t / a[1]), 0.5 * a[0] * np.cos(t / 3.0)])  # noqa: E731
        c_sp, g_sp = odesnn.gradient(net, params, drive, (tg, 0.1 * np.cos(tg / 15.0)[:, None]), (0.0, 100.0), **KW)
        assert abs(float(c_jx) - c_sp) <= 1e-8 * abs(c_sp)
        for name, x, y in zip(params._fields, g_jx, g_sp):
            assert np.linalg.norm(np.asarray(x) - y) <= 1e-6 * np.linalg.norm(y), (b, name)


def test_callable_input_adds_no_stops():
    """The same smooth input as a function and sampled every 0.1 ms: the sampled one stops at every sample and its
    spike times carry the linear interpolation's error; the function lets the tolerance set the steps, and its
    spike times are the SciPy reference's to the tolerance."""
    net, params = _net()
    span = (0.0, 100.0)
    t = np.arange(0.0, 100.0 + 1e-9, 0.1)
    sampled = (t, np.stack(_drive(np)(t), axis=-1))
    ref = odesnn.simulate(net, params, _drive(np), None, span, **KW)
    opts = dict(rtol=1e-8, atol=1e-10)
    a = odesnn.simulate(net, params, _drive(jnp), None, span, backend="jax", **opts)
    b = odesnn.simulate(net, params, sampled, None, span, backend="jax", **opts)
    assert a.n_spikes == b.n_spikes == ref.n_spikes >= 5
    err_fn = np.max(np.abs(a.spike_times - ref.spike_times))
    err_sampled = np.max(np.abs(b.spike_times - ref.spike_times))
    assert err_fn <= 1e-5, err_fn  # ms, at rtol 1e-8 over 100 ms
    assert err_sampled > 10 * err_fn, (err_sampled, err_fn)  # the interpolation's error dominates
    steps_fn, steps_sampled = a.stats["n_steps"], b.stats["n_steps"]
    assert steps_sampled >= t.size - 1  # a stop at every sample
    assert steps_fn < t.size - 1, (steps_fn, steps_sampled)  # fewer steps than the samples: no stops
    print(f"spike-time error: function {err_fn:.2e} ms, sampled {err_sampled:.2e} ms; steps {steps_fn} vs "
          f"{steps_sampled}")


def test_callable_input_errors_name_the_argument():
    net, params = _net()
    with pytest.raises(TypeError, match="`inputs`.*jax.numpy"):
        odesnn.simulate(net, params, lambda t: np.array([float(t), 0.0]), None, (0.0, 10.0), backend="jax")
    with pytest.raises(ValueError, match="`input_kind`='previous' and `input_fn`"):
        Model(net, input_kind="previous", input_fn=lambda t, a: a)
    with pytest.raises(ValueError, match="`input_kind`='callable'"):
        Model(net, input_kind="callable")
    with pytest.raises(ValueError, match="`input_args` must lead with the batch size 2"):
        make_batch(net, [0.0], v0=np.zeros((2, 3)), t_span=(0, 1), input_args=np.zeros((3, 2)))
    with pytest.raises(ValueError, match="not both"):
        make_batch(net, [0.0], inputs=np.zeros((1, 1, 2)), input_args=np.zeros((1, 2)), t_span=(0, 1))
    pbs = [odesnn.make_problem(net, params, f, None, (0.0, 10.0)) for f in (_drive(jnp), _drive(jnp))]
    with pytest.raises(ValueError, match="one function"):
        batch_from_problems(pbs)
