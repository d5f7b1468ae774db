"""Training: reproducible resume after SIGKILL, skipped bad batches, atomic checkpoints, task generators."""

import dataclasses
import json
import random
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

from odesnn import _io
from odesnn.tasks import xor
from odesnn.tasks.sinusoid import PREDICTIVE_A, autoencoder, predictive
from odesnn.training import TrainConfig, default_config, train

SMALL = {"n_neurons": 6, "duration": 100.0, "batch_size": 2, "steps": 6, "checkpoint_every": 2, "eval_trials": 1,
         "task_kwargs": {"period": 100.0}}


def _train_cmd(out, config, resume=False):
    cmd = [sys.executable, "-m", "odesnn", "train", "autoencoder", "--quick", "--config", str(config),
           "--out", str(out)]
    return cmd + (["--resume"] if resume else [])


def _killed_then_resumed(tmp_path, config, seed):
    out = tmp_path / f"killed{seed}"
    proc = subprocess.Popen(_train_cmd(out, config), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while not (out / "checkpoint.npz").exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(random.Random(seed).uniform(0.0, 3.0))
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    subprocess.run(_train_cmd(out, config, resume=True), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=600)
    return out


def _records_without_timing(path):
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for r in records:
        assert r.pop("step_s") >= 0
    return records


def _check_same(reference, out):
    # every field but the wall time of each step is bitwise the same
    assert _records_without_timing(out / "metrics.jsonl") == _records_without_timing(reference / "metrics.jsonl")
    with np.load(reference / "params.npz") as a, np.load(out / "params.npz") as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ref")
    config = tmp / "small.json"
    config.write_text(json.dumps(SMALL))
    subprocess.run(_train_cmd(tmp / "ref", config), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=600)
    return tmp / "ref", config


@pytest.mark.slow  # 10-60 s on a 2-core CPU; the default suite stays under 10 minutes
def test_resume_after_sigkill_matches_uninterrupted_run(tmp_path, reference_run):
    reference, config = reference_run
    lines = (reference / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == SMALL["steps"]
    _check_same(reference, _killed_then_resumed(tmp_path, config, seed=1))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4, 5])
def test_resume_after_sigkill_repeatedly(tmp_path, reference_run, seed):
    reference, config = reference_run
    _check_same(reference, _killed_then_resumed(tmp_path, config, seed))


def _fake_loss_and_grad(bad_steps):
    calls = {"n": 0}

    def fn(params, batch, v0, count):
        step = calls["n"]
        calls["n"] += 1
        if step in bad_steps:
            return float("nan"), type(params)(*(np.full_like(p, np.nan) for p in params)), None
        grads = type(params)(*(2 * p + 0.1 for p in params))
        return float(sum(np.sum(p**2) for p in params)), grads, np.array([3, 5])

    return fn


def _killed_in_step_then_resumed(cfg, out, step):
    """Train ``cfg`` into ``out`` with the fake gradient until it dies in its ``step``-th step, then resume it."""
    fake, calls = _fake_loss_and_grad(set()), {"n": 0}

    def dies(*args):
        calls["n"] += 1
        if calls["n"] == step:
            raise RuntimeError("killed")
        return fake(*args)

    with pytest.raises(RuntimeError, match="killed"):
        train(cfg, out, loss_and_grad=dies, progress=False)
    train(cfg, out, resume=True, loss_and_grad=_fake_loss_and_grad(set()), progress=False)


def test_non_finite_batch_is_skipped_and_params_stay_finite(tmp_path):
    small = {k: v for k, v in SMALL.items() if k not in ("steps", "checkpoint_every")}
    cfg = default_config("autoencoder", quick=True, steps=5, checkpoint_every=2, **small)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net, params = train(cfg, tmp_path, loss_and_grad=_fake_loss_and_grad({1, 3}), progress=False)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["skipped"] for r in records] == [False, True, False, True, False]
    assert any("batch skipped" in str(w.message) for w in caught)
    assert all(np.all(np.isfinite(p)) for p in params)


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "checkpoint.npz"
    _io.save_npz(target, a=np.arange(3))
    before = target.read_bytes()

    def broken_savez(fh, **arrays):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        _io.save_npz(target, a=np.arange(5))
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.npz"]


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="task"):
        TrainConfig(task="mnist")
    with pytest.raises(ValueError, match="lr"):
        TrainConfig(lr=-1.0)
    with pytest.raises(ValueError, match="train"):
        TrainConfig(train=("W", "V"))
    with pytest.raises(ValueError, match="unknown config keys"):
        TrainConfig.from_dict({"learning_rate": 0.1})
    for bad in (0.0, -1.0, float("inf")):
        with pytest.raises(ValueError, match=r"`trial_clip` must be None or a positive number, got"):
            TrainConfig(trial_clip=bad)


