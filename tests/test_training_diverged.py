"""A run whose batches keep being skipped stops with TrainingDiverged naming the cause; a full JAX spike buffer is
an error naming ``max_spikes``, never a silent NaN; the default auto-encoder's buffers hold its spikes and it
trains (issue 31)."""

import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

from odesnn import SimulationError
from odesnn.training import TrainingDiverged, build_network, default_config, train
from odesnn.training.buffers import BUFFER_RATE_HZ, spike_buffer, step_budget
from odesnn.training.config import batch_for_step, initial_voltages, make_task
from odesnn.training.loop import diverged
from odesnn.training.objective import jax_loss_and_grad
from odesnn.training.runs import initial_params

# a small auto-encoder: 6 neurons, trials of 100 ms, batches of 2
SMALL = {"n_neurons": 6, "duration": 100.0, "batch_size": 2, "eval_trials": 1, "task_kwargs": {"period": 100.0}}


def _records(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _scripted(outcomes):
    """A ``loss_and_grad`` whose k-th call does ``outcomes[k]``: "ok" (a finite loss and gradient), "raise" (a
    simulation error naming max_spikes), "nan_loss", or "nan_U" (finite loss, non-finite gradient of U)."""
    calls = {"n": 0}

    def fn(params, batch, v0, count):
        what = outcomes[calls["n"]]
        calls["n"] += 1
        if what == "raise":
            raise SimulationError("trial 1: spike buffer max_spikes=77 exceeded at t=12.5 ms")
        grads = type(params)(*(2 * p + 0.1 for p in params))
        if what == "nan_U":
            grads = grads._replace(U=np.full_like(grads.U, np.inf))
        loss = float("nan") if what == "nan_loss" else float(sum(np.sum(p**2) for p in params))
        return loss, grads, np.array([12.0, 18.0])  # 15 spikes a trial: 25 spikes/neuron/s over 6 neurons, 100 ms

    return fn


def _train_quietly(cfg, out, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return train(cfg, out, loss_and_grad=fn, progress=False)


def test_a_short_run_whose_every_batch_is_skipped_stops_naming_the_cause(tmp_path):
    """3 steps, all skipped (fewer than max_skipped=20): before, the run returned and saved an untrained network."""
    cfg = default_config("autoencoder", quick=True, steps=3, checkpoint_every=10, **SMALL)
    with pytest.raises(TrainingDiverged) as info:
        _train_quietly(cfg, tmp_path / "raise", _scripted(["raise"] * 3))
    text = str(info.value)
    assert "3 consecutive batches skipped (steps 0..2)" in text
    assert "ended with 3 of its 3 steps skipped" in text
    assert "SimulationError: trial 1: spike buffer max_spikes=77 exceeded" in text
    assert "no spike rate was measured" in text
    assert not (tmp_path / "raise" / "params.npz").exists()  # no network saved as if trained
    with np.load(tmp_path / "raise" / "checkpoint.npz") as ck:  # the start, the last good parameters
        assert int(ck["step"]) == 3
        np.testing.assert_array_equal(ck["param_U"], initial_params(cfg, build_network(cfg)).U)
    assert [r["skipped"] for r in _records(tmp_path / "raise")] == [True] * 3

    with pytest.raises(TrainingDiverged, match=r"The last cause: the gradient of U was non-finite; the last spike "
                                               r"rate measured was 25 spikes/neuron/s"):
        _train_quietly(cfg, tmp_path / "nan_U", _scripted(["nan_U"] * 3))
    with pytest.raises(TrainingDiverged, match=r"The last cause: the loss was nan;"):
        _train_quietly(cfg, tmp_path / "nan_loss", _scripted(["nan_loss"] * 3))


@pytest.mark.parametrize("outcomes, stops", [
    (["ok", "raise", "raise"], True),  # a huge step: the first update succeeds, every later batch is skipped
    (["ok", "raise"], True),  # half of the steps
    (["ok", "ok", "raise", "raise"], True),
    (["ok", "ok", "ok", "raise"], False),  # a run that ends on one skipped batch after three good ones trained
    (["raise", "ok", "ok", "ok"], False),  # an early skip that the run recovered from
    (["ok", "raise", "ok", "raise", "ok"], False),
])
def test_the_trailing_streak_of_skipped_batches_stops_a_run_that_it_covers_half_of(tmp_path, outcomes, stops):
    cfg = default_config("autoencoder", quick=True, steps=len(outcomes), checkpoint_every=10, **SMALL)
    last_ok = max(i for i, o in enumerate(outcomes) if o == "ok")
    streak = len(outcomes) - 1 - last_ok  # the skipped batches after the last good one
    assert diverged(streak, len(outcomes), cfg.max_skipped) == stops
    if stops:
        with pytest.raises(TrainingDiverged, match=rf"{streak} consecutive batches skipped \(steps "
                                                   rf"{len(outcomes) - streak}\.\.{len(outcomes) - 1}\).*ended with "
                                                   rf"{streak} of its {len(outcomes)} steps"):
            _train_quietly(cfg, tmp_path, _scripted(outcomes))
        assert not (tmp_path / "params.npz").exists()
    else:
        _train_quietly(cfg, tmp_path, _scripted(outcomes))
        assert (tmp_path / "params.npz").exists()
    assert [r["skipped"] for r in _records(tmp_path)] == [o != "ok" for o in outcomes]


def test_a_resumed_run_counts_the_steps_it_took_itself(tmp_path):
    base = dict(quick=True, checkpoint_every=1, **SMALL)
    _train_quietly(default_config("autoencoder", steps=4, **base), tmp_path, _scripted(["ok"] * 4))
    (tmp_path / "params.npz").unlink()
    with warnings.catch_warnings(), pytest.raises(TrainingDiverged, match=r"2 consecutive batches skipped \(steps "
                                                                          r"4\.\.5\).*ended with 2 of its 2 steps"):
        warnings.simplefilter("ignore")
        train(default_config("autoencoder", steps=6, **base), tmp_path, resume=True,
              loss_and_grad=_scripted(["raise"] * 2), progress=False, log=lambda *a: None)
    assert not (tmp_path / "params.npz").exists()


def test_the_rule_counts_the_steps_of_this_call_and_keeps_max_skipped():
    assert diverged(20, 500, 20)  # max_skipped in a row, however long the run
    assert not diverged(19, 500, 20)
    assert diverged(3, 5, 20) and not diverged(2, 5, 20)
    assert not diverged(0, 0, 20)  # a run that took no step (steps=0, or resumed at its end)


def test_a_huge_learning_rate_stops_the_run(tmp_path):
    """lr=1000: Adam's first step moves every trained entry by about 1000; the network then runs away, the rate
    guard stops every later trial, and `odesnn train` exits with the message instead of saying that the trained
    network was saved."""
    config = tmp_path / "huge_lr.json"
    config.write_text(json.dumps({"steps": 3, "lr": 1000.0, "lr_final": 1000.0, "checkpoint_every": 10, **SMALL}))
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "odesnn", "train", "autoencoder", "--quick", "--config", str(config),
                           "--out", str(out)], check=False, capture_output=True, text=True, timeout=600)
    assert done.returncode != 0
    assert "trained network saved" not in done.stdout and "Traceback" not in done.stderr
    text = done.stderr.strip().splitlines()[-1]
    assert text.startswith("odesnn train: 2 consecutive batches skipped (steps 1..2)")
    assert "ended with 2 of its 3 steps" in text and "SimulationError" in text and "max_rate" in text
    assert not (out / "params.npz").exists()
    records = _records(out)
    assert [r["skipped"] for r in records] == [False, True, True]
    assert np.isfinite(records[0]["loss"])
    with np.load(out / "checkpoint.npz") as ck:  # step 0's update, the last good one
        assert int(ck["step"]) == 3
        assert np.max(np.abs(ck["param_Wf"])) > 100


