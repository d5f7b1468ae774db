"""The JAX backend at zero gate width (gate=None): its adjoint, behind jax.grad, against the SciPy adjoint.

Both take the general event jump of :func:`odesnn._dynamics.event_adjoint_jump`
at each spike; the JAX backend truncates its steps at every spike of the
threshold synapse and replays them from checkpoints, as it does for LIF at
positive width, so its memory does not grow with the trial length.
"""

import jax.numpy as jnp
import numpy as np
import pytest

import odesnn
from odesnn._fd import rel_error
from odesnn._gradcheck import random_problem
from odesnn.jax import value_and_grad
from odesnn.jax._simulate import value_grad_and_spike_counts

JAX_OPTS = dict(solver="dopri8", rtol=1e-11, atol=1e-12, max_steps=20000, max_spikes=500, checkpoint_every=16)
GROUPS = ("W", "Wf", "U", "O", "I0")


def compare(problem):
    ref = odesnn.gradient(problem.net, problem.params, problem.inputs, problem.target, (problem.t0, problem.t1),
                          v0=problem.x0.v, rtol=1e-12, atol=1e-12)
    value, grads = value_and_grad(problem.params, problem, **JAX_OPTS)
    sol = odesnn.jax.simulate(problem, **JAX_OPTS)
    assert sol.n_spikes == ref.forward.n_spikes
    assert np.max(np.abs(sol.spike_times - ref.forward.spike_times)) < 1e-7
    assert float(value) == pytest.approx(ref.cost, rel=1e-8)
    return ref, {g: rel_error(np.asarray(getattr(grads, g)), getattr(ref.grads, g)) for g in GROUPS}


def test_jax_grad_of_a_loss_runs_the_zero_width_adjoint():
    """jax.grad of a loss on the per-trial costs (custom_vjp) gives the adjoint gradient at Δ = 0: one LIF network
    and two inputs, against the SciPy adjoint of each trial (JAX vs SciPy ≤ 1e-5 in every group)."""
    problems = [random_problem("lif", "none", neurons=3, duration=25.0, seed=s, min_spikes=12) for s in (1, 2)]
    problems[1] = problems[1].with_params(problems[0].params)  # one network, two inputs
    value, grads, counts = value_grad_and_spike_counts(problems[0].params, problems, loss=lambda c: jnp.sum(c**2),
                                                       **JAX_OPTS)
    refs = [odesnn.gradient(p.net, p.params, p.inputs, p.target, (p.t0, p.t1), v0=p.x0.v, rtol=1e-12, atol=1e-12)
            for p in problems]
    assert [int(c) for c in counts] == [r.forward.n_spikes for r in refs] and min(counts) >= 12
    assert float(value) == pytest.approx(sum(r.cost**2 for r in refs), rel=1e-8)
    for g in GROUPS:
        expected = sum(2 * r.cost * np.asarray(getattr(r.grads, g)) for r in refs)
        assert rel_error(np.asarray(getattr(grads, g)), expected) <= 1e-5, g


@pytest.mark.slow
@pytest.mark.parametrize("model", ["nif", "qif", "lif"])
def test_jax_zero_width_gradient_every_model(model):
    """nif, qif, lif at Δ = 0 with ≥ 20 spikes: JAX vs SciPy ≤ 1e-5 in every parameter group."""
    problem = random_problem(model, "none", neurons=4, duration=40.0, seed=1)
    ref, errs = compare(problem)
    assert ref.forward.n_spikes >= 20
    assert max(errs.values()) <= 1e-5, errs
