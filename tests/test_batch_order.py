"""Results do not depend on the order of the trials in a batch (JAX backend), property-based."""

import jax
import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import odesnn
from odesnn.jax import Model, make_batch
from odesnn.jax import cost as jax_cost
from odesnn.jax._run import cast

jax.config.update("jax_enable_x64", True)

NET = odesnn.Network(4, 1, 1, neuron=odesnn.QIF(), gate=odesnn.Gate("smooth", 0.1), tau=10.0, tau_f=2.0)
PARAMS = NET.init_params(0)._replace(I0=np.full(4, 0.03))
T = np.linspace(0.0, 40.0, 41)
MODEL = Model(NET)


@jax.jit
def COSTS_AND_GRAD(p, b):  # noqa: N802 - compiled once for every example
    costs = jax_cost(p, b, MODEL, rtol=1e-9, atol=1e-11)
    grads = jax.grad(lambda q: jax_cost(q, b, MODEL, rtol=1e-9, atol=1e-11).mean())(p)
    return costs, grads


@settings(max_examples=5, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 1000), perm_seed=st.integers(0, 1000))
@example(seed=0, perm_seed=2)  # these three differed beyond rounding once (see below)
@example(seed=36, perm_seed=2)
@example(seed=432, perm_seed=2)
def test_costs_and_gradients_independent_of_batch_order(seed, perm_seed):
    rng = np.random.default_rng(seed)
    B = 4
    inputs = 0.02 * rng.standard_normal((B, T.size, 1))
    targets = 0.1 * rng.standard_normal((B, T.size, 1))
    v0 = rng.uniform(0, 0.5, (B, 4))
    perm = np.random.default_rng(perm_seed).permutation(B)

    def run(order):
        b = make_batch(NET, T, inputs[order], targets[order], (0.0, 40.0), v0=v0[order])
        p, bb = cast(PARAMS, b, np.float64)
        costs, grads = COSTS_AND_GRAD(p, bb)
        return np.asarray(costs), [np.asarray(g) for g in grads]

    c0, g0 = run(np.arange(B))
    c1, g1 = run(perm)
    # XLA may round a trial's arithmetic differently in another batch slot, and a last-bit difference can flip one
    # accept/reject decision of the adaptive step; after that the two runs differ by up to the solver's own error.
    # Measured: the permuted gradient differs by at most 1.5e-9 (seed 36, perm_seed 2) and 1.6e-8 (seed 432,
    # perm_seed 2) of each group's largest entry, while the gradient itself is 1e-7 of it away from a tight reference
    # (rtol 1e-12). So the bound is that error of the solver's, 1e-7: a wrong pairing of trials with their inputs,
    # targets or initial states differs at order one. The examples are derandomized, so CI runs the same ones.
    np.testing.assert_allclose(c1, c0[perm], rtol=1e-9, atol=0)
    for a, b in zip(g0, g1):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-7 * np.max(np.abs(b)))
