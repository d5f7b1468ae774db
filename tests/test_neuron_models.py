"""Multi-state neuron models (ALIF, Izhikevich, AdEx and a user-defined one): gradients and lone-neuron references.

References independent of odesnn's code: the closed-form steady-state period
of ALIF under a constant current, and the Izhikevich and AdEx equations
written out here and integrated by ``scipy.integrate.solve_ivp`` with its
own event location. Gradients: the adjoint against forward sensitivity
(``≤ 1e-8``), finite differences (``≤ 1e-6``) and the JAX backend
(``≤ 1e-5``), at least 20 spikes, float64 (docs/neurons.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.optimize import brentq

import odesnn
from odesnn._gradcheck import BOUNDS, gradcheck, random_problem

NEW_MODELS = ("alif", "izhikevich", "adex")


@dataclass(frozen=True)
class ScaledAdaptationLIF(odesnn.NeuronModel):
    """The user-defined model of docs/neurons.md: an LIF neuron with an adaptation current that a spike first
    scales by ``alpha``, then kicks by ``kick`` (a reset map that is not a translation)."""

    tau_m: float = 10.0
    tau_w: float = 50.0
    alpha: float = 0.5
    kick: float = 0.3
    name = "scaled_adaptation_lif"
    aux = ("w",)

    @property
    def thresholds(self):
        return (odesnn.Threshold(1.0, +1, 0.0),)

    def f(self, v, I, w):  # noqa: E741
        return (I - v - w[0]) / self.tau_m

    def g(self, v, I, w):  # noqa: E741
        return (-w[0] / self.tau_w,)

    def reset(self, v, w, threshold):
        return 0.0 * v + threshold.reset, self.alpha * w + self.kick


def _checks(report, keys):
    for key in keys:
        assert report[key] <= BOUNDS[key], (key, report[key], BOUNDS[key])


@pytest.mark.parametrize("gate", ["smooth", "box", "none"])
@pytest.mark.parametrize("model", NEW_MODELS)
def test_adjoint_matches_forward_sensitivity(model, gate, assert_adjoint_matches_forward):
    assert_adjoint_matches_forward(random_problem(model, gate, neurons=4, duration=60.0, seed=0))


@pytest.mark.slow
@pytest.mark.parametrize("gate", ["smooth", "box", "none"])
@pytest.mark.parametrize("model", NEW_MODELS)
def test_gradcheck_new_models(model, gate):
    report = gradcheck(model, "scipy", gate, neurons=4, duration=60.0, seed=0)
    assert report["n_spikes"] >= 20
    _checks(report, ("adjoint_vs_forward", "adjoint_vs_fd", "forward_vs_fd", "spike_times_vs_fd"))
    assert report["passed"]


@pytest.mark.parametrize("model,gate", [(m, "smooth") for m in NEW_MODELS] + [("adex", "none")])
def test_jax_matches_scipy(model, gate):
    import jax

    from odesnn._fd import rel_error
    from odesnn._scipy.adjoint import adjoint
    from odesnn._scipy.forward import simulate
    from odesnn.jax import simulate as jax_simulate
    from odesnn.jax import value_and_grad

    jax.config.update("jax_enable_x64", True)
    problem = random_problem(model, gate, neurons=4, duration=60.0, seed=0)
    sol = simulate(problem, rtol=1e-12, atol=1e-12)
    adj = adjoint(sol).grads
    jsol = jax_simulate(problem, solver="dopri8", rtol=1e-12, atol=1e-12)
    assert jsol.n_spikes == sol.n_spikes >= 20
    np.testing.assert_allclose(jsol.spike_times, sol.spike_times, atol=1e-8)
    assert jsol.w.shape == (len(jsol.t), 1, 4)
    value, grads = value_and_grad(problem.params, problem, solver="dopri8", rtol=1e-12, atol=1e-12)
    assert abs(float(value) - sol.cost) <= 1e-9 * abs(sol.cost)
    for name in ("W", "Wf", "U", "O", "I0"):
        assert rel_error(np.asarray(getattr(grads, name)), getattr(adj, name)) <= BOUNDS["jax_vs_scipy"], name


# -- lone neurons against references written here -------------------------------------------------------------

def _lone(neuron, I, duration, v0, gate_width=0.1):
    net = odesnn.Network(1, 1, 1, neuron=neuron, gate=odesnn.Gate("smooth", gate_width))
    params = odesnn.Params(np.zeros((1, 1)), np.zeros((1, 0)), np.zeros((1, 1)), np.zeros((1, 1)), np.array([I]))
    return odesnn.simulate(net, params, t_span=(0.0, duration), v0=[v0])


def test_alif_settles_at_its_closed_form_period():
    neuron = odesnn.ALIF(tau_m=10.0, tau_a=100.0, beta=0.2)
    I = 1.6  # noqa: E741
    tm, ta, beta = neuron.tau_m, neuron.tau_a, neuron.beta

    def v_at(T):  # v(T) from v(0⁺) = 0 with a(0⁺) = A, the fixed point of a -> a e^{-T/τ_a} + β
        A = beta / (1 - np.exp(-T / ta))
        return I * (1 - np.exp(-T / tm)) - A * ta / (ta - tm) * (np.exp(-T / ta) - np.exp(-T / tm)) - 1.0

    T = brentq(v_at, 1.0, 200.0, xtol=1e-14)
    sol = _lone(neuron, I, 3000.0, 0.0)
    isi = np.diff(sol.spike_times)
    assert isi[0] < isi[-1]  # adaptation lengthens the interval
    np.testing.assert_allclose(isi[-5:], T, rtol=1e-9)


def _reference(rhs, threshold, reset, y0, duration):
    """Spike times of a two-variable neuron by solve_ivp (LSODA-free: DOP853 with its own event location)."""
    t, y, spikes = 0.0, np.asarray(y0, dtype=float), []

    def event(t, y):
        return y[0] - threshold

    event.terminal, event.direction = True, 1
    while t < duration:
        out = solve_ivp(rhs, (t, duration), y, method="DOP853", rtol=1e-12, atol=1e-12, events=event)
        if out.status != 1:
            break
        t = float(out.t_events[0][0])
        spikes.append(t)
        y = reset(out.y_events[0][0])
    return np.array(spikes)


def test_lone_izhikevich_matches_a_reference_integration():
    a, b, c, d, I = 0.02, 0.2, -65.0, 8.0, 10.0  # noqa: E741

    def rhs(t, y):
        v, u = y
        return [0.04 * v * v + 5 * v + 140 - u + I, a * (b * v - u)]

    ref = _reference(rhs, 30.0, lambda y: np.array([c, y[1] + d]), [-65.0, b * -65.0], 500.0)
    sol = _lone(odesnn.Izhikevich(a, b, c, d), I, 500.0, -65.0, gate_width=5.0)
    assert len(ref) >= 10 and sol.n_spikes == len(ref)
    np.testing.assert_allclose(sol.spike_times, ref, atol=1e-8)
    np.testing.assert_allclose(sol.w[0, 0, 0], b * -65.0)  # u0 = b v0 by default


def test_lone_adex_matches_a_reference_integration():
    C, gL, EL, VT, DT, tw, a, b, vr = 281.0, 30.0, -70.6, -50.4, 2.0, 144.0, 4.0, 80.5, -70.6
    I = 800.0  # noqa: E741

    def rhs(t, y):
        v, w = y
        return [(-gL * (v - EL) + gL * DT * np.exp((v - VT) / DT) - w + I) / C, (a * (v - EL) - w) / tw]

    ref = _reference(rhs, VT + 5 * DT, lambda y: np.array([vr, y[1] + b]), [EL, 0.0], 500.0)
    sol = _lone(odesnn.AdEx(), I, 500.0, EL, gate_width=2.0)
    assert len(ref) >= 5 and sol.n_spikes == len(ref)
    np.testing.assert_allclose(sol.spike_times, ref, atol=1e-8)
    assert np.all(np.diff(np.diff(ref)) > 0)  # spike-frequency adaptation


def test_each_spike_still_carries_charge_one():
    """The gate acts on v: a lone adapting neuron's s integrates to the number of spikes (τ ds/dt = -s + g v̇)."""
    sol = _lone(odesnn.Izhikevich(), 10.0, 200.0, -65.0, gate_width=5.0)
    tau = 10.0  # Network's default
    # τ ds/dt = -s + g(v) v̇ with s(0) = 0: the charge ∫ g v̇ dt = τ s(T) + ∫ s dt
    t = np.linspace(0.0, 200.0, 200001)
    s = sol.sol(t).s[0]
    integral = np.sum((s[1:] + s[:-1]) / 2) * (t[1] - t[0])
    np.testing.assert_allclose(tau * sol.s[-1, 0] + integral, sol.n_spikes, rtol=1e-6)


