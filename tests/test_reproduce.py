"""``odesnn reproduce NAME --quick`` runs end to end and writes its summary and figures."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binomtest

EXPECTED = {
    "gate": ({"panels", "charge_error_beyond_zone"}, ["figure1.png"]),
    "autoencoder": ({"rel_error", "corr_Wf_UO", "corr_U_OT", "spike_ratio"}, ["figure2.png"]),
    "predictive": ({"rel_error", "corr_W_UAO", "corr_Wf_UO"}, ["figure2.png", "figure3.png"]),
    "xor": ({"accuracy", "decision_rule", "rel_error"}, ["figure4.png"]),
}


# the tasks that train a network take 30-90 s each on a 2-core CPU: slow; the gate figure stays in the default suite
@pytest.mark.parametrize("name", [n if n == "gate" else pytest.param(n, marks=pytest.mark.slow) for n in EXPECTED])
def test_reproduce_quick(tmp_path, name):
    out = subprocess.run([sys.executable, "-m", "odesnn", "reproduce", name, "--quick", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    summary = json.loads((tmp_path / name / "summary.json").read_text())
    keys, figures = EXPECTED[name]
    assert keys <= set(summary)
    assert summary["quick"] is True and summary["wall_s"] > 0
    for fig in figures:
        assert (tmp_path / name / fig).stat().st_size > 10_000
    if name == "gate":
        assert summary["charge_error_beyond_zone"] < 1e-8
    else:
        # a trained network was saved in the plain format
        assert (tmp_path / name / "params.npz").is_file() and (tmp_path / name / "config.json").is_file()
    if name in ("autoencoder", "predictive"):  # evaluated with Δ = 0: a gate width is refused, not ignored
        from odesnn.tasks import evaluate

        with pytest.raises(ValueError, match="only XOR"):
            evaluate(tmp_path / name, width=0.5)
    if name == "xor":  # the whole recipe: three stages, each from the network the one before kept; candidate
        # stages from the third's best; the reported network is the candidate the pick chose, scored on seed 21
        run = tmp_path / name
        stage2 = json.loads((run / "stage2_h200" / "train_config.json").read_text())
        stage3 = json.loads((run / "stage3_w2" / "train_config.json").read_text())
        assert stage2["init_from"] == str(run / "stage1_latch") and stage2["validate_every"] == 1
        assert stage3["init_from"] == str(run / "stage2_h200" / "best")
        candidates = sorted((run / "candidates").iterdir())
        assert [c.name for c in candidates] == ["seed61", "seed62"]
        for c in candidates:
            assert json.loads((c / "train_config.json").read_text())["init_from"] == str(run / "stage3_w2" / "best")
        best = Path(summary["pick"]["best"])
        assert best in candidates and (run / "params.npz").read_bytes() == (best / "params.npz").read_bytes()
        assert summary["pick"]["seeds"] == [13, 17] and summary["candidates"] == 2
        assert summary["stages"][2]["validation"] == json.loads(
            (run / "stage3_w2" / "best" / "validation.json").read_text())
        assert summary["test_seed"] == 21 and summary["n_test_trials"] == 8
        assert summary["test_seed"] not in summary["pick"]["seeds"]
    if name == "xor":  # the confusion table accounts for every test trial and agrees with the accuracies
        rows = summary["confusion"]
        assert sum(sum(r.values()) for r in rows.values()) == summary["n_test_trials"]
        assert sum(r[k] for k, r in rows.items()) == pytest.approx(summary["accuracy"] * summary["n_test_trials"])
        for k, acc in summary["accuracy_by_label"].items():
            assert rows[k][k] == pytest.approx(acc * sum(rows[k].values()))
        right = sum(r[k] for k, r in rows.items())  # the interval is the Wilson interval of those counts
        wilson = binomtest(right, summary["n_test_trials"]).proportion_ci(0.95, method="wilson")
        np.testing.assert_allclose(summary["accuracy_interval"], [wilson.low, wilson.high], rtol=1e-12, atol=1e-15)
        # `odesnn evaluate` scores the saved run again (the JAX forward in float64), here with a refitted readout
        ev = subprocess.run([sys.executable, "-m", "odesnn", "evaluate", str(tmp_path / name), "--trials", "6",
                             "--refit-readout", "5", "--seed", "5", "--out", str(tmp_path / "ev")],
                            capture_output=True, text=True, timeout=600)
        assert ev.returncode == 0, ev.stderr[-3000:]
        again = json.loads(ev.stdout)
        # --out: the printed metrics saved, and Figure 4 of the re-scored network
        assert (tmp_path / "ev" / "summary.json").read_text().strip() == ev.stdout.strip()
        assert (tmp_path / "ev" / "figure4.png").stat().st_size > 10_000
        assert again["n_test_trials"] == 6 and again["readout"].startswith("refitted") and "5 fresh" in again["readout"]
        assert sum(sum(r.values()) for r in again["confusion"].values()) == 6
        import shutil

        from odesnn.tasks import evaluate

        # `--seed` draws the trials independently of the run's training seed: the same network saved as if
        # trained with another seed scores exactly the same on them
        reseeded = tmp_path / "reseeded"
        shutil.copytree(tmp_path / name, reseeded)
        train_cfg = json.loads((reseeded / "train_config.json").read_text())
        train_cfg["seed"] += 17
        (reseeded / "train_config.json").write_text(json.dumps(train_cfg))
        same, _ = evaluate(reseeded, n_trials=6, refit=5, seed=5, figures=False)
        assert again["test_seed"] == same["test_seed"] == 5
        assert same["rel_error"] == pytest.approx(again["rel_error"], rel=1e-12)
        assert same["confusion"] == again["confusion"]
        with pytest.raises(ValueError, match="seed"):
            evaluate(reseeded, n_trials=6, seed=-1)
        louder, _ = evaluate(reseeded, n_trials=6, refit=5, seed=5, figures=False, refit_window_weight=4.0)
        assert "window weighted 4 times" in louder["readout"] and "not the paper's cost" in louder["readout"]
        assert louder["rel_error"] != same["rel_error"]
        with pytest.raises(ValueError, match=r"`refit_window_weight`=4.0 .* pass `refit`"):
            evaluate(reseeded, n_trials=6, refit_window_weight=4.0)
        # `width` evaluates with another gate: the same as a run whose configuration names that width
        wide = tmp_path / "wide"
        shutil.copytree(tmp_path / name, wide)
        wide_cfg = json.loads((wide / "train_config.json").read_text())
        assert wide_cfg["width"] != 0.5
        wide_cfg["width"] = 0.5
        (wide / "train_config.json").write_text(json.dumps(wide_cfg))
        swapped, _ = evaluate(tmp_path / name, n_trials=6, width=0.5, figures=False)
        native, _ = evaluate(wide, n_trials=6, figures=False)
        assert swapped["gate_width"] == native["gate_width"] == 0.5
        assert swapped["rel_error"] == pytest.approx(native["rel_error"], rel=1e-12)
        with pytest.raises(ValueError, match="width"):
            evaluate(wide, n_trials=6, width=-0.1)
        # closed form: a silent readout (O = 0) has rel_error 1 and answers every trial null
        silent = tmp_path / "silent"
        shutil.copytree(tmp_path / name, silent)
        arrays = dict(np.load(silent / "params.npz"))
        arrays["O"] = np.zeros_like(arrays["O"])
        np.savez(silent / "params.npz", **arrays)
        quiet, no_data = evaluate(silent, n_trials=6, figures=False)
        from odesnn.tasks.scoring import write_evaluation

        with pytest.raises(ValueError, match="figures=True"):  # nothing to draw: said, not a crash
            write_evaluation(tmp_path / "nothing", quiet, no_data)
        assert quiet["rel_error"] == 1.0 and quiet["test_seed"] == train_cfg["seed"] - 17  # the run's own seed
        # the target pulse lies inside the response window: all of a silent readout's error is there
        # (the response share is that window's error over the whole error, two sums taken in different order)
        assert quiet["rel_error_by_period"] == {"before": 0.0, "response": pytest.approx(1.0, rel=1e-12), "after": 0.0}
        assert all(v == {"mean": 0.0, "sd": 0.0} for v in quiet["window_mean_by_label"].values())
        assert sum(summary["rel_error_by_period"].values()) == pytest.approx(summary["rel_error"], rel=1e-12)
        assert quiet["accuracy"] == quiet["confusion"]["+0"]["+0"] / 6 and quiet["accuracy_by_label"]["+0"] == 1.0


def test_sphere_init_gives_equal_input_norms():
    from odesnn import Network

    net = Network(12, 2, 2)
    U = net.init_params(3, u_scale=1.5, u_sphere=True).U
    np.testing.assert_allclose(np.linalg.norm(U, axis=1), 1.5, rtol=1e-12)
    gauss = net.init_params(3, u_scale=1.5).U  # default: Gaussian rows of varying norm
    assert np.std(np.linalg.norm(gauss, axis=1)) > 0.1


def test_i0_mean_shifts_the_drawn_bias_currents():
    from odesnn import Network

    net = Network(12, 2, 1)
    base, shifted = net.init_params(4, i0_scale=0.005), net.init_params(4, i0_scale=0.005, i0_mean=-0.03)
    np.testing.assert_allclose(shifted.I0 - base.I0, -0.03, rtol=1e-12)
    for a, b in zip(base[:4], shifted[:4]):  # nothing else changes
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow  # two quick recipes, about 90 s on a 2-core CPU
def test_xor_recipe_in_two_processes_trains_and_picks_what_one_does(tmp_path):
    """jobs=2 trains the candidate stages and makes the pick's scorings in worker processes: the same networks,
    scores and pick as jobs=1, to the last bit."""
    from odesnn.tasks.xor_recipe import run_xor_recipe

    out = {}
    for jobs in (1, 2):
        lines = []
        summary, _ = run_xor_recipe(tmp_path / f"jobs{jobs}", quick=True, progress=False, log=lines.append,
                                    jobs=jobs)
        out[jobs] = summary
        assert any(f"{jobs} at a time" in line for line in lines) == (jobs > 1)
    one, two = (tmp_path / "jobs1", tmp_path / "jobs2")
    for seed in ("seed61", "seed62"):
        a = np.load(one / "candidates" / seed / "params.npz")
        b = np.load(two / "candidates" / seed / "params.npz")
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{seed} {key}")
    assert Path(out[1]["pick"]["best"]).name == Path(out[2]["pick"]["best"]).name
    for key in ("accuracy", "rel_error"):
        assert out[1][key] == out[2][key], key
    assert [Path(f["run"]).name for f in out[1]["pick"]["finalists"]] == \
        [Path(f["run"]).name for f in out[2]["pick"]["finalists"]]


@pytest.mark.slow  # 10-60 s on a 2-core CPU; the default suite stays under 10 minutes
def test_w_self_makes_a_lone_qif_neuron_a_latch():
    """Closed form: with self-coupling ``w`` a theta neuron at ``I0 < 0`` keeps itself firing once kicked,
    at the mean-field rate ``r = 2 (w + sqrt(w**2 + tau_v I0)) / tau_v`` (``s`` averages to ``r``), when
    ``w > sqrt(-I0 tau_v)``; below that it falls silent."""
    from odesnn import Network, simulate
    from odesnn.models.neurons import QIF

    tau_v, i0 = 25.0, -0.04  # critical self-coupling sqrt(-I0 tau_v) = 1
    net = Network(1, 1, 1, neuron=QIF(tau_v), gate=None, tau=20.0)
    for w in (0.9, 1.3, 2.0):
        params = net.init_params(0, w_scale=0.0, u_scale=0.0, o_scale=0.0, i0_mean=i0, w_self=w)
        assert params.W[0, 0] == w
        spikes = np.asarray(simulate(net, params, t_span=(0.0, 1000.0), s0=[0.3], rtol=1e-10, atol=1e-12).spike_times)
        if w < 1.0:
            assert spikes.size > 0 and spikes.max() < 200.0  # the kick fades and the neuron falls silent
            continue
        late = spikes[spikes > 500.0]
        rate = (late.size - 1) / (late[-1] - late[0])
        predicted = 2 * (w + np.sqrt(w ** 2 + tau_v * i0)) / tau_v
        # the formula is the mean-field limit; the ripple of s between spikes shifts it by 0.16 % (w=1.3), 0.04 % (2.0)
        assert rate == pytest.approx(predicted, rel=5e-3)


def test_w_self_is_checked():
    from odesnn import Network

    with pytest.raises(ValueError, match="w_self"):
        Network(3, 1, 1).init_params(0, w_self=float("nan"))
    with pytest.raises(ValueError, match="w_self.*W_mask"):
        Network(3, 1, 1, W_mask="zero_diag").init_params(0, w_self=1.0)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="w_self_fraction"):
            Network(3, 1, 1).init_params(0, w_self=1.0, w_self_fraction=bad)
    with pytest.raises(TypeError, match="w_self.*'1.5'"):
        Network(3, 1, 1).init_params(0, w_self="1.5")  # e.g. a string from a hand-written JSON config
    with pytest.raises(TypeError, match="w_self_fraction"):
        Network(3, 1, 1).init_params(0, w_self=1.0, w_self_fraction=True)


def test_w_self_fraction_couples_only_the_first_neurons_to_themselves():
    from odesnn import Network

    net = Network(10, 2, 1)
    base = net.init_params(5, w_scale=0.7)
    half = net.init_params(5, w_scale=0.7, w_self=1.5, w_self_fraction=0.5)
    np.testing.assert_array_equal(np.diag(half.W - base.W), [1.5] * 5 + [0.0] * 5)
    off = ~np.eye(10, dtype=bool)
    np.testing.assert_array_equal(half.W[off], base.W[off])


def test_xor_readouts_from_jax_match_scipy():
    """The batched JAX readouts used for XOR accuracy agree with the SciPy reference."""
    from odesnn import simulate
    from odesnn.tasks.scoring import jax_readouts
    from odesnn.training.config import (
        batch_for_step,
        build_network,
        default_config,
        initial_voltages,
        make_task,
    )

    cfg = default_config("xor", quick=True, rtol=1e-9, atol=1e-11, n_neurons=6, duration=300.0,
                         task_kwargs={"first_range": (20.0, 40.0), "gap_range": (40.0, 60.0),
                                      "cue_delay_range": (40.0, 60.0)})
    net = build_network(cfg)
    params = net.init_params(1, **cfg.init)
    batch, rng = batch_for_step(cfg, make_task(cfg), 0, size=2)
    v0 = initial_voltages(cfg, rng, batch.size)
    outputs, counts = jax_readouts(cfg, net, params, batch, v0)
    for b in range(batch.size):
        sol = simulate(net, params, (batch.t, batch.inputs[b]), None, (batch.t[0], batch.t[-1]), v0=v0[b],
                       t_eval=batch.t, rtol=1e-11, atol=1e-13)
        assert counts[b] == sol.n_spikes > 0
        np.testing.assert_allclose(outputs[b], sol.o, atol=1e-6)


def test_xor_figure_shows_the_papers_six_trial_types():
    """Figure 4's panels A-F: first pulse + then -, each with desired output -, + and null."""
    from odesnn.tasks import xor
    from odesnn.tasks.scoring import figure_trials

    batch = xor().sample(np.random.default_rng(5), 60)
    idx = figure_trials(batch)
    first = [np.sign(x[np.flatnonzero(np.abs(x) > 1e-9)[0]]) for x in batch.inputs[idx, :, 0]]
    assert first == [1, 1, 1, -1, -1, -1]
    assert list(batch.info["labels"][idx]) == [-1, 1, 0, -1, 1, 0]
    # a batch too small for every type still gives its trials, each once
    small = xor().sample(np.random.default_rng(5), 2)
    assert sorted(figure_trials(small)) == [0, 1]


