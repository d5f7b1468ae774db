"""The least-squares readout (variable projection): the fit against an independent least-squares solve, and its
place in training (Adam leaves O alone, checkpoints carry the statistics)."""

import json

import numpy as np
import pytest

from odesnn.training import LstsqReadout, TrainConfig, default_config, train


def _batches(rng, n_batches, N=5, n_out=2, B=3, T=40, noise=0.1):
    O_true = rng.normal(size=(n_out, N))
    out = []
    for _ in range(n_batches):
        S = rng.normal(size=(B, T, N)) + rng.normal(size=N)  # correlated, offset states
        out.append((S, S @ O_true.T + noise * rng.normal(size=(B, T, n_out))))
    return O_true, out


def test_fit_equals_a_weighted_ridge_solve_of_the_stacked_batches():
    rng = np.random.default_rng(0)
    _, batches = _batches(rng, 4)
    decay, ridge = 0.7, 1e-2
    readout = LstsqReadout(5, 2, decay=decay, ridge=ridge)
    for S, Y in batches:
        readout.update(S, Y)
    # independent: batch k (of K) weighs decay**(K-1-k) / (its sample count), normalised; ridge rows appended
    K = len(batches)
    w = np.array([decay ** (K - 1 - k) for k in range(K)])
    w /= w.sum()
    X = np.concatenate([np.sqrt(wk / S[..., 0].size) * S.reshape(-1, 5) for wk, (S, _) in zip(w, batches)])
    Y = np.concatenate([np.sqrt(wk / S[..., 0].size) * Yk.reshape(-1, 2) for wk, (S, Yk) in zip(w, batches)])
    penalty = ridge * np.sum(X**2) / 5  # tr(E[s sᵀ]) / N
    Xa = np.vstack([X, np.sqrt(penalty) * np.eye(5)])
    Ya = np.vstack([Y, np.zeros((5, 2))])
    expected = np.linalg.lstsq(Xa, Ya, rcond=None)[0].T
    np.testing.assert_allclose(readout.solve(), expected, rtol=1e-10, atol=1e-12)


def test_noise_free_readout_is_recovered():
    rng = np.random.default_rng(1)
    O_true, batches = _batches(rng, 3, noise=0.0)
    readout = LstsqReadout(5, 2, decay=0.5, ridge=1e-12)
    for S, Y in batches:
        readout.update(S, Y)
    np.testing.assert_allclose(readout.solve(), O_true, rtol=0, atol=1e-9)


def test_integer_weights_count_a_time_point_that_many_times():
    """A weight of k is the same fit as k copies of that time point (the fit is invariant to the scale of its
    moments, the ridge penalty included), and a weight of 0 leaves the point out."""
    rng = np.random.default_rng(2)
    _, batches = _batches(rng, 1, noise=0.3)
    weights = [rng.integers(0, 4, size=S.shape[:2]) for S, _ in batches]
    weighted, repeated = LstsqReadout(5, 2, decay=0.0), LstsqReadout(5, 2, decay=0.0)
    S, Y = batches[-1]
    weighted.update(S, Y, weights[-1])
    X = np.concatenate([np.repeat(S[b], weights[-1][b], axis=0) for b in range(S.shape[0])])[None]  # one "trial"
    Yr = np.concatenate([np.repeat(Y[b], weights[-1][b], axis=0) for b in range(S.shape[0])])[None]
    assert X.shape[1] == weights[-1].sum() > 0
    repeated.update(X, Yr)
    np.testing.assert_allclose(weighted.solve(), repeated.solve(), rtol=1e-10, atol=1e-12)
    ones = LstsqReadout(5, 2, decay=0.0)
    ones.update(S, Y, np.ones(S.shape[:2]))
    plain = LstsqReadout(5, 2, decay=0.0)
    plain.update(S, Y)
    # unit weights take another arithmetic path (the moments are weighted sums, not plain ones), so the two fits
    # agree to rounding, not bitwise: a solve of a 5x5 system amplifies its last-bit differences by at most
    # its condition number, far below 1e-12 here
    np.testing.assert_allclose(ones.solve(), plain.solve(), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError, match=r"`weights` must have shape \(3, 40\) \(trials, times\), got \(3,\)"):
        plain.update(S, Y, np.ones(3))
    with pytest.raises(ValueError, match=r"`weights` must be non-negative and finite, got -1.0"):
        plain.update(S, Y, -np.ones(S.shape[:2]))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match=r"`decay` must be in \[0, 1\), got 1"):
        LstsqReadout(3, 1, decay=1)
    with pytest.raises(ValueError, match=r"`ridge` must be a positive number, got 0"):
        LstsqReadout(3, 1, ridge=0)
    readout = LstsqReadout(3, 1)
    with pytest.raises(RuntimeError, match="before any update"):
        readout.solve()
    with pytest.raises(ValueError, match=r"`states` \(2, 4, 2\) and `targets` \(2, 4, 1\) do not match"):
        readout.update(np.zeros((2, 4, 2)), np.zeros((2, 4, 1)))
    with pytest.raises(ValueError, match=r"`readout` must be 'gradient' or 'lstsq', got 'ridge'"):
        TrainConfig(readout="ridge")
    with pytest.raises(ValueError, match=r"`readout_decay` must be in \[0, 1\), got -0.5"):
        TrainConfig(readout_decay=-0.5)
    with pytest.raises(ValueError, match=r"`readout_ridge` must be a positive number, got nan"):
        TrainConfig(readout_ridge=float("nan"))
    for bad in (0, -2.0, float("inf"), "4"):
        with pytest.raises(ValueError, match=r"`readout_window_weight` must be a positive number, got"):
            TrainConfig(task="xor", readout="lstsq", readout_window_weight=bad)
    with pytest.raises(ValueError, match=r"`readout_window_weight`=4.0 weights the XOR response window .* needs "
                                         r"readout 'lstsq', got 'gradient'"):
        TrainConfig(task="xor", readout_window_weight=4.0)
    with pytest.raises(ValueError, match=r"`readout_window_weight`=4.0 weights the XOR response window; the "
                                         r"autoencoder task has none"):
        TrainConfig(task="autoencoder", readout="lstsq", readout_window_weight=4.0)