# -- a model written by the user -------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["scipy", "jax"])
def test_user_model_runs_through_gradcheck(backend):
    model = ScaledAdaptationLIF()
    assert not model.translation
    report = gradcheck(model, backend, "smooth", neurons=3, duration=60.0, seed=0, n_directions=1,
                       steps=(1e-4, 1e-5, 1e-6))
    assert report["n_spikes"] >= 20
    assert report["model"] == "scaled_adaptation_lif"
    keys = ["adjoint_vs_forward", "adjoint_vs_fd", "forward_vs_fd"] + (["jax_vs_scipy"] if backend == "jax" else [])
    _checks(report, keys)


def test_user_reset_jump_is_needed():
    """The adjoint with the reset's Jacobian agrees with forward sensitivity; taking the reset for a translation
    (J = I) does not, so the test would see a wrong jump."""
    from odesnn import _dynamics as dyn
    from odesnn._scipy.adjoint import adjoint
    from odesnn._scipy.forward import simulate
    from odesnn._scipy.sensitivity import forward_sensitivity

    problem = random_problem(ScaledAdaptationLIF(), "smooth", neurons=3, duration=40.0, seed=1, min_spikes=8)
    sol = simulate(problem, rtol=1e-12, atol=1e-12)
    fwd = forward_sensitivity(problem, rtol=1e-12, atol=1e-12).grads
    good = adjoint(sol).grads
    assert np.linalg.norm(good.I0 - fwd.I0) <= 1e-8 * np.linalg.norm(fwd.I0)
    original = dyn._reset_block
    try:
        dyn._reset_block = lambda net, x, k, threshold, vec, transpose: vec
        wrong = adjoint(sol).grads
    finally:
        dyn._reset_block = original
    assert np.linalg.norm(wrong.I0 - fwd.I0) > 1e-4 * np.linalg.norm(fwd.I0)


