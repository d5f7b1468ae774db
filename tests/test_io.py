"""Save/load in the plain params.npz + config.json format."""

import json

import numpy as np
import pytest

import odesnn


@pytest.mark.parametrize("gate", [odesnn.Gate("smooth", 0.05), None])
@pytest.mark.parametrize("neuron", [odesnn.NIF(negative_synapse=False), odesnn.QIF(tau_v=20.0), odesnn.LIF(tau_m=5)])
def test_round_trip(tmp_path, gate, neuron):
    net = odesnn.Network(4, 2, 3, neuron=neuron, gate=gate, tau=7.0, tau_f=None if gate is None else 1.5,
                         cost=odesnn.QuadraticCost(0.01), W_mask="strict_lower")
    params = net.init_params(3)
    odesnn.save(tmp_path, net, params)
    net2, params2 = odesnn.load(tmp_path)
    assert net2 == net
    for a, b in zip(params, params2):
        np.testing.assert_array_equal(a, b)
    # readable without odesnn
    cfg = json.loads((tmp_path / "config.json").read_text())
    assert cfg["neuron"]["name"] == neuron.name and cfg["tau"] == 7.0 and cfg["lam"] == 0.01
    with np.load(tmp_path / "params.npz") as data:
        assert sorted(data.files) == sorted(["W", "Wf", "U", "O", "I0"])


def test_load_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="config.json"):
        odesnn.load(tmp_path)
