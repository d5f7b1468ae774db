"""Neuron models: hand-written derivatives against JAX autodiff, thresholds, user models."""

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import odesnn
from odesnn import LIF, NIF, QIF, NeuronModel, Threshold


@pytest.mark.parametrize("model", [NIF(), QIF(tau_v=25.0), LIF(tau_m=7.0)])
def test_derivatives_match_autodiff(model):
    rng = np.random.default_rng(0)
    v = rng.uniform(-0.9, 0.99, 50)
    current = rng.normal(0, 2, 50)
    f_v = jax.vmap(jax.grad(lambda a, b: model.f(a, b), argnums=0))(jnp.asarray(v), jnp.asarray(current))
    f_i = jax.vmap(jax.grad(lambda a, b: model.f(a, b), argnums=1))(jnp.asarray(v), jnp.asarray(current))
    np.testing.assert_allclose(model.f_v(v, current), f_v, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.f_I(v, current), f_i, rtol=1e-12, atol=1e-14)


def test_paper_models_have_equal_field_at_threshold_and_reset():
    # the property that makes the adjoint continuous at resets (docs/math.md)
    current = np.linspace(-1, 1, 7)
    for model in (NIF(), QIF()):
        for th in model.thresholds:
            np.testing.assert_allclose(model.f(th.value, current), model.f(th.reset, current), atol=1e-15)
    lif = LIF()
    th = lif.thresholds[0]
    assert np.all(np.abs(lif.f(th.value, current) - lif.f(th.reset, current)) > 0.01)


def test_nif_negative_synapse_switch():
    assert [th.synaptic for th in NIF().thresholds] == [True, True]
    assert [th.synaptic for th in NIF(negative_synapse=False).thresholds] == [True, False]


@dataclass(frozen=True)
class ExpIF(NeuronModel):
    """Exponential integrate-and-fire, defined by f alone (derivatives by autodiff)."""

    tau_m: float = 10.0
    delta_t: float = 0.2
    v_t: float = 0.6
    name = "expif"

    @property
    def thresholds(self):
        return (Threshold(1.0, +1, 0.0, True),)

    def f(self, v, I):  # noqa: E741
        xp = odesnn._xp.namespace(v, I)
        return (-v + self.delta_t * xp.exp((v - self.v_t) / self.delta_t) + I) / self.tau_m


def test_user_model_autodiff_derivatives_and_simulation():
    model = ExpIF()
    v = np.linspace(-0.5, 0.95, 9)
    current = np.full(9, 0.3)
    h = 1e-6
    fd_v = (model.f(v + h, current) - model.f(v - h, current)) / (2 * h)
    np.testing.assert_allclose(model.f_v(v, current), fd_v, rtol=1e-7)
    np.testing.assert_allclose(model.f_I(v, current), 1 / model.tau_m, rtol=1e-12)
    net = odesnn.Network(2, 1, 1, neuron=model, gate=odesnn.Gate("smooth", 0.1), tau=5.0)
    params = odesnn.Params(np.zeros((2, 2)), np.zeros((2, 0)), np.zeros((2, 1)), np.ones((1, 2)), np.array([1.0, 1.2]))
    sol = odesnn.simulate(net, params, t_span=(0, 100))
    assert sol.n_spikes > 4
    cost, grads = odesnn.gradient(net, params, t_span=(0, 100), method="adjoint")
    cost_f, grads_f = odesnn.gradient(net, params, t_span=(0, 100), method="forward")
    np.testing.assert_allclose(grads.I0, grads_f.I0, rtol=1e-7)


def test_threshold_validation():
    with pytest.raises(ValueError, match="direction"):
        Threshold(1.0, direction=0)
    with pytest.raises(ValueError, match="reset"):
        Threshold(1.0, direction=1, reset=2.0)
    with pytest.raises(ValueError, match="tau_v"):
        QIF(tau_v=-1.0)
    with pytest.raises(ValueError, match="tau_m"):
        LIF(tau_m=0.0)