def _batch(cfg, step=0):
    net = build_network(cfg)
    batch, rng = batch_for_step(cfg, make_task(cfg), step)
    return net, batch, initial_voltages(cfg, rng, batch.size)


@pytest.mark.parametrize("trial_clip", [None, 3.0])  # the batch-mean gradient, and the per-trial one
def test_a_full_spike_buffer_is_an_error_naming_max_spikes_not_a_nan(trial_clip):
    """Before, a trial that filled the buffer gave a NaN loss that said nothing: every default auto-encoder batch
    of 1200 ms was skipped as 'non-finite'."""
    cfg = default_config("autoencoder", quick=True, max_spikes=40, trial_clip=trial_clip, **SMALL)
    net, batch, v0 = _batch(cfg)
    fn = jax_loss_and_grad(cfg, net)
    with pytest.raises(SimulationError, match=r"trials failed to simulate, so the loss is NaN; trial \d: spike "
                                              r"buffer max_spikes=40 exceeded .*the run's `max_spikes` is 40"):
        fn(initial_params(cfg, net), batch, v0)
    loss, grads, counts = fn(initial_params(cfg, net)._replace(U=np.zeros((6, 2))), batch, v0)  # silent: no spike
    assert np.isfinite(loss) and np.all(counts == 0) and all(np.all(np.isfinite(g)) for g in grads)


