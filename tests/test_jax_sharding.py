"""Data parallelism: the trial axis sharded over 2 host devices gives the same costs and gradient."""

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("jax")

SCRIPT = textwrap.dedent("""
    import jax, numpy as np
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    assert len(jax.devices()) == 2, jax.devices()
    from odesnn.models.gates import Gate
    from odesnn.jax import Model, batch_from_problems, cast, cost, shard_batch
    from odesnn.models.network import Network
    from odesnn.models.neurons import QIF
    from odesnn._problem import make_problem
    from odesnn.models.signals import Signal
    net = Network(4, 1, 1, neuron=QIF(), gate=Gate("smooth", 0.1), tau=5.0)
    params = net.init_params(0, u_scale=3.0)
    rng = np.random.default_rng(0)
    tg = np.linspace(0, 30, 4)
    pbs = [make_problem(net, params, Signal.sampled(tg, rng.uniform(0, 0.5, (4, 1))), None, (0, 30))
           for _ in range(4)]
    batch, kinds = batch_from_problems(pbs)
    model = Model(net, *kinds)
    p, b = cast(params, batch, jnp.float64)
    opts = dict(rtol=1e-8, atol=1e-10, max_steps=4000, max_spikes=200)
    f = jax.jit(jax.value_and_grad(lambda p, b: jnp.mean(cost(p, b, model, **opts))))
    v1, g1 = f(p, b)
    bs = shard_batch(b)
    assert len(bs.inputs.sharding.device_set) == 2
    v2, g2 = f(p, bs)
    assert abs(float(v1) - float(v2)) < 1e-6 * abs(float(v1)), (float(v1), float(v2))
    for a, c in zip(g1, g2):
        np.testing.assert_allclose(np.asarray(a), np.asarray(c), rtol=1e-5, atol=1e-9)
    print("OK")
""")


def test_sharded_batch_over_two_host_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu")
    res = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "OK" in res.stdout, res.stderr[-3000:]
