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


def test_gradcheck_prints_a_verdict_against_each_bound_and_fails_by_exit_code(monkeypatch, capsys):
    """The verdict holds each relative error against its bound; one error above its bound makes the command FAIL
    with exit code 1 (the report here is made up: the real gradcheck is checked in test_examples.py)."""
    import odesnn._gradcheck as gc
    from odesnn.cli import main

    def fake(*args, progress=None, **kwargs):
        report = {"model": "nif", "gate": "smooth", "backend": "scipy", "neurons": 3, "duration": 20.0, "seed": 0,
                  "n_spikes": 21, "loss": 0.5, "adjoint_vs_forward": 3e-9, "adjoint_vs_fd": 2e-6,
                  "forward_vs_fd": 4e-8}
        report["verdict"] = {k: {"error": report[k], "bound": b, "pass": report[k] <= b}
                             for k, b in gc.BOUNDS.items() if k in report}
        report["passed"] = all(c["pass"] for c in report["verdict"].values())
        return report

    monkeypatch.setattr(gc, "gradcheck", fake)
    assert main(["gradcheck", "--no-progress"]) == 1
    out = capsys.readouterr().out
    assert "adjoint_vs_fd      2.000e-06  (bound 1e-06)  FAIL" in out
    assert "adjoint_vs_forward 3.000e-09  (bound 1e-08)  PASS" in out
    assert out.strip().endswith("FAIL: adjoint_vs_fd above the bound")


def test_every_option_has_help_and_shows_its_default():
    from odesnn.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        for action in p._actions:
            if action.dest == "help":
                continue
            assert action.help, f"odesnn {name}: {action.option_strings or action.dest} has no help"
        text = p.format_help()
        for action in p._actions:
            if action.default not in (None, False) and action.option_strings and action.dest != "help":
                assert f"(default: {action.default})" in " ".join(text.split()), (name, action.dest)


def test_reproduce_help_states_each_recipes_time_on_a_cpu_and_a_gpu():
    from odesnn.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    text = sub.choices["reproduce"].format_help()
    table = text[text.index("expected wall time on a 2-core x86-64 CPU"):]
    names = next(a for a in sub.choices["reproduce"]._actions if a.dest == "name").choices
    for name in names:
        assert any(line.split()[:1] == [name] for line in table.splitlines()), name
    assert "on a GPU" in table and "--jobs N" in table