@pytest.mark.slow  # 10-60 s on a 2-core CPU; the default suite stays under 10 minutes
def test_refit_readout_is_the_least_squares_readout_of_scipy_states():
    """The refitted readout equals an independent least-squares fit to SciPy-simulated states of the same trials."""
    from odesnn import simulate
    from odesnn.tasks.scoring import FIT_SALT, refit_readout
    from odesnn.training.config import (
        batch_for_step,
        build_network,
        default_config,
        initial_voltages,
        make_task,
    )

    cfg = default_config("xor", quick=True, rtol=1e-9, atol=1e-11, n_neurons=6, duration=200.0,
                         init={"w_scale": 0.5, "u_scale": 1.0, "o_scale": 0.2, "i0_scale": 0.005, "i0_mean": 0.01},
                         task_kwargs={"first_range": (20.0, 40.0), "gap_range": (20.0, 30.0),
                                      "cue_delay_range": (20.0, 40.0)})
    net = build_network(cfg)
    params = net.init_params(1, **cfg.init)
    refitted = refit_readout(cfg, net, params, n_trials=4, ridge=1e-12)
    np.testing.assert_array_equal(refitted.W, params.W)  # only the readout changes
    batch, rng = batch_for_step(cfg, make_task(cfg), 0, size=4, salt=FIT_SALT)
    v0 = initial_voltages(cfg, rng, batch.size)
    X = np.concatenate([simulate(net, params, (batch.t, batch.inputs[b]), None, (batch.t[0], batch.t[-1]),
                                 v0=v0[b], t_eval=batch.t, rtol=1e-11, atol=1e-13).s for b in range(batch.size)])
    Y = batch.targets.reshape(-1, 1)
    O_ref = np.linalg.lstsq(X, Y, rcond=None)[0].T
    assert np.linalg.matrix_rank(X) == cfg.n_neurons  # the fit is unique
    np.testing.assert_allclose(refitted.O, O_ref, rtol=0, atol=1e-5 * np.abs(O_ref).max())  # measured: 9e-7
    # it is the best readout of these states: no other O does better on them
    err = lambda O: np.sum((X @ O.T - Y) ** 2)  # noqa: E731
    assert err(refitted.O) <= err(params.O) and err(refitted.O) <= err(O_ref) * (1 + 1e-6)
    with pytest.raises(ValueError, match="n_trials"):
        refit_readout(cfg, net, params, n_trials=0)
    # weighted 3 times inside the response windows [go + 10, go + 70] ms: the weighted least-squares fit
    go = batch.info["go"]
    inside = ((batch.t[None, :] >= go[:, None] + 10.0) & (batch.t[None, :] <= go[:, None] + 70.0)).reshape(-1)
    root = np.sqrt(np.where(inside, 3.0, 1.0))[:, None]
    O_w = np.linalg.lstsq(root * X, root * Y, rcond=None)[0].T
    weighted = refit_readout(cfg, net, params, n_trials=4, ridge=1e-12, window_weight=3.0)
    np.testing.assert_allclose(weighted.O, O_w, rtol=0, atol=1e-5 * np.abs(O_w).max())
    assert not np.allclose(O_w, O_ref, rtol=1e-3)
    for bad in (0.0, float("nan"), "3"):
        with pytest.raises(ValueError, match=r"`window_weight` must be a positive number"):
            refit_readout(cfg, net, params, n_trials=4, window_weight=bad)
    with pytest.raises(ValueError, match=r"`window_weight`=2.0 weights the XOR response window; the autoencoder"):
        refit_readout(default_config("autoencoder", quick=True), net, params, window_weight=2.0)