def test_xor_readout_window_weight_fits_o_with_the_response_windows_weighted(tmp_path):
    """With ``readout_window_weight`` w the running readout is the fit with weight w inside each trial's
    response window (checked against a fit of independently built weights), and the gradient is untouched."""
    from odesnn.training.config import batch_for_step, make_task

    cfg = default_config("xor", quick=True, n_neurons=6, duration=200.0, batch_size=3, steps=3, readout="lstsq",
                         readout_decay=0.6, readout_window_weight=5.0,
                         task_kwargs={"first_range": (20.0, 40.0), "gap_range": (20.0, 30.0),
                                      "cue_delay_range": (20.0, 40.0)})
    seen = []

    def record(params, batch, v0, count):
        seen.append((params, batch, v0))
        return _fake_loss_and_grad()(params, batch, v0, count)

    _, final = train(cfg, tmp_path, loss_and_grad=record, states_fn=_fake_states, progress=False)
    readout = LstsqReadout(6, 1, decay=0.6, ridge=cfg.readout_ridge)
    task = make_task(cfg)
    for step, (params, batch, v0) in enumerate(seen):
        assert batch.inputs.tobytes() == batch_for_step(cfg, task, step)[0].inputs.tobytes()
        go, t = batch.info["go"], batch.t
        inside = (t[None, :] >= go[:, None] + task.response_delay) & \
                 (t[None, :] <= go[:, None] + task.response_delay + task.response_window)
        assert 0 < inside.sum() < inside.size
        readout.update(_fake_states(params, batch, v0), batch.targets, 1.0 + 4.0 * inside)
    np.testing.assert_allclose(final.O, readout.solve(), rtol=1e-12, atol=0)
    unweighted = LstsqReadout(6, 1, decay=0.6, ridge=cfg.readout_ridge)
    for params, batch, v0 in seen:
        unweighted.update(_fake_states(params, batch, v0), batch.targets)
    assert not np.allclose(final.O, unweighted.solve())


SMALL = {"n_neurons": 6, "duration": 100.0, "batch_size": 2, "eval_trials": 1, "task_kwargs": {"period": 100.0},
         "readout": "lstsq", "readout_decay": 0.6}


def _fake_loss_and_grad(stop_at=None, with_states=False):
    calls = {"n": 0}

    def fn(params, batch, v0, count):
        if calls["n"] == stop_at:
            raise KeyboardInterrupt  # the run is killed here
        calls["n"] += 1
        grads = type(params)(*(2 * p + 0.1 for p in params))
        out = (float(sum(np.sum(p**2) for p in params)), grads, np.array([3, 5]))
        return out + (_fake_states(params, batch, v0),) if with_states else out

    return fn


def _fake_states(params, batch, v0):
    # depends on the batch and on the trained parameters, as the network's states do
    n = params.U.shape[0]
    return np.tanh(batch.inputs[..., :1] * np.arange(1, n + 1) + v0[:, None, :] + np.sum(params.U))


