"""The gradient noise scale: the estimator against a known mean and covariance, and its training plumbing."""

import numpy as np
import pytest

from odesnn.training import build_network, default_config, gradient_noise_scale
from odesnn.training.noise_scale import noise_scale


def test_noise_scale_recovers_a_known_mean_and_covariance():
    """Gaussian 'gradients' with mean μ and diagonal covariance: |μ|², tr Σ and B_noise come back, and the
    jackknife standard error matches the spread of the estimate over repeated draws."""
    rng = np.random.default_rng(0)
    P, B, k = 40, 16, 6
    mu = rng.normal(size=P) * 0.1
    sigma = rng.uniform(0.2, 0.6, size=P)
    signal, trace = float(mu @ mu), float(np.sum(sigma**2))
    estimates, ses, traces = [], [], []
    for _ in range(400):
        batches = [mu + sigma * rng.normal(size=(B, P)) for _ in range(k)]
        ns = noise_scale(batches)
        estimates.append(ns.signal), ses.append(ns.signal_se), traces.append(ns.trace)
    estimates = np.array(estimates)
    # unbiased: the mean of 400 estimates is within 4 standard errors of the mean of |μ|²
    assert abs(estimates.mean() - signal) < 4 * estimates.std() / np.sqrt(len(estimates))
    assert np.mean(traces) == pytest.approx(trace, rel=0.02)  # tr Σ: 400 draws of 96 trials, sd about 0.5 %
    # the jackknife standard error describes the scatter of one estimate (to within 20 %)
    assert np.mean(ses) == pytest.approx(estimates.std(), rel=0.2)
    # the batch means' cosines: about 1 / (1 + B_noise/B) for two independent batches
    big = noise_scale([mu + sigma * rng.normal(size=(200, P)) for _ in range(40)])
    assert big.b_noise == pytest.approx(trace / signal, rel=0.15)
    assert np.mean(big.batch_cosines) == pytest.approx(1 / (1 + trace / signal / 200), abs=0.03)
    assert big.cosine_at(200) == pytest.approx(np.sqrt(1 / (1 + big.b_noise / 200)))
    # no signal at all: the estimate scatters about zero and B_noise is infinite when it falls at or below
    flat = noise_scale([sigma * rng.normal(size=(B, P)) for _ in range(k)])
    assert abs(flat.signal) < 4 * flat.signal_se
    assert flat.b_noise == (flat.trace / flat.signal if flat.signal > 0 else np.inf)


@pytest.mark.parametrize("bad,match", [([np.ones((3, 2))], "at least 2 batches"),
                                        ([np.ones((3, 2)), np.ones((2, 2))], "one shape"),
                                        ([np.ones((1, 2)), np.ones((1, 2))], "at least 3 trials"),
                                        ([np.ones((2, 2)), np.full((2, 2), np.nan)], "non-finite")])
def test_noise_scale_rejects_bad_batches(bad, match):
    with pytest.raises(ValueError, match=match):
        noise_scale(bad)


@pytest.mark.slow  # 10-60 s on a 2-core CPU; the default suite stays under 10 minutes
def test_gradient_noise_scale_measures_the_training_steps_gradients():
    """Its batch means are the gradients the training step takes on the same batches (the plain batched
    adjoint, a code path apart from the per-trial one)."""
    from odesnn.training.config import batch_for_step, initial_voltages, make_task
    from odesnn.training.diagnostics import NOISE_SALT
    from odesnn.training.objective import jax_loss_and_grad

    cfg = default_config("autoencoder", quick=True, n_neurons=6, duration=100.0, batch_size=3, rtol=1e-9,
                         atol=1e-11, task_kwargs={"period": 100.0})
    net = build_network(cfg)
    params = net.init_params(2, w_scale=0.0, wf_scale=0.3, u_scale=0.3, o_scale=0.5)
    ns = gradient_noise_scale(cfg, net, params, n_batches=2)
    assert ns.n_trials == 6 and ns.batch_size == 3 and ns.trace > 0 and ns.batch_cosines.shape == (1,)
    step = jax_loss_and_grad(cfg, net)
    for k in range(2):
        batch, rng = batch_for_step(cfg, make_task(cfg), k, salt=NOISE_SALT)
        _, grads, _ = step(params, batch, initial_voltages(cfg, rng, batch.size))
        flat = np.concatenate([np.ravel(g) for name, g in zip(grads._fields, grads) if name in cfg.train])
        np.testing.assert_allclose(ns.batch_means[k], flat, rtol=0, atol=1e-7 * np.abs(flat).max())
    with pytest.raises(ValueError, match="n_batches"):
        gradient_noise_scale(cfg, net, params, n_batches=1)
    with pytest.raises(ValueError, match="batch_size"):
        gradient_noise_scale(cfg, net, params, batch_size=0)