def test_decoding_accuracy_of_separable_and_of_random_labels():
    from odesnn.tasks.scoring import decoding_accuracy

    rng = np.random.default_rng(3)
    y = rng.choice([-1.0, 1.0], size=400)
    X = rng.normal(size=(400, 10)) + 5.0 * y[:, None] * np.eye(10)[0] + 2.0  # classes 10 sd apart, off centre
    assert decoding_accuracy(X, y) == 1.0  # every held-out trial right
    noise = rng.choice([-1.0, 1.0], size=len(y))  # labels unrelated to X: chance, within 4 standard errors
    assert abs(decoding_accuracy(X, noise) - 0.5) < 4 * 0.5 / np.sqrt(len(y))
    assert np.isnan(decoding_accuracy(X[:3], y[:3]))  # a fold without a trial


def test_pick_runs_screens_on_the_first_seed_and_confirms_the_best_on_the_others(tmp_path, capsys):
    """``pick_runs`` / ``odesnn pick``: every run's screening score is ``evaluate``'s on the first seed; the
    ``top`` best by accuracy (then error) are scored on the other seeds, and the best mean over all seeds wins."""
    from odesnn.cli import main
    from odesnn.tasks import evaluate, pick_runs
    from odesnn.training import build_network, default_config
    from odesnn.training.runs import initial_params, write_run
    from odesnn.training.validation import rank

    runs = []
    for seed in (1, 2, 3):  # three networks of one task that differ by chance
        cfg = default_config("xor", quick=True, n_neurons=6, duration=200.0, seed=seed,
                             init={"w_scale": 0.5, "u_scale": 1.0, "o_scale": 0.2, "i0_scale": 0.005})
        net = build_network(cfg)
        write_run(tmp_path / f"run{seed}", cfg, net, initial_params(cfg, net))
        runs.append(str(tmp_path / f"run{seed}"))
    result = pick_runs(runs, seeds=(5, 6), top=2, refit=4, n_trials=6)

    def direct(run, seed):
        metrics, _ = evaluate(run, 6, refit=4, seed=seed, figures=False)
        return {"accuracy": metrics["accuracy"], "rel_error": metrics["rel_error"]}

    assert [r["run"] for r in result["screen"]] == runs
    for rec in result["screen"]:
        assert {k: rec[k] for k in ("accuracy", "rel_error")} == direct(rec["run"], 5)
    best_two = sorted(result["screen"], key=rank)[:2]
    assert {f["run"] for f in result["finalists"]} == {r["run"] for r in best_two}
    for fin in result["finalists"]:
        assert set(fin["scores"]) == {5, 6} and fin["scores"][6] == direct(fin["run"], 6)
        assert fin["accuracy"] == pytest.approx(np.mean([fin["scores"][s]["accuracy"] for s in (5, 6)]))
        assert fin["rel_error"] == pytest.approx(np.mean([fin["scores"][s]["rel_error"] for s in (5, 6)]))
    assert rank(result["finalists"][0]) <= rank(result["finalists"][1])
    assert result["best"] == result["finalists"][0]["run"]
    assert main(["pick", *runs, "--seeds", "5", "6", "--top", "2", "--refit-readout", "4", "--trials", "6"]) == 0
    assert f"best: {result['best']}" in capsys.readouterr().out