@pytest.mark.slow  # 10-60 s on a 2-core CPU; the default suite stays under 10 minutes
def test_per_trial_clipping_caps_each_trial_at_a_multiple_of_the_median():
    """``trial_clip``: each trial's gradient, computed alone, is scaled to at most factor x the median norm."""
    from odesnn.jax import Model, make_batch, value_and_grad
    from odesnn.training.config import (
        batch_for_step,
        build_network,
        initial_voltages,
        make_task,
    )
    from odesnn.training.objective import jax_loss_and_grad

    cfg = default_config("autoencoder", quick=True, **{**SMALL, "batch_size": 5, "rtol": 1e-9, "atol": 1e-11})
    net = build_network(cfg)
    params = net.init_params(2, w_scale=0.0, wf_scale=0.3, u_scale=0.3, o_scale=0.5)
    batch, rng = batch_for_step(cfg, make_task(cfg), 0)
    v0 = initial_voltages(cfg, rng, batch.size)
    loss, plain, _ = jax_loss_and_grad(cfg, net)(params, batch, v0)
    # each trial's gradient alone, through the ordinary batch-mean gradient
    model = Model(net, "linear", "linear")
    alone = []
    for b in range(batch.size):
        one = make_batch(net, batch.t, batch.inputs[b:b + 1], batch.targets[b:b + 1], (0.0, cfg.duration),
                         v0=v0[b:b + 1])
        alone.append([np.asarray(g) / cfg.duration for g in value_and_grad(params, one, model=model,
                                                                              rtol=cfg.rtol, atol=cfg.atol)[1]])
    trained = [name in cfg.train for name in plain._fields]
    norms = np.array([np.sqrt(sum(np.sum(g**2) for g, t in zip(a, trained) if t)) for a in alone])
    assert np.max(norms) > 1.5 * np.median(norms)  # some trial is capped
    for factor in (1.0, 1.5, 1e9):
        c = TrainConfig(**{**cfg.__dict__, "trial_clip": factor})
        loss_c, clipped, _ = jax_loss_and_grad(c, net)(params, batch, v0)
        assert loss_c == pytest.approx(loss, rel=1e-12)  # the loss is not changed
        w = np.minimum(1.0, factor * np.median(norms) / norms)
        for k, (name, g) in enumerate(zip(plain._fields, clipped)):
            expected = sum(w[b] * alone[b][k] for b in range(batch.size)) / batch.size
            # a trial alone is stepped slightly differently from within the batch (solver rtol 1e-9)
            np.testing.assert_allclose(g, expected, rtol=0, atol=1e-6 * np.max(np.abs(expected)), err_msg=name)
    np.testing.assert_allclose(np.concatenate([np.ravel(g) for g in clipped]),  # factor 1e9 is the plain mean
                               np.concatenate([np.ravel(g) for g in plain]), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("make,A", [(autoencoder, None), (predictive, PREDICTIVE_A)])
def test_sinusoid_targets_solve_their_ode(make, A):
    task = make(duration=600.0, period=600.0)
    batch = task.sample(np.random.default_rng(0), 2)
    A = np.zeros((2, 2)) if A is None else A
    for i, o in zip(batch.inputs, batch.targets):
        do = np.gradient(o, batch.t, axis=0)
        resid = task.tau * do - (-o + o @ A.T + i)
        assert np.max(np.abs(resid[2:-2])) < 1e-3 * np.max(np.abs(i))
        np.testing.assert_allclose(o[0], o[-1], atol=1e-9)  # periodic


def test_xor_targets_and_decision_rule():
    task = xor()
    batch = task.sample(np.random.default_rng(1), 60)
    labels = batch.info["labels"]
    assert set(labels) == {-1, 0, 1}
    np.testing.assert_array_equal(task.decide(batch.t, batch.targets, batch.info["go"]), labels)
    # the doubled window mean of a target bump is its label (a raised cosine's mean is half its peak; to 2 %
    # on the 1 ms grid, whose 60-61 samples of the window miss the continuous mean by about 1/60)
    np.testing.assert_allclose(task.window_means(batch.t, batch.targets, batch.info["go"]), labels, atol=0.02)
    scaled = task.window_means(batch.t, 0.6 * batch.targets, batch.info["go"])
    np.testing.assert_array_equal(task.decide(batch.t, 0.4 * batch.targets, batch.info["go"]), 0 * labels)
    np.testing.assert_allclose(scaled, 0.6 * task.window_means(batch.t, batch.targets, batch.info["go"]))
    assert np.mean(task.decide(batch.t, np.zeros_like(batch.targets), batch.info["go"]) == labels) < 0.6
    # the first pulse's sign, read off the input channel
    first_value = [x[np.flatnonzero(np.abs(x) > 1e-9)[0]] for x in batch.inputs[:, :, 0]]
    np.testing.assert_array_equal(np.sign(first_value), batch.info["first_sign"])


def test_float64_without_x64_fails_before_training(tmp_path):
    """Calling ``train`` from Python without ``jax_enable_x64`` is a clear error, not a run of skipped batches."""
    code = ("from odesnn.training import default_config, train\n"
            f"train(default_config('autoencoder', quick=True), {str(tmp_path)!r}, progress=False)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode != 0
    assert "jax_enable_x64" in out.stderr and "dtype" in out.stderr
    assert not (tmp_path / "metrics.jsonl").exists()


def test_a_run_whose_every_batch_fails_stops_with_a_clear_error(tmp_path):
    """A diverged network (every batch skipped) stops after `max_skipped` steps and keeps its last good state."""
    from odesnn.training import TrainingDiverged

    cfg = default_config("autoencoder", quick=True, steps=50, checkpoint_every=100, max_skipped=4,
                         **{k: v for k, v in SMALL.items() if k not in ("steps", "checkpoint_every")})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(TrainingDiverged, match=r"4 consecutive batches skipped \(steps 2\.\.5\)"):
            train(cfg, tmp_path, loss_and_grad=_fake_loss_and_grad(set(range(2, 50))), progress=False)
    records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(records) == 6
    with np.load(tmp_path / "checkpoint.npz") as ck:
        assert int(ck["step"]) == 6
        assert np.all(np.isfinite(ck["param_U"]))


def test_init_from_starts_a_run_at_another_runs_parameters(tmp_path):
    base = {k: v for k, v in SMALL.items() if k not in ("steps", "checkpoint_every")}
    first = default_config("autoencoder", quick=True, steps=3, checkpoint_every=3, **base)
    _, trained = train(first, tmp_path / "stage1", loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    seen = []

    def record_first(params, batch, v0, count):
        seen.append([np.array(p) for p in params])
        return _fake_loss_and_grad(set())(params, batch, v0, count)

    second = default_config("autoencoder", quick=True, steps=2, checkpoint_every=2, init_from=str(tmp_path / "stage1"),
                            **base)
    train(second, tmp_path / "stage2", loss_and_grad=record_first, progress=False)
    for a, b in zip(seen[0], trained):
        np.testing.assert_array_equal(a, b)
    fresh = default_config("autoencoder", quick=True, steps=1, **base)
    assert not np.array_equal(trained.U, _first_params(fresh).U)  # stage 1 moved them
    saved = json.loads((tmp_path / "stage2" / "train_config.json").read_text())
    assert saved["init_from"] == str(tmp_path / "stage1")
    with pytest.raises(ValueError, match=r"`init_from`=.*different network.*n_neurons"):
        train(default_config("autoencoder", quick=True, init_from=str(tmp_path / "stage1"),
                             **{**base, "n_neurons": 7}), tmp_path / "bad", progress=False)
    with pytest.raises(FileNotFoundError, match=r"`init_from`="):
        train(default_config("autoencoder", quick=True, init_from=str(tmp_path / "nowhere"), **base),
              tmp_path / "bad2", progress=False)
    with pytest.raises(ValueError, match=r"`init_from` must be None or a run directory path, got 3"):
        TrainConfig(init_from=3)
    import shutil

    shutil.rmtree(tmp_path / "stage1")  # resuming reads the checkpoint, not `init_from`
    _, resumed = train(second, tmp_path / "stage2", resume=True, loss_and_grad=record_first, progress=False)
    with np.load(tmp_path / "stage2" / "checkpoint.npz") as ck:
        np.testing.assert_array_equal(resumed.U, ck["param_U"])


def test_zero_steps_saves_the_initial_network_untrained(tmp_path):
    from odesnn import load
    from odesnn.training import load_run

    base = {k: v for k, v in SMALL.items() if k not in ("steps", "checkpoint_every")}
    cfg = default_config("autoencoder", quick=True, steps=0, **base)

    def never(*args):
        raise AssertionError("no step may be taken")

    net, params = train(cfg, tmp_path / "frozen", loss_and_grad=never, progress=False)
    expected = _first_params(cfg)
    _, saved = load(tmp_path / "frozen")
    for a, b, c in zip(params, saved, expected):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, c)
    assert load_run(tmp_path / "frozen")[0].steps == 0
    with pytest.raises(ValueError, match=r"`steps` must be an integer >= 0, got -1"):
        TrainConfig(steps=-1)


def test_config_integers_take_numpy_ints_and_refuse_bools():
    # a config built from numpy values (a sweep script) is the same config; True is not a batch size
    cfg = TrainConfig(steps=np.int64(3), batch_size=np.int32(4), seed=np.int64(7))
    assert (cfg.steps, cfg.batch_size, cfg.seed) == (3, 4, 7)
    assert all(type(v) is int for v in (cfg.steps, cfg.batch_size, cfg.seed))
    for name in ("steps", "batch_size", "seed", "eval_trials", "max_steps"):
        with pytest.raises(ValueError, match=rf"`{name}` must be an integer >= \d, got True"):
            TrainConfig(**{name: True})
    with pytest.raises(ValueError, match=r"`seed` must be an integer >= 0, got 1.5"):
        TrainConfig(seed=1.5)
    with pytest.raises(ValueError, match=r"`width` must be a positive number .*got 0"):
        TrainConfig(width=0)
    with pytest.raises(ValueError, match=r"`tau_f` must be None or a positive number, got -1"):
        TrainConfig(tau_f=-1)
    with pytest.raises(ValueError, match=r"`lam` must be None .*got nan"):
        TrainConfig(lam=float("nan"))
    with pytest.raises(ValueError, match=r"`tau_v` must be a positive number, got True"):
        TrainConfig(tau_v=True)


def _first_params(cfg):
    from odesnn.training import build_network
    from odesnn.training.runs import initial_params

    return initial_params(cfg, build_network(cfg))


def test_lr_scale_multiplies_each_groups_step(tmp_path):
    base = {k: v for k, v in SMALL.items() if k not in ("steps", "checkpoint_every")}
    runs = {}
    scales = {"plain": {}, "scaled": {"U": 0.5, "Wf": 0.0},
              "entries": {"U": [0.0, 2.0], "Wf": [[0.25]], "I0": 1.5}}  # per column, broadcast, scalar
    for label, scale in scales.items():
        cfg = default_config("autoencoder", quick=True, steps=1, checkpoint_every=1, lr_scale=scale, **base)
        start = _first_params(cfg)
        _, end = train(cfg, tmp_path / label, loss_and_grad=_fake_loss_and_grad(set()), progress=False)
        runs[label] = [np.asarray(b) - np.asarray(a) for a, b in zip(start, end)]
    from odesnn import Params

    for label in ("scaled", "entries"):
        for name, plain, scaled in zip(Params._fields, runs["plain"], runs[label]):  # one Adam step each
            factor = np.asarray(scales[label].get(name, 1.0))
            np.testing.assert_allclose(scaled, factor * plain, rtol=1e-12, atol=0, err_msg=f"{label} {name}")
    U = Params._fields.index("U")
    assert np.all(runs["plain"][U] != 0) and np.all(runs["entries"][U][:, 0] == 0)
    cfg = default_config("autoencoder", quick=True, steps=1, lr_scale={"U": [1.0, 1.0, 1.0]}, **base)
    with pytest.raises(ValueError, match=r"`lr_scale`\['U'\] has shape \(3,\), which does not broadcast against "
                                         r"the shape \(\d+, 2\) of U"):
        train(cfg, tmp_path / "bad", loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    for bad in ("0.5", [1.0, float("nan")], [], True):
        with pytest.raises(ValueError, match=r"`lr_scale`\['U'\] must be a non-negative number or a nested list"):
            TrainConfig(lr_scale={"U": bad})
    with pytest.raises(ValueError, match=r"`lr_scale` must be a dict of parameter group to factor, got"):
        TrainConfig(lr_scale=[1.0])
    with pytest.raises(ValueError, match=r"`lr_scale` names unknown parameter group 'V'"):
        TrainConfig(lr_scale={"V": 1.0})
    with pytest.raises(ValueError, match=r"`lr_scale`\['U'\] must be a non-negative number or a nested list "
                                         r"of them, got -1"):
        TrainConfig(lr_scale={"U": -1})


def test_sgd_step_is_the_learning_rate_times_the_gradient(tmp_path):
    base = {k: v for k, v in SMALL.items() if k not in ("steps", "checkpoint_every")}
    cfg = default_config("autoencoder", quick=True, steps=1, checkpoint_every=1, optimizer="sgd", lr=0.003,
                         lr_final=0.001, clip=1e9, **base)
    start = _first_params(cfg)
    _, end = train(cfg, tmp_path, loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    from odesnn import Params
    from odesnn.training import build_network

    net = build_network(cfg)
    masks = {"W": net.W_mask_array, "Wf": net.Wf_mask_array}  # entries the network holds at zero never move
    for name, a, b in zip(Params._fields, start, end):
        # the fake gradient, on the trained groups' unmasked entries
        grad = (2 * np.asarray(a) + 0.1) * (name in cfg.train) * masks.get(name, 1.0)
        np.testing.assert_allclose(np.asarray(b) - np.asarray(a), -0.003 * grad, rtol=1e-12, atol=1e-15,
                                   err_msg=name)
    with pytest.raises(ValueError, match=r"`optimizer` must be 'adam' or 'sgd', got 'rmsprop'"):
        TrainConfig(optimizer="rmsprop")


def test_snapshots_are_run_directories_of_the_network_at_their_step(tmp_path):
    """``snapshot_every``: DIR/snapshots/stepNNNNN holds the network after that step, loadable as a run; the
    last one equals the saved network, and a resumed run writes the same snapshots."""
    from odesnn.training import load_run, snapshot_path

    cfg = default_config("autoencoder", quick=True, **{**SMALL, "snapshot_every": 2, "checkpoint_every": 3})
    net, final = train(cfg, tmp_path / "run", loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    steps = sorted(p.name for p in (tmp_path / "run" / "snapshots").iterdir())
    assert steps == ["step00002", "step00004", "step00006"]
    snaps = [load_run(snapshot_path(tmp_path / "run", k)) for k in (2, 4, 6)]
    assert all(c == cfg for c, _, _ in snaps)
    for a, b in zip(snaps[-1][2], final):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(snaps[0][2].Wf, snaps[1][2].Wf)  # each is its own step's network
    # a run that dies in its fifth step (checkpoint at step 3, snapshots 2 and 4 written), then resumed
    _killed_in_step_then_resumed(cfg, tmp_path / "killed", 5)
    for k, (_, _, params) in zip((2, 4, 6), snaps):
        for a, b in zip(load_run(snapshot_path(tmp_path / "killed", k))[2], params):
            np.testing.assert_array_equal(a, b)
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="snapshot_every"):
            default_config("autoencoder", quick=True, snapshot_every=bad)


def _records(run):
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]


def _scipy_validation_scores(cfg, run_dir):
    """The validation scores of the network saved in ``run_dir``, recomputed with the SciPy backend."""
    from odesnn import simulate
    from odesnn.training import load_run
    from odesnn.training.config import make_task
    from odesnn.training.loop import validation_batch

    _, net, params = load_run(run_dir)
    task = make_task(cfg)
    batch, v0 = validation_batch(cfg, task)
    outputs = np.stack([simulate(net, params, (batch.t, batch.inputs[b]), None, (batch.t[0], batch.t[-1]),
                                 v0=v0[b], t_eval=batch.t, rtol=1e-10, atol=1e-12).o for b in range(batch.size)])
    err = np.sum((outputs - batch.targets) ** 2) / np.sum(batch.targets ** 2)
    decisions = task.decide(batch.t, outputs, batch.info["go"]) if cfg.task == "xor" else None
    return err, decisions, batch


def test_validation_keeps_the_best_network_and_a_resumed_run_keeps_comparing(tmp_path):
    """``validate_every``: every K steps the network is scored on fixed held-out trials; DIR/best holds the
    best one (the snapshot of its step), with scores that the SciPy backend reproduces on those trials."""
    from odesnn.training import load_run, snapshot_path

    cfg = default_config("autoencoder", quick=True, **{**SMALL, "validate_every": 2, "validate_trials": 3,
                                                       "snapshot_every": 2, "checkpoint_every": 3,
                                                       "rtol": 1e-9, "atol": 1e-11, "lr": 1e-3,
                                                       # weak inputs: tens of spikes a trial, not a thousand
                                                       "init": {"u_scale": 0.05, "u_sphere": True}})
    run = tmp_path / "run"
    train(cfg, run, loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    vals = {r["step"] + 1: r["val_rel_error"] for r in _records(run) if "val_rel_error" in r}
    assert sorted(vals) == [2, 4, 6] and len(set(vals.values())) == 3
    info = json.loads((run / "best" / "validation.json").read_text())
    # the start is validated first (step 0) and competes with the trained networks
    start = info["start"]["rel_error"]
    vals_all = {0: start, **vals}
    best_steps = min(vals_all, key=vals_all.get)
    assert info == {"steps": best_steps, "scores": {"rel_error": vals_all[best_steps]}, "n_trials": 3,
                    "start": {"rel_error": start}}
    best_params = _first_params(cfg) if best_steps == 0 else load_run(snapshot_path(run, best_steps))[2]
    for a, b in zip(load_run(run / "best")[2], best_params):
        np.testing.assert_array_equal(a, b)
    err, _, _ = _scipy_validation_scores(cfg, run / "best")
    np.testing.assert_allclose(err, vals_all[best_steps], rtol=1e-5)
    # killed in its fifth step (checkpoint at 3; validations 2 and 4 done), then resumed: the same record
    _killed_in_step_then_resumed(cfg, tmp_path / "killed", 5)
    assert json.loads((tmp_path / "killed" / "best" / "validation.json").read_text()) == info
    assert {r["step"] + 1: r["val_rel_error"] for r in _records(tmp_path / "killed") if "val_rel_error" in r} == vals
    # a fresh run into the directory drops the earlier run's best network
    train(dataclasses.replace(cfg, validate_every=None), run, loss_and_grad=_fake_loss_and_grad(set()),
          progress=False)
    assert not (run / "best").exists()


def test_patience_stops_a_run_whose_validation_no_longer_improves(tmp_path):
    """A frozen network (every learning-rate scale 0) scores the same at each validation: with ``patience`` 2
    the run stops after the second one that is no better than the start's (validated as step 0), keeps the
    start as its best, and a resumed run stays stopped."""
    frozen = {name: 0.0 for name in ("W", "Wf", "U", "O", "I0")}
    cfg = default_config("autoencoder", quick=True, **{**SMALL, "steps": 10, "validate_every": 1,
                                                       "validate_trials": 2, "patience": 2, "lr_scale": frozen})
    logs = []
    train(cfg, tmp_path, loss_and_grad=_fake_loss_and_grad(set()), progress=False, log=logs.append)
    records = _records(tmp_path)
    assert [r["step"] for r in records] == [0, 1]
    info = json.loads((tmp_path / "best" / "validation.json").read_text())
    assert {r["val_rel_error"] for r in records} == {info["start"]["rel_error"]}
    assert info["steps"] == 0
    with np.load(tmp_path / "checkpoint.npz") as data:
        assert int(data["step"]) == 2
    assert any("stopped early at step 2" in line for line in logs)
    assert any(line.startswith("validation of the start: rel_error") for line in logs)
    train(cfg, tmp_path, resume=True, loss_and_grad=_fake_loss_and_grad(set()), progress=False, log=logs.append)
    assert len(_records(tmp_path)) == 2


def test_lr_decay_steps_stops_a_run_part_way_along_a_longer_schedule(tmp_path):
    from odesnn.training import load_run, snapshot_path

    short = default_config("autoencoder", quick=True, **{**SMALL, "steps": 3, "lr_decay_steps": 6})
    full = default_config("autoencoder", quick=True, **{**SMALL, "steps": 6, "snapshot_every": 3})
    _, params = train(short, tmp_path / "short", loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    train(full, tmp_path / "full", loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    for a, b in zip(params, load_run(snapshot_path(tmp_path / "full", 3))[2]):
        np.testing.assert_array_equal(a, b)
    _, ends_early = train(dataclasses.replace(short, lr_decay_steps=None), tmp_path / "own",
                          loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    assert not np.array_equal(ends_early.Wf, params.Wf)  # the 3-step schedule decays faster


@pytest.mark.parametrize("overrides, name", [
    ({"patience": 3}, "patience"),
    ({"validate_every": 0}, "validate_every"),
    ({"validate_every": 2, "validate_trials": 0}, "validate_trials"),
    ({"validate_every": 2, "patience": 1.5}, "patience"),
    ({"lr_decay_steps": 0}, "lr_decay_steps"),
    ({"lr_decay_steps": True}, "lr_decay_steps"),
    ({"lr_final": float("nan")}, "lr_final"),
    ({"lr_final": -0.001}, "lr_final"),
    ({"lr_final": "0.001"}, "lr_final"),
    ({"neuron": "lif"}, "neuron"),
    ({"eval_trials": 0}, "eval_trials"),
])
def test_bad_validation_and_schedule_settings_are_refused_by_name(overrides, name):
    with pytest.raises(ValueError, match=name):
        default_config("autoencoder", quick=True, **overrides)


@pytest.mark.slow  # 10-60 s on a 2-core CPU; the default suite stays under 10 minutes
def test_validate_refit_scores_and_keeps_the_least_squares_readout_of_other_held_out_trials(tmp_path):
    """With ``validate_refit`` the best network's readout is the least-squares fit to SciPy-simulated states
    of the refitting trials, and its recorded scores are those of that readout on the validation trials: the
    XOR accuracy is the fraction of them decided right."""
    from odesnn import simulate
    from odesnn.training import load_run
    from odesnn.training.config import make_task
    from odesnn.training.loop import validation_batch
    from odesnn.training.validation import rank

    cfg = default_config("xor", quick=True, n_neurons=6, duration=200.0, batch_size=2, steps=1, validate_every=1,
                         validate_trials=6, validate_refit=4, readout_ridge=1e-12, rtol=1e-9, atol=1e-11, lr=1e-4,
                         init={"w_scale": 0.5, "u_scale": 1.0, "o_scale": 0.2, "i0_scale": 0.005, "i0_mean": 0.01},
                         task_kwargs={"first_range": (20.0, 40.0), "gap_range": (20.0, 30.0),
                                      "cue_delay_range": (20.0, 40.0)})
    _, params = train(cfg, tmp_path, loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    info = json.loads((tmp_path / "best" / "validation.json").read_text())
    _, net, best = load_run(tmp_path / "best")
    # the best is the start (validated as step 0) or the network after the step, each with another readout
    kept = _first_params(cfg) if info["steps"] == 0 else params
    np.testing.assert_array_equal(best.W, kept.W)
    batch, v0 = validation_batch(cfg, make_task(cfg), fit=True)
    X = np.concatenate([simulate(net, best, (batch.t, batch.inputs[b]), None, (batch.t[0], batch.t[-1]),
                                 v0=v0[b], t_eval=batch.t, rtol=1e-11, atol=1e-13).s for b in range(batch.size)])
    assert np.linalg.matrix_rank(X) == cfg.n_neurons  # the fit is unique
    O_ref = np.linalg.lstsq(X, batch.targets.reshape(-1, 1), rcond=None)[0].T
    np.testing.assert_allclose(best.O, O_ref, rtol=0, atol=1e-5 * np.abs(O_ref).max())
    err, decisions, scored = _scipy_validation_scores(cfg, tmp_path / "best")
    assert not np.array_equal(scored.inputs, batch.inputs)  # scored on trials other than those it was fitted to
    np.testing.assert_allclose(info["scores"]["rel_error"], err, rtol=1e-5)
    assert info["scores"]["accuracy"] == np.mean(decisions == scored.info["labels"])
    assert set(scored.info["labels"]) == {-1, 0, 1}  # the held-out trials hold every kind
    record, = _records(tmp_path)
    after_step = {"accuracy": record["val_accuracy"], "rel_error": record["val_rel_error"]}
    if info["steps"] == 1:
        assert info["scores"] == after_step
    else:  # the start is kept only if the step did not validate better
        assert info["scores"] == info["start"] and rank(info["start"]) <= rank(after_step)
    with pytest.raises(ValueError, match="validate_refit"):
        default_config("xor", quick=True, validate_every=1, validate_refit=0)


def test_average_runs_is_the_mean_of_the_runs_parameters_and_refuses_other_networks(tmp_path, capsys):
    """``average_runs`` / ``odesnn average``: every group is the elementwise mean of the runs' (a trained run, a
    snapshot); the result is a run directory of the first run's config; another network is refused by name."""
    from odesnn import load
    from odesnn.cli import main
    from odesnn.training import average_runs, load_run, snapshot_path

    base = {k: v for k, v in SMALL.items() if k not in ("seed", "snapshot_every")}
    runs = []
    for seed in (1, 2):
        cfg = default_config("autoencoder", quick=True, seed=seed, snapshot_every=2, **base)
        train(cfg, tmp_path / f"run{seed}", loss_and_grad=_fake_loss_and_grad(set()), progress=False)
        runs.append(tmp_path / f"run{seed}")
    members = [runs[0], runs[1], snapshot_path(runs[1], 2)]
    each = [load(m)[1] for m in members]
    assert not np.array_equal(each[0].U, each[1].U)  # different seeds drew different networks
    cfg, net, avg = average_runs(members, tmp_path / "avg")
    for name, group in zip(avg._fields, avg):
        np.testing.assert_allclose(group, sum(getattr(p, name) for p in each) / 3, rtol=1e-15, atol=1e-15)
    assert json.loads((tmp_path / "avg" / "average.json").read_text()) == {"runs": [str(m) for m in members]}
    saved_cfg, _, saved = load_run(tmp_path / "avg")
    assert saved_cfg == cfg == load_run(runs[0])[0]
    for a, b in zip(saved, avg):
        np.testing.assert_array_equal(a, b)
    assert main(["average", str(runs[1]), str(runs[0]), "--out", str(tmp_path / "cli")]) == 0
    assert "average of 2 runs" in capsys.readouterr().out
    np.testing.assert_allclose(load(tmp_path / "cli")[1].W, (each[0].W + each[1].W) / 2, rtol=1e-15, atol=1e-15)
    other = default_config("autoencoder", quick=True, **{**base, "n_neurons": 7})
    train(other, tmp_path / "seven", loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    with pytest.raises(ValueError, match=r"`runs`: '.*seven' holds a different network from '.*run1'.*n_neurons"):
        average_runs([runs[0], tmp_path / "seven"])
    with pytest.raises(ValueError, match="`runs` must name at least one run directory"):
        average_runs([])
    with pytest.raises(SystemExit, match=r"odesnn average: `runs`: `out`='.*nowhere' is not a training run"):
        main(["average", str(runs[0]), str(tmp_path / "nowhere"), "--out", str(tmp_path / "bad")])


def _damage(path, how):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if how == "truncated" else b"not a zip file\n" * 10)


@pytest.mark.parametrize("how", ["truncated", "garbage"])
def test_a_damaged_checkpoint_resumes_from_the_previous_one_with_a_warning(tmp_path, how):
    from odesnn.training.checkpoint import checkpoint_path, previous_checkpoint_path

    cfg = default_config("autoencoder", quick=True, **SMALL)  # 6 steps, a checkpoint every 2
    _, reference = train(cfg, tmp_path / "ref", loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    out = tmp_path / "run"
    fake, calls = _fake_loss_and_grad(set()), {"n": 0}

    def dies(*args):  # killed in the sixth step: checkpoints of steps 2 and 4 written
        calls["n"] += 1
        if calls["n"] == 6:
            raise RuntimeError("killed")
        return fake(*args)

    with pytest.raises(RuntimeError, match="killed"):
        train(cfg, out, loss_and_grad=dies, progress=False)
    with np.load(checkpoint_path(out)) as a, np.load(previous_checkpoint_path(out)) as b:
        assert (int(a["step"]), int(b["step"])) == (4, 2)
    _damage(checkpoint_path(out), how)
    logs = []
    with pytest.warns(UserWarning, match=r"checkpoint\.npz cannot be read.*resuming from the previous checkpoint "
                                         r".*checkpoint\.prev\.npz at step 2"):
        _, params = train(cfg, out, resume=True, loss_and_grad=_fake_loss_and_grad(set()), progress=False,
                          log=logs.append)
    assert any("at step 2" in line for line in logs)
    # the resumed run is the uninterrupted one: same metrics, same parameters
    assert _records_without_timing(out / "metrics.jsonl") == _records_without_timing(tmp_path / "ref" /
                                                                                     "metrics.jsonl")
    for a, b in zip(params, reference):
        np.testing.assert_array_equal(a, b)


def test_no_readable_checkpoint_fails_naming_the_file_and_what_to_do(tmp_path):
    from odesnn.training.checkpoint import CheckpointError, checkpoint_path, previous_checkpoint_path

    cfg = default_config("autoencoder", quick=True, **SMALL)
    train(cfg, tmp_path, loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    _damage(checkpoint_path(tmp_path), "truncated")
    previous_checkpoint_path(tmp_path).unlink()  # a run of an older odesnn kept none
    with pytest.raises(CheckpointError, match=r"checkpoint\.npz cannot be read \(BadZipFile.*checkpoint\.prev\.npz "
                                              r"does not exist.*without --resume"):
        train(cfg, tmp_path, resume=True, loss_and_grad=_fake_loss_and_grad(set()), progress=False)


def test_odesnn_train_resume_with_a_truncated_checkpoint_says_what_to_do(tmp_path):
    from odesnn import cli
    from odesnn.training.checkpoint import checkpoint_path, previous_checkpoint_path

    cfg = default_config("autoencoder", quick=True, **SMALL)
    out = tmp_path / "run"
    train(cfg, out, loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    for path in (checkpoint_path(out), previous_checkpoint_path(out)):
        _damage(path, "truncated")
    config = tmp_path / "small.json"
    config.write_text(json.dumps(SMALL))
    with pytest.raises(SystemExit) as exc:
        cli.main(["train", "autoencoder", "--quick", "--config", str(config), "--out", str(out), "--resume"])
    message = str(exc.value.code)
    assert message.startswith("odesnn train: no checkpoint of run")
    assert str(checkpoint_path(out)) in message and "BadZipFile" in message and "without --resume" in message


def test_load_run_of_a_run_in_progress_falls_back_to_the_previous_checkpoint(tmp_path):
    from odesnn.training import load_run
    from odesnn.training.checkpoint import checkpoint_path, previous_checkpoint_path

    cfg = default_config("autoencoder", quick=True, **SMALL)
    train(cfg, tmp_path, loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    for name in ("params.npz", "config.json"):  # as if still training
        (tmp_path / name).unlink()
    with np.load(previous_checkpoint_path(tmp_path)) as data:
        expected = data["param_U"].copy()
    _damage(checkpoint_path(tmp_path), "truncated")
    with pytest.warns(UserWarning, match="previous checkpoint"):
        _, _, params = load_run(tmp_path)
    np.testing.assert_array_equal(params.U, expected)


def test_a_step_never_moves_an_entry_the_masks_hold_at_zero(tmp_path):
    # the fake gradient is non-zero everywhere; Wf's diagonal (Wf_mask="zero_diag") must stay at zero, or the
    # trained network could not be saved
    cfg = default_config("autoencoder", quick=True, **{**SMALL, "steps": 2})
    net, params = train(cfg, tmp_path, loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    assert np.all(np.diag(params.Wf) == 0) and np.any(params.Wf != 0)


def test_a_fresh_run_clears_an_earlier_runs_checkpoints(tmp_path):
    from odesnn.training.checkpoint import checkpoint_path, previous_checkpoint_path

    cfg = default_config("autoencoder", quick=True, **{**SMALL, "steps": 2, "checkpoint_every": 5})
    previous_checkpoint_path(tmp_path).write_bytes(b"an earlier run's")
    train(cfg, tmp_path, loss_and_grad=_fake_loss_and_grad(set()), progress=False)
    assert checkpoint_path(tmp_path).exists() and not previous_checkpoint_path(tmp_path).exists()