def test_training_refits_o_each_step_and_resumes_exactly(tmp_path):
    cfg = default_config("autoencoder", quick=True, steps=5, checkpoint_every=2, **SMALL)
    seen = []

    def record(params, batch, v0, count):
        seen.append((params, batch, v0))
        return fn(params, batch, v0, count)

    fn = _fake_loss_and_grad()
    _, final = train(cfg, tmp_path / "full", loss_and_grad=record, states_fn=_fake_states, progress=False)
    # step 0 uses the initial O; every later step uses the fit of the states seen so far, not an Adam update
    readout = LstsqReadout(6, 2, decay=0.6, ridge=cfg.readout_ridge)
    for step, (params, batch, v0) in enumerate(seen):
        if step > 0:
            np.testing.assert_allclose(params.O, readout.solve(), rtol=1e-12, atol=0)
        readout.update(_fake_states(params, batch, v0), batch.targets)
    np.testing.assert_allclose(final.O, readout.solve(), rtol=1e-12, atol=0)  # the saved network
    assert not np.array_equal(seen[-1][0].U, seen[0][0].U)  # Adam still trains the other groups
    # killed after step 3 (checkpoint at step 2), then resumed: the same metrics and parameters
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "killed", loss_and_grad=_fake_loss_and_grad(stop_at=3), states_fn=_fake_states,
              progress=False)
    _, resumed = train(cfg, tmp_path / "killed", resume=True, loss_and_grad=_fake_loss_and_grad(),
                       states_fn=_fake_states, progress=False)
    for a, b in zip(final, resumed):
        np.testing.assert_array_equal(a, b)

    def metrics(d):
        return [{k: v for k, v in json.loads(line).items() if k != "step_s"}
                for line in (d / "metrics.jsonl").read_text().splitlines()]

    assert metrics(tmp_path / "killed") == metrics(tmp_path / "full")

    def no_second_pass(params, batch, v0):
        raise AssertionError("states_fn called although loss_and_grad returned the states")

    # a loss_and_grad that returns its forward pass's states (as the JAX adjoint does) needs no states_fn
    _, own = train(cfg, tmp_path / "own", loss_and_grad=_fake_loss_and_grad(with_states=True),
                   states_fn=no_second_pass, progress=False)
    for a, b in zip(final, own):
        np.testing.assert_array_equal(a, b)


def test_jax_states_match_the_scipy_backend():
    """The states the readout is fitted to: those of the gradient's own forward pass, and of the second forward
    pass (:func:`jax_states`), against a SciPy simulation."""
    import jax

    import odesnn
    from odesnn.training.config import (
        batch_for_step,
        build_network,
        initial_voltages,
        make_task,
    )
    from odesnn.training.objective import jax_loss_and_grad, jax_states
    from odesnn.training.runs import initial_params

    jax.config.update("jax_enable_x64", True)
    cfg = default_config("xor", quick=True, n_neurons=6, duration=200.0, rtol=1e-10, atol=1e-12, batch_size=2,
                         readout="lstsq", trial_clip=1.0,
                         task_kwargs={"first_range": [10, 20], "gap_range": [30, 40], "cue_delay_range": [20, 30]})
    net = build_network(cfg)
    params = initial_params(cfg, net)._replace(I0=np.full(6, 0.02))  # all neurons fire
    batch, rng = batch_for_step(cfg, make_task(cfg), 0)
    v0 = initial_voltages(cfg, rng, batch.size)
    S, counts = jax_states(cfg, net, params, batch, v0)
    _, _, grad_counts, G = jax_loss_and_grad(cfg, net)(params, batch, v0)
    assert S.shape == G.shape == (2, batch.t.size, 6)
    np.testing.assert_array_equal(grad_counts, counts)
    np.testing.assert_allclose(G, S, rtol=0, atol=1e-12)  # the same integration, with and without the adjoint's log
    for b in range(2):
        kw = dict(v0=v0[b], t_eval=batch.t, rtol=1e-10, atol=1e-12)
        ref = odesnn.simulate(net, params, (batch.t, batch.inputs[b]), None, (0.0, cfg.duration), **kw)
        assert ref.n_spikes == counts[b] >= 30
        # the SciPy backend: its spike times differ from JAX's by up to 2.4e-6 ms here (75 spikes), which moves
        # s by about 1e-7; a wrong state would be off by a spike's jump, 1/τ = 0.05
        np.testing.assert_allclose(S[b], ref.s, rtol=0, atol=1e-6)