def test_pick_runs_leaves_out_a_run_that_fails_and_goes_on(tmp_path, monkeypatch, capsys):
    """A run whose trials fail to simulate (``evaluate`` raises ``RuntimeError``) drops out of the pick, on the
    screening seed or a later one; the others are still scored and ranked, and every score is logged as made."""
    import odesnn.tasks.pick as rp
    from odesnn.cli import main
    from odesnn.training import build_network, default_config
    from odesnn.training.runs import initial_params, write_run

    cfg = default_config("xor", quick=True, n_neurons=6)
    net = build_network(cfg)
    runs = []
    for name in ("a", "b", "c", "d"):
        write_run(tmp_path / name, cfg, net, initial_params(cfg, net))
        runs.append(str(tmp_path / name))
    table = {("a", 5): None, ("b", 5): 0.9, ("b", 6): None, ("c", 5): 0.8, ("c", 6): 0.7, ("d", 5): 0.5}

    def fake_evaluate(run, n_trials, refit=None, seed=None, figures=True):
        acc = table[(run.rsplit("/", 1)[-1], seed)]
        if acc is None:
            raise RuntimeError("trial 3: max_steps reached")
        return {"accuracy": acc, "rel_error": 1 - acc}, None

    monkeypatch.setattr(rp, "evaluate", fake_evaluate)
    logged = []
    result = rp.pick_runs(runs, seeds=(5, 6), top=2, log=logged.append)
    assert [f["run"] for f in result["finalists"]] == [runs[2]] and result["best"] == runs[2]
    assert result["finalists"][0]["accuracy"] == pytest.approx(0.75)
    assert [(r["run"], r["seed"]) for r in result["failed"]] == [(runs[0], 5), (runs[1], 6)]
    assert "max_steps" in result["failed"][0]["error"]
    assert len(logged) == 4 + 2  # four screened, two finalists on seed 6
    table[("c", 6)] = None  # no finalist scores on every seed
    with pytest.raises(RuntimeError, match="no run could be scored on every seed"):
        rp.pick_runs(runs, seeds=(5, 6), top=2)
    table[("c", 6)] = 0.7
    assert main(["pick", *runs, "--seeds", "5", "6", "--top", "2"]) == 0
    out, err = capsys.readouterr()
    assert f"best: {runs[2]}" in out and f"failed on seed 5: trial 3: max_steps reached  {runs[0]}" in out
    assert f"seed 6: accuracy 0.7000  rel_error 0.3000  {runs[2]}" in err


