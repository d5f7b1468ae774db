"""The command line: gradcheck (JSON and --save) and the Figure 1 command."""

import json
import subprocess
import sys

import numpy as np


def run(*args):
    out = subprocess.run([sys.executable, "-m", "odesnn", *args], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_gradcheck_json_and_save(tmp_path):
    report = json.loads(run("gradcheck", "--model", "lif", "--gate", "box", "--neurons", "5", "--duration", "50",
                            "--seed", "2", "--json", "--save", str(tmp_path)))
    for key in ("n_spikes", "loss", "adjoint_vs_fd", "forward_vs_fd", "adjoint_vs_forward"):
        assert key in report
    assert report["n_spikes"] >= 20
    assert report["adjoint_vs_forward"] < 1e-8 and report["adjoint_vs_fd"] < 1e-6
    # the saved problem reproduces the loss independently of the gradcheck code path
    import odesnn

    net, params = odesnn.load(tmp_path)
    with np.load(tmp_path / "inputs.npz") as d:
        cfg = json.loads((tmp_path / "config.json").read_text())
        assert cfg["inputs_interpolation"] == "linear"
        sol = odesnn.simulate(net, params, (d["t"], d["i"]), (d["t"], d["o_d"]), (float(d["t0"]), float(d["t1"])),
                              v0=d["v0"], s0=d["s0"], sf0=d["sf0"], rtol=1e-12, atol=1e-12)
    assert sol.cost == report["loss"]
    with np.load(tmp_path / "grads.npz") as g:
        assert sorted(g.files) == ["I0", "O", "U", "W", "Wf"]


def test_figure_gate(tmp_path):
    out = tmp_path / "fig1.png"
    summary = json.loads(run("figure", "gate", "--out", str(out)))
    assert out.stat().st_size > 10_000
    assert abs(summary["A"]["charge"] - 1) < 1e-8 and abs(summary["B"]["charge"] - 1) < 1e-8
    assert 0 < summary["D"]["charge"] < summary["C"]["charge"] < 1 and summary["E"]["charge"] == 0


def test_a_saved_train_config_can_be_passed_back_as_config(tmp_path):
    """``train_config.json`` names its task: ``odesnn train TASK --config`` takes it back for the same task,
    and refuses it, naming both tasks, for another."""
    import dataclasses

    import pytest

    from odesnn.cli import config_overrides
    from odesnn.training import TrainConfig, default_config

    saved = default_config("xor", steps=7, seed=3)
    path = tmp_path / "train_config.json"
    path.write_text(json.dumps(dataclasses.asdict(saved)))
    assert TrainConfig.from_dict(json.loads(path.read_text())) == saved
    assert default_config("xor", **config_overrides(str(path), "xor")) == saved
    with pytest.raises(SystemExit, match="'xor', but the command trains 'autoencoder'"):
        config_overrides(str(path), "autoencoder")
    path.write_text("[1, 2]")
    with pytest.raises(SystemExit, match="JSON object"):
        config_overrides(str(path), "xor")
    assert config_overrides(None, "xor") == {}
