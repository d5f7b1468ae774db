"""``odesnn reproduce NAME --quick`` runs end to end and writes its summary and figures."""

import json
import subprocess
import sys

import pytest

EXPECTED = {
    "gate": ({"panels", "charge_error_beyond_zone"}, ["figure1.png"]),
    "autoencoder": ({"rel_error", "corr_Wf_UO", "corr_U_OT", "spike_ratio"}, ["figure2.png"]),
    "predictive": ({"rel_error", "corr_W_UAO", "corr_Wf_UO"}, ["figure2.png", "figure3.png"]),
    "xor": ({"accuracy", "decision_rule"}, ["figure4.png"]),
}


@pytest.mark.parametrize("name", list(EXPECTED))
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