@pytest.mark.parametrize("kwargs, error, message", [
    ({"runs": []}, ValueError, "`runs` must name at least one run directory"),
    ({"seeds": ()}, ValueError, "`seeds` must hold at least one seed"),
    ({"seeds": (13, -1)}, ValueError, r"`seeds\[1\]` must be an integer >= 0, got -1"),
    ({"seeds": (13, 17, 13)}, ValueError, r"`seeds` must be distinct .*, got \[13, 17, 13\]"),
    ({"top": 0}, ValueError, "`top` must be an integer >= 1, got 0"),
    ({"refit": 0}, ValueError, "`refit` must be an integer >= 1, got 0"),
    ({"runs": ["no/such/run"]}, FileNotFoundError, "`runs`: .*no/such/run"),
])
def test_pick_runs_refuses_bad_arguments_by_name(tmp_path, kwargs, error, message):
    from odesnn.tasks import pick_runs

    with pytest.raises(error, match=message):
        pick_runs(**{"runs": ["no/such/run"], **kwargs})


def test_pick_runs_refuses_runs_of_two_tasks(tmp_path):
    from odesnn.tasks import pick_runs
    from odesnn.training import build_network, default_config
    from odesnn.training.runs import initial_params, write_run

    for task in ("xor", "autoencoder"):
        cfg = default_config(task, quick=True)
        net = build_network(cfg)
        write_run(tmp_path / task, cfg, net, initial_params(cfg, net))
    message = r"`runs`: '.*autoencoder' is a run of the autoencoder task, '.*xor' of the xor task"
    with pytest.raises(ValueError, match=message):
        pick_runs([tmp_path / "xor", tmp_path / "autoencoder"])