def test_multistate_bad_inputs_are_named():
    net = odesnn.Network(2, neuron=odesnn.ALIF())
    with pytest.raises(ValueError, match=r"`w0` must have shape \(1, 2\)"):
        net.initial_state(w0=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="`w0` is only for neuron models with auxiliary variables"):
        odesnn.Network(2).initial_state(w0=np.zeros((1, 2)))

    @dataclass(frozen=True)
    class NoG(odesnn.NeuronModel):
        aux = ("w",)

        @property
        def thresholds(self):
            return (odesnn.Threshold(1.0),)

        def f(self, v, I, w):  # noqa: E741
            return I - w[0]

    with pytest.raises(TypeError, match=r"does not implement `g\(v, I, w\)`"):
        odesnn.Network(2, neuron=NoG())
    with pytest.raises(ValueError, match="`c`=40.0"):
        odesnn.Izhikevich(c=40.0)


def test_array_namespace_follows_the_arguments():
    """odesnn.array_namespace gives numpy for NumPy arrays and scalars, jax.numpy once any argument is a JAX array."""
    import jax.numpy as jnp

    import odesnn

    assert odesnn.array_namespace(np.zeros(3), 1.0) is np
    assert odesnn.array_namespace(np.zeros(3), jnp.zeros(3)) is jnp
    assert odesnn.models.array_namespace is odesnn.array_namespace
