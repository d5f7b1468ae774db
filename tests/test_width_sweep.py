"""The width sweep: the gradient at gate width Δ tends to the exact Δ = 0 gradient, to first order in Δ."""

import json

import numpy as np
import pytest

import odesnn
from odesnn._gradcheck import random_problem
from odesnn._width_sweep import sweep_slope, write_width_sweep

WIDTHS = (0.1, 0.01, 0.001)


@pytest.mark.parametrize("model,kind", [("qif", "smooth"), ("lif", "box")])
def test_gradient_tends_to_the_zero_width_gradient(model, kind, tmp_path):
    """A small network whose spikes are the same at every width: grad_rel_diff falls toward 0 with Δ, with a
    log-log slope of about 1 (the gate delivers a spike's charge a time of order Δ/v̇ ahead of the spike)."""
    p = random_problem(model, kind, neurons=2, duration=20.0, seed=0, min_spikes=8)
    rows = odesnn.width_sweep(p.net, p.params, p.inputs, p.target, (p.t0, p.t1), v0=p.x0.v, widths=WIDTHS)
    assert [r["width"] for r in rows] == [0.1, 0.01, 0.001, 0.0]
    assert rows[-1]["kind"] is None and rows[0]["kind"] == kind
    assert all(r["same_spikes"] for r in rows) and rows[-1]["n_spikes"] >= 8
    diffs = [r["grad_rel_diff"] for r in rows]
    assert diffs[-1] == 0.0
    assert diffs[0] > diffs[1] > diffs[2] > 0, diffs
    assert diffs[2] < 1e-2
    assert 0.8 < sweep_slope(rows) < 1.2, diffs
    times = [r["spike_time_max_diff"] for r in rows[:-1]]
    assert times[0] > times[1] > times[2], times
    json_path, png_path = write_width_sweep(rows, tmp_path)
    data = json.loads(json_path.read_text())
    assert [row["width"] for row in data["rows"]] == [0.1, 0.01, 0.001, 0.0]
    assert data["rows"][0]["grad_rel_diff"] == pytest.approx(diffs[0])
    assert set(data["rows"][0]["grads"]) == {"W", "Wf", "U", "O", "I0"}
    assert png_path.stat().st_size > 0


def test_a_voltage_near_threshold_breaks_the_limit():
    """A neuron whose voltage rises to 0.99 without reaching threshold 1: the same spikes at every width, but a gate
    wider than 0.01 passes it a partial spike that the Δ = 0 network never sees, so the gradient is far from the
    Δ = 0 one until Δ < 0.01; below that the two networks agree to first order again."""
    net = odesnn.Network(2, 1, 1, neuron=odesnn.LIF(tau_m=2.0), gate=odesnn.Gate("smooth", 0.1), tau=5.0)
    params = odesnn.Params(np.array([[0.0, 0.0], [0.6, 0.0]]), np.zeros((2, 0)), np.zeros((2, 1)),
                           np.array([[1.0, 1.0]]), np.array([0.99, 1.2]))
    rows = odesnn.width_sweep(net, params, t_span=(0.0, 20.0), widths=(0.05, 0.02, 0.005, 0.001))
    by_width = {r["width"]: r for r in rows}
    assert all(r["same_spikes"] for r in rows)
    assert not np.any(rows[-1]["spike_neurons"] == 0)  # neuron 0 never spikes
    assert by_width[0.05]["grad_rel_diff"] > 0.3 and by_width[0.02]["grad_rel_diff"] > 0.3
    assert by_width[0.005]["grad_rel_diff"] < 0.05 and by_width[0.001]["grad_rel_diff"] < 0.01


def test_width_sweep_cli(tmp_path, capsys):
    from odesnn.cli import main

    out = tmp_path / "sweep"
    assert main(["width-sweep", "--model", "lif", "--neurons", "2", "--duration", "15", "--widths", "0.1", "0.01",
                 "--gate", "box", "--min-spikes", "5", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [r["width"] for r in report["rows"]] == [0.1, 0.01, 0.0]
    assert (out / "sweep.json").is_file() and (out / "width_sweep.png").is_file()
    rows = json.loads((out / "sweep.json").read_text())["rows"]
    assert all("grad_rel_diff" in r and "width" in r for r in rows)
    with pytest.raises(SystemExit, match="widths"):
        main(["width-sweep", "--widths", "-1", "--out", str(out)])