def test_the_default_buffers_are_sized_to_the_run():
    cfg = default_config("autoencoder")
    assert cfg.max_spikes is None and cfg.max_steps is None
    assert spike_buffer(cfg) == int(np.ceil(BUFFER_RATE_HZ * 30 * 1.2)) == 108000
    assert step_budget(cfg) == 2 * 108000
    longer = default_config("autoencoder", duration=2400.0, task_kwargs={"period": 1200.0})
    assert spike_buffer(longer) == 2 * spike_buffer(cfg)
    assert spike_buffer(default_config("autoencoder", task_kwargs={"duration": 600.0})) == 54000
    assert spike_buffer(default_config("autoencoder", max_spikes=500)) == 500
    assert step_budget(default_config("autoencoder", quick=True)) == 65536  # the floor
    xor = default_config("xor")  # XOR keeps the buffers its recipe was measured with
    assert (spike_buffer(xor), step_budget(xor)) == (16384, 65536)
    with pytest.raises(ValueError, match=r"`max_spikes` must be an integer >= 1, got 0"):
        default_config("autoencoder", max_spikes=0)


def _input_only_spikes(U, batch):
    """Spikes per trial of NIF neurons driven by ``U i(t)`` alone: one per unit of ``∫|U_j i| dt`` (thresholds
    ±1, reset 0), up to the partial interval at each end."""
    drive = np.abs(np.einsum("nm,btm->btn", U, batch.inputs))
    return np.sum(np.trapezoid(drive, batch.t, axis=1), axis=1)


def test_the_default_buffers_hold_the_spikes_of_the_default_start():
    """The default start (W = W_f = 0, input rows of norm 2) fires at its input-only rate, about 1100 Hz: more
    than 16384 spikes (the fixed buffer of before) in almost every 1200 ms trial. Every trial of the first 20
    default batches must fit the buffer, and the busiest trial of step 0 must simulate to the end with the
    default options, firing as predicted."""
    from odesnn.jax import Model, make_batch, simulate
    from odesnn.training.objective import jax_options, task_span

    cfg = default_config("autoencoder")
    net, task = build_network(cfg), make_task(cfg)
    params = initial_params(cfg, net)
    per_trial = np.concatenate([_input_only_spikes(params.U, batch_for_step(cfg, task, step)[0])
                                for step in range(20)])
    assert 900 < np.mean(per_trial / cfg.n_neurons / 1.2) < 1300  # Hz
    assert np.sum(per_trial > 16384) > 0.9 * per_trial.size
    assert np.max(per_trial) < 0.9 * spike_buffer(cfg)

    batch, rng = batch_for_step(cfg, task, 0)
    v0 = initial_voltages(cfg, rng, batch.size)
    k = int(np.argmax(_input_only_spikes(params.U, batch)))
    expected = _input_only_spikes(params.U, batch)[k]
    b = make_batch(net, batch.t, batch.inputs[k:k + 1], batch.targets[k:k + 1], task_span(batch), v0=v0[k:k + 1])
    sol = simulate(b, params=params, model=Model(net, "linear", "linear"), t_eval=np.array([0.0]),
                   options=jax_options(cfg))  # throw=True: a full buffer or the step cap would raise
    n_spikes, n_steps = int(sol.stats["n_events"][0]), int(sol.stats["n_steps"][0])
    assert abs(n_spikes - expected) < 0.02 * expected + cfg.n_neurons
    assert n_spikes > 3 * 16384 and n_steps > 65536  # beyond both fixed caps of before
    assert n_spikes < spike_buffer(cfg) and n_steps < step_budget(cfg)


@pytest.mark.slow
def test_the_default_autoencoder_trains_two_steps(tmp_path):
    """`odesnn train autoencoder` at its defaults (30 neurons, batches of 50 trials of 1200 ms), two steps:
    finite losses, no batch skipped, the trained groups move. About 7 minutes on a 2-core CPU (before: every
    loss NaN, every batch skipped, and the run returned as if trained)."""
    cfg = default_config("autoencoder", steps=2)
    net, params = train(cfg, tmp_path, progress=False)
    records = _records(tmp_path)
    assert [r["skipped"] for r in records] == [False, False]
    assert all(np.isfinite(r["loss"]) and r["loss"] > 0 for r in records)
    start = initial_params(cfg, net)
    # step 0 runs the start, whose neurons fire at their input-only rate (~1100 Hz): every spike was counted
    predicted = _input_only_spikes(start.U, batch_for_step(cfg, make_task(cfg), 0)[0])
    rate0 = np.mean(predicted) / cfg.n_neurons / 1.2
    assert abs(records[0]["spikes_per_neuron_per_s"] - rate0) < 0.02 * rate0
    assert records[1]["spikes_per_neuron_per_s"] > 0
    for name in cfg.train:
        assert not np.array_equal(getattr(params, name), getattr(start, name)), name
    assert np.all(np.isfinite(np.concatenate([np.ravel(p) for p in params])))