@pytest.mark.parametrize("correct, n", [(378, 400), (1903, 2000), (0, 10), (10, 10), (5, 7)])
def test_accuracy_interval_is_scipys_wilson_interval(correct, n):
    """The 95 % interval of an accuracy is the Wilson score interval of ``scipy.stats.binomtest``, and holds
    the accuracy itself."""
    from odesnn.training.validation import accuracy_interval

    low, high = accuracy_interval(correct, n)
    ci = binomtest(correct, n).proportion_ci(0.95, method="wilson")
    np.testing.assert_allclose([low, high], [ci.low, ci.high], rtol=1e-12, atol=1e-15)
    assert low <= correct / n <= high
    wider = accuracy_interval(correct, n, confidence=0.99)
    assert wider[0] <= low and high <= wider[1]


@pytest.mark.parametrize("kwargs, message", [
    ({"correct": 5, "n": 0}, r"`n` must be an integer >= 1, got 0"),
    ({"correct": 11, "n": 10}, r"`correct`=11 exceeds `n`=10"),
    ({"correct": -1, "n": 10}, r"`correct` must be an integer >= 0, got -1"),
    ({"correct": 5, "n": 10, "confidence": 1.0}, r"`confidence` must lie strictly between 0 and 1, got 1.0"),
    ({"correct": 5, "n": 10, "confidence": 95}, r"`confidence` must be a finite number in \[0.0, 1.0\], got 95"),
])
def test_accuracy_interval_refuses_bad_counts_by_name(kwargs, message):
    from odesnn.training.validation import accuracy_interval

    with pytest.raises(ValueError, match=message):
        accuracy_interval(**kwargs)


def test_xor_response_window_holds_the_target_pulse():
    from odesnn.tasks import xor

    task = xor()
    batch = task.sample(np.random.default_rng(0), 20)
    mask = task.response_mask(batch.t, batch.info["go"])
    assert np.all(batch.targets[..., 0][~mask] == 0.0)  # the target is zero outside the window
    peaks = np.abs(batch.targets[..., 0]).max(axis=1)[batch.info["labels"] != 0]  # the peak, on a 1 ms grid
    assert np.all(peaks == pytest.approx(1.0, abs=1e-3))
