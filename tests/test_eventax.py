"""odesnn's exact zero-width gradients against eventax, an independent event-based simulator (optional).

eventax (PyPI, 0.1.0) integrates an LIF network with diffrax between spikes,
locates each spike by a root finder and differentiates the whole run with JAX
(diffrax's event handling), sharing no code with odesnn. Its LIF neuron with a
current synapse, ``τ_m dv/dt = -v + i + i_c``, ``τ_syn di/dt = -i``, where a
spike of neuron ``j`` adds ``weights[j, k]`` to ``i_k``, is odesnn's LIF on
the threshold synapse (``gate=None``) with ``i = W s``, ``weights = Wᵀ/τ``,
``τ_syn = τ`` and ``i_c = I0``. Skipped when eventax is not installed; it is
not a dependency of odesnn. Slow (JAX compiles eventax's solver and its
reverse pass): ``pytest -m slow tests/test_eventax.py``.
"""

import numpy as np
import pytest

eventax = pytest.importorskip("eventax")

import diffrax as dfx  # noqa: E402
import equinox as eqx  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optimistix as optx  # noqa: E402
from eventax.evnn import EvNN  # noqa: E402
from eventax.neuron_models import LIF as EventaxLIF  # noqa: E402

import odesnn  # noqa: E402

N, TAU, TAU_M, T = 3, 5.0, 4.0, 20.0
W = np.array([[0.0, -0.8, 0.5], [0.9, 0.0, -0.4], [0.6, 0.7, 0.0]])
I0 = np.array([1.35, 1.2, 1.1])
TARGETS = (4.0, 7.0, 9.0)


def eventax_model():
    weights = jnp.concatenate([jnp.asarray(W.T / TAU), jnp.zeros((1, N))])  # rows: presynaptic neurons, then input
    return EvNN(EventaxLIF, N, T, 1, key=jax.random.PRNGKey(0), wmask=jnp.ones((N + 1, N)).at[N].set(0.0),
                max_event_steps=200, solver_stepsize=0.01, solver=dfx.Dopri8(),
                stepsize_controller=dfx.PIDController(rtol=1e-12, atol=1e-12),
                root_finder=optx.Newton(rtol=1e-13, atol=1e-13), dtype=jnp.float64, thresh=1.0, tsyn=TAU,
                tmem=TAU_M, vreset=0.0, init_weights=weights, init_bias=jnp.asarray(I0))


def with_params(model, weights, ic):
    return eqx.tree_at(lambda m: (m.neuron_model.weights, m.neuron_model.ic), model, (weights, ic))


@pytest.mark.slow
def test_zero_width_gradients_match_eventax():
    """Spike-time sensitivities (forward) and a first-spike-time cost's gradient (adjoint, with its jumps) against
    JAX's derivatives through eventax: relative differences ≤ 1e-6 (measured about 2e-8)."""
    jax.config.update("jax_enable_x64", True)
    net = odesnn.Network(N, 1, 1, neuron=odesnn.LIF(tau_m=TAU_M), gate=None, tau=TAU)
    params = odesnn.Params(W, np.zeros((N, 0)), np.zeros((N, 1)), np.zeros((1, N)), I0)
    st = odesnn.spike_time_gradients(net, params, t_span=(0.0, T), rtol=1e-12, atol=1e-12)
    assert st.n_spikes >= 9

    model = eventax_model()
    # (neuron, slot), inf past the last spike (12 in all at most)
    times = np.asarray(model.spikes_until_t(None, T, max_spikes=12))
    mask = np.isfinite(times)
    assert mask.sum() == st.n_spikes
    order = np.array([int(np.argmin(np.abs(st.times - t))) for t in times[mask]])  # eventax's order -> odesnn's
    np.testing.assert_allclose(times[mask], st.times[order], rtol=0, atol=1e-6)

    # a random combination of the spike times: one reverse pass through eventax
    c = np.random.default_rng(0).standard_normal(mask.sum())

    def combination(weights, ic):
        return jnp.dot(jnp.asarray(c), with_params(model, weights, ic).spikes_until_t(None, T, max_spikes=12)[mask])

    gw, gic = jax.grad(combination, argnums=(0, 1))(model.neuron_model.weights, model.neuron_model.ic)
    ours_I0 = np.einsum("k,kn->n", c, st.grads.I0[order])
    ours_W = np.einsum("k,kij->ij", c, st.grads.W[order])
    theirs_W = np.asarray(gw)[:N].T / TAU  # d/dW[i, j] = d/dweights[j, i] / τ
    assert np.linalg.norm(ours_I0 - np.asarray(gic)) <= 1e-6 * np.linalg.norm(ours_I0)
    assert np.linalg.norm(ours_W - theirs_W) <= 1e-6 * np.linalg.norm(ours_W)

    # a first-spike-time cost: odesnn's adjoint with its spike-time jumps against eventax's time-to-first-spike
    cost_net = odesnn.Network(N, 1, 1, neuron=odesnn.LIF(tau_m=TAU_M), gate=None, tau=TAU,
                              cost=odesnn.FirstSpikeCost(TARGETS, weight=1.0))
    value, grads = odesnn.gradient(cost_net, params, t_span=(0.0, T), rtol=1e-12, atol=1e-12)

    def first_spike_loss(weights, ic):
        first = with_params(model, weights, ic).ttfs(jnp.full((1, 1), jnp.inf))
        return 0.5 * jnp.sum((first - jnp.asarray(TARGETS)) ** 2)

    loss, (gw, gic) = jax.value_and_grad(first_spike_loss, argnums=(0, 1))(model.neuron_model.weights,
                                                                         model.neuron_model.ic)
    assert value == pytest.approx(float(loss), rel=1e-8)
    assert np.linalg.norm(grads.I0 - np.asarray(gic)) <= 1e-6 * np.linalg.norm(grads.I0)
    assert np.linalg.norm(grads.W - np.asarray(gw)[:N].T / TAU) <= 1e-6 * np.linalg.norm(grads.W)
